"""numba_njit_parallel: matmul and reductions as @njit(parallel=True) loops on the CPU.
Adds over the scalar C++ rungs: threads from numba's prange and LLVM auto-vectorization of the
unit-stride inner loops, for a few lines of Python.  fastmath is off (same rounding as written),
so a full sum's loop-carried add is not vectorized -- eight independent accumulators stand in.
Limits: no cache blocking or packing (matmul is the i-p-j loop of cpu_02, threaded over rows).
fp32 and fp64, accumulated in the input dtype.  This module imports numba (the registry reaches
it lazily); kernels compile on first use per dtype (the op is a run-time argument).
"""
from __future__ import annotations

import math
from typing import Optional

import numba
import numpy as np
from numba import njit, prange

DTYPES = ("float32", "float64")
OPS = ("sum", "mean", "max", "min", "argmax", "argmin")
JIT = dict(parallel=True, fastmath=False, cache=False)


# ------------------------------------------------------------------------------ matmul
@njit(**JIT)
def _matmul(a, b, c):
    """c (B, M, N) = a (Ba, M, K) @ b (Bb, K, N); a batch extent of 1 broadcasts."""
    batch, m, n = c.shape
    k = a.shape[2]
    for zi in prange(batch * m):                 # threads over (batch, row) pairs
        z = zi // m
        i = zi % m
        za = z if a.shape[0] > 1 else 0
        zb = z if b.shape[0] > 1 else 0
        crow = c[z, i]
        crow[:] = 0
        for p in range(k):                       # i-p-j: the j loop is unit stride, vectorized
            av = a[za, i, p]
            brow = b[zb, p]
            for j in range(n):
                crow[j] += av * brow[j]


