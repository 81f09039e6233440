"""The report's plots (matplotlib, Agg backend): ladder bars and the sweep with its crossover.  Each returns
its PNG's path (None: no data)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..bench import analysis  # noqa: E402
from ..registry.core import LAYERS  # noqa: E402
from .model import METRIC_UNIT, first, fmt_pct, fmt_time  # noqa: E402

LAYER_COLORS = {"handwritten-cuda": "#1f77b4", "numba": "#ff7f0e", "cupy-nvrtc": "#9467bd", "vendor-library": "#2ca02c",
                "framework": "#7f7f7f", "compiler": "#17becf", "cpu": "#8c564b"}


def slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()[:80]


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def ladder_bars(entries: list, out_dir: Path) -> Optional[Path]:
    """One case: a bar per rung of its time per call (log axis), labelled with the time and % of the library
    rung; FAILED / error / skipped rungs have no bar, only their status."""
    if not entries:
        return None
    e0, lib = entries[0], first(entries, "library_ref")
    times = [e["median_s"] if analysis.ok(e) else None for e in entries]
    known = [t for t in times if t] or [3e-6, 1.0]
    lo, hi = min(known) / 3, max(known)
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.32 * len(entries) + 1.2)))
    bars = ax.barh(range(len(entries)), [(t - lo) if t else 0 for t in times], left=lo,   # each bar ends at its time
                   color=[LAYER_COLORS.get(e.get("layer"), "#333333") for e in entries])
    ax.bar_label(bars, [fmt_time(t) + f" · {fmt_pct(e.get('pct_library'))} of lib" * (e.get("pct_library") is not None)
                        if t else {"failed": "FAILED"}.get(e.get("status"), e.get("status") or "?")
                        for t, e in zip(times, entries)], padding=3, fontsize=7)
    ax.set(xscale="log", xlim=(lo, hi * 1.5), xlabel="time per call (s, log scale; shorter is better)")
    ax.set_yticks(range(len(entries)), [e["impl"] + " (ref)" * (e["impl"] == lib) for e in entries], fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", which="major", alpha=0.3)
    ax.set_title(f"{e0['label']} · {e0['dtype']} · {e0['device']}   (library: {lib or 'none measured'})", fontsize=10)
    layers = [x for x in LAYERS if any(e.get("layer") == x for e in entries)]
    ax.legend([plt.Rectangle((0, 0), 1, 1, color=LAYER_COLORS[x]) for x in layers], layers, fontsize=7,
              loc="lower right")
    return _save(fig, out_dir / f"ladder_{slug(e0['key'])}.png")


def sweep_plot(entries: list, series: str, dtype: str, out_dir: Path) -> Optional[Path]:
    """Throughput against size, log-log, one line per rung (CPU solid, GPU dashed; the times are in the table
    beside it); the crossover (GPU faster from there on) as a vertical line."""
    rows = [e for e in entries if e.get("suite") == "sweep" and e.get("series") == series
            and e["dtype"] == dtype and analysis.ok(e)]
    if not rows:
        return None
    lines = analysis.grouped(rows, lambda e: (e["impl"], e["device"], e.get("layer")))
    fig, ax = plt.subplots(figsize=(8, 4.8))
    cmap = plt.get_cmap("tab10" if len(lines) <= 10 else "tab20")
    for n, ((impl, dev, layer), es) in enumerate(lines.items()):
        es.sort(key=lambda e: e["size"])
        ax.plot([e["size"] for e in es], [e["value"] for e in es], ls="-" if dev == "cpu" else "--", ms=3,
                marker="o" if dev == "cpu" else "s", label=f"{impl} ({dev}, {layer})", color=cmap(n % cmap.N))
    roofline_axes(ax, "elements" if series == "sum" else "N (N x N x N)", METRIC_UNIT[rows[0].get("metric") or "gbps"],
                  "best")
    cx = next((c for c in analysis.crossovers(entries) if c["series"] == series and c["dtype"] == dtype), None)
    if cx and cx["crossover_size"]:
        ax.axvline(cx["crossover_size"], color="#c00000", ls=":", lw=1.5)
        ax.annotate(f"crossover\n{cx['crossover_size']:,}", (cx["crossover_size"], ax.get_ylim()[1]),
                    xytext=(5, -25), textcoords="offset points", color="#c00000", fontsize=8)
    ax.set_title(f"sweep · {series} · {dtype} — CPU (solid) vs GPU (dashed). {cx['note'] if cx else ''}",
                 fontsize=10)
    return _save(fig, out_dir / f"sweep_{slug(series)}_{dtype}.png")


def roofline_axes(ax, xlabel: str, ylabel: str, legend: Optional[str] = "lower right") -> None:
    """Log-log axes, grid and legend (the sweep, the bound's roofline in explain/)."""
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, which="both", alpha=0.25)
    if legend:
        ax.legend(fontsize=7, loc=legend)

