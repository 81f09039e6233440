"""Vendor-library rungs reached from Python: cuDNN's legacy reduction and softmax API through ctypes,
and cuBLASLt through nvmath-python.  (cuBLAS through torch.matmul and the cuDNN matmul live in
frameworks.py; CUB is native: a vendor line of the C++ reduce table, its source in csrc/cuda/library/.)

cuDNN: `cudnnReduceTensor` (sum / mean / max / min / argmax / argmin along one dim or the whole
tensor, and NORM2 for the L2 norm of rows) and `cudnnSoftmaxForward` (ACCURATE softmax, LOG
softmax, per row), from the cuDNN that torch already ships (nvidia/cudnn/lib or torch/lib), loaded
with ctypes: cuDNN 9 keeps these legacy entry points in libcudnn_ops and the handle functions in
libcudnn_graph (libcudnn.so.9 re-exports both).  Tensors are passed as 4-D NCHW descriptors:
a reduction views x as (outer, r, inner, 1) and writes (outer, 1, inner, 1); softmax views x as
(rows, cols, 1, 1) in CUDNN_SOFTMAX_MODE_INSTANCE (one softmax per n over c*h*w).
Every callable takes torch CUDA tensors and runs on torch's current stream.  Each rung says why
it cannot run here (no torch, no GPU, no cuDNN library, a cuDNN without these symbols).
"""
from __future__ import annotations

import ctypes
import functools
import glob
import math
import os
from typing import Optional

# ------------------------------------------------------------------------------ cuDNN enums (cudnn_ops.h / cudnn_graph.h)
CUDNN_STATUS_SUCCESS = 0
CUDNN_DATA = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 9}   # cudnnDataType_t
CUDNN_TENSOR_NCHW = 0                                                     # cudnnTensorFormat_t
CUDNN_REDUCE = {"sum": 0, "min": 2, "max": 3, "mean": 5, "norm2": 7}      # cudnnReduceTensorOp_t (ADD, MIN, MAX, AVG, NORM2)
CUDNN_PROPAGATE_NAN = 1                                                   # cudnnNanPropagation_t
CUDNN_REDUCE_TENSOR_NO_INDICES, CUDNN_REDUCE_TENSOR_FLATTENED_INDICES = 0, 1
CUDNN_32BIT_INDICES = 0                                                   # cudnnIndicesType_t: the only one supported
CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_LOG = 1, 2                          # cudnnSoftmaxAlgorithm_t
CUDNN_SOFTMAX_MODE_INSTANCE = 0                                           # cudnnSoftmaxMode_t

CUDNN_DTYPES = ("float32", "float64", "float16")   # legacy reduce/softmax: bf16 not in every cuDNN 9 build
_SYMBOLS = ("cudnnCreate", "cudnnSetStream", "cudnnGetErrorString", "cudnnCreateTensorDescriptor",
            "cudnnSetTensorNdDescriptor", "cudnnDestroyTensorDescriptor", "cudnnCreateReduceTensorDescriptor",
            "cudnnSetReduceTensorDescriptor", "cudnnDestroyReduceTensorDescriptor",
            "cudnnGetReductionWorkspaceSize", "cudnnGetReductionIndicesSize", "cudnnReduceTensor",
            "cudnnSoftmaxForward")


# ------------------------------------------------------------------------------ descriptor arguments (no GPU needed)
def packed_strides(dims: tuple) -> tuple:
    out, s = [], 1
    for d in reversed(dims):
        out.append(s)
        s *= max(int(d), 1)
    return tuple(reversed(out))


