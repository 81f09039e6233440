"""Reference results and tolerances shared by the tests and the benchmark's error column.

References are computed in float64 from the very values the kernel saw (inputs already rounded
to the test dtype), so the tolerance only has to cover the kernel's own rounding: accumulation
(error of a K-term dot product grows ~ sqrt(K) * u for random data) plus one rounding of the output.
The tolerance model is the one of csrc/common/kb_tolerance.h (through kernelbench/tolerance.py):
the tests take adversarial inputs, so they plug the sum of |terms| in for the 2-norm of the terms
and for |ref| -- a looser bound that holds for any input.
"""
from __future__ import annotations

import math

import numpy as np

from . import tolerance as _fig
from .bench.cases import fp64_result

# Unit roundoff (eps / 2) of the storage type, and of the accumulator the kernels use for it.
UNIT_ROUNDOFF = {d: e / 2 for d, e in _fig.EPS.items()}
ACCUMULATOR_ROUNDOFF = {d: _fig.eps_acc(d) / 2 for d in _fig.EPS}


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
    """Relative error allowed for a `length`-term accumulation stored as `dtype`: the tolerance
    model (figures.accum_tol) with the sum of |terms| as the scale of both terms, per unit of it:
    C_TOL * eps_acc * sqrt(length) + C_OUT * eps_out."""
    return _fig.C_TOL * _fig.eps_acc(dtype) * math.sqrt(max(length, 1)) + _fig.C_OUT * _fig.eps_out(dtype)


def matmul_reference(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A @ B, |A| @ |B|) in float64: the result and the scale each element's error is judged by."""
    a64, b64 = to_float64(a), to_float64(b)
    return fp64_result("matmul", [a64, b64]), np.abs(a64) @ np.abs(b64)


# TF32 math (precision "tf32"): each fp32 input is rounded to 10 mantissa bits (cvt.rna: relative
# error <= 2^-11), so every product is off by up to 2 * 2^-11 + 2^-22 of |a| |b| (kb_tolerance.h).
TF32_INPUT_ROUNDOFF = _fig.TF32_ROUNDOFF


def check_matmul(out, a, b, dtype: str, precision: str = "") -> float:
    """Raise AssertionError if out is not A @ B within tolerance; return the worst error/tolerance.
    precision "tf32": the rung rounds fp32 inputs to TF32 (the model's TF32 term is added)."""
    ref, scale = matmul_reference(a, b)
    got = to_float64(out)
    assert got.shape == ref.shape, f"shape {got.shape} != expected {ref.shape}"
    assert not np.isnan(got).any(), "NaN in the result"
    k = np.asarray(a).shape[-1] if hasattr(a, "shape") else 1
    tol = _fig.matmul_tol_l2(dtype, k, scale, scale, precision) + 1e-30
    ratio = float(np.max(np.abs(got - ref) / tol)) if got.size else 0.0
    assert ratio <= 1.0, f"max |err| / tol = {ratio:.3g} (K={k}, {dtype}{' as ' + precision if precision else ''})"
    return ratio


def reduce_reference(x: np.ndarray, op: str, dim, keepdim: bool) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(fp64_result("reduce", [to_float64(x)], op, dim, keepdim))


def check_reduce(out, x, op: str, dim, keepdim: bool, dtype: str, summation=()) -> None:
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
    # the bound of the rung's summation order (kb_tolerance.h; () = sequential, valid for any rung)
    strided = dim is not None and x64.ndim and (dim % x64.ndim) != x64.ndim - 1
    scale = np.sum(np.abs(x64), axis=dim, keepdims=keepdim)
    if op == "mean":
        scale = scale / max(n, 1)
    ref_abs = np.where(np.isfinite(ref), np.abs(ref), scale)   # NaN / inf results are judged below, not by size
    tol = _fig.ordered_sum_tol(dtype, summation, n, scale, ref_abs, bool(strided)) + 1e-30
    both_nan = np.isnan(got) & np.isnan(ref)
    err = np.where(both_nan, 0.0, np.abs(got - ref))
    assert not (np.isnan(got) & ~np.isnan(ref)).any(), "NaN where the reference has a number"
    assert np.all(err <= tol), f"max err {np.max(err):.3g} > tol {np.max(tol):.3g} (n={n}, {dtype})"


def softmax_reference(x, log: bool) -> np.ndarray:
    return fp64_result("log_softmax" if log else "softmax", [to_float64(x)])


def check_rowwise(out, x, kind: str, dtype: str) -> None:
    x64 = to_float64(x)
    got = to_float64(out)
    cols = x64.shape[-1]
    if kind == "l2norm":
        ref = fp64_result("l2norm", [x64])
        tol = _fig.l2norm_tol(dtype, cols, ref) + 1e-30
    else:
        ref = softmax_reference(x64, kind == "log_softmax")
        with np.errstate(invalid="ignore"):
            max_abs = np.max(np.abs(x64), axis=-1, keepdims=True) if x64.size else 0.0
        tol = _fig.softmax_tol(dtype, cols, max_abs, np.abs(ref), kind == "log_softmax") + 1e-30
    assert got.shape == ref.shape, f"shape {got.shape} != expected {ref.shape}"
    assert np.all(np.abs(got - ref) <= tol), f"max err {np.max(np.abs(got - ref)):.3g}"
