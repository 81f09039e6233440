"""Numba CUDA reduction ladder: atomic -> shared-memory tree -> grid-stride + warp shuffle, and a
reduction along one dim with all six ops.  Same ideas as cuda_01/04/09/12-13, in Python.

Full reductions (01: sum; 02-03: sum and mean) flatten a C-contiguous input; numba_04_dim views x as
(outer, r, inner) and reduces r.  fp32 and fp64, accumulated in the input dtype.  NaN semantics
follow numpy/torch: max/min propagate NaN, argmax/argmin return the first NaN, ties take the
first index.  Compiled kernels are cached per (op, dtype, kind); this module imports numba, so
the registry reaches it lazily.
"""
from __future__ import annotations

import functools
import math
from typing import Any, Optional

import numpy as np
from numba import cuda   # a module global: the simulator swaps this very name inside kernels

from . import _common

BS = 256                  # threads per block (a power of two: the trees halve it)
INT64_MAX = np.int64(2**63 - 1)
OPS = ("sum", "mean", "max", "min", "argmax", "argmin")


@functools.lru_cache(maxsize=None)
def _fill_kernel():
    @cuda.jit
    def fill(out, value):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = value
    return fill


def _zero(d) -> None:
    _fill_kernel()[max(1, math.ceil(d.size / BS)), BS, _common.stream()](d, 0)


def _flat_input(x: Any) -> tuple[Any, bool, np.dtype]:
    d, from_host = _common.to_device(x, "x")
    dt = _common.check_dtype(d, "x")
    d = _common.contiguous_device(d)
    return (d.reshape((d.size,)) if d.ndim != 1 else d), from_host, dt


def _full_result(total, x_ndim: int, keepdim: bool, from_host: bool):
    """The (1,) device total shaped as the result of a whole-tensor reduction."""
    out = total.reshape(tuple([1] * x_ndim) if keepdim else ())
    return _common.finish(out, from_host)


@functools.lru_cache(maxsize=None)
def _mean_kernel():
    @cuda.jit
    def divide(total, n):
        if cuda.grid(1) == 0:
            total[0] = total[0] / n     # n == 0: 0 / 0 = NaN, like torch.mean of an empty tensor
    return divide


def _finish_mean(total, op: str, n: int) -> None:
    if op == "mean":
        _mean_kernel()[1, 32, _common.stream()](total, np.dtype(total.dtype).type(n))


def _check_full(op: str, dim, name: str, ops=("sum",)) -> None:
    if op not in ops:
        raise ValueError(f"op: {name} does only {', '.join(ops)}, got {op!r}")
    if dim is not None:
        raise ValueError(f"dim: {name} reduces the whole tensor (dim=None), got dim={dim}")


# ------------------------------------------------------------------------------ numba_01_atomic
# Adds: the shortest correct parallel sum: every thread atomically adds its element to the total.
# Limits: all atomics hit one address and serialize in L2; the rounding changes from run to run.
@functools.lru_cache(maxsize=None)
def _atomic_kernel():
    @cuda.jit
    def reduce_01_atomic(x, out):
        i = cuda.grid(1)
        if i < x.size:
            cuda.atomic.add(out, 0, x[i])
    return reduce_01_atomic


def numba_01_atomic(x, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False):
    _check_full(op, dim, "numba_01_atomic")
    d, from_host, dt = _flat_input(x)
    ndim = len(getattr(x, "shape", d.shape))
    total = _common.empty((1,), dt)
    _zero(total)
    if d.size:
        _atomic_kernel()[math.ceil(d.size / BS), BS, _common.stream()](d, total)
    return _full_result(total, ndim, keepdim, from_host)


# ------------------------------------------------------------------------------ numba_02_smem_tree
# Adds: each block sums BS elements in a shared-memory tree (sequential addressing: tid + s, no
# bank conflicts) and writes one partial; the pass repeats over the partials until one is left.
# Limits: one element per thread, log2(n)/8 launches, half the threads idle after the first step.
@functools.lru_cache(maxsize=None)
def _tree_kernel(dtype: str):
    import numba
    T = np.dtype(dtype).type
    NT = numba.from_dtype(np.dtype(dtype))

    @cuda.jit
    def reduce_02_smem_tree(x, n, out):
        s = cuda.shared.array(BS, dtype=NT)          # (BS,) one value per thread
        tid = cuda.threadIdx.x
        i = cuda.blockIdx.x * BS + tid
        v = T(0)
        if i < n:
            v = x[i]
        s[tid] = v
        cuda.syncthreads()
        stride = BS // 2
        while stride > 0:
            if tid < stride:
                s[tid] += s[tid + stride]
            cuda.syncthreads()
            stride //= 2
        if tid == 0:
            out[cuda.blockIdx.x] = s[0]
    return reduce_02_smem_tree


