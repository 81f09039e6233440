"""Number formatting shared by the terminal tables, the HTML report and the markdown tables."""
from __future__ import annotations

import math
from typing import Optional

METRIC_UNIT = {"tflops": "TFLOP/s", "gbps": "GB/s"}


def fmt_time(s: Optional[float]) -> str:
    if s is None or not math.isfinite(s):
        return "-"
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e9:.3g} ns"


def fmt_pct(p: Optional[float]) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    if p >= 100:
        return f"{p:.0f}%"
    if p >= 10:
        return f"{p:.1f}%"
    return f"{p:.2g}%"


def fmt_num(v: Optional[float], digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def fmt_err(e: Optional[float]) -> str:
    if e is None:
        return "-"
    if not math.isfinite(e):
        return "nan"
    return "0" if e == 0 else f"{e:.1e}"


def fmt_bytes(b: Optional[float]) -> str:
    if b is None:
        return "-"
    for unit, k in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= k:
            return f"{b / k:.3g} {unit}"
    return f"{b:.0f} B"


def status_text(entry: dict, plain: bool = False) -> str:
    """✔ / ✘ FAILED (reason) / error: ... / skipped (reason) -- one short line."""
    st = entry.get("status")
    reason = (entry.get("reason") or "").splitlines()[0][:120] if entry.get("reason") else ""
    if st == "ok":
        return "ok" if plain else "✔"
    if st == "failed":
        return f"FAILED ({reason})" if plain else f"✘ FAILED ({reason})"
    if st == "error":
        return f"error: {reason}" if plain else f"✘ error: {reason}"
    if st == "skipped":
        return f"skipped ({reason})"
    return st or "?"
