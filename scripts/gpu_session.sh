#!/usr/bin/env bash
# One call on a lent GPU machine: build, self-test, test and benchmark; everything lands in $OUT.
#   STAGE=check  build + C++ self-tests + GPU pytest       (a few minutes)
#   STAGE=bench  build + `kernelbench run` ladder suite    (the measured results)
#   STAGE=tc     build + the tensor-core rungs (bf16, 4096^3 and 8192^3) beside cuBLAS
#   STAGE=ncu    build + Nsight Compute's counts of every CUDA rung at one small shape (results/ncu,
#                compared with the SIMT executor's by tests/test_explain_ncu.py; not part of all)
#   STAGE=coll   build + the collectives suite on NCCL, one rank per GPU (one GPU: world size 1)
#   STAGE=all    check, bench and tc
set -uo pipefail
export PYTHONUNBUFFERED=1 MAX_JOBS=${MAX_JOBS:-16}
OUT=${OUT:-/tmp/kb-out}; mkdir -p "$OUT"
STAGE=${STAGE:-all}
PY=${PY:-python3}
log() { echo "=== $* ($(date +%T))"; }

log "device"; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/nvidia-smi.csv"
log "build"
$PY -m pip install -q -e . --no-build-isolation --no-deps > "$OUT/build.log" 2>&1 || { tail -60 "$OUT/build.log"; exit 1; }
$PY -m kernelbench info 2>&1 | tee "$OUT/info.txt"

if [[ $STAGE == check || $STAGE == all ]]; then
  log "C++ self-tests"
  ARCH=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d . ); [[ $ARCH == 90 ]] && ARCH=90a
  (cmake -S . -B build/cmake -G Ninja -DKB_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=${ARCH:-90a} > "$OUT/cmake.log" 2>&1 &&
   cmake --build build/cmake >> "$OUT/cmake.log" 2>&1) || tail -40 "$OUT/cmake.log"
  for t in build/cmake/selftest_*; do
    [[ -x $t ]] || continue
    log "$t"; timeout 240 "$t" > "$OUT/$(basename "$t").log" 2>&1; echo "rc=$?"
    grep -E "FAIL|TFLOP|GB/s" "$OUT/$(basename "$t").log" | head -60
  done
  log "pytest (GPU)"
  XDIST=$($PY -c "import xdist" 2>/dev/null && echo "-n 8")   # pytest-xdist may be absent there
  timeout 420 $PY -m pytest -q $XDIST -p no:cacheprovider tests > "$OUT/pytest.log" 2>&1
  echo "pytest rc=$?"; grep -E "passed|failed|FAILED|Error" "$OUT/pytest.log" | tail -25
fi

if [[ $STAGE == bench || $STAGE == all ]]; then
  log "kernelbench run"
  timeout 540 $PY -m kernelbench run ${BENCH_ARGS:-} --out "$OUT" 2>&1 | tee "$OUT/run.txt" | tail -80
fi

if [[ $STAGE == tc || $STAGE == all ]]; then
  # The tensor-core ladder at its target sizes, bf16, beside cuBLAS bf16 (library rungs always run).
  log "kernelbench run: tensor cores, bf16, 4096^3 and 8192^3"
  mkdir -p "$OUT/tensor-cores"
  timeout 540 $PY -m kernelbench run --op matmul --device cuda --impl 'cuda_1[0-4]_*' --dtype bfloat16 \
    --sizes 4096,8192 --out "$OUT/tensor-cores" 2>&1 | tee "$OUT/tensor-cores/run.txt" | tail -40
fi
if [[ $STAGE == coll ]]; then
  # The all-reduce ladder on NCCL (docs/collectives.md): checks at world size = the GPUs present,
  # then the sweep 8 B .. 4 GiB (COLL_MAX_BYTES caps it); result file + report under $OUT/collectives.
  NGPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l)
  log "collectives: $NGPU rank(s), NCCL"
  mkdir -p "$OUT/collectives"
  timeout 150 $PY -m torch.distributed.run --nproc-per-node "$NGPU" -m kernelbench.collectives check \
    --timeout 60 2>&1 | tee "$OUT/collectives/check.txt" | tail -25
  timeout 420 $PY -m kernelbench run --suite collectives --nproc "$NGPU" --max-bytes "${COLL_MAX_BYTES:-4GiB}" \
    --timeout 120 --out "$OUT/collectives" 2>&1 | tee "$OUT/collectives/run.txt" | tail -100
fi
if [[ $STAGE == ncu ]]; then
  log "ncu counters (scripts/ncu_counters.py)"
  timeout 540 $PY scripts/ncu_counters.py --out "$OUT/ncu" 2>&1 | tail -40
fi
log "done"