def numba_02_smem_tree(x, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False):
    _check_full(op, dim, "numba_02_smem_tree", ("sum", "mean"))
    d, from_host, dt = _flat_input(x)
    ndim = len(getattr(x, "shape", d.shape))
    kern = _tree_kernel(dt.name)
    n = d.size
    blocks = max(1, math.ceil(n / BS))
    ping = _common.empty((blocks,), dt)              # partials of the first pass
    pong = _common.empty((max(1, math.ceil(blocks / BS)),), dt)
    kern[blocks, BS, _common.stream()](d, n, ping)
    while blocks > 1:
        n = blocks
        blocks = math.ceil(n / BS)
        kern[blocks, BS, _common.stream()](ping, n, pong)
        ping, pong = pong, ping
    total = ping[:1]
    _finish_mean(total, op, d.size)
    return _full_result(total, ndim, keepdim, from_host)


# ------------------------------------------------------------------------------ numba_03_shuffle_grid_stride
# Adds: one wave of blocks; each thread sums a grid-stride slice in a register, warps reduce with
# shfl_down_sync, one atomicAdd per block.  GPU only: the simulator has no warp shuffles.
# Limits: scalar 4/8-byte loads (no 128-bit vectors), one atomic per block (nondeterministic order).
@functools.lru_cache(maxsize=None)
def _shuffle_kernel(dtype: str):
    import numba
    T = np.dtype(dtype).type
    NT = numba.from_dtype(np.dtype(dtype))
    WARPS = BS // 32

    @cuda.jit
    def reduce_03_shuffle_grid_stride(x, out):
        warp_sums = cuda.shared.array(WARPS, dtype=NT)   # (BS / 32,) one partial per warp
        tid = cuda.threadIdx.x
        lane = tid % 32
        w = tid // 32
        acc = T(0)
        i = cuda.grid(1)
        stride = cuda.gridsize(1)
        n = x.size
        while i < n:
            acc += x[i]
            i += stride
        off = 16
        while off > 0:
            acc += cuda.shfl_down_sync(0xFFFFFFFF, acc, off)
            off //= 2
        if lane == 0:
            warp_sums[w] = acc
        cuda.syncthreads()
        if w == 0:
            acc = T(0)
            if lane < WARPS:
                acc = warp_sums[lane]
            off = 16
            while off > 0:
                acc += cuda.shfl_down_sync(0xFFFFFFFF, acc, off)
                off //= 2
            if lane == 0:
                cuda.atomic.add(out, 0, acc)
    return reduce_03_shuffle_grid_stride


