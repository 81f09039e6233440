"""cupy_nvrtc_<rung>: the very .cu file of a native CUDA rung, compiled at run time by NVRTC through
cupy.RawModule and launched with the grid/block/shared memory its C++ launcher would use.
Adds: nothing to the kernel -- it isolates the toolchain (NVRTC vs nvcc -O3) and the launch path
(CuPy's Python launch vs the C++ front doors); limits: the same as the native rung's.

The launch configuration comes from kernelbench._pybind (matmul_config / reduce_config) and the
argument struct is passed by value as a one-element numpy structured array whose offsets and size
come from _pybind.struct_layout(), i.e. from the compiler that built the extension.
Host-only code in the .cu files sits behind `#ifndef __CUDACC_RTC__`.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
MATMUL_RUNGS = ("cuda_01_naive", "cuda_02_coalesced", "cuda_03_smem_tiles", "cuda_04_blocktile_1d",
                "cuda_05_blocktile_2d", "cuda_06_vectorized", "cuda_07_warptile", "cuda_08_async_pipeline",
                "cuda_09_gemv")
REDUCE_RUNGS = ("cuda_11_single_pass",)
_DTYPES = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3}     # kb::DType
_OPS = {"sum": 0, "mean": 1, "max": 2, "min": 3, "argmax": 4, "argmin": 5}  # kb::ReduceOp


def source_of(rung: str, op: str) -> str:
    """Repo-relative path of a native rung's .cu file: cuda_05_blocktile_2d -> csrc/cuda/matmul/05_blocktile_2d.cu."""
    return f"csrc/cuda/{op}/{rung[len('cuda_'):]}.cu"


# ------------------------------------------------------------------------------ availability
@functools.lru_cache(maxsize=None)
def _pybind():
    try:
        from kernelbench import _pybind
        return _pybind
    except Exception:
        return None


def reason(rung: str, op: str) -> Optional[str]:
    from .frameworks import cupy_reason
    why = cupy_reason()
    if why:
        return why
    pb = _pybind()
    if pb is None:
        return "kernelbench._pybind (launch configurations) is not built"
    if not pb.cuda_compiled():
        return "kernelbench._pybind was built without CUDA (no launch configurations)"
    try:
        if op == "matmul":
            cfg = pb.matmul_config(rung, 64, 64, 64, 1, 64, 64, 64, 0, 0, 0, False, False, "float32")
        else:
            cfg = pb.reduce_config(rung, 1, 4096, 1, "sum", "float32")
    except Exception as exc:
        return f"no launch configuration for {rung}: {exc}"[:160]
    return None if cfg is not None else f"{rung} has no config function in the C++ table"


# ------------------------------------------------------------------------------ compilation
def cuda_include_dirs() -> list:
    """Directories holding cuda_fp16.h / cuda_bf16.h (pulled in by kb_device.cuh)."""
    cands = []
    try:
        import cupy
        p = cupy.cuda.get_cuda_path()
        if p:
            cands.append(os.path.join(p, "include"))
    except Exception:
        pass
    for env in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(env):
            cands.append(os.path.join(os.environ[env], "include"))
    cands.append("/usr/local/cuda/include")
    try:   # pip wheels: nvidia/cuda_runtime/include
        import nvidia
        cands += [os.path.join(p, "cuda_runtime", "include") for p in nvidia.__path__]
    except Exception:
        pass
    seen, out = set(), []
    for c in cands:
        if c not in seen and os.path.isfile(os.path.join(c, "cuda_fp16.h")):
            seen.add(c)
            out.append(c)
    return out[:1]


def nvrtc_options(source: str) -> list:
    """NVRTC options for a rung's .cu (tests/test_nvrtc_compile.py compiles with exactly these).
    NVRTC options, not nvcc's: NVRTC 13 rejects --expt-relaxed-constexpr."""
    path = ROOT / source
    options = ["-std=c++17", "-I" + str(ROOT / "csrc" / "common"), "-I" + str(path.parent), "-I" + str(ROOT / "csrc")]
    return options + ["-I" + d for d in cuda_include_dirs()]


@functools.lru_cache(maxsize=None)
def _kernel(source: str, name_expression: str):
    """The compiled kernel for one template instantiation (CuPy also caches the cubin on disk)."""
    import cupy
    path = ROOT / source
    mod = cupy.RawModule(code=path.read_text(), options=tuple(nvrtc_options(source)),
                         name_expressions=[name_expression])
    return mod.get_function(name_expression)


@functools.lru_cache(maxsize=None)
def _struct_dtype(struct: str):
    """numpy structured dtype with the C++ layout of kb::MatmulArgs / kb::ReduceArgs."""
    import numpy as np
    layout = _pybind().struct_layout()[struct]
    names, formats, offsets = [], [], []
    for name, (off, size) in sorted(layout["fields"].items(), key=lambda kv: kv[1][0]):
        names.append(name)
        offsets.append(off)
        formats.append({1: np.uint8, 4: np.int32, 8: np.int64}[size])
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": layout["size"]})


