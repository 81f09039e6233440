"""Vendor libraries, frameworks and compilers as rungs: what a user gets without writing a kernel.

One generic helper per framework (numpy/cupy share one through the array module); each rung is a
partial of it.  Every callable takes arrays of its backend already on its device (see Impl.backend)
and imports its framework lazily.  fp32 stays IEEE fp32 everywhere: TF32 is switched off for torch
matmul/cuDNN and TensorFlow, so the comparison with our fp32 kernels is like for like.

Global switches are only ever changed inside a context manager that puts them back: a rung used
as a library leaves torch, TensorFlow and Dynamo as it found them.  The benchmark holds the same
managers open around a whole run (`measurement_state`), so inside it the per-call managers find
nothing to change and cost a few attribute reads.
"""
from __future__ import annotations

import contextlib
import functools
import sys
from typing import Any, Callable, Optional

# ------------------------------------------------------------------------------ availability
@functools.lru_cache(maxsize=None)
def _import_reason(mod: str) -> Optional[str]:
    try:
        __import__(mod)
        return None
    except Exception as exc:   # ImportError, or a broken install that fails on import
        return f"{mod} not importable: {type(exc).__name__}: {exc}"[:160]


def torch_reason(device: str) -> Optional[str]:
    why = _import_reason("torch")
    if why or device == "cpu":
        return why
    import torch
    return None if torch.cuda.is_available() else "torch sees no CUDA device"


def torch_compile_reason(device: str) -> Optional[str]:
    why = torch_reason(device)
    if why:
        return why
    import torch
    return None if hasattr(torch, "compile") else "this torch has no torch.compile"


def cupy_reason() -> Optional[str]:
    why = _import_reason("cupy")
    if why:
        return why
    import cupy
    try:
        return None if cupy.cuda.runtime.getDeviceCount() > 0 else "CuPy sees no CUDA device"
    except Exception as exc:
        return f"CuPy sees no CUDA device ({type(exc).__name__})"


@functools.lru_cache(maxsize=None)
def tf_reason(device: str) -> Optional[str]:
    why = _import_reason("tensorflow")
    if why or device == "cpu":
        return why
    import tensorflow as tf
    return None if tf.config.list_physical_devices("GPU") else "TensorFlow sees no GPU"


def numpy_reason() -> Optional[str]:
    return _import_reason("numpy")


# ------------------------------------------------------------------------------ op bodies, any array module
def xp_reduce(xp, x, op: str, dim: Optional[int], keepdim: bool):
    """numpy / cupy: sum, mean, max, min, argmax, argmin with torch's shapes (flat index for dim=None)."""
    if op in ("argmax", "argmin"):
        fn = xp.argmax if op == "argmax" else xp.argmin
        if dim is None:
            r = fn(x)
            return r.reshape((1,) * x.ndim) if keepdim else r
        return fn(x, axis=dim, keepdims=keepdim)
    fn = {"sum": xp.sum, "mean": xp.mean, "max": xp.max, "min": xp.min}[op]
    return fn(x, axis=dim, keepdims=keepdim)


def torch_reduce(x, op: str, dim: Optional[int], keepdim: bool):
    import torch
    if dim is None:
        if op in ("argmax", "argmin"):
            r = (torch.argmax if op == "argmax" else torch.argmin)(x)
        else:
            r = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}[op](x)
        return r.reshape((1,) * x.dim()) if keepdim else r
    fn = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin,
          "argmax": torch.argmax, "argmin": torch.argmin}[op]
    return fn(x, dim=dim, keepdim=keepdim)


def tf_reduce(x, op: str, dim: Optional[int], keepdim: bool):
    import tensorflow as tf
    if op in ("argmax", "argmin"):
        fn = tf.math.argmax if op == "argmax" else tf.math.argmin
        if dim is None:
            r = fn(tf.reshape(x, [-1]), axis=0, output_type=tf.int64)
            return tf.reshape(r, [1] * len(x.shape)) if keepdim else r
        r = fn(x, axis=dim, output_type=tf.int64)
        return tf.expand_dims(r, dim if dim >= 0 else len(x.shape) + dim) if keepdim else r
    fn = {"sum": tf.reduce_sum, "mean": tf.reduce_mean, "max": tf.reduce_max, "min": tf.reduce_min}[op]
    return fn(x, axis=dim, keepdims=keepdim)


def _torch_matmul(a, b):
    import torch
    return torch.matmul(a, b)


def _torch_softmax(x):
    import torch
    return torch.softmax(x, dim=-1)


def _torch_log_softmax(x):
    import torch
    return torch.log_softmax(x, dim=-1)


def _torch_l2norm(x):
    import torch
    return torch.linalg.vector_norm(x, ord=2, dim=-1)


