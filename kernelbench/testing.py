"""Reference results and tolerances shared by the tests and the benchmark's error column.

References are computed in float64 from the very values the kernel saw (inputs already rounded
to the test dtype), so the tolerance only has to cover the kernel's own rounding: accumulation
(error of a K-term dot product grows ~ sqrt(K) * u for random data) plus one rounding of the output.
"""
from __future__ import annotations

import math

import numpy as np

# Unit roundoff of the storage type, and of the accumulator the kernels use for it.
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}
ACCUMULATOR_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-24, "bfloat16": 2.0**-24}


def to_float64(x) -> np.ndarray:
    """Any array (numpy, torch, tf, cupy, numba device array) -> float64 numpy (int64 kept)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
        x = x.double() if x.is_floating_point() else x
        return x.numpy()
    if hasattr(x, "copy_to_host"):
        x = x.copy_to_host()
    elif hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        x = x.get()
    elif hasattr(x, "numpy"):
        x = x.numpy()
    x = np.asarray(x)
    return x if x.dtype.kind in "iub" else x.astype(np.float64)


def error_scale(dtype: str, length: int) -> float:
    """Relative error allowed for a `length`-term accumulation stored as `dtype`."""
    return 8.0 * ACCUMULATOR_ROUNDOFF[dtype] * math.sqrt(max(length, 1)) + 2.0 * UNIT_ROUNDOFF[dtype]


def matmul_reference(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A @ B, |A| @ |B|) in float64: the result and the scale each element's error is judged by."""
    a64, b64 = to_float64(a), to_float64(b)
    return a64 @ b64, np.abs(a64) @ np.abs(b64)


def check_matmul(out, a, b, dtype: str) -> float:
    """Raise AssertionError if out is not A @ B within tolerance; return the worst error/tolerance."""
    ref, scale = matmul_reference(a, b)
    got = to_float64(out)
    assert got.shape == ref.shape, f"shape {got.shape} != expected {ref.shape}"
    assert not np.isnan(got).any(), "NaN in the result"
    k = np.asarray(a).shape[-1] if hasattr(a, "shape") else 1
    tol = error_scale(dtype, k) * scale + 1e-30
    ratio = float(np.max(np.abs(got - ref) / tol)) if got.size else 0.0
    assert ratio <= 1.0, f"max |err| / tol = {ratio:.3g} (K={k}, {dtype})"
    return ratio


def reduce_reference(x: np.ndarray, op: str, dim, keepdim: bool) -> np.ndarray:
    x64 = to_float64(x)
    fn = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "argmax": np.argmax,
          "argmin": np.argmin}[op]
    if op in ("argmax", "argmin"):
        if dim is None:
            r = np.asarray(fn(x64))
            return r.reshape([1] * x64.ndim) if keepdim else r
        return fn(x64, axis=dim, keepdims=keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(fn(x64, axis=dim, keepdims=keepdim))


def check_reduce(out, x, op: str, dim, keepdim: bool, dtype: str) -> None:
    ref = reduce_reference(x, op, dim, keepdim)
    got = to_float64(out)
    assert got.shape == ref.shape, f"shape {got.shape} != expected {ref.shape}"
    if op in ("argmax", "argmin"):
        assert np.array_equal(got, ref), f"indices differ: {got.ravel()[:8]} vs {ref.ravel()[:8]}"
        return
    x64 = to_float64(x)
    n = x64.size if dim is None else (x64.shape[dim] if x64.ndim else 1)
    if op in ("max", "min"):
        np.testing.assert_array_equal(got, ref)   # exact: a max is one of the inputs
        return
    scale = np.sum(np.abs(x64), axis=dim, keepdims=keepdim)
    if op == "mean":
        scale = scale / max(n, 1)
    tol = error_scale(dtype, n) * scale + 1e-30
    both_nan = np.isnan(got) & np.isnan(ref)
    err = np.where(both_nan, 0.0, np.abs(got - ref))
    assert not (np.isnan(got) & ~np.isnan(ref)).any(), "NaN where the reference has a number"
    assert np.all(err <= tol), f"max err {np.max(err):.3g} > tol {np.max(tol):.3g} (n={n}, {dtype})"


def softmax_reference(x, log: bool) -> np.ndarray:
    x64 = to_float64(x)
    shifted = x64 - x64.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted - lse if log else np.exp(shifted - lse)


def check_rowwise(out, x, kind: str, dtype: str) -> None:
    x64 = to_float64(x)
    got = to_float64(out)
    cols = x64.shape[-1]
    if kind == "l2norm":
        ref = np.sqrt((x64 * x64).sum(-1))
        tol = error_scale(dtype, cols) * ref + 1e-30
    else:
        ref = softmax_reference(x64, kind == "log_softmax")
        # exp/log add a few ulps; the row sum adds sqrt(cols) ulps.
        base = np.abs(ref) if kind == "softmax" else np.maximum(np.abs(ref), 1.0)
        tol = (error_scale(dtype, cols) + 16 * UNIT_ROUNDOFF[dtype]) * base + 1e-30
    assert got.shape == ref.shape, f"shape {got.shape} != expected {ref.shape}"
    assert np.all(np.abs(got - ref) <= tol), f"max err {np.max(np.abs(got - ref)):.3g}"
