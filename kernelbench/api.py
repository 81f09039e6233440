"""The public API: one function per op, dispatching on the array type.

    torch tensor (CPU or CUDA) -> torch.ops.kernelbench.*     (torch front door)
    tf.Tensor                  -> the TensorFlow op library    (TF front door)
    numpy array                -> kernelbench._pybind           (framework-free front door)
    cupy array                 -> shared with torch through DLPack (zero copy)
impl=None picks the best native rung for the device and dtype; impl="name" picks a registry entry,
native or Python-level (numba, cupy, frameworks), whose inputs are converted to its backend.

Every door obeys the same rules (docs/semantics.md): the shape rules of csrc/common/kb_plan.cpp
(check_matmul / check_reduce / check_rowwise) run inside every native door and, through the
pybind11 module, before every Python-level rung; arguments are checked here once for all doors;
a bad argument is a ValueError or TypeError whose message starts with the argument's name.
The torch path is plain Python that torch.compile(fullgraph=True) traces (no __import__ call).
"""
from __future__ import annotations

import operator
import re
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


def _kind(x: Any, arg: str = "x") -> str:
    mod = type(x).__module__
    if mod.startswith("torch"):
        return "torch"
    if mod.startswith("tensorflow") or "EagerTensor" in type(x).__name__:
        return "tf"
    if mod.startswith("cupy"):
        return "cupy"
    if mod == "numpy" or hasattr(x, "__array_interface__"):
        return "numpy"
    raise TypeError(f"{arg}: expected a torch / TensorFlow / numpy / cupy array, got {type(x).__name__}")


def _as_array(x: Any, kind: str, arg: str) -> Any:
    """The array a door takes: numpy scalars and __array_interface__ objects become numpy arrays;
    sparse torch tensors and ragged / sparse TF tensors are refused (dense arrays only)."""
    if kind == "numpy":
        import numpy as np
        if isinstance(x, np.ndarray):
            return x
        try:
            return np.asarray(x)
        except Exception as exc:  # a broken __array_interface__
            raise TypeError(f"{arg}: expected a numpy array, got {type(x).__name__} ({exc})") from None
    if kind == "tf":
        import tensorflow as tf
        if not isinstance(x, (tf.Tensor, tf.Variable)):
            raise ValueError(f"{arg}: expected a dense tf.Tensor, got {type(x).__name__}")
        return x
    if kind == "torch":
        import torch
        if x.layout != torch.strided:
            raise ValueError(f"{arg}: expected a dense (strided) tensor, got layout {x.layout}")
    return x


def _shape(x: Any, kind: str) -> Optional[list]:
    """The static shape as ints, or None when some size is unknown (a symbolic TF tensor)."""
    if kind == "tf":
        dims = x.shape.as_list() if x.shape.rank is not None else None
        return None if dims is None or None in dims else dims
    return list(x.shape)


def _ndim(x: Any, kind: str) -> Optional[int]:
    return x.shape.rank if kind == "tf" else len(x.shape)


def _flag(value: Any, arg: str) -> bool:
    """keepdim / log: a bool, numpy bool, or the integers 0 and 1 (as torch accepts)."""
    if type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, int) or (hasattr(type(value), "__index__") and not isinstance(value, float)):
        try:
            v = operator.index(value)
        except TypeError:
            v = None
        if v in (0, 1):
            return bool(v)
    raise TypeError(f"{arg}: expected a bool, got {value!r}")


def _impl_arg(impl: Any) -> Optional[str]:
    if impl is not None and not isinstance(impl, str):
        raise TypeError(f"impl: expected a rung name (str) or None, got {type(impl).__name__}")
    return impl


_INT64 = (-(2**63), 2**63)


def _dim_arg(dim: Any, ndim: Optional[int]) -> Optional[int]:
    """None or an integer (Python or numpy; never a bool); its range is kb_plan's check, except
    for values no int64 holds, which are answered here with kb_plan's message."""
    if dim is None:
        return None
    if type(dim).__name__ in ("bool", "bool_") or not hasattr(type(dim), "__index__"):
        raise TypeError(f"dim: expected an int or None, got {type(dim).__name__}")
    d = operator.index(dim)
    if not _INT64[0] <= d < _INT64[1]:
        n = ndim if ndim is not None else 0
        if n == 0:
            raise ValueError("x: expected at least a 1-D tensor, got a 0-D tensor")
        raise ValueError(f"dim: expected a value in [{-n}, {n - 1}] for a {n}-D tensor, got {d}")
    return d


def _device(x: Any, kind: str) -> str:
    if kind == "torch":
        return "cuda" if x.is_cuda else "cpu"
    if kind == "tf":
        return "cuda" if "GPU" in (x.device or "").upper() else "cpu"
    return "cuda" if kind == "cupy" else "cpu"


