"""What the Numba CUDA rungs share: availability checks, moving inputs to the device, output
allocation, and the float dtypes they take.

Inputs: numpy host arrays (copied to the device; the result comes back as numpy) or anything with
__cuda_array_interface__ (torch CUDA tensors, CuPy arrays, numba device arrays: used in place; the
result is a numba device array).  Every launch goes to torch's current CUDA stream when torch has
CUDA up (stream()), so a Numba rung is ordered with torch's work and timed by events on that stream.
"""
from __future__ import annotations

import sys
from typing import Any, Optional

import numpy as np

DTYPES = ("float32", "float64")


def numba_reason() -> Optional[str]:
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numba not installed"
    return None


def simulator() -> bool:
    """True when numba runs CUDA kernels in its Python simulator (NUMBA_ENABLE_CUDASIM=1)."""
    if numba_reason():
        return False
    from numba.core import config
    return bool(config.ENABLE_CUDASIM)


def cuda_reason() -> Optional[str]:
    """None when numba.cuda can launch kernels here (a GPU, or the simulator), else why not."""
    why = numba_reason()
    if why:
        return why
    try:
        from numba import cuda
        if cuda.is_available():
            return None
    except Exception as exc:  # a broken driver install: say so instead of crashing the run
        return f"numba.cuda unusable: {exc}"
    return "numba sees no CUDA device"


def gpu_only_reason() -> Optional[str]:
    """cuda_reason(), plus: not under the simulator (it has no warp shuffles)."""
    if simulator():
        return "needs warp shuffles; the CUDA simulator has none"
    return cuda_reason()


def stream() -> Any:
    """The stream every Numba launch goes to: torch's current CUDA stream when torch is imported
    with CUDA initialized (the bench times with CUDA events on it), else the default stream (0)."""
    if simulator():
        return 0
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                from numba import cuda
                return cuda.external_stream(torch.cuda.current_stream().cuda_stream)
        except Exception:   # no usable CUDA through torch: numba's default stream
            pass
    return 0


def check_dtype(x: Any, arg: str) -> np.dtype:
    dt = np.dtype(x.dtype)
    if dt.name not in DTYPES:
        raise TypeError(f"{arg}: the Numba rungs take float32 or float64, got {dt.name}")
    return dt


def to_device(x: Any, arg: str) -> tuple[Any, bool]:
    """(numba device array, came_from_host)."""
    from numba import cuda
    if getattr(x, "__cuda_ndarray__", False):   # a numba device array (or the simulator's)
        return x, False
    if hasattr(x, "__cuda_array_interface__"):
        return cuda.as_cuda_array(x), False
    h = np.asarray(x)
    if not (h.flags.c_contiguous or h.flags.f_contiguous):
        h = np.ascontiguousarray(h)
    return cuda.to_device(h), True


def empty(shape: tuple, dtype) -> Any:
    """A device array for a result.  When torch already has CUDA up, its caching allocator gives
    the memory (a cuMemAlloc per call would dominate small problems); else numba allocates."""
    from numba import cuda
    dtype = np.dtype(dtype)
    torch = sys.modules.get("torch")
    if torch is not None and not simulator():
        try:
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                t = torch.empty(shape, dtype=getattr(torch, dtype.name), device="cuda")
                return cuda.as_cuda_array(t, sync=False)   # keeps `t` alive as its owner
        except Exception:
            pass
    return cuda.device_array(shape, dtype=dtype)


def contiguous_device(d: Any) -> Any:
    """A C-contiguous copy of a device array (only non-contiguous inputs pay for it)."""
    if d.is_c_contiguous():
        return d
    from numba import cuda
    return cuda.to_device(np.ascontiguousarray(d.copy_to_host()))


def as_3d(d: Any) -> Any:
    """A (batch, rows, cols) view of a 2-D or 3-D device array (batch 1 for 2-D), no copy when the
    matrix is C- or F-contiguous (a transposed view is F-contiguous)."""
    if d.ndim == 3:
        return d
    if d.ndim != 2:
        raise ValueError(f"expected a 2-D or 3-D array, got {d.ndim}-D")
    if d.is_c_contiguous():
        return d.reshape((1, d.shape[0], d.shape[1]))
    if d.is_f_contiguous():
        return d.reshape((1, d.shape[0], d.shape[1]), order="F")
    return contiguous_device(d).reshape((1, d.shape[0], d.shape[1]))


def finish(out: Any, from_host: bool) -> Any:
    """Host inputs get a numpy result; device inputs keep theirs on the device."""
    if not from_host:
        return out
    s = stream()
    if not s:
        return out.copy_to_host()
    host = out.copy_to_host(stream=s)   # ordered after the launches on torch's stream
    s.synchronize()
    return host
