# kernelbench — the menu.  Two commands do all the set-up on a fresh machine:
#   make test    venv + dependencies + build + the whole test suite
#   make bench   venv + dependencies + build + `kernelbench run` (+ HTML report)
# With an interpreter that already has the frameworks and no package registry (the GPU machine):
#   make test PYTHON=python3 VENV=
PYTHON ?= python3
VENV ?= .venv
MAX_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TEST_JOBS ?= 2
RUNG ?= cuda_05_blocktile_2d
BENCH_ARGS ?=
export MAX_JOBS

ifeq ($(strip $(VENV)),)
PY := $(PYTHON)
DEPS_STAMP :=
else
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-installed
endif

.PHONY: setup build test test-fast fuzz-long bench info selftest-gpu cmake-check profile sass clean help
help:
	@echo "make test | fuzz-long | bench | info | selftest-gpu | cmake-check | profile RUNG=… | sass RUNG=… | clean"

$(VENV)/.deps-installed: requirements-cpu.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -r requirements-cpu.txt
	touch $@

setup: $(DEPS_STAMP)

# Build the three front doors (editable install; kernels compiled once by ninja, incrementally).
build: setup
	$(PY) -m pip install -q -e . --no-build-isolation --no-deps
	$(PY) -m kernelbench info

test: build
	$(PY) -m pytest -q -n $(TEST_JOBS) -p no:cacheprovider --durations=25 tests

# The long fuzz profile (tests/test_fuzz.py, docs/semantics.md): 15,000 random cases through every
# door with a fresh seed, compiler rungs included; counts in build/fuzz-long.json.
fuzz-long: build
	mkdir -p build
	KB_FUZZ_PROFILE=long KB_FUZZ_REPORT=build/fuzz-long.json $(PY) -m pytest -q -s -p no:cacheprovider tests/test_fuzz.py

test-fast: build
	$(PY) -m pytest -q -x -p no:cacheprovider tests -k "not nvcc"

bench: build
	$(PY) -m kernelbench run $(BENCH_ARGS)   # ladder table, JSON result file, HTML report + PNGs

info: build
	$(PY) -m kernelbench info

# GPU machine: the standalone C++ self-test drivers (correctness + timings of every CUDA rung).
# The visible GPU's architecture (compute_cap 9.0 -> 90a: sm_90a enables wgmma/TMA; 8.0 -> 80); 90a
# when nvidia-smi sees none.  Override: make selftest-gpu CUDA_ARCH=80
CUDA_ARCH ?= $(shell nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | \
	awk '{gsub(/\./, ""); if ($$0 ~ /^[0-9]+$$/) print ($$0 == "90" ? "90a" : $$0)}')
# A requested 90 is built as 90a (rungs 13/14 need sm_90a; their bodies in a plain sm_90 build trap).
CUDA_ARCH_OR_DEFAULT = $(if $(strip $(CUDA_ARCH)),$(patsubst 90,90a,$(strip $(CUDA_ARCH))),90a)

selftest-gpu:
	cmake -S . -B build/cmake -G Ninja -DKB_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=$(CUDA_ARCH_OR_DEFAULT)
	cmake --build build/cmake
	for t in build/cmake/selftest_*; do $$t || exit 1; done

# CPU-only CMake build (the native libraries without Python) and its self-test, as CI runs it.
cmake-check:
	cmake -S . -B build/cmake-cpu -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build/cmake-cpu
	./build/cmake-cpu/selftest_cpu
	./build/cmake-cpu/selftest_cpu negative > build/cmake-cpu/selftest_cpu_negative.log || \
	  { tail -20 build/cmake-cpu/selftest_cpu_negative.log; exit 1; }
	tail -1 build/cmake-cpu/selftest_cpu_negative.log

profile:
	ncu --set full -k regex:$(subst cuda_,,$(RUNG)) -c 3 $(PY) -c "import torch, kernelbench as kb; a=torch.randn(4096,4096,device='cuda'); kb.matmul(a,a,impl='$(RUNG)'); torch.cuda.synchronize()"

sass:
	cuobjdump --dump-sass build/kb_native/kb_cuda/csrc_cuda_*$(subst cuda_,,$(RUNG))*.o | less

clean:
	rm -rf build kernelbench/*.so kernelbench/_build_info.json