def reduce_args(shape: tuple, dim: Optional[int], op: str, dtype: str) -> dict:
    """What cudnnReduceTensor is called with for a reduction of a contiguous `shape` over `dim`
    (None: every element): A and C as 4-D (dims, strides), the reduce op, the compute type, whether
    indices are asked for, and the (outer, r, inner) view."""
    if dtype not in CUDNN_DTYPES:
        raise TypeError(f"x: cuDNN reductions here take {', '.join(CUDNN_DTYPES)}, got {dtype}")
    if op not in ("sum", "mean", "max", "min", "argmax", "argmin", "norm2"):
        raise ValueError(f"op: cuDNN has no {op!r} reduction here")
    shape = tuple(int(s) for s in shape)
    if dim is None or not shape:
        outer, r, inner = 1, math.prod(shape), 1
    else:
        d = dim % len(shape)
        outer, r, inner = math.prod(shape[:d]), shape[d], math.prod(shape[d + 1:])
    if op in ("argmax", "argmin") and r >= 2 ** 32:
        raise ValueError(f"x: cuDNN returns 32-bit indices; a dim of {r} elements does not fit")
    a_dims, c_dims = (outer, r, inner, 1), (outer, 1, inner, 1)
    return {"outer": outer, "r": r, "inner": inner,
            "a_dims": a_dims, "a_strides": packed_strides(a_dims),
            "c_dims": c_dims, "c_strides": packed_strides(c_dims),
            "data_type": CUDNN_DATA[dtype],
            "comp_type": CUDNN_DATA["float64" if dtype == "float64" else "float32"],
            "reduce_op": CUDNN_REDUCE[{"argmax": "max", "argmin": "min"}.get(op, op)],
            "indices": CUDNN_REDUCE_TENSOR_FLATTENED_INDICES if op in ("argmax", "argmin")
            else CUDNN_REDUCE_TENSOR_NO_INDICES,
            "nan": CUDNN_PROPAGATE_NAN}


def reduce_out_shape(shape: tuple, dim: Optional[int], keepdim: bool) -> tuple:
    """torch's output shape of a reduction of `shape` over `dim` (None: every element)."""
    if dim is None or not shape:
        return (1,) * len(shape) if keepdim else ()
    d = dim % len(shape)
    return tuple(1 if i == d else s for i, s in enumerate(shape) if keepdim or i != d)


def softmax_args(shape: tuple, log: bool, dtype: str) -> dict:
    """What cudnnSoftmaxForward is called with for a softmax over the last dim of a contiguous `shape`."""
    if dtype not in CUDNN_DTYPES:
        raise TypeError(f"x: cuDNN softmax here takes {', '.join(CUDNN_DTYPES)}, got {dtype}")
    if not shape:
        raise ValueError("x: expected at least a 1-D tensor (rows over the last dim), got a 0-D tensor")
    cols = int(shape[-1])
    rows = math.prod(int(s) for s in shape[:-1])
    dims = (rows, cols, 1, 1)
    return {"rows": rows, "cols": cols, "dims": dims, "strides": packed_strides(dims),
            "data_type": CUDNN_DATA[dtype], "algo": CUDNN_SOFTMAX_LOG if log else CUDNN_SOFTMAX_ACCURATE,
            "mode": CUDNN_SOFTMAX_MODE_INSTANCE}


def scale_type(dtype: str):
    """alpha/beta are host scalars: double for double tensors, float otherwise."""
    return ctypes.c_double if dtype == "float64" else ctypes.c_float


# ------------------------------------------------------------------------------ finding and loading cuDNN
def cudnn_search_dirs() -> list:
    """Where the cuDNN torch uses lives: the nvidia-cudnn wheel (nvidia/cudnn/lib), torch/lib, CUDNN_PATH."""
    dirs = []
    try:
        import nvidia.cudnn as nc   # the nvidia-cudnn-cu12/13 wheel torch depends on
        dirs += [os.path.join(p, "lib") for p in getattr(nc, "__path__", [])]
    except Exception:
        pass
    try:
        import torch
        dirs.append(os.path.join(os.path.dirname(torch.__file__), "lib"))
    except Exception:
        pass
    if os.environ.get("CUDNN_PATH"):
        dirs += [os.path.join(os.environ["CUDNN_PATH"], "lib"), os.path.join(os.environ["CUDNN_PATH"], "lib64")]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def cudnn_library_files(dirs: Optional[list] = None) -> list:
    """The cuDNN 9 libraries to load, in lookup order: libcudnn_graph (handle functions),
    libcudnn_ops (legacy reduce/softmax), libcudnn (re-exports both); else the system's by soname."""
    dirs = cudnn_search_dirs() if dirs is None else dirs
    files = []
    for stem in ("libcudnn_graph.so", "libcudnn_ops.so", "libcudnn.so"):
        for d in dirs:
            found = sorted(glob.glob(os.path.join(d, stem + "*")))
            if found:
                files.append(found[0])
                break
    return files or ["libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn.so.9"]