def _launch(source: str, cfg: dict, struct: str, fields: dict) -> None:
    import numpy as np
    arg = np.zeros(1, dtype=_struct_dtype(struct))        # passed by value: sizeof(struct) bytes
    for k, v in fields.items():
        arg[k] = v
    kern = _kernel(source, cfg["kernel"])
    smem = int(cfg["shared_bytes"])
    if smem > 48 * 1024:   # opt in to large dynamic shared memory, as the C++ launcher does
        kern.max_dynamic_shared_size_bytes = smem
    kern(tuple(int(g) for g in cfg["grid"]), tuple(int(b) for b in cfg["block"]), (arg,), shared_mem=smem)


# ------------------------------------------------------------------------------ matmul
def matmul(rung: str, a, b):
    import cupy
    dtype = str(a.dtype)
    if dtype not in _DTYPES or b.dtype != a.dtype:
        raise TypeError(f"a, b: {rung} via NVRTC takes float32/float64/float16 of one dtype, got {a.dtype}, {b.dtype}")
    out_3d = a.ndim == 3 or b.ndim == 3
    a = cupy.ascontiguousarray(a)
    b = cupy.ascontiguousarray(b)
    ba, m, k = (a.shape if a.ndim == 3 else (1,) + a.shape)
    bb, k2, n = (b.shape if b.ndim == 3 else (1,) + b.shape)
    if k != k2:
        raise ValueError(f"b: inner dimensions differ: {a.shape} @ {b.shape}")
    if ba != bb and 1 not in (ba, bb):
        raise ValueError(f"b: batch sizes {ba} and {bb} do not broadcast")
    batch = max(ba, bb)
    c = cupy.empty((batch, m, n) if out_3d else (m, n), dtype=a.dtype)
    if c.size == 0:
        return c
    sa, sb, sc = (m * k if ba > 1 else 0), (k * n if bb > 1 else 0), m * n
    cfg = _pybind().matmul_config(rung, m, n, k, batch, k, n, n, sa, sb, sc, False, False, dtype)
    if cfg is None:
        raise RuntimeError(f"{rung} has no config function: it cannot be launched through CuPy")
    _launch(source_of(rung, "matmul"), cfg, "MatmulArgs",
            dict(a=a.data.ptr, b=b.data.ptr, c=c.data.ptr, m=m, n=n, k=k, batch=batch, lda=k, ldb=n, ldc=n,
                 stride_a=sa, stride_b=sb, stride_c=sc, trans_a=0, trans_b=0, dtype=_DTYPES[dtype]))
    return c


# ------------------------------------------------------------------------------ reduce
_WORKSPACES: dict = {}


def reduce(rung: str, x, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False):
    import math
    import cupy
    if dim is not None:
        raise ValueError(f"dim: {rung} reduces the whole tensor (dim=None), got dim={dim}")
    if op not in _OPS:
        raise ValueError(f"op: expected one of {', '.join(_OPS)}, got {op!r}")
    dtype = str(x.dtype)
    if dtype not in _DTYPES:
        raise TypeError(f"x: {rung} takes float32/float64/float16, got {dtype}")
    n = int(math.prod(x.shape))
    if n == 0 and op not in ("sum", "mean"):
        raise ValueError(f"x: {op} of an empty tensor has no identity")
    x = cupy.ascontiguousarray(x)
    arg = op in ("argmax", "argmin")
    out = cupy.empty((1,), dtype=cupy.int64 if arg else x.dtype)
    cfg = _pybind().reduce_config(rung, 1, n, 1, op, dtype)
    if cfg is None:
        raise RuntimeError(f"{rung} has no config function: it cannot be launched through CuPy")
    need = int(cfg.get("workspace_bytes", 0))
    dev = cupy.cuda.runtime.getDevice()
    ws = _WORKSPACES.get((rung, dev))
    if need and (ws is None or ws.nbytes < need):
        ws = _WORKSPACES[(rung, dev)] = cupy.zeros(max(need, 256), dtype=cupy.uint8)
    if need:
        # Clear the block counter every call, as the C++ launcher does (the kernel re-zeroes it too,
        # but an aborted launch would leave it set).
        ws.data.memset_async(0, 4)
    _launch(source_of(rung, "reduce"), cfg, "ReduceArgs",
            dict(x=x.data.ptr, out=out.data.ptr, outer=1, r=n, inner=1, op=_OPS[op], dtype=_DTYPES[dtype],
                 workspace=ws.data.ptr if need else 0, workspace_bytes=need))
    return out.reshape((1,) * x.ndim if keepdim else ())


def matmul_fn(rung: str):
    return functools.partial(matmul, rung)


def reduce_fn(rung: str):
    return functools.partial(reduce, rung)
