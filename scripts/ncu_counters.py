#!/usr/bin/env python3
"""On a GPU: Nsight Compute's counts of every CUDA rung at one small shape, with the metrics the SIMT
executor's counters model (csrc/sim/kbsim_counters.h) -> results/ncu/<gpu>.json.  tests/
test_explain_ncu.py compares them with the executor's counts at the same shape (requests, sectors
and wavefronts; the differences explained per metric: the executor counts source-level accesses,
ncu the SASS instructions nvcc merged them into).

    python scripts/ncu_counters.py --out results/ncu          (scripts/gpu_session.sh STAGE=ncu)
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# executor counter -> ncu metric (the same pairs as csrc/sim/kbsim_counters.h)
METRICS = {
    "global_load_requests": "smsp__inst_executed_op_global_ld.sum",
    "global_load_sectors": "l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum",
    "global_store_requests": "smsp__inst_executed_op_global_st.sum",
    "global_store_sectors": "l1tex__t_sectors_pipe_lsu_mem_global_op_st.sum",
    "shared_load_requests": "smsp__inst_executed_op_shared_ld.sum",
    "shared_load_wavefronts": "l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum",
    "shared_store_requests": "smsp__inst_executed_op_shared_st.sum",
    "shared_store_wavefronts": "l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum",
    "ldmatrix": "smsp__inst_executed_op_ldsm.sum",
    "barriers": "smsp__inst_executed_op_barrier.sum",
    "shuffles": "smsp__inst_executed_op_shfl.sum",
    "dram_bytes_read": "dram__bytes_read.sum",
    "dram_bytes_written": "dram__bytes_write.sum",
    "duration_ns": "gpu__time_duration.sum",
}
# One shape per op, small enough for a full (unsampled) executor run in the test.
SHAPES = {"matmul": (512, 512, 512), "reduce": (1 << 20,)}
DIMS = {"cuda_12_dim_inner": ((256, 1024), 1), "cuda_13_dim_outer": ((16, 256, 255), 1)}


def rungs():
    from kernelbench.registry import list_impls
    return [(i.op, i.name, i.dtypes) for i in list_impls(device="cuda")
            if i.layer == "handwritten-cuda" and re.match(r"cuda_\d\d_", i.name) and i.op in SHAPES]


def call(op: str, name: str, dtype: str) -> str:
    shape, dim = DIMS.get(name, (SHAPES[op], None))
    if op == "matmul":
        m, n, k = shape
        return (f"import torch, kernelbench as kb; a=torch.randn({m},{k},device='cuda',dtype=torch.{dtype}); "
                f"b=torch.randn({k},{n},device='cuda',dtype=torch.{dtype}); kb.matmul(a,b,impl='{name}'); "
                "torch.cuda.synchronize()")
    return (f"import torch, kernelbench as kb; x=torch.randn({shape},device='cuda',dtype=torch.{dtype}); "
            f"kb.reduce(x,'sum',dim={dim},impl='{name}'); torch.cuda.synchronize()")


def parse(text: str) -> list:
    """ncu --csv --page raw: one row per kernel launch; {kernel, counter: value}."""
    lines = [ln for ln in text.splitlines() if ln.startswith('"')]
    if not lines:
        return []
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    out = []
    for r in rows[1:] if rows and rows[0].get("ID", "").strip() == "" else rows:   # a units row may follow the header
        rec = {"kernel": r.get("Kernel Name", "")}
        for key, metric in METRICS.items():
            v = (r.get(metric) or "").replace(",", "")
            try:
                rec[key] = float(v)
            except ValueError:
                pass
        out.append(rec)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "results" / "ncu"))
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args(argv)
    ncu = shutil.which("ncu")
    if not ncu:
        print("ncu not found (Nsight Compute): nothing measured")
        return 1
    import torch
    gpu = torch.cuda.get_device_name(0)
    res = {"gpu": gpu, "shapes": {k: list(v) for k, v in SHAPES.items()},
           "dims": {k: [list(v[0]), v[1]] for k, v in DIMS.items()}, "metrics": METRICS, "rungs": {}}
    for op, name, dtypes in rungs():
        dtype = "float32" if "float32" in dtypes else "float16"
        cmd = [ncu, "--csv", "--page", "raw", "--metrics", ",".join(METRICS.values()), args.python, "-c",
               call(op, name, dtype)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        res["rungs"][name] = {"op": op, "dtype": dtype, "launches": parse(p.stdout), "rc": p.returncode}
        print(f"{name}: {len(res['rungs'][name]['launches'])} launch(es), rc {p.returncode}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / (re.sub(r"[^a-z0-9]+", "-", gpu.lower()).strip("-") + ".json")
    path.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