class CudnnLib:
    """The cuDNN entry points used here, each looked up in whichever loaded library exports it."""

    def __init__(self, files: list, loader=ctypes.CDLL):
        self.libs, errors = [], []
        for f in files:
            try:
                self.libs.append(loader(f))
            except OSError as exc:
                errors.append(f"{os.path.basename(f)}: {exc}")
        if not self.libs:
            raise OSError("cuDNN library not found (" + (errors[0].split(": ", 1)[-1] if errors else "no files")[:120]
                          + ")")
        missing = [s for s in _SYMBOLS if self._find(s) is None]
        if missing:
            raise OSError(f"the cuDNN found has no {', '.join(missing)} (legacy API removed?)")

    def _find(self, name: str):
        for lib in self.libs:
            try:
                return getattr(lib, name)
            except AttributeError:
                continue
        return None

    def __getattr__(self, name: str):
        fn = self._find(name)
        if fn is None:
            raise AttributeError(name)
        if name == "cudnnGetErrorString":
            fn.restype = ctypes.c_char_p
        return fn

    def check(self, status: int, what: str) -> None:
        if status != CUDNN_STATUS_SUCCESS:
            msg = self.cudnnGetErrorString(status)
            raise RuntimeError(f"{what} failed: {msg.decode() if msg else status}")


@functools.lru_cache(maxsize=None)
def cudnn_lib() -> CudnnLib:
    return CudnnLib(cudnn_library_files())


def cudnn_legacy_reason() -> Optional[str]:
    """None when cuDNN's legacy reduce/softmax can run here, else every reason it cannot."""
    try:
        import torch
    except Exception as exc:
        return f"torch not importable ({type(exc).__name__}): it provides the GPU arrays and the cuDNN library"
    why = []
    if not torch.cuda.is_available():
        why.append("no CUDA device" + ("" if torch.version.cuda else f" (torch {torch.__version__} is a CPU build)"))
    try:
        cudnn_lib()
    except OSError as exc:
        why.append(str(exc))
    return "; ".join(why) or None


# ------------------------------------------------------------------------------ running
_HANDLES: dict = {}


def _handle(lib: CudnnLib, device: int):
    h = _HANDLES.get(device)
    if h is None:
        h = ctypes.c_void_p()
        lib.check(lib.cudnnCreate(ctypes.byref(h)), "cudnnCreate")
        _HANDLES[device] = h
    return h


class _Tensor:
    """A cudnnTensorDescriptor_t set with cudnnSetTensorNdDescriptor, destroyed on exit."""

    def __init__(self, lib: CudnnLib, data_type: int, dims: tuple, strides: tuple):
        self.lib, self.desc = lib, ctypes.c_void_p()
        lib.check(lib.cudnnCreateTensorDescriptor(ctypes.byref(self.desc)), "cudnnCreateTensorDescriptor")
        n = len(dims)
        lib.check(lib.cudnnSetTensorNdDescriptor(self.desc, data_type, n, (ctypes.c_int * n)(*dims),
                                                 (ctypes.c_int * n)(*strides)), "cudnnSetTensorNdDescriptor")

    def __enter__(self):
        return self.desc

    def __exit__(self, *exc):
        self.lib.cudnnDestroyTensorDescriptor(self.desc)