def _tf_matmul(a, b):
    import tensorflow as tf
    return tf.linalg.matmul(a, b)


def _tf_softmax(x):
    import tensorflow as tf
    return tf.nn.softmax(x, axis=-1)


def _tf_log_softmax(x):
    import tensorflow as tf
    return tf.nn.log_softmax(x, axis=-1)


def _tf_l2norm(x):
    import tensorflow as tf
    return tf.norm(x, ord="euclidean", axis=-1)


TORCH_BODIES = {"matmul": _torch_matmul, "reduce": torch_reduce, "softmax": _torch_softmax,
                "log_softmax": _torch_log_softmax, "l2norm": _torch_l2norm}
TF_BODIES = {"matmul": _tf_matmul, "reduce": tf_reduce, "softmax": _tf_softmax,
             "log_softmax": _tf_log_softmax, "l2norm": _tf_l2norm}


# ------------------------------------------------------------------------------ global switches, restored
@contextlib.contextmanager
def torch_fp32_strict():
    """TF32 off for torch's cuBLAS matmul and cuDNN inside the block; the previous values after it."""
    import torch
    saved = []
    for obj, attr in ((torch.backends.cuda.matmul, "allow_tf32"), (torch.backends.cudnn, "allow_tf32")):
        cur = getattr(obj, attr)
        if cur:
            setattr(obj, attr, False)
            saved.append((obj, attr, cur))
    try:
        yield
    finally:
        for obj, attr, cur in reversed(saved):
            setattr(obj, attr, cur)


@contextlib.contextmanager
def tf_fp32_strict():
    """TensorFlow's TF32 execution off inside the block; restored after it."""
    import tensorflow as tf
    exp = tf.config.experimental
    cur = exp.tensor_float_32_execution_enabled()
    if cur:
        exp.enable_tensor_float_32_execution(False)
    try:
        yield
    finally:
        if cur:
            exp.enable_tensor_float_32_execution(True)


DYNAMO_LIMITS = {"recompile_limit": 512, "cache_size_limit": 512, "accumulated_recompile_limit": 4096,
                 "accumulated_cache_size_limit": 4096}


@contextlib.contextmanager
def dynamo_recompile_limits():
    """The benchmark compiles one graph per shape and reduce variant: Dynamo's recompile limits
    raised inside the block (rather than a silent fall-back to eager after 8), restored after."""
    import torch._dynamo as dynamo
    saved = []
    for knob, want in DYNAMO_LIMITS.items():
        if hasattr(dynamo.config, knob):
            cur = getattr(dynamo.config, knob)
            if cur < want:
                setattr(dynamo.config, knob, want)
                saved.append((knob, cur))
    try:
        yield
    finally:
        for knob, cur in reversed(saved):
            setattr(dynamo.config, knob, cur)


@contextlib.contextmanager
def measurement_state():
    """Every switch a measurement needs, for the whole of a run: torch and TF fp32-strict, Dynamo's
    limits -- for the frameworks already imported (importing one is not this function's job)."""
    with contextlib.ExitStack() as stack:
        if "torch" in sys.modules:
            stack.enter_context(torch_fp32_strict())
            if "torch._dynamo" in sys.modules:
                stack.enter_context(dynamo_recompile_limits())
        if "tensorflow" in sys.modules:
            stack.enter_context(tf_fp32_strict())
        yield


# ------------------------------------------------------------------------------ torch: eager / compile
def torch_eager(op: str) -> Callable:
    body = TORCH_BODIES[op]

    def run(*arrays, **kw):
        with torch_fp32_strict():
            return body(*arrays, **kw)
    return run


@contextlib.contextmanager
def torch_tf32_on():
    """TF32 on for torch's cuBLAS matmul inside the block (the TF32 reference of cuda_15); restored after."""
    import torch
    cur = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = cur


def torch_matmul_tf32(*arrays, **kw):
    """torch.matmul on fp32 tensors with cuBLAS allowed to use TF32 tensor cores."""
    with torch_tf32_on():
        return _torch_matmul(*arrays, **kw)


@functools.lru_cache(maxsize=None)
def _compiled(op: str):
    import torch
    return torch.compile(TORCH_BODIES[op], dynamic=False)


def torch_compile(op: str) -> Callable:
    def run(*arrays, **kw):
        with torch_fp32_strict(), dynamo_recompile_limits():
            return _compiled(op)(*arrays, **kw)
    return run


# ------------------------------------------------------------------------------ TensorFlow: eager / tf.function / XLA
@functools.lru_cache(maxsize=None)
def _tf_fn(op: str, mode: str):
    import tensorflow as tf
    body = TF_BODIES[op]
    if mode == "eager":
        return body
    return tf.function(body, jit_compile=(mode == "xla"), reduce_retracing=False)


