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

.PHONY: setup build test test-fast bench info selftest-gpu cmake-check profile sass clean help
help:
	@echo "make test | bench | info | report | selftest-gpu | cmake-check | profile RUNG=… | sass RUNG=… | clean"

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
	$(PY) -m pytest -q -n $(TEST_JOBS) -p no:cacheprovider tests

test-fast: build
	$(PY) -m pytest -q -x -p no:cacheprovider tests -k "not nvcc"

bench: build
	$(PY) -m kernelbench run $(BENCH_ARGS)   # ladder table, JSON result file, HTML report + PNGs

info: build
	$(PY) -m kernelbench info

# GPU machine: the standalone C++ self-test drivers (correctness + timings of every CUDA rung).
selftest-gpu:
	cmake -S . -B build/cmake -G Ninja -DKB_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a
	cmake --build build/cmake
	for t in build/cmake/selftest_*; do $$t || exit 1; done

cmake-check:
	cmake -S . -B build/cmake-cpu -G Ninja && cmake --build build/cmake-cpu

profile:
	ncu --set full -k regex:$(subst cuda_,,$(RUNG)) -c 3 $(PY) -c "import torch, kernelbench as kb; a=torch.randn(4096,4096,device='cuda'); kb.matmul(a,a,impl='$(RUNG)'); torch.cuda.synchronize()"

sass:
	cuobjdump --dump-sass build/kb_native/kb_cuda/csrc_cuda_*$(subst cuda_,,$(RUNG))*.o | less

clean:
	rm -rf build kernelbench/*.so kernelbench/_build_info.json
