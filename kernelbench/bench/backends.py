"""How the harness calls a rung: inputs converted to the rung's array type, the call itself,
the matching device sync and timer, and the output brought back next to the reference.

Native rungs (layers handwritten-cuda and cpu) go through the public API with torch tensors --
the torch front door, on the current stream -- or, when torch or its extension is missing, with
numpy arrays through the pybind11 module (CPU).  Python-level rungs get arrays of their backend
already on the device and are called as `impl.fn(*arrays, **op_kwargs)`.
"""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import cases
from .cases import Case, Skip, is_torch


# ------------------------------------------------------------------------------ environment
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
        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def devices_present() -> list:
    return ["cpu", "cuda"] if cuda_available() else ["cpu"]


# ------------------------------------------------------------------------------ conversions
def _torch_to_numpy(x):
    import torch
    if x.dtype == torch.bfloat16:
        raise Skip("numpy has no bfloat16")
    return x.detach().cpu().numpy()


def to_backend(x: Any, backend: str, device: str) -> Any:
    """A master input (torch tensor on `device`, or numpy array) as an array of `backend`."""
    if is_torch(x):
        if backend == "torch":
            return x
        if backend == "numpy" or (backend == "numba" and device == "cpu"):
            return _torch_to_numpy(x)
        if backend == "cupy":
            import cupy
            return cupy.from_dlpack(x.contiguous() if device == "cpu" else x)
        if backend == "numba":
            from numba import cuda
            return cuda.as_cuda_array(x.detach())
        if backend == "tf":
            import tensorflow as tf
            if device == "cuda":
                try:
                    from torch.utils import dlpack
                    with tf.device("/GPU:0"):
                        return tf.experimental.dlpack.from_dlpack(dlpack.to_dlpack(x.contiguous()))
                except Exception:
                    pass
            import torch
            host = x.detach().cpu()
            with tf.device("/GPU:0" if device == "cuda" else "/CPU:0"):
                if host.dtype == torch.bfloat16:
                    return tf.cast(tf.constant(host.float().numpy()), tf.bfloat16)
                return tf.constant(host.contiguous().numpy())
        raise Skip(f"unknown backend {backend!r}")
    # numpy master (no torch here)
    if backend in ("numpy", "numba"):
        return x
    if backend == "tf":
        import tensorflow as tf
        with tf.device("/CPU:0"):
            return tf.constant(x)
    if backend == "cupy":
        import cupy
        return cupy.asarray(x)
    raise Skip(f"backend {backend!r} needs torch to share inputs on {device}")


def _host(a) -> Any:
    """numpy array, C-contiguous, keeping 0-d results 0-d (np.ascontiguousarray makes them 1-d)."""
    import numpy as np
    a = np.asarray(a)
    return a if a.ndim == 0 or a.flags.c_contiguous else np.ascontiguousarray(a)


def to_master(out: Any, master: Any) -> Any:
    """A rung's output converted to the namespace (torch on the master's device, or numpy) of the
    master inputs, for the check against the reference."""
    import numpy as np
    mod = type(out).__module__
    if is_torch(master):
        import torch
        dev = master.device
        if mod.startswith("torch"):
            return out.to(dev)
        if mod.startswith("cupy"):
            return torch.from_dlpack(out).to(dev)
        if mod.startswith("numba"):
            return torch.as_tensor(out.copy_to_host()).to(dev)
        if mod.startswith("tensorflow") or hasattr(out, "numpy") and not isinstance(out, np.ndarray):
            import tensorflow as tf
            if out.dtype == tf.bfloat16:
                out = tf.cast(out, tf.float32)
            return torch.from_numpy(_host(out.numpy())).to(dev)
        return torch.from_numpy(_host(out)).to(dev)
    if mod.startswith("torch"):
        return out.detach().float().cpu().numpy() if str(out.dtype) == "torch.bfloat16" else out.detach().cpu().numpy()
    if mod.startswith("cupy"):
        return out.get()
    if mod.startswith("numba"):
        return out.copy_to_host()
    if mod.startswith("tensorflow"):
        return out.numpy()
    return np.asarray(out)


# ------------------------------------------------------------------------------ op calls
def op_kwargs(case: Case) -> dict:
    """Keyword arguments of a Python-level rung's fn for this case."""
    if case.op == "reduce":
        return {"op": case.variant, "dim": case.dim, "keepdim": case.keepdim}
    return {}


def native_call(impl_name: str, case: Case, arrays: list) -> Callable[[], Any]:
    """A zero-argument call of a native rung through the public API."""
    import kernelbench as kb
    if case.op == "matmul":
        a, b = arrays
        return lambda: kb.matmul(a, b, impl=impl_name)
    x, v, d, k = arrays[0], case.variant, case.dim, case.keepdim
    calls = {"reduce": lambda: kb.reduce(x, op=v, dim=d, keepdim=k, impl=impl_name),
             "softmax": lambda: kb.softmax(x, log=False, impl=impl_name),
             "log_softmax": lambda: kb.softmax(x, log=True, impl=impl_name),
             "l2norm": lambda: kb.l2norm(x, impl=impl_name)}
    if case.op not in calls:
        raise ValueError(f"op: unknown {case.op!r}")
    return calls[case.op]