_NUMPY_DTYPE_NAMES: dict = {}   # numpy's str(dtype) alone costs ~4 us a call


def _dtype(x: Any, kind: str) -> str:
    if kind == "numpy":
        name = _NUMPY_DTYPE_NAMES.get(x.dtype)
        if name is None:
            name = _NUMPY_DTYPE_NAMES[x.dtype] = str(x.dtype)
        return name
    name = x.dtype.name if kind == "tf" else str(x.dtype)
    return name.replace("torch.", "").replace("<dtype: '", "").replace("'>", "")


_DEFAULTS: dict = {}   # (op, device, dtype, variant, layout) -> the rung impl=None picks: ~20 us to find


def _default_impl(op: str, device: str, dtype: str, variant: Optional[str], layout: Optional[str]) -> str:
    key = (op, device, dtype, variant, layout)
    name = _DEFAULTS.get(key)
    if name is None:
        name = _DEFAULTS[key] = _first_preferred(op, device, dtype, variant, layout)
    return name


def _first_preferred(op: str, device: str, dtype: str, variant: Optional[str], layout: Optional[str]) -> str:
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
    if kind == "torch" and str(x.dtype) == "torch.bfloat16":   # numpy's bfloat16 is ml_dtypes'
        import ml_dtypes
        host = x.detach().cpu().float().numpy().astype(ml_dtypes.bfloat16)
    else:
        host = x if kind == "numpy" else (x.numpy() if kind == "tf" else (
            x.get() if kind == "cupy" else x.detach().cpu().numpy()))
    if backend in ("numpy", "numba"):
        return np.asarray(host)
    if backend == "torch":
        import torch
        if not (host.flags.c_contiguous and host.flags.aligned and host.flags.writeable
                and all(st >= 0 for st in host.strides)):
            host = host.copy(order="C")              # torch.from_numpy takes none of these
        if host.dtype.name == "bfloat16":
            return torch.from_numpy(host.astype(np.float32)).to(device=device, dtype=torch.bfloat16)
        return torch.from_numpy(host).to(device)
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
    device, dtype = _device(x, kind), _dtype(x, kind)
    if dtype not in _FLOATS:
        raise TypeError(f"{arg}: expected a floating-point array ({', '.join(_FLOATS)}), got {dtype}")
    entry = get_impl(op, impl if impl is not None else _default_impl(op, device, dtype, variant, layout))
    if entry.device != device:
        raise ValueError(f"impl: {entry.name!r} runs on {entry.device} but {arg} is on {device}")
    return entry


def _known(shapes: list, check):
    """kb_plan's check on static shapes; (None, None) for a symbolic TF tensor (graph mode: the
    rung's framework checks at run time)."""
    return (None, None) if any(sh is None for sh in shapes) else check(*shapes)


def _constant(like: Any, backend: str, shape: tuple, value: float, index: bool) -> Any:
    """An array of `shape` filled with `value`, of like's dtype (int64 for indices) and backend."""
    if index:
        value = int(value)            # (only an empty index array comes here: value 0)
    if backend == "torch":
        import torch
        return torch.full(shape, value, dtype=torch.int64 if index else like.dtype, device=like.device)
    if backend == "tf":
        import tensorflow as tf
        with tf.device(like.device):
            return tf.fill(list(shape), tf.constant(value, tf.int64 if index else like.dtype))
    if backend == "cupy":
        import cupy
        return cupy.full(shape, value, dtype=cupy.int64 if index else like.dtype)
    import numpy as np
    return np.full(shape, value, dtype=np.int64 if index else like.dtype)


def _python_rung(entry: Impl, arrays: list, kind: str, arg: str, check, index: bool = False, **kw) -> Any:
    """A Python-level rung, under the rules of the native doors: kb_plan's shape rules (through the
    pybind11 module: `check(pb)` -> (output shape, constant or None)), the registry's dtypes, no
    call for an empty or constant result, and the output shape the rules promise."""
    pb = _frontdoors.pybind()
    planned, fill = check(pb) if pb is not None else (None, None)
    dtype = _dtype(arrays[0], kind)
    if dtype not in entry.dtypes:   # the message of kb_plan's require_dtype
        raise ValueError(f"{arg}: impl '{entry.name}' supports {', '.join(entry.dtypes)}, got {dtype}")
    reason = entry.unavailable_reason()
    if reason:
        raise RuntimeError(f"impl: {entry.name!r} cannot run here: {reason}")
    args = [_to_backend(a, kind, entry.backend, entry.device) for a in arrays]
    if planned is not None and (fill is not None or 0 in planned):
        return _constant(args[0], entry.backend, tuple(planned), fill or 0.0, index)
    out = entry.fn(*args, **kw)
    if planned is not None:
        got = list(out.shape.as_list() if hasattr(out.shape, "as_list") else getattr(out, "shape", ()))
        if got != list(planned):
            raise RuntimeError(f"impl: {entry.name!r} returned shape {tuple(got)} where {tuple(planned)} "
                               "was expected (a bug in the rung)")
    return out


