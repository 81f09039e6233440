"""Numba CUDA matmul ladder: naive -> shared-memory tiles -> 2-D register blocking, in Python.
Adds over the C++ rungs: nothing but the language -- the same three ideas as cuda_02/03/05, so the
distance between them and their C++ twins is what Numba's code generation costs (or saves).

Every kernel takes 3-D views a (Ba, M, K), b (Bb, K, N), c (B, M, N) (a batch extent of 1
broadcasts) and loops over the batch in grid z.  fp32 and fp64, accumulated in the input dtype.
Compiled kernels are cached per (dtype, tile configuration); numba caches per signature on top.
This module imports numba: the registry reaches it lazily, so `import kernelbench` does not.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import cuda   # a module global: the simulator swaps this very name inside kernels

from . import _common

MAX_GRID_YZ = 65535


def _dims(a, b) -> tuple[int, int, int, int]:
    """(batch, M, N, K) of 3-D views; raises ValueError on a mismatch."""
    ba, m, k = a.shape
    bb, k2, n = b.shape
    if k != k2:
        raise ValueError(f"b: inner dimensions differ: a is (.., {m}, {k}), b is (.., {k2}, {n})")
    if ba != bb and 1 not in (ba, bb):
        raise ValueError(f"b: batch sizes {ba} and {bb} do not broadcast")
    return max(ba, bb), m, n, k


# ------------------------------------------------------------------------------ numba_01_naive
# Adds: one thread per C element; threadIdx.x walks a row of C, so B reads and C writes coalesce.
# Limits: every thread streams a whole row of A and column of B from L1/L2: two loads per FMA.
@functools.lru_cache(maxsize=None)
def _naive_kernel(dtype: str):
    T = np.dtype(dtype).type

    @cuda.jit
    def matmul_01_naive(a, b, c):
        j, i = cuda.grid(2)                          # (column, row) of C
        m, n, k = c.shape[1], c.shape[2], a.shape[2]
        if i >= m or j >= n:
            return
        for z in range(cuda.blockIdx.z, c.shape[0], cuda.gridDim.z):
            za = z if a.shape[0] > 1 else 0
            zb = z if b.shape[0] > 1 else 0
            acc = T(0)
            for p in range(k):
                acc += a[za, i, p] * b[zb, p, j]
            c[z, i, j] = acc
    return matmul_01_naive


# ------------------------------------------------------------------------------ numba_02_smem_tiles
# Adds: a (TILE, TILE) tile of A and of B staged in shared memory per block: each global element
# is read once per block instead of once per thread (TILE-fold less traffic).
# Limits: one result per thread, so two shared-memory loads per FMA: shared bandwidth is the ceiling.
@functools.lru_cache(maxsize=None)
def _smem_kernel(dtype: str, tile: int):
    import numba
    T = np.dtype(dtype).type
    NT = numba.from_dtype(np.dtype(dtype))
    TILE = tile

    @cuda.jit
    def matmul_02_smem_tiles(a, b, c):
        As = cuda.shared.array((TILE, TILE), dtype=NT)   # (TILE rows of C, TILE of K)
        Bs = cuda.shared.array((TILE, TILE), dtype=NT)   # (TILE of K, TILE columns of C)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        i = cuda.blockIdx.y * TILE + ty
        j = cuda.blockIdx.x * TILE + tx
        m, n, k = c.shape[1], c.shape[2], a.shape[2]
        for z in range(cuda.blockIdx.z, c.shape[0], cuda.gridDim.z):
            za = z if a.shape[0] > 1 else 0
            zb = z if b.shape[0] > 1 else 0
            acc = T(0)
            for k0 in range(0, k, TILE):
                va = T(0)
                if i < m and k0 + tx < k:
                    va = a[za, i, k0 + tx]
                As[ty, tx] = va
                vb = T(0)
                if k0 + ty < k and j < n:
                    vb = b[zb, k0 + ty, j]
                Bs[ty, tx] = vb
                cuda.syncthreads()
                for q in range(TILE):
                    acc += As[ty, q] * Bs[q, tx]
                cuda.syncthreads()
            if i < m and j < n:
                c[z, i, j] = acc
    return matmul_02_smem_tiles


# ------------------------------------------------------------------------------ numba_03_blocktile_2d
# Adds: each thread computes a (TM, TN) tile of C as outer products of TM values of A and TN of B
# held in cuda.local.array registers: TM * TN FMAs per TM + TN shared loads.
# Limits: scalar loads everywhere; numba decides unrolling/register promotion (check the PTX for
# local-memory spills); no double buffering, so loads and FMAs do not overlap.
@functools.lru_cache(maxsize=None)
def _blocktile_kernel(dtype: str, BM: int, BN: int, BK: int, TM: int, TN: int):
    import numba
    T = np.dtype(dtype).type
    NT = numba.from_dtype(np.dtype(dtype))
    THREADS = (BM // TM) * (BN // TN)
    COLS_T = BN // TN                       # threads across a block row
    A_LOADS = BM * BK // THREADS
    B_LOADS = BK * BN // THREADS
    assert A_LOADS * THREADS == BM * BK and B_LOADS * THREADS == BK * BN, "tiles split evenly"

    @cuda.jit
    def matmul_03_blocktile_2d(a, b, c):
        As = cuda.shared.array((BK, BM), dtype=NT)   # (BK, BM): A tile K-major, a fragment is a row
        Bs = cuda.shared.array((BK, BN), dtype=NT)   # (BK, BN)
        acc = cuda.local.array((TM, TN), dtype=NT)   # this thread's (TM, TN) tile of C
        af = cuda.local.array(TM, dtype=NT)          # (TM,) column fragment of A
        bf = cuda.local.array(TN, dtype=NT)          # (TN,) row fragment of B
        tid = cuda.threadIdx.x
        trow = tid // COLS_T
        tcol = tid % COLS_T
        m, n, k = c.shape[1], c.shape[2], a.shape[2]
        row0 = cuda.blockIdx.y * BM
        col0 = cuda.blockIdx.x * BN
        for z in range(cuda.blockIdx.z, c.shape[0], cuda.gridDim.z):
            za = z if a.shape[0] > 1 else 0
            zb = z if b.shape[0] > 1 else 0
            for r in range(TM):
                for s in range(TN):
                    acc[r, s] = T(0)
            for k0 in range(0, k, BK):
                for s in range(A_LOADS):               # consecutive threads walk K (contiguous in A)
                    e = tid + s * THREADS
                    r = e // BK
                    q = e % BK
                    v = T(0)
                    if row0 + r < m and k0 + q < k:
                        v = a[za, row0 + r, k0 + q]
                    As[q, r] = v
                for s in range(B_LOADS):               # consecutive threads walk N (contiguous in B)
                    e = tid + s * THREADS
                    q = e // BN
                    cc = e % BN
                    v = T(0)
                    if k0 + q < k and col0 + cc < n:
                        v = b[zb, k0 + q, col0 + cc]
                    Bs[q, cc] = v
                cuda.syncthreads()
                for q in range(BK):
                    for r in range(TM):
                        af[r] = As[q, trow * TM + r]
                    for s in range(TN):
                        bf[s] = Bs[q, tcol * TN + s]
                    for r in range(TM):
                        for s in range(TN):
                            acc[r, s] += af[r] * bf[s]
                cuda.syncthreads()
            for r in range(TM):
                row = row0 + trow * TM + r
                for s in range(TN):
                    col = col0 + tcol * TN + s
                    if row < m and col < n:
                        c[z, row, col] = acc[r, s]
    return matmul_03_blocktile_2d


# ------------------------------------------------------------------------------ launchers
BIG = (128, 128, 8, 8, 8)     # (BM, BN, BK, TM, TN): 256 threads, 64 accumulators each
SMALL = (64, 64, 8, 4, 4)     # 256 threads, 16 accumulators each


def _sm_count() -> int:
    try:
        return int(cuda.get_current_device().MULTIPROCESSOR_COUNT)
    except Exception:      # the simulator has no such attribute
        return 1


def blocktile_config(m: int, n: int, batch: int, dtype: str) -> tuple:
    """128x128 tiles (8x8 per thread) when they fill the GPU, else 64x64 (4x4); fp64 always 64x64."""
    if dtype == "float64":
        return SMALL
    tiles = math.ceil(m / 128) * math.ceil(n / 128) * batch
    return BIG if tiles >= _sm_count() and not _common.simulator() else SMALL


def _run(rung: str, a: Any, b: Any, config=None) -> Any:
    da, host_a = _common.to_device(a, "a")
    db, host_b = _common.to_device(b, "b")
    dt = _common.check_dtype(da, "a")
    if np.dtype(db.dtype) != dt:
        raise TypeError(f"b: expected the dtype of a ({dt.name}), got {np.dtype(db.dtype).name}")
    out_3d = da.ndim == 3 or db.ndim == 3
    a3, b3 = _common.as_3d(da), _common.as_3d(db)
    batch, m, n, k = _dims(a3, b3)
    shape = (batch, m, n) if out_3d else (m, n)
    c = _common.empty(shape, dt)
    if c.size:
        c3 = _common.as_3d(c)
        gz = min(batch, MAX_GRID_YZ)
        if rung == "numba_01_naive":
            bx, by = 16, 16
            grid = (math.ceil(n / bx), math.ceil(m / by), gz)
            kern, block = _naive_kernel(dt.name), (bx, by, 1)
        elif rung == "numba_02_smem_tiles":
            tile = config or (16 if _common.simulator() else 32)   # 1024 Python threads/block is slow
            grid = (math.ceil(n / tile), math.ceil(m / tile), gz)
            kern, block = _smem_kernel(dt.name, tile), (tile, tile, 1)
        else:
            cfg = config or blocktile_config(m, n, batch, dt.name)
            bm, bn, bk, tm, tn = cfg
            grid = (math.ceil(n / bn), math.ceil(m / bm), gz)
            kern, block = _blocktile_kernel(dt.name, *cfg), ((bm // tm) * (bn // tn), 1, 1)
        if grid[1] > MAX_GRID_YZ:
            raise ValueError(f"a: {m} rows need {grid[1]} row blocks, more than gridDim.y allows")
        kern[grid, block, _common.stream()](a3, b3, c3)
    return _common.finish(c, host_a and host_b)


def numba_01_naive(a, b):
    return _run("numba_01_naive", a, b)


def numba_02_smem_tiles(a, b):
    return _run("numba_02_smem_tiles", a, b)


def numba_03_blocktile_2d(a, b):
    return _run("numba_03_blocktile_2d", a, b)
