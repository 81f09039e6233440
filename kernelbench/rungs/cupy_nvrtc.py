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
_DTYPES = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3}     # kb::DType
_OPS = {"sum": 0, "mean": 1, "max": 2, "min": 3, "argmax": 4, "argmin": 5}  # kb::ReduceOp


def rungs(op: str) -> tuple:
    """The native CUDA rungs of `op` whose C++ table line has a launch config (nvrtc): derived from
    the kernel tables, never listed by hand."""
    from ..registry import list_impls
    return tuple(i.name for i in list_impls(device="cuda") if i.op == op and i.native and i.nvrtc)


def source_of(rung: str, op: str) -> str:
    """Repo-relative path of a native rung's .cu file (its registry description's source)."""
    from ..registry import get_impl
    return get_impl(op, rung).source


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
    if not (hasattr(pb, "tables_json") and any(k["name"] == rung and k["op"] == op and k["nvrtc"]
                                               for k in __import__("json").loads(pb.tables_json())["kernels"])):
        return f"kernelbench._pybind has no launch configuration for {rung} (stale build?)"
    return None


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
    why = refusal("matmul", rung, "vector" if min(m, n) == 1 else "matrix")
    if why:   # the native rung's own precondition (kb::refuses on its table line)
        raise ValueError(f"impl: '{rung}' {why}; got M={m}, N={n}, K={k}")
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
# Single-pass workspaces (partials + the block counter), one per (rung, device, stream): two streams
# running the rung at once must not share a counter.
_WORKSPACES: dict = {}


def workspace(rung: str, need: int, device: int, stream: int, zeros=None):
    """The workspace of `rung` on (device, stream), grown to `need` bytes; None when need == 0."""
    if not need:
        return None
    key = (rung, device, stream)
    ws = _WORKSPACES.get(key)
    if ws is None or ws.nbytes < need:
        if zeros is None:
            import cupy
            zeros = functools.partial(cupy.zeros, dtype=cupy.uint8)
        ws = _WORKSPACES[key] = zeros(max(need, 256))
    return ws


def reduce(rung: str, x, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False):
    import math
    import cupy
    why = refusal("reduce", rung, reduce_layout(x.shape, dim))
    if why:   # the native rung's own precondition (kb::refuses on its table line)
        raise ValueError(f"impl: '{rung}' {why}; got shape {tuple(x.shape)}, dim={dim}")
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
    outer, r, inner = reduce_dims(x.shape, dim)
    out = cupy.empty((outer * inner,), dtype=cupy.int64 if arg else x.dtype)
    cfg = _pybind().reduce_config(rung, outer, r, inner, op, dtype)
    if cfg is None:
        raise RuntimeError(f"{rung} has no config function: it cannot be launched through CuPy")
    need = int(cfg.get("workspace_bytes", 0))
    ws = workspace(rung, need, cupy.cuda.runtime.getDevice(), cupy.cuda.get_current_stream().ptr)
    if need:
        # Clear the block counter every call, as the C++ launcher does (the kernel re-zeroes it too,
        # but an aborted launch would leave it set).
        ws.data.memset_async(0, 4)
    _launch(source_of(rung, "reduce"), cfg, "ReduceArgs",
            dict(x=x.data.ptr, out=out.data.ptr, outer=outer, r=r, inner=inner, op=_OPS[op], dtype=_DTYPES[dtype],
                 workspace=ws.data.ptr if need else 0, workspace_bytes=need))
    return out.reshape(reduce_out_shape(x.shape, dim, keepdim))


def reduce_dims(shape: tuple, dim: Optional[int]) -> tuple:
    """(outer, r, inner) of kb::ReduceArgs for a reduction of `shape` over `dim` (None: every element)."""
    import math
    if dim is None or not shape:
        return 1, int(math.prod(shape)), 1
    d = dim % len(shape)
    return int(math.prod(shape[:d])), int(shape[d]), int(math.prod(shape[d + 1:]))


def reduce_out_shape(shape: tuple, dim: Optional[int], keepdim: bool) -> tuple:
    if dim is None or not shape:
        return (1,) * len(shape) if keepdim else ()
    d = dim % len(shape)
    return tuple(1 if i == d else s for i, s in enumerate(shape) if keepdim or i != d)


def reduce_layout(shape: tuple, dim: Optional[int]) -> str:
    from ..registry.core import layout_class
    return layout_class("reduce", tuple(shape), dim)


def refusal(op: str, rung: str, layout: str) -> Optional[str]:
    from ..registry import get_impl
    return get_impl(op, rung).refusal(layout)


def matmul_fn(rung: str):
    return functools.partial(matmul, rung)


def reduce_fn(rung: str):
    return functools.partial(reduce, rung)
