"""The public API: one function per op, dispatching on the array type.

    torch tensor (CPU or CUDA) -> torch.ops.kernelbench.*     (torch front door)
    tf.Tensor                  -> the TensorFlow op library    (TF front door)
    numpy array                -> kernelbench._pybind           (framework-free front door)
    cupy array                 -> shared with torch through DLPack (zero copy)
impl=None picks the best native rung for the device and dtype; impl="name" picks a registry entry,
native or Python-level (numba, cupy, frameworks), whose inputs are converted to its backend.
"""
from __future__ import annotations

from typing import Any, Optional

from . import _frontdoors
from ._frontdoors import frontdoors  # noqa: F401  (re-exported)
from .registry import get_impl, list_impls
from .registry.core import REDUCE_OPS, Impl, layout_class

# impl=None: the native rungs whose C++ table line gives them a default rank, best (rank 1) first;
# the first that takes the dtype, the op variant and the layout is used (derived, never listed here).
def _preferred(base: str, device: str) -> list:
    ranked = [i for i in list_impls(op=base, device=device) if i.native and i.op == base and i.rank > 0]
    return [i.name for i in sorted(ranked, key=lambda i: i.rank)]


def _kind(x: Any) -> str:
    mod = type(x).__module__
    if mod.startswith("torch"):
        return "torch"
    if mod.startswith("tensorflow") or "EagerTensor" in type(x).__name__:
        return "tf"
    if mod.startswith("cupy"):
        return "cupy"
    if mod == "numpy" or hasattr(x, "__array_interface__"):
        return "numpy"
    raise TypeError(f"expected a torch / TensorFlow / numpy / cupy array, got {type(x).__name__}")


def _device(x: Any, kind: str) -> str:
    if kind == "torch":
        return "cuda" if x.is_cuda else "cpu"
    if kind == "tf":
        return "cuda" if "GPU" in (x.device or "").upper() else "cpu"
    return "cuda" if kind == "cupy" else "cpu"


def _dtype(x: Any, kind: str) -> str:
    name = str(x.dtype)
    if kind == "tf":
        name = x.dtype.name
    return name.replace("torch.", "").replace("<dtype: '", "").replace("'>", "")


def _default_impl(op: str, device: str, dtype: str, variant: Optional[str], layout: Optional[str]) -> str:
    base = "softmax" if op in ("softmax", "log_softmax") else op
    for name in _preferred(base, device):
        impl = get_impl(base, name)
        if dtype not in impl.dtypes:
            continue
        if variant is not None and impl.variants and variant not in impl.variants:
            continue
        if layout is not None and impl.refusal(layout):
            continue
        return name
    raise ValueError(f"impl: no native {base} rung on {device} supports {dtype}"
                     + (f" for {variant}" if variant else "") + "; pass impl= explicitly")


def _require(mod, key: str):
    if mod is None:
        raise RuntimeError(f"the {key} front door is not available: {_frontdoors.reason(key)}")
    return mod


def _to_backend(x: Any, kind: str, backend: str, device: str) -> Any:
    """Convert an input array to the backend a Python-level rung takes."""
    if backend == kind or backend == "numba" and kind in ("numpy", "cupy", "torch") and not (
            kind == "torch" and not x.is_cuda):
        return x
    import numpy as np
    host = x if kind == "numpy" else (x.numpy() if kind == "tf" else (
        x.get() if kind == "cupy" else x.detach().cpu().numpy()))
    if backend in ("numpy", "numba"):
        return np.asarray(host)
    if backend == "torch":
        import torch
        return torch.from_numpy(np.ascontiguousarray(host)).to(device)
    if backend == "tf":
        import tensorflow as tf
        with tf.device("/GPU:0" if device == "cuda" else "/CPU:0"):
            return tf.constant(host)
    if backend == "cupy":
        import cupy
        return cupy.asarray(host)
    raise ValueError(f"impl: unknown backend {backend!r}")


_FLOATS = ("float32", "float64", "float16", "bfloat16")


def _resolve(op: str, x: Any, kind: str, arg: str, impl: Optional[str], variant: Optional[str],
             layout: Optional[str]) -> Impl:
    """Check dtype and device of the first input, then pick the registry entry."""
    if kind == "torch" and x.layout != __import__("torch").strided:
        raise ValueError(f"{arg}: expected a dense (strided) tensor, got layout {x.layout}")
    device, dtype = _device(x, kind), _dtype(x, kind)
    if dtype not in _FLOATS:
        raise TypeError(f"{arg}: expected a floating-point array ({', '.join(_FLOATS)}), got {dtype}")
    entry = get_impl(op, impl or _default_impl(op, device, dtype, variant, layout))
    if entry.device != device:
        raise ValueError(f"impl: {entry.name!r} runs on {entry.device} but {arg} is on {device}")
    return entry


def _python_rung(entry: Impl, arrays: list, kind: str, **kw) -> Any:
    reason = entry.unavailable_reason()
    if reason:
        raise RuntimeError(f"impl: {entry.name!r} cannot run here: {reason}")
    args = [_to_backend(a, kind, entry.backend, entry.device) for a in arrays]
    return entry.fn(*args, **kw)


