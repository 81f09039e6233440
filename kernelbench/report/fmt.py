"""Number formatting shared by the terminal tables, the HTML report and the markdown tables."""
from __future__ import annotations

import math
from typing import Optional

METRIC_UNIT = {"tflops": "TFLOP/s", "gbps": "GB/s"}


def _bad(x: Optional[float]) -> bool:
    return x is None or not math.isfinite(x)


def fmt_time(s: Optional[float]) -> str:
    if _bad(s):
        return "-"
    for unit, k in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= k:
            return f"{s / k:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def fmt_pct(p: Optional[float]) -> str:
    return "-" if _bad(p) else f"{p:.0f}%" if p >= 100 else f"{p:.1f}%" if p >= 10 else f"{p:.2g}%"


def fmt_num(v: Optional[float], digits: int = 3) -> str:
    return "-" if _bad(v) else "0" if v == 0 else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.{digits}g}"


def fmt_err(e: Optional[float]) -> str:
    return "-" if e is None else "nan" if not math.isfinite(e) else "0" if e == 0 else f"{e:.1e}"


def status_text(entry) -> str:
    """✔ / ✘ FAILED (reason) / ✘ error: reason / skipped (reason) -- one short line."""
    st, reason = entry.get("status"), "".join((entry.get("reason") or "").splitlines()[:1])[:120]
    return {"ok": "✔", "failed": f"✘ FAILED ({reason})", "error": f"✘ error: {reason}",
            "skipped": f"skipped ({reason})"}.get(st, st or "?")