def numba_03_shuffle_grid_stride(x, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False):
    _check_full(op, dim, "numba_03_shuffle_grid_stride", ("sum", "mean"))
    d, from_host, dt = _flat_input(x)
    ndim = len(getattr(x, "shape", d.shape))
    total = _common.empty((1,), dt)
    _zero(total)
    if d.size:
        sms = int(cuda.get_current_device().MULTIPROCESSOR_COUNT)
        blocks = max(1, min(math.ceil(d.size / BS), sms * (2048 // BS)))   # one full wave at most
        _shuffle_kernel(dt.name)[blocks, BS, _common.stream()](d, total)
    _finish_mean(total, op, d.size)
    return _full_result(total, ndim, keepdim, from_host)


# ------------------------------------------------------------------------------ numba_04_dim
# Adds: a reduction along one dim, all six ops.  x is (outer, r, inner): innermost dim (inner ==
# 1): one block per row, threads stride along r, then a shared (value, index) tree; other dims:
# one thread per kept column, consecutive threads on consecutive columns (coalesced) walk r.
# Limits: few kept columns with a long r leave the GPU idle (cuda_13 splits r); scalar loads.
@functools.lru_cache(maxsize=None)
def _dim_kernels(op: str, dtype: str):
    import numba
    T = np.dtype(dtype).type
    NT = numba.from_dtype(np.dtype(dtype))
    EXT = op in ("max", "min", "argmax", "argmin")
    MAXLIKE = op in ("max", "argmax")
    ARG = op in ("argmax", "argmin")
    MEAN = op == "mean"
    INIT = T(-np.inf) if MAXLIKE else (T(np.inf) if EXT else T(0))
    NAN = T(np.nan)
    BIG = INT64_MAX

    @cuda.jit(device=True)
    def takes(bv, bi, v, i):
        """Does (v, i) replace the running (bv, bi)?  NaN first, then the extremum, then the index."""
        if v != v:
            return bv == bv or i < bi
        if bv != bv:
            return False
        if MAXLIKE:
            return v > bv or (v == bv and i < bi)
        return v < bv or (v == bv and i < bi)

    @cuda.jit(device=True)
    def store(out, o, bv, bi, r):
        if ARG:
            out[o] = bi
        elif MEAN:
            if r == 0:
                out[o] = NAN
            else:
                out[o] = bv / T(r)
        else:
            out[o] = bv

    @cuda.jit
    def reduce_04_dim_rows(x, out):                     # x (outer, r, 1): one block per row
        sv = cuda.shared.array(BS, dtype=NT)            # (BS,) running values
        si = cuda.shared.array(BS, dtype=numba.int64)   # (BS,) their indices (arg ops)
        tid = cuda.threadIdx.x
        r = x.shape[1]
        for row in range(cuda.blockIdx.x, x.shape[0], cuda.gridDim.x):
            bv = INIT
            bi = BIG
            p = tid
            while p < r:
                v = x[row, p, 0]
                if EXT:
                    if takes(bv, bi, v, p):
                        bv = v
                        bi = p
                else:
                    bv += v
                p += BS
            sv[tid] = bv
            si[tid] = bi
            cuda.syncthreads()
            s = BS // 2
            while s > 0:
                if tid < s:
                    if EXT:
                        if takes(sv[tid], si[tid], sv[tid + s], si[tid + s]):
                            sv[tid] = sv[tid + s]
                            si[tid] = si[tid + s]
                    else:
                        sv[tid] += sv[tid + s]
                cuda.syncthreads()
                s //= 2
            if tid == 0:
                store(out, row, sv[0], si[0], r)
            cuda.syncthreads()                          # sv/si are reused by the next row

    @cuda.jit
    def reduce_04_dim_columns(x, out):                  # x (outer, r, inner): a thread per column
        outer, r, inner = x.shape
        g = cuda.grid(1)
        if g >= outer * inner:
            return
        o = g // inner
        i = g % inner
        bv = INIT
        bi = BIG
        for p in range(r):
            v = x[o, p, i]
            if EXT:
                if takes(bv, bi, v, p):
                    bv = v
                    bi = p
            else:
                bv += v
        store(out, g, bv, bi, r)

    return reduce_04_dim_rows, reduce_04_dim_columns


def numba_04_dim(x, op: str = "sum", dim: Optional[int] = None, keepdim: bool = False):
    if op not in OPS:
        raise ValueError(f"op: expected one of {', '.join(OPS)}, got {op!r}")
    if dim is None:
        raise ValueError("dim: numba_04_dim reduces along one dim; pass dim=")
    d, from_host = _common.to_device(x, "x")
    dt = _common.check_dtype(d, "x")
    shape = tuple(d.shape) or (1,)
    nd = len(shape)
    if not -nd <= dim < nd:
        raise ValueError(f"dim: {dim} is out of range for a {len(d.shape)}-D array")
    dim %= nd
    outer = math.prod(shape[:dim])
    r = shape[dim]
    inner = math.prod(shape[dim + 1:])
    out_shape = shape[:dim] + ((1,) if keepdim else ()) + shape[dim + 1:]
    if len(d.shape) == 0:
        out_shape = ()
    out_dtype = np.int64 if op in ("argmax", "argmin") else dt
    out = _common.empty((outer * inner,), out_dtype)
    if outer * inner:
        if r == 0 and op not in ("sum", "mean"):
            raise ValueError(f"x: {op} of an empty dimension has no identity")
        d = _common.contiguous_device(d).reshape((outer, r, inner))
        rows, columns = _dim_kernels(op, dt.name)
        if inner == 1:
            rows[min(outer, 65535 * 32), BS, _common.stream()](d, out)
        else:
            columns[math.ceil(outer * inner / BS), BS, _common.stream()](d, out)
    return _common.finish(out.reshape(tuple(out_shape)), from_host)