def _tf_message(exc: Exception) -> str:
    """The kb_plan message inside a TF error, without TF's node prefix and op suffix."""
    msg = getattr(exc, "message", None) or str(exc)
    msg = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", msg)
    return re.sub(r"\s*\[Op:\w+\].*$", "", msg, flags=re.S).strip()


XLA_LIMIT = ("kernelbench ops have no XLA kernels (they are custom CPU/CUDA kernels), so "
             "tf.function(jit_compile=True) cannot compile them; use tf.function without jit_compile, "
             "or call kb ops outside the XLA-compiled function")


def _in_xla_function() -> bool:
    """Are we tracing a tf.function(jit_compile=True)?  (TF's own test; absent -> TF's own error.)"""
    try:
        from tensorflow.python.framework import ops
        from tensorflow.python.ops import control_flow_util
        return bool(control_flow_util.GraphOrParentsInXlaContext(ops.get_default_graph()))
    except Exception:  # a TF without this internal helper: its own "no XLA kernel" error follows
        return False


def _call_tf(call_tf, lib, arrays: list):
    """TF door: InvalidArgument / Internal from our kernels become ValueError / RuntimeError with
    kb_plan's message, as the torch and pybind11 doors raise them (eager; graphs raise at run)."""
    import tensorflow as tf
    if _in_xla_function():
        raise NotImplementedError(XLA_LIMIT)
    try:
        return call_tf(lib, *arrays)
    except tf.errors.InvalidArgumentError as exc:
        raise ValueError(_tf_message(exc)) from None
    except tf.errors.InternalError as exc:
        raise RuntimeError(_tf_message(exc)) from None


def _native(op: str, kind: str, impl: str, call_torch, call_tf, call_pybind, arrays: list):
    if kind == "torch":
        if not _frontdoors.torch_ready():
            _require(None, "torch")
        return call_torch(*arrays)
    if kind == "tf":
        return _call_tf(call_tf, _require(_frontdoors.tf_ops(), "tf"), arrays)
    if kind == "numpy":
        return call_pybind(_require(_frontdoors.pybind(), "pybind"), *arrays)[0]
    # cupy: share the memory with torch through DLPack and use the torch front door.
    import torch
    import cupy
    _require(_frontdoors.torch_ext(), "torch")
    out = call_torch(*[torch.from_dlpack(a) for a in arrays])
    return cupy.from_dlpack(out)


def _check_same_kind(kind: str, other: Any, arg: str) -> None:
    k2 = _kind(other, arg)
    if k2 != kind:
        raise TypeError(f"{arg}: expected a {kind} array like a, got a {k2} array")


def _matmul_layout(a: Any, b: Any, kind: str) -> Optional[str]:
    """"vector" (M == 1 or N == 1) or "matrix" for impl=None; None when the shapes are not 2-D/3-D
    or not known yet (the shared checks explain the former)."""
    sa, sb = _shape(a, kind), _shape(b, kind)
    if sa is None or sb is None or len(sa) not in (2, 3) or len(sb) not in (2, 3):
        return None
    return layout_class("matmul", (), batch_m_n=(1, int(sa[-2]), int(sb[-1])))


def _reduce_layout(x: Any, kind: str, dim: Optional[int]) -> Optional[str]:
    """The layout class of a reduction for impl=None; None when the shape is unknown or dim is out
    of range (the shared checks explain that)."""
    if dim is None:
        return "whole"
    shape = _shape(x, kind)
    if shape is None or not -max(len(shape), 1) <= dim < max(len(shape), 1):
        return None
    return layout_class("reduce", tuple(shape), dim)


def _torch_op(name: str, *args):
    """torch.ops.kernelbench.<name>(*args).  When no gradient can flow (grad mode off, or no input
    requires one) and torch.compile is not tracing, the call goes below the Autograd key: there
    torch.library's Python autograd wrapper (register_autograd) would only redispatch, at ~20 us a
    call -- a quarter of a 256^3 CPU matmul (2-vCPU EPYC)."""
    import torch
    op = getattr(torch.ops.kernelbench, name)
    if torch.compiler.is_compiling() or (
            torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad for a in args)):
        return op(*args)
    with torch._C._AutoDispatchBelowAutograd():
        return op(*args)


