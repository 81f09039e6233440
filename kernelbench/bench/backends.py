"""How the harness calls a rung: its inputs as the rung's array type (a native rung's: its front
door's, through the public API), the call, the matching sync and clock, its output back as the reference's."""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .cases import Case, Skip, is_torch
from .measure import CudaEvents, WallClock, noop

DOOR_ARRAYS = {"torch": "torch", "pybind": "numpy", "tf": "tf", "cupy": "cupy"}   # a native door's array type


@functools.lru_cache(maxsize=None)
def frontdoors() -> dict:
    """kernelbench.frontdoors(), once per process (it imports TensorFlow)."""
    try:
        import kernelbench
        from ..info import quiet_tf_logs
        with quiet_tf_logs():
            return kernelbench.frontdoors()
    except Exception as exc:  # the API is missing or broken: no native rung can run
        return {door: {"built": False, "cpu": False, "cuda": False, "reason": f"frontdoors() failed: {exc}"}
                for door in ("torch", "tf", "pybind")}


@functools.lru_cache(maxsize=None)
def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def to_backend(x: Any, backend: str, device: str) -> Any:
    """A master input (torch on `device`; numpy when torch is missing) as an array of `backend`."""
    if backend == "torch" and is_torch(x) or backend in ("numpy", "numba") and not is_torch(x):
        return x
    if backend == "numpy" or backend == "numba" and device == "cpu":
        if str(x.dtype) == "torch.bfloat16":
            raise Skip("numpy has no bfloat16")
        return x.detach().cpu().numpy()
    if backend == "cupy":   # (CuPy rungs are CUDA rungs)
        import cupy
        return cupy.from_dlpack(x) if is_torch(x) else cupy.asarray(x)
    if backend == "numba" and device == "cuda":
        from numba import cuda
        return cuda.as_cuda_array(x.detach())
    if backend != "tf":
        raise Skip(f"unknown backend {backend!r}" if is_torch(x)
                   else f"backend {backend!r} needs torch to share inputs on {device}")
    import tensorflow as tf
    with tf.device("/GPU:0" if device == "cuda" else "/CPU:0"):   # through the host
        if is_torch(x) and str(x.dtype) == "torch.bfloat16":
            return tf.cast(tf.constant(x.detach().float().cpu().numpy()), tf.bfloat16)
        return tf.constant(x.detach().cpu().contiguous().numpy() if is_torch(x) else x)


def _to_numpy(out: Any) -> np.ndarray:
    """Any backend's output as a numpy array (bfloat16 as float32)."""
    mod = type(out).__module__
    if mod.startswith("torch"):
        return (out.detach().float() if str(out.dtype) == "torch.bfloat16" else out.detach()).cpu().numpy()
    if mod.startswith("cupy"):
        return out.get()
    if mod.startswith("numba"):
        return out.copy_to_host()
    if hasattr(out, "numpy") and not isinstance(out, np.ndarray):   # TensorFlow
        import tensorflow as tf
        return (tf.cast(out, tf.float32) if out.dtype == tf.bfloat16 else out).numpy()
    return np.asarray(out)


def to_master(out: Any, master: Any) -> Any:
    """A rung's output as the master inputs' type (torch on their device, or numpy), for the check."""
    if not is_torch(master):
        return _to_numpy(out)
    import torch
    if isinstance(out, torch.Tensor):
        return out.to(master.device)
    if type(out).__module__.startswith("cupy"):
        return torch.from_dlpack(out).to(master.device)
    a = np.asarray(_to_numpy(out))   # C-contiguous for torch (np.ascontiguousarray makes a 0-d array 1-d)
    return torch.from_numpy(np.ascontiguousarray(a) if a.ndim else a).to(master.device)


def op_kwargs(case: Case, impl: str = "") -> dict:
    """Keyword arguments of a rung's call for this case (a native rung `impl`: of the public API's function)."""
    kw = {"op": case.variant, "dim": case.dim, "keepdim": case.keepdim} if case.op == "reduce" else {}
    return {**kw, "impl": impl, **({"log": case.op == "log_softmax"} if "softmax" in case.op else {})} if impl else kw


def torch_cuda_sync() -> None:
    import torch
    torch.cuda.synchronize()


@dataclass
class Prepared:
    call: Callable[[], Any]        # one call of the rung on prepared inputs; returns its output
    front_door: str                # torch | pybind | tf | cupy (native rungs) or the backend
    backend: str                   # "native" or the Python-level backend
    clock: Any                     # measure.WallClock | measure.CudaEvents
    sync: Callable[[], None]


def door_refusal(door: str, device: str, fds: Optional[dict] = None) -> Optional[str]:
    """Why a native rung cannot go through `door` on `device` (cupy: CuPy arrays, the torch door), or None."""
    info = (fds if fds is not None else frontdoors()).get("torch" if door == "cupy" else door, {})
    if door == "cupy" and importlib.util.find_spec("cupy") is None:
        return "cupy is not installed"
    if not info.get("built"):
        return f"the {door} front door is not built: {info.get('reason') or 'unknown'}"
    return None if info.get(device) else f"the {door} front door was built without {device.upper()} kernels"


def prepare(impl, case: Case, master: list, flush: bool = True, fds: Optional[dict] = None,
            door: Optional[str] = None) -> Prepared:
    """What calls and times `impl` on `case` (a native rung through `door`, by default torch; on a CPU
    without torch's CPU kernels pybind11), or Skip with the reason it cannot run here."""
    why = impl.unavailable_reason() or ("no CUDA device" if case.device == "cuda" and not cuda_available() else None)
    if not why and impl.native:
        auto = door is None
        door = door or ("pybind" if case.device == "cpu" and door_refusal("torch", "cpu", fds) else "torch")
        why = door_refusal(door, case.device, fds)
        why = f"no front door for native CPU rungs ({why})" if why and auto and door == "pybind" else why
    elif not why and impl.fn is None:
        why = "registry entry has no callable"
    if why:
        raise Skip(why)
    if impl.native:
        import kernelbench
        fn, kw, backend = getattr(kernelbench, case.op.replace("log_", "")), op_kwargs(case, impl.name), "native"
        arrays = [to_backend(x, DOOR_ARRAYS[door], "cpu" if door == "pybind" else case.device) for x in master]
    else:
        fn, kw, backend = impl.fn, op_kwargs(case), impl.backend or "numpy"
        door, arrays = backend, [to_backend(x, backend, case.device) for x in master]

    def call():
        return fn(*arrays, **kw)
    if case.device == "cpu":
        return Prepared(call, door, backend, WallClock(), noop)
    if door != "tf":
        return Prepared(call, door, backend, CudaEvents(flush=flush), torch_cuda_sync)
    # TensorFlow runs on a stream we cannot record events on: flush, sync, wall clock, sync
    import tensorflow as tf
    sync_devices = getattr(getattr(tf.test, "experimental", None), "sync_devices", None)
    if sync_devices is None:
        raise Skip("timing TensorFlow on a GPU needs tf.test.experimental.sync_devices (TensorFlow 2.12+)")
    return Prepared(call, door, backend, WallClock(flush=flush, name="wall_sync"), sync_devices)