def _check(x, arg: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.name not in DTYPES:
        raise TypeError(f"{arg}: numba_njit_parallel takes float32 or float64, got {x.dtype.name}")
    return x


def matmul(a, b) -> np.ndarray:
    a, b = _check(a, "a"), _check(b, "b")
    if a.dtype != b.dtype:
        raise TypeError(f"b: expected the dtype of a ({a.dtype.name}), got {b.dtype.name}")
    if a.ndim not in (2, 3) or b.ndim not in (2, 3):
        raise ValueError("a, b: expected 2-D or 3-D arrays")
    a3 = a if a.ndim == 3 else a[None]
    b3 = b if b.ndim == 3 else b[None]
    if a3.shape[2] != b3.shape[1]:
        raise ValueError(f"b: inner dimensions differ: a {a.shape}, b {b.shape}")
    if a3.shape[0] != b3.shape[0] and 1 not in (a3.shape[0], b3.shape[0]):
        raise ValueError(f"b: batch sizes {a3.shape[0]} and {b3.shape[0]} do not broadcast")
    b3 = np.ascontiguousarray(b3)                # rows of B are read unit-stride
    batch = max(a3.shape[0], b3.shape[0])
    c = np.empty((batch, a3.shape[1], b3.shape[2]), dtype=a.dtype)
    if c.size:
        _matmul(a3, b3, c)
    return c if (a.ndim == 3 or b.ndim == 3) else c[0]


# ------------------------------------------------------------------------------ reductions
# One compiled function per (shape class, dtype) -- the op is a run-time `kind`, branched on outside
# every hot loop -- so the first call of each op does not pay numba's parallel compile again.
SUM, MAXLIKE, MINLIKE = 0, 1, 2
_BIG = np.int64(2**63 - 1)       # index of the identity: every real index beats it on a tie
_NACC = 8                        # independent sum accumulators (the adds stay in program order each)


@njit(inline="always")
def _takes(maxlike, bv, bi, v, i):
    """Does (v, i) replace the running (bv, bi)?  NaN first (first NaN wins), then the extremum,
    then the smaller index -- numpy/torch semantics for max/min/argmax/argmin."""
    if v != v:
        return bv == bv or i < bi
    if bv != bv:
        return False
    if maxlike:
        return v > bv or (v == bv and i < bi)
    return v < bv or (v == bv and i < bi)


@njit(inline="always")
def _init(x, kind):
    if kind == MAXLIKE:
        return x.dtype.type(-np.inf)
    if kind == MINLIKE:
        return x.dtype.type(np.inf)
    return x.dtype.type(0)


@njit
def _span(x, lo, hi, kind):
    """(value, index) of x[lo:hi] for a 1-D x."""
    if kind == SUM:
        acc = np.zeros(_NACC, dtype=x.dtype)
        p = lo
        while p + _NACC <= hi:
            for q in range(_NACC):
                acc[q] += x[p + q]
            p += _NACC
        s = x.dtype.type(0)
        for q in range(_NACC):
            s += acc[q]
        while p < hi:
            s += x[p]
            p += 1
        return s, _BIG
    bv = _init(x, kind)
    bi = _BIG
    if kind == MAXLIKE:
        for p in range(lo, hi):
            if _takes(True, bv, bi, x[p], p):
                bv = x[p]
                bi = p
    else:
        for p in range(lo, hi):
            if _takes(False, bv, bi, x[p], p):
                bv = x[p]
                bi = p
    return bv, bi


@njit(**JIT)
def _full(x, kind, parts_v, parts_i):
    """x 1-D: one chunk per prange task, then the chunk results folded in order."""
    n = x.shape[0]
    chunks = parts_v.shape[0]
    step = (n + chunks - 1) // chunks
    for c in prange(chunks):
        lo = min(c * step, n)
        hi = min(lo + step, n)
        v, i = _span(x, lo, hi, kind)
        parts_v[c] = v
        parts_i[c] = i
    bv = _init(x, kind)
    bi = _BIG
    for c in range(chunks):
        if kind == SUM:
            bv += parts_v[c]
        elif _takes(kind == MAXLIKE, bv, bi, parts_v[c], parts_i[c]):
            bv = parts_v[c]
            bi = parts_i[c]
    return bv, bi


@njit(**JIT)
def _rows(x, kind, out_v, out_i):
    """x (outer, r), reduced dim innermost: one prange task per row."""
    for o in prange(x.shape[0]):
        v, i = _span(x[o], 0, x.shape[1], kind)
        out_v[o] = v
        out_i[o] = i


@njit(**JIT)
def _columns(x, kind, out_v, out_i):
    """x (outer, r, inner): prange over outer; the inner loop is unit stride (vectorized for sums)."""
    outer, r, inner = x.shape
    for o in prange(outer):
        bv = out_v[o]
        bi = out_i[o]
        for j in range(inner):
            bv[j] = _init(x, kind)
            bi[j] = _BIG
        for p in range(r):
            xr = x[o, p]
            if kind == SUM:
                for j in range(inner):
                    bv[j] += xr[j]
            elif kind == MAXLIKE:
                for j in range(inner):
                    if _takes(True, bv[j], bi[j], xr[j], p):
                        bv[j] = xr[j]
                        bi[j] = p
            else:
                for j in range(inner):
                    if _takes(False, bv[j], bi[j], xr[j], p):
                        bv[j] = xr[j]
                        bi[j] = p


def _mean(v, r: int, dtype: np.dtype) -> np.ndarray:
    """The sum(s) divided by r in the input dtype; NaN for an empty reduction (like torch)."""
    v = np.asarray(v, dtype=dtype)
    if r == 0:
        return np.full(v.shape, np.nan, dtype=dtype)
    return np.asarray(v / dtype.type(r), dtype=dtype)


def reduce(x, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False):
    if op not in OPS:
        raise ValueError(f"op: expected one of {', '.join(OPS)}, got {op!r}")
    x = np.ascontiguousarray(_check(x, "x"))
    kind = MAXLIKE if op in ("max", "argmax") else MINLIKE if op in ("min", "argmin") else SUM
    arg = op in ("argmax", "argmin")
    ext = kind != SUM
    if dim is None:
        if ext and x.size == 0:
            raise ValueError(f"x: {op} of an empty array has no identity")
        flat = x.reshape(-1)
        chunks = max(1, min(numba.get_num_threads() * 4, math.ceil(flat.size / 4096)))
        v, i = _full(flat, kind, np.empty(chunks, x.dtype), np.empty(chunks, np.int64))
        res = np.int64(i) if arg else (_mean(v, flat.size, x.dtype) if op == "mean" else x.dtype.type(v))
        res = np.asarray(res)
        return res.reshape([1] * x.ndim) if keepdim else res
    nd = max(x.ndim, 1)
    if not -nd <= dim < nd:
        raise ValueError(f"dim: {dim} is out of range for a {x.ndim}-D array")
    shape = x.shape or (1,)
    dim %= nd
    outer, r, inner = math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:])
    out_shape = shape[:dim] + ((1,) if keepdim else ()) + shape[dim + 1:] if x.ndim else ()
    if outer * inner and r == 0 and ext:
        raise ValueError(f"x: {op} of an empty dimension has no identity")
    if inner == 1:
        out_v, out_i = np.empty(outer, x.dtype), np.empty(outer, np.int64)
        if outer:
            _rows(x.reshape(outer, r), kind, out_v, out_i)
    else:
        out_v, out_i = np.empty((outer, inner), x.dtype), np.empty((outer, inner), np.int64)
        if outer * inner:
            _columns(x.reshape(outer, r, inner), kind, out_v, out_i)
    if arg:
        res = out_i
    elif op == "mean":
        res = _mean(out_v, r, x.dtype)
    else:
        res = out_v
    return np.asarray(res).reshape(out_shape)


# The names the registry (kernelbench/registry/python_rungs.py) calls.
numba_njit_parallel_matmul = matmul
numba_njit_parallel_reduce = reduce