def _torch_matmul(x, y, name):
    return _torch_op("matmul", x, y, name)


def matmul(a: Any, b: Any, impl: Optional[str] = None) -> Any:
    """C = A @ B.  a: (M, K) or (batch, M, K); b: (K, N) or (batch, K, N)."""
    impl = _impl_arg(impl)
    kind = _kind(a, "a")
    _check_same_kind(kind, b, "b")
    a, b = _as_array(a, kind, "a"), _as_array(b, kind, "b")
    entry = _resolve("matmul", a, kind, "a", impl, None, _matmul_layout(a, b, kind))
    name = entry.name
    dtype_a, dtype_b = _dtype(a, kind), _dtype(b, kind)
    if dtype_b != dtype_a:
        raise TypeError(f"b: expected the dtype of a ({dtype_a}), got {dtype_b}")
    if not entry.native:
        return _python_rung(entry, [a, b], kind, "a",
                            lambda pb: _known([_shape(a, kind), _shape(b, kind)], pb.check_matmul))
    return _native("matmul", kind, name, lambda x, y: _torch_matmul(x, y, name),
                   lambda lib, x, y: lib.kb_matmul(x, y, impl=name),
                   lambda pb, x, y: pb.matmul(x, y, name), [a, b])


def reduce(x: Any, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False,
           impl: Optional[str] = None) -> Any:
    """Reduce x over every element (dim=None) or along one dim: sum, mean, max, min, argmax, argmin."""
    if not isinstance(op, str) or op not in REDUCE_OPS:
        raise ValueError(f"op: expected one of {', '.join(REDUCE_OPS)}, got {op!r}")
    impl = _impl_arg(impl)
    keepdim = _flag(keepdim, "keepdim")
    kind = _kind(x, "x")
    x = _as_array(x, kind, "x")
    dim = _dim_arg(dim, _ndim(x, kind))
    entry = _resolve("reduce", x, kind, "x", impl, op,
                     _reduce_layout(x, kind, dim))
    name = entry.name
    if not entry.native:
        return _python_rung(entry, [x], kind, "x",
                            lambda pb: _known([_shape(x, kind)], lambda sh: pb.check_reduce(sh, op, dim, keepdim)),
                            index=op in ("argmax", "argmin"), op=op, dim=dim, keepdim=keepdim)

    def call_tf(lib, t):
        fn = lib.kb_arg_reduce if op in ("argmax", "argmin") else lib.kb_reduce
        return fn(t, op=op, has_dim=dim is not None, dim=dim or 0, keepdim=keepdim, impl=name)

    def call_torch(t):
        return _torch_op("reduce", t, op, dim, keepdim, name)

    return _native("reduce", kind, name, call_torch, call_tf,
                   lambda pb, t: pb.reduce(t, op, dim, keepdim, name), [x])


def _torch_rowwise(t, log: bool, name: str, l2: bool):
    return _torch_op("l2norm", t, name) if l2 else _torch_op("softmax", t, log, name)


def _rowwise(x: Any, log: bool, impl: Optional[str], op: str) -> Any:
    impl = _impl_arg(impl)
    log = _flag(log, "log")
    kind = _kind(x, "x")
    x = _as_array(x, kind, "x")
    entry = _resolve(op, x, kind, "x", impl, None, "rows")
    name = entry.name
    l2 = op == "l2norm"
    if not entry.native:
        return _python_rung(entry, [x], kind, "x",
                            lambda pb: _known([_shape(x, kind)],
                                              lambda sh: pb.check_rowwise(sh, "l2norm" if l2 else "softmax")))
    if l2:
        return _native(op, kind, name, lambda t: _torch_rowwise(t, False, name, True),
                       lambda lib, t: lib.kb_l2_norm(t, impl=name), lambda pb, t: pb.l2norm(t, name), [x])
    return _native(op, kind, name, lambda t: _torch_rowwise(t, log, name, False),
                   lambda lib, t: lib.kb_softmax(t, log=log, impl=name), lambda pb, t: pb.softmax(t, log, name), [x])


def softmax(x: Any, log: bool = False, impl: Optional[str] = None) -> Any:
    """Softmax (or log-softmax) over the last dim."""
    return _rowwise(x, log, impl, "log_softmax" if log else "softmax")


def log_softmax(x: Any, impl: Optional[str] = None) -> Any:
    return _rowwise(x, True, impl, "log_softmax")


def l2norm(x: Any, impl: Optional[str] = None) -> Any:
    """L2 norm over the last dim: shape x.shape[:-1]."""
    return _rowwise(x, False, impl, "l2norm")