def _native(op: str, kind: str, impl: str, call_torch, call_tf, call_pybind, arrays: list):
    if kind == "torch":
        _require(_frontdoors.torch_ext(), "torch")
        return call_torch(*arrays)
    if kind == "tf":
        return call_tf(_require(_frontdoors.tf_ops(), "tf"), *arrays)
    if kind == "numpy":
        return call_pybind(_require(_frontdoors.pybind(), "pybind"), *arrays)[0]
    # cupy: share the memory with torch through DLPack and use the torch front door.
    import torch
    import cupy
    _require(_frontdoors.torch_ext(), "torch")
    out = call_torch(*[torch.from_dlpack(a) for a in arrays])
    return cupy.from_dlpack(out)


def _check_same_kind(kind: str, other: Any, arg: str) -> None:
    k2 = _kind(other)
    if k2 != kind:
        raise TypeError(f"{arg}: expected a {kind} array like a, got a {k2} array")


def _matmul_layout(a: Any, b: Any) -> Optional[str]:
    """"vector" (M == 1 or N == 1) or "matrix" for impl=None; None when the shapes are not 2-D/3-D
    (the shared checks explain that)."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if len(sa) not in (2, 3) or len(sb) not in (2, 3):
        return None
    return layout_class("matmul", (), batch_m_n=(1, int(sa[-2]), int(sb[-1])))


def _dim_in_range(x: Any, dim: Optional[int]) -> bool:
    nd = max(len(tuple(x.shape)), 1)
    return dim is None or -nd <= dim < nd


def matmul(a: Any, b: Any, impl: Optional[str] = None) -> Any:
    """C = A @ B.  a: (M, K) or (batch, M, K); b: (K, N) or (batch, K, N)."""
    kind = _kind(a)
    _check_same_kind(kind, b, "b")
    entry = _resolve("matmul", a, kind, "a", impl, None, _matmul_layout(a, b))
    name = entry.name
    if _dtype(b, kind) != _dtype(a, kind):
        raise TypeError(f"b: expected the dtype of a ({_dtype(a, kind)}), got {_dtype(b, kind)}")
    if not entry.native:
        return _python_rung(entry, [a, b], kind)
    import_torch_op = lambda x, y: __import__("torch").ops.kernelbench.matmul(x, y, name)  # noqa: E731
    return _native("matmul", kind, name, import_torch_op,
                   lambda lib, x, y: lib.kb_matmul(x, y, impl=name),
                   lambda pb, x, y: pb.matmul(x, y, name), [a, b])


def reduce(x: Any, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False,
           impl: Optional[str] = None) -> Any:
    """Reduce x over every element (dim=None) or along one dim: sum, mean, max, min, argmax, argmin."""
    if op not in REDUCE_OPS:
        raise ValueError(f"op: expected one of {', '.join(REDUCE_OPS)}, got {op!r}")
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"dim: expected an int or None, got {type(dim).__name__}")
    kind = _kind(x)
    entry = _resolve("reduce", x, kind, "x", impl, op,
                     layout_class("reduce", tuple(x.shape), dim) if _dim_in_range(x, dim) else None)
    name = entry.name
    if not entry.native:
        return _python_rung(entry, [x], kind, op=op, dim=dim, keepdim=keepdim)

    def call_tf(lib, t):
        fn = lib.kb_arg_reduce if op in ("argmax", "argmin") else lib.kb_reduce
        return fn(t, op=op, has_dim=dim is not None, dim=dim or 0, keepdim=keepdim, impl=name)

    return _native("reduce", kind, name,
                   lambda t: __import__("torch").ops.kernelbench.reduce(t, op, dim, keepdim, name), call_tf,
                   lambda pb, t: pb.reduce(t, op, dim, keepdim, name), [x])


def _rowwise(x: Any, log: bool, impl: Optional[str], op: str) -> Any:
    kind = _kind(x)
    entry = _resolve(op, x, kind, "x", impl, None, "rows")
    name = entry.name
    if not entry.native:
        return _python_rung(entry, [x], kind)
    if op == "l2norm":
        return _native(op, kind, name, lambda t: __import__("torch").ops.kernelbench.l2norm(t, name),
                       lambda lib, t: lib.kb_l2_norm(t, impl=name), lambda pb, t: pb.l2norm(t, name), [x])
    return _native(op, kind, name, lambda t: __import__("torch").ops.kernelbench.softmax(t, log, name),
                   lambda lib, t: lib.kb_softmax(t, log=log, impl=name), lambda pb, t: pb.softmax(t, log, name), [x])


def softmax(x: Any, log: bool = False, impl: Optional[str] = None) -> Any:
    """Softmax (or log-softmax) over the last dim."""
    return _rowwise(x, log, impl, "log_softmax" if log else "softmax")


def log_softmax(x: Any, impl: Optional[str] = None) -> Any:
    return _rowwise(x, True, impl, "log_softmax")


def l2norm(x: Any, impl: Optional[str] = None) -> Any:
    """L2 norm over the last dim: shape x.shape[:-1]."""
    return _rowwise(x, False, impl, "l2norm")