def tensorflow(op: str, mode: str, device: str) -> Callable:
    where = "/GPU:0" if device == "cuda" else "/CPU:0"

    def run(*arrays, **kw):
        import tensorflow as tf
        fn = _tf_fn(op, mode)
        with tf_fp32_strict(), tf.device(where):
            return fn(*arrays, **kw)
    return run


# ------------------------------------------------------------------------------ numpy / CuPy
def numpy_op(op: str) -> Callable:
    def run(*arrays, **kw):
        import numpy as np
        if op == "matmul":
            return np.matmul(*arrays)
        with np.errstate(invalid="ignore", divide="ignore"):
            return xp_reduce(np, arrays[0], **kw)
    return run


def cupy_matmul(a, b):
    import cupy
    return cupy.matmul(a, b)


def cupy_reduce(x, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False):
    import cupy
    return xp_reduce(cupy, x, op, dim, keepdim)


# ------------------------------------------------------------------------------ cuDNN
_CUDNN_STATE: dict = {}


def cudnn_path() -> str:
    """'frontend' when the cudnn (cuDNN frontend) Python module imports, else 'conv1x1'."""
    if "path" not in _CUDNN_STATE:
        _CUDNN_STATE["path"] = "frontend" if _import_reason("cudnn") is None else "conv1x1"
    return _CUDNN_STATE["path"]


def cudnn_reason() -> Optional[str]:
    why = torch_reason("cuda")
    if why:
        return why
    import torch
    return None if torch.backends.cudnn.is_available() else "torch was built without cuDNN"


@functools.lru_cache(maxsize=64)
def _cudnn_graph(batch: int, m: int, n: int, k: int, dtype: str):
    import cudnn
    import torch
    dt = {"float32": cudnn.data_type.FLOAT, "float16": cudnn.data_type.HALF,
          "bfloat16": cudnn.data_type.BFLOAT16}[dtype]
    handle = _CUDNN_STATE.get("handle")
    if handle is None:
        handle = _CUDNN_STATE["handle"] = cudnn.create_handle()
    g = cudnn.pygraph(io_data_type=dt, intermediate_data_type=cudnn.data_type.FLOAT,
                      compute_data_type=cudnn.data_type.FLOAT, handle=handle)
    ta = g.tensor(name="A", dim=[batch, m, k], stride=[m * k, k, 1], data_type=dt)
    tb = g.tensor(name="B", dim=[batch, k, n], stride=[k * n, n, 1], data_type=dt)
    tc = g.matmul(name="matmul", A=ta, B=tb)
    tc.set_output(True).set_data_type(dt)
    g.validate()
    g.build_operation_graph()
    g.create_execution_plans([cudnn.heur_mode.A, cudnn.heur_mode.FALLBACK])
    g.check_support()
    g.build_plans()
    ws = torch.empty(max(1, g.get_workspace_size()), device="cuda", dtype=torch.uint8)
    return g, ta, tb, tc, ws, handle


def cudnn_matmul(a, b):
    """cuDNN matmul: a frontend graph when the cudnn module imports, else a 1x1 convolution."""
    with torch_fp32_strict():
        return _cudnn_matmul(a, b)


def _cudnn_matmul(a, b):
    import torch
    out_3d = a.dim() == 3 or b.dim() == 3
    a3 = a if a.dim() == 3 else a.unsqueeze(0)
    b3 = b if b.dim() == 3 else b.unsqueeze(0)
    batch = max(a3.shape[0], b3.shape[0])
    m, k, n = a3.shape[1], a3.shape[2], b3.shape[2]
    a3 = a3.expand(batch, m, k).contiguous()
    b3 = b3.expand(batch, k, n).contiguous()
    if cudnn_path() == "frontend":
        import cudnn
        g, ta, tb, tc, ws, handle = _cudnn_graph(batch, m, n, k, str(a.dtype).replace("torch.", ""))
        cudnn.set_stream(handle=handle, stream=torch.cuda.current_stream().cuda_stream)
        c = torch.empty((batch, m, n), device=a.device, dtype=a.dtype)
        g.execute({ta: a3, tb: b3, tc: c}, ws, handle=handle)
    else:
        # C[z] = A[z] @ B[z] as conv2d: input (1, batch*K, M, 1) with groups=batch, weights
        # (batch*N, K, 1, 1) = B^T per group; output (1, batch*N, M, 1).
        x = a3.transpose(1, 2).reshape(1, batch * k, m, 1)
        w = b3.transpose(1, 2).reshape(batch * n, k, 1, 1)
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            y = torch.nn.functional.conv2d(x, w, groups=batch)
        c = y.reshape(batch, n, m).transpose(1, 2)
    return c if out_3d else c[0]
