"""Figures for every measurement: FLOP and byte counts per op, TFLOP/s, GB/s, % of peak.
(The error tolerances are kernelbench/tolerance.py's, re-exported here.)

Counts are the *ideal* traffic (every input read once, every output written once), the usual
convention: a rung that reads A twice does not get credit for it.
"""
from __future__ import annotations

import math
from typing import Optional

from ..tolerance import *  # noqa: F401,F403 -- the tolerance model, importable from here as before
from ..tolerance import _tolerance_constants  # noqa: F401

ITEMSIZE = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4}


def matmul_dims(shape) -> tuple[int, int, int, int]:
    """(batch, M, N, K) from a matmul case shape (M, N, K) or (batch, M, N, K)."""
    if len(shape) == 3:
        return (1, *shape)
    if len(shape) == 4:
        return tuple(shape)
    raise ValueError(f"matmul shape: expected (M, N, K) or (batch, M, N, K), got {shape}")


def flop_count(op: str, shape, dim: Optional[int] = None, variant: Optional[str] = None) -> float:
    """Floating-point operations of one call (an FMA counts 2)."""
    if op == "matmul":
        b, m, n, k = matmul_dims(shape)
        return 2.0 * b * m * n * k
    n = math.prod(shape)
    if op == "reduce":
        return float(n)
    if op in ("softmax", "log_softmax"):
        return 5.0 * n          # max, subtract, exp, add, scale per element
    if op == "l2norm":
        return 2.0 * n          # multiply-add per element (+ one sqrt per row, ignored)
    raise ValueError(f"op: unknown {op!r}")


def byte_count(op: str, shape, dtype: str, dim: Optional[int] = None, variant: Optional[str] = None) -> float:
    """Bytes read + written by one call, every operand touched once."""
    s = ITEMSIZE[dtype]
    if op == "matmul":
        b, m, n, k = matmul_dims(shape)
        return float((m * k + k * n + m * n) * s * b)
    n = math.prod(shape)
    if op == "reduce":
        out_numel = 1 if dim is None else n // shape[dim] if shape[dim] else 0
        return float(n * s + out_numel * (8 if variant in ("argmax", "argmin") else s))
    if op in ("softmax", "log_softmax"):
        return float(2 * n * s)
    if op == "l2norm":
        rows = n // shape[-1] if shape and shape[-1] else 0
        return float(n * s + rows * s)
    raise ValueError(f"op: unknown {op!r}")


def primary_metric(op: str, shape=None) -> str:
    """"tflops" for compute-bound ops (matmul), "gbps" for the memory-bound ones (and GEMV)."""
    if op == "matmul":
        if shape is not None:
            _, m, n, _ = matmul_dims(shape)
            if m == 1 or n == 1:
                return "gbps"
        return "tflops"
    return "gbps"


def throughput(flops: float, nbytes: float, seconds: Optional[float]) -> dict:
    ok = seconds is not None and seconds > 0
    return {"tflops": flops / seconds / 1e12 if ok else None, "gbps": nbytes / seconds / 1e9 if ok else None}


def pct(value: Optional[float], peak: Optional[float]) -> Optional[float]:
    """value / peak in percent (both in the same unit), None when either is unknown."""
    return None if value is None or not peak else 100.0 * value / peak


def arithmetic_intensity(flops: float, nbytes: float) -> Optional[float]:
    return flops / nbytes if nbytes else None
