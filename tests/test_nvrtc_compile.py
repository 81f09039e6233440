"""The CuPy/NVRTC rungs compile under NVRTC, with the options cupy_nvrtc passes to cupy.RawModule and
the name expressions the C++ launch configurations report -- no GPU needed.  On a GPU machine the
same kernels are also launched and checked (tests/test_python_rungs.py); here this is what proves the
runtime-compiler path still builds.  NVRTC comes from the nvidia-cuda-nvrtc wheel (or CUDA_HOME)."""
from __future__ import annotations

import ctypes
import os
import re
from pathlib import Path

import pytest

import kernelbench as kb
from kernelbench.registry.core import layout_class
from kernelbench.rungs import cupy_nvrtc as nv

ROOT = Path(__file__).resolve().parent.parent
ARCHS = ("compute_80", "compute_90a")
DTYPES = ("float32", "float64", "float16", "bfloat16")
SHAPES = ((256, 256, 256), (7, 129, 33), (1, 512, 256), (512, 1, 256), (4096, 4096, 64))


def _libnvrtc():
    cands = []
    try:
        import nvidia
        cands += [Path(p) / "cu13" / "lib" / "libnvrtc.so.13" for p in nvidia.__path__]
    except ImportError:
        pass
    for home in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if home:
            cands += sorted((Path(home) / "lib64").glob("libnvrtc.so*"))
    for c in cands:
        if c.exists():
            try:
                return ctypes.CDLL(str(c))
            except OSError:
                continue
    return None


LIB = _libnvrtc()
pytestmark = pytest.mark.skipif(LIB is None or not nv.cuda_include_dirs(),
                                reason="no libnvrtc (pip install nvidia-cuda-nvrtc) or no CUDA headers")


def _pybind():
    pb = pytest.importorskip("kernelbench._pybind")
    if not pb.cuda_compiled():
        pytest.skip("kernelbench._pybind built without CUDA: no launch configurations")
    return pb


def nvrtc_compile(source: str, expressions: list, arch: str) -> tuple[int, str, dict]:
    """(status, log, {expression: lowered name}) for one NVRTC program."""
    prog = ctypes.c_void_p()
    code = (ROOT / source).read_bytes()
    assert LIB.nvrtcCreateProgram(ctypes.byref(prog), code, source.encode(), 0, None, None) == 0
    try:
        for e in expressions:
            assert LIB.nvrtcAddNameExpression(prog, e.encode()) == 0
        opts = nv.nvrtc_options(source) + [f"--gpu-architecture={arch}"]
        rc = LIB.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts]))
        size = ctypes.c_size_t()
        LIB.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        LIB.nvrtcGetProgramLog(prog, log)
        lowered = {}
        if rc == 0:
            for e in expressions:
                name = ctypes.c_char_p()
                assert LIB.nvrtcGetLoweredName(prog, e.encode(), ctypes.byref(name)) == 0
                lowered[e] = name.value.decode()
        return rc, log.value.decode(errors="replace"), lowered
    finally:
        LIB.nvrtcDestroyProgram(ctypes.byref(prog))


@pytest.mark.parametrize("rung", nv.rungs("matmul"))
def test_matmul_rung_compiles_under_nvrtc(rung):
    pb = _pybind()
    expressions = set()
    impl = kb.get_impl("matmul", rung)
    for dtype in DTYPES:
        for m, n, k in SHAPES:
            if dtype not in impl.dtypes or impl.refusal(layout_class("matmul", (), batch_m_n=(1, m, n))):
                continue   # its table line refuses it (e.g. gemv with M, N > 1)
            cfg = pb.matmul_config(rung, m, n, k, 1, k, n, n, 0, 0, 0, False, False, dtype)
            assert cfg is not None, f"{rung} has no launch configuration"
            expressions.add(cfg["kernel"])
    assert expressions, f"{rung}: no configuration for any dtype/shape"
    for arch in ARCHS:
        rc, log, lowered = nvrtc_compile(nv.source_of(rung, "matmul"), sorted(expressions), arch)
        assert rc == 0, f"{rung} ({arch}):\n{log[-3000:]}"
        assert all(name.startswith("_Z") for name in lowered.values()), lowered


@pytest.mark.parametrize("rung", nv.rungs("reduce"))
def test_reduce_rung_compiles_under_nvrtc(rung):
    pb = _pybind()
    source = nv.source_of(rung, "reduce")
    expressions = set()
    for dtype in DTYPES:
        try:
            expressions.add(pb.reduce_config(rung, 1, 1 << 20, 1, "sum", dtype)["kernel"])
        except Exception:
            # Without a GPU the grid (occupancy x SMs) cannot be computed: name the instantiations
            # the way the config function does, from the rung's block-size constant.
            found = re.search(r"k11Threads\s*=\s*(\d+)", (ROOT / source).read_text())
            if found is None:
                pytest.skip(f"{rung}: its launch configuration needs a GPU (occupancy) to be computed")
            threads = found.group(1)
            ctype = {"float32": "float", "float64": "double", "float16": "__half", "bfloat16": "__nv_bfloat16"}[dtype]
            expressions.add(f"kb::reduce_11_single_pass_kernel<{ctype}, {threads}>")
    for arch in ARCHS:
        rc, log, _ = nvrtc_compile(source, sorted(expressions), arch)
        assert rc == 0, f"{rung} ({arch}):\n{log[-3000:]}"
