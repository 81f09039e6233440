"""Rates of a measurement: TFLOP/s, GB/s, % of peak.  (A case's FLOP and byte counts are
cases.Case's; the error tolerances kernelbench/tolerance.py's.)"""
from __future__ import annotations

from typing import Optional

from ..tolerance import EPS  # noqa: F401 -- report/tables.py reads it from here

ITEMSIZE = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4}


def matmul_dims(shape) -> tuple[int, int, int, int]:
    """(batch, M, N, K) from a matmul case shape (M, N, K) or (batch, M, N, K)."""
    if len(shape) not in (3, 4):
        raise ValueError(f"matmul shape: expected (M, N, K) or (batch, M, N, K), got {shape}")
    return tuple(shape) if len(shape) == 4 else (1, *shape)


def throughput(flops: float, nbytes: float, seconds: Optional[float]) -> dict:
    ok = seconds is not None and seconds > 0
    return {"tflops": flops / seconds / 1e12 if ok else None, "gbps": nbytes / seconds / 1e9 if ok else None}


def pct(value: Optional[float], peak: Optional[float]) -> Optional[float]:
    """value / peak in percent (both in the same unit), None when either is unknown."""
    return None if value is None or not peak else 100.0 * value / peak


def arithmetic_intensity(flops: float, nbytes: float) -> Optional[float]:
    return flops / nbytes if nbytes else None