def tf_sync(state: dict) -> Callable[[], None]:
    """TensorFlow's device sync (or, on old versions, fetching the last output kept in `state`)."""
    import tensorflow as tf
    sync_devices = getattr(getattr(getattr(tf, "test", None), "experimental", None), "sync_devices", None)
    if sync_devices is not None:
        return lambda: sync_devices()
    return lambda: state.get("out") is not None and state["out"].numpy()


def torch_cuda_sync() -> None:
    import torch
    torch.cuda.synchronize()


@dataclass
class Prepared:
    call: Callable[[], Any]        # one call of the rung on prepared inputs; returns its output
    front_door: str                # torch | pybind | tf | numpy | numba | cupy
    backend: str                   # "native" or the Python-level backend
    clock: Any                     # measure.WallClock | measure.CudaEvents
    sync: Callable[[], None]
    inputs: list                   # the arrays the call uses (kept alive)


def door_refusal(door: str, device: str, fds: Optional[dict] = None) -> Optional[str]:
    """Why a native rung cannot be called on `device` through front door `door` (torch | pybind |
    tf | cupy: CuPy arrays through the torch door), None when it can."""
    fds = fds if fds is not None else frontdoors()
    info = fds.get("torch" if door == "cupy" else door, {})
    if device == "cuda" and not cuda_available():
        return "no CUDA device"
    if door == "cupy":
        try:
            import cupy  # noqa: F401
        except ImportError:
            return "cupy is not installed"
    if not info.get("built"):
        return f"the {door} front door is not built: {info.get('reason') or 'unknown'}"
    if not info.get(device):
        return f"the {door} front door was built without {device.upper()} kernels"
    return None


def native_front_door(device: str, master_is_torch: bool, fds: Optional[dict] = None) -> tuple[str, Optional[str]]:
    """(front door, skip reason) of a native rung on `device`: torch on a GPU; on the CPU torch when
    the inputs are torch tensors and the door has CPU kernels, else pybind11 (numpy)."""
    if device == "cuda":
        return "torch", door_refusal("torch", "cuda", fds)
    if master_is_torch and door_refusal("torch", "cpu", fds) is None:
        return "torch", None
    why = door_refusal("pybind", "cpu", fds)
    return ("pybind", None) if why is None else ("torch", f"no front door for native CPU rungs ({why})")


def door_arrays(door: str, device: str, master: list) -> list:
    """The master inputs as the array type of a native front door (pybind: numpy, on the host)."""
    if door == "torch" and (not master or is_torch(master[0])):
        return master
    return [to_backend(x, "numpy" if door in ("pybind", "torch") else door,
                       "cpu" if door == "pybind" else device) for x in master]


def prepare(impl, case: Case, master: list, flush: bool = True, fds: Optional[dict] = None,
            door: Optional[str] = None) -> Prepared:
    """Everything needed to call and time `impl` on `case` (a native rung through `door`, else the
    door chosen by native_front_door).  Raises Skip with the reason when it cannot run here."""
    from .measure import CudaEvents, WallClock, noop
    reason = impl.unavailable_reason()
    if reason:
        raise Skip(reason)
    if case.device == "cuda" and not cuda_available():
        raise Skip("no CUDA device")
    if impl.native:
        why = door_refusal(door, case.device, fds) if door else None
        door, why = (door, why) if door else native_front_door(case.device, bool(master) and is_torch(master[0]), fds)
        if why:
            raise Skip(why)
        arrays = door_arrays(door, case.device, master)
        call = native_call(impl.name, case, arrays)
        backend = "native"
    else:
        if impl.fn is None:
            raise Skip("registry entry has no callable")
        backend = door = impl.backend or "numpy"
        arrays = [to_backend(x, backend, case.device) for x in master]
        kw, fn = op_kwargs(case), impl.fn
        call = (lambda: fn(*arrays, **kw)) if kw else (lambda: fn(*arrays))
    if case.device == "cpu":
        return Prepared(call, door, backend, WallClock(), noop, arrays)
    if cases._torch() is None:
        raise Skip("timing GPU work needs torch (CUDA events, L2 flush)")
    if door == "tf":   # a stream we cannot record events on: flush, sync, wall clock, sync
        state: dict = {}
        inner = call

        def call():  # noqa: F811 -- keep the last output for the TF sync fallback
            state["out"] = inner()
            return state["out"]
        sync = tf_sync(state)
        return Prepared(call, door, backend, WallClock(flush=flush, name="wall_sync"), sync, arrays)
    return Prepared(call, door, backend, CudaEvents(flush=flush), torch_cuda_sync, arrays)


def cuda_memory_probe():
    """(start, stop) pair measuring torch's peak device memory over a call, or None."""
    torch = sys.modules.get("torch")
    if torch is None or not cuda_available():
        return None

    def start():
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        return base

    def stop(base):
        torch.cuda.synchronize()
        return max(0, torch.cuda.max_memory_allocated() - base)
    return start, stop