def _prepare(x):
    import torch
    if not x.is_cuda:
        raise ValueError("x: cuDNN rungs take CUDA tensors")
    lib = cudnn_lib()
    h = _handle(lib, x.device.index if x.device.index is not None else torch.cuda.current_device())
    lib.check(lib.cudnnSetStream(h, ctypes.c_void_p(torch.cuda.current_stream(x.device).cuda_stream)),
              "cudnnSetStream")
    return lib, h


def cudnn_reduce(x, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False, _norm2: bool = False):
    """cudnnReduceTensor along `dim` (None: every element); argmax/argmin through MAX/MIN with
    flattened 32-bit indices (returned as int64 like torch)."""
    import torch
    dtype = str(x.dtype).replace("torch.", "")
    args = reduce_args(tuple(x.shape), dim, "norm2" if _norm2 else op, dtype)
    if args["r"] == 0 and op not in ("sum", "mean"):
        raise ValueError(f"x: {op} of an empty dimension is undefined (shape {tuple(x.shape)}); torch raises here too")
    x = x.contiguous()
    out_shape = reduce_out_shape(tuple(x.shape), dim, keepdim)
    y = torch.empty(args["outer"] * args["inner"], dtype=x.dtype, device=x.device)
    if y.numel() == 0:
        return y.reshape(out_shape).to(torch.int64) if op in ("argmax", "argmin") else y.reshape(out_shape)
    if args["r"] == 0:   # cuDNN takes no zero-size dim: an empty sum (or norm) is 0, an empty mean NaN
        return y.fill_(float("nan") if op == "mean" else 0.0).reshape(out_shape)
    lib, h = _prepare(x)
    rd = ctypes.c_void_p()
    lib.check(lib.cudnnCreateReduceTensorDescriptor(ctypes.byref(rd)), "cudnnCreateReduceTensorDescriptor")
    try:
        lib.check(lib.cudnnSetReduceTensorDescriptor(rd, args["reduce_op"], args["comp_type"], args["nan"],
                                                     args["indices"], CUDNN_32BIT_INDICES),
                  "cudnnSetReduceTensorDescriptor")
        with _Tensor(lib, args["data_type"], args["a_dims"], args["a_strides"]) as ad, \
                _Tensor(lib, args["data_type"], args["c_dims"], args["c_strides"]) as cd:
            ws_bytes, ix_bytes = ctypes.c_size_t(0), ctypes.c_size_t(0)
            lib.check(lib.cudnnGetReductionWorkspaceSize(h, rd, ad, cd, ctypes.byref(ws_bytes)),
                      "cudnnGetReductionWorkspaceSize")
            lib.check(lib.cudnnGetReductionIndicesSize(h, rd, ad, cd, ctypes.byref(ix_bytes)),
                      "cudnnGetReductionIndicesSize")
            ws = torch.empty(max(ws_bytes.value, 1), dtype=torch.uint8, device=x.device)
            ix = torch.empty(max(ix_bytes.value, 4) // 4, dtype=torch.int32, device=x.device)
            st = scale_type(dtype)
            alpha, beta = st(1.0), st(0.0)
            lib.check(lib.cudnnReduceTensor(h, rd, ctypes.c_void_p(ix.data_ptr()), ctypes.c_size_t(ix_bytes.value),
                                            ctypes.c_void_p(ws.data_ptr()), ctypes.c_size_t(ws_bytes.value),
                                            ctypes.byref(alpha), ad, ctypes.c_void_p(x.data_ptr()),
                                            ctypes.byref(beta), cd, ctypes.c_void_p(y.data_ptr())),
                      "cudnnReduceTensor")
    finally:
        lib.cudnnDestroyReduceTensorDescriptor(rd)
    if op in ("argmax", "argmin"):
        # uint32 indices: reinterpret, widen.
        return (ix[: y.numel()].to(torch.int64) & 0xFFFFFFFF).reshape(out_shape)
    return y.reshape(out_shape)


def cudnn_l2norm(x):
    """cudnnReduceTensor NORM2 over the last dim."""
    if x.dim() == 0:
        raise ValueError("x: expected at least a 1-D tensor (rows over the last dim), got a 0-D tensor")
    return cudnn_reduce(x, "sum", dim=x.dim() - 1, keepdim=False, _norm2=True)


def cudnn_softmax(x, log: bool = False):
    """cudnnSoftmaxForward, ACCURATE (max subtracted) or LOG, one softmax per row of the last dim."""
    import torch
    dtype = str(x.dtype).replace("torch.", "")
    args = softmax_args(tuple(x.shape), log, dtype)
    x = x.contiguous()
    y = torch.empty_like(x)
    if y.numel() == 0:
        return y
    lib, h = _prepare(x)
    st = scale_type(dtype)
    alpha, beta = st(1.0), st(0.0)
    with _Tensor(lib, args["data_type"], args["dims"], args["strides"]) as xd, \
            _Tensor(lib, args["data_type"], args["dims"], args["strides"]) as yd:
        lib.check(lib.cudnnSoftmaxForward(h, args["algo"], args["mode"], ctypes.byref(alpha), xd,
                                          ctypes.c_void_p(x.data_ptr()), ctypes.byref(beta), yd,
                                          ctypes.c_void_p(y.data_ptr())), "cudnnSoftmaxForward")
    return y


def cudnn_log_softmax(x):
    return cudnn_softmax(x, log=True)


# ------------------------------------------------------------------------------ cuBLASLt (nvmath-python)
def nvmath_reason() -> Optional[str]:
    try:
        import torch
    except Exception as exc:
        return f"torch not importable ({type(exc).__name__})"
    why = []
    if not torch.cuda.is_available():
        why.append("no CUDA device")
    try:
        import nvmath.linalg.advanced  # noqa: F401
    except Exception as exc:
        why.append(f"nvmath-python not importable ({type(exc).__name__}: {exc})"[:160])
    return "; ".join(why) or None


def nvmath_compute_type(dtype: str) -> str:
    """The cuBLASLt compute type: IEEE fp32 for fp32 (no TF32, like every other fp32 rung), fp64 for
    fp64, fp32 accumulation for fp16/bf16."""
    return "COMPUTE_64F" if dtype == "float64" else "COMPUTE_32F"


def cublaslt_matmul(a, b):
    """cuBLASLt through nvmath.linalg.advanced.matmul on torch's current stream."""
    import torch
    from nvmath.linalg import advanced
    ct = getattr(advanced.MatmulComputeType, nvmath_compute_type(str(a.dtype).replace("torch.", "")))
    if a.dim() == 3 or b.dim() == 3:   # one batch size for both (a batch of 1 broadcasts)
        batch = max(a.shape[0] if a.dim() == 3 else 1, b.shape[0] if b.dim() == 3 else 1)
        a = (a if a.dim() == 3 else a.unsqueeze(0)).expand(batch, -1, -1).contiguous()
        b = (b if b.dim() == 3 else b.unsqueeze(0)).expand(batch, -1, -1).contiguous()
    return advanced.matmul(a, b, options={"compute_type": ct}, stream=torch.cuda.current_stream())


# ------------------------------------------------------------------------------ what the run could not measure
def vendor_rungs_not_run(devices: list, ops: tuple) -> list:
    """(op, name, reason) of every vendor-library rung of `ops` that cannot run here: on a device that
    is absent, or unavailable on a present one -- so `kernelbench run` on a CPU still names the
    cuBLAS / cuBLASLt / CUB / cuDNN rung of each op and says why it was not measured."""
    from ..registry import list_impls
    out = []
    for i in list_impls(layer="vendor-library"):
        if i.op not in ops:
            continue
        try:
            why = i.unavailable_reason()
        except Exception as exc:   # a broken library must not stop the run
            why = f"{type(exc).__name__}: {exc}"
        if i.device not in devices:
            why = why or f"no {i.device.upper()} device"
        if why:
            out.append((i.op, i.name, why))
    return out
