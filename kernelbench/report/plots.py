"""The plots (matplotlib, Agg backend): ladder bars, sweep log-log lines with the crossover,
the roofline, the layers chart, the front-door overhead.  Each function returns the PNG path."""
from __future__ import annotations

import math
import re
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..bench import analysis  # noqa: E402
from .fmt import METRIC_UNIT  # noqa: E402
from ..registry.core import LAYERS  # noqa: E402

LAYER_COLORS = {
    "handwritten-cuda": "#1f77b4", "numba": "#ff7f0e", "cupy-nvrtc": "#9467bd", "vendor-library": "#2ca02c",
    "framework": "#7f7f7f", "compiler": "#17becf", "cpu": "#8c564b",
}
DEVICE_STYLE = {"cpu": "-", "cuda": "--"}


def slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()[:80]


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def ladder_bars(entries: list, out_dir: Path) -> Optional[Path]:
    """One case: a bar per rung (ladder order) of its time per call on a log axis (the rungs span
    four orders of magnitude), each bar labelled with its time, % of the table's one library rung
    and what the rung adds.  FAILED, error and skipped rungs have no bar, only their status."""
    if not entries:
        return None
    from .fmt import fmt_pct, fmt_time
    e0 = entries[0]
    lib = next((e.get("library_ref") for e in entries if e.get("library_ref")), "")
    names = [e["impl"] + (" (ref)" if lib and e["impl"] == lib else "") for e in entries]
    h = max(2.5, 0.42 * len(entries) + 1.3)
    fig, ax = plt.subplots(figsize=(13, h))
    y = list(range(len(entries)))
    times = [e["median_s"] if analysis.ok(e) else None for e in entries]
    known = [t for t in times if t]
    lo = min(known) / 3 if known else 1e-6
    hi = max(known) if known else 1.0
    colors = [LAYER_COLORS.get(e.get("layer"), "#333333") for e in entries]
    ax.barh(y, [(t - lo) if t else 0 for t in times], left=lo, color=colors)     # each bar ends at its time
    for yi, (t, e) in enumerate(zip(times, entries)):
        adds = textwrap.shorten(e.get("adds") or "", 90, placeholder="…")
        if t:
            pl = e.get("pct_library")
            txt = f"{fmt_time(t)}" + (f" · {fmt_pct(pl)} of lib" if pl is not None else "") + f" — {adds}"
            ax.text(1.01, yi, txt, va="center", fontsize=7, transform=ax.get_yaxis_transform())  # right of the axes
        else:
            st = e.get("status") or "?"
            label = {"failed": "FAILED", "error": "error", "skipped": "skipped"}.get(st, st)
            ax.text(1.01, yi, f"{label} — {adds}", va="center", fontsize=7, transform=ax.get_yaxis_transform(),
                    color="#c00000" if st in ("failed", "error") else "#888888")
    ax.set_xscale("log")
    ax.set_xlim(lo, hi * 1.5)         # the axis spans the data; the labels sit to its right
    fig.subplots_adjust(left=0.2, right=0.5)
    ax.set_xlabel("time per call (s, log scale; shorter is better)")
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", which="major", alpha=0.3)
    fig.suptitle(f"{e0['label']} · {e0['dtype']} · {e0['device']}", fontsize=11)
    peak = next((e.get("peak_label") for e in entries if e.get("peak_label")), "")
    ax.set_title(f"library: {lib or 'none measured'}   peak: {peak or 'unknown'}", fontsize=7, color="#555")
    handles = [plt.Rectangle((0, 0), 1, 1, color=LAYER_COLORS[layer]) for layer in LAYERS
               if any(e.get("layer") == layer for e in entries)]
    labels = [layer for layer in LAYERS if any(e.get("layer") == layer for e in entries)]
    if handles:
        ax.legend(handles, labels, fontsize=7, loc="lower right")
    return _save(fig, out_dir / f"ladder_{slug(e0['key'])}.png")


def _size_label(n: int) -> str:
    if n >= 1000 and math.log10(n) == int(math.log10(n)):
        return f"1e{int(math.log10(n))}"
    return f"{n:,}"


def sweep_plot(entries: list, series: str, dtype: str, out_dir: Path) -> Optional[Path]:
    """Time and throughput against size, log-log, one line per rung; CPU solid, GPU dashed; the
    crossover (GPU faster from there on) as a vertical line."""
    rows = [e for e in entries if e.get("suite") == "sweep" and e.get("series") == series
            and e["dtype"] == dtype and analysis.ok(e)]
    if not rows:
        return None
    lines: dict = defaultdict(list)
    for e in rows:
        lines[(e["impl"], e["device"], e.get("layer"))].append(e)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    cmap = plt.get_cmap("tab10" if len(lines) <= 10 else "tab20")
    for n, ((impl, dev, layer), es) in enumerate(lines.items()):
        es.sort(key=lambda e: e["size"])
        xs = [e["size"] for e in es]
        kw = dict(ls=DEVICE_STYLE.get(dev, "-"), marker="o" if dev == "cpu" else "s", ms=3,
                  label=f"{impl} ({dev}, {layer})", color=cmap(n % cmap.N))
        ax1.plot(xs, [e["median_s"] for e in es], **kw)
        ax2.plot(xs, [e["value"] for e in es], **kw)
    unit = METRIC_UNIT[rows[0].get("metric") or "gbps"]
    sizes = sorted({e["size"] for e in rows})
    for ax, ylabel in ((ax1, "time per call (s)"), (ax2, unit)):
        ax.set_xscale("log")
        ax.set_yscale("log")
        if len(sizes) <= 12:
            ax.set_xticks(sizes)
            ax.set_xticklabels([_size_label(s) for s in sizes], fontsize=8)
            ax.minorticks_off()
        ax.set_xlabel("elements" if series == "sum" else "N (N x N x N)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.25)
    cx = [c for c in analysis.crossovers(entries) if c["series"] == series and c["dtype"] == dtype]
    note = cx[0]["note"] if cx else ""
    if cx and cx[0]["crossover_size"]:
        for ax in (ax1, ax2):
            ax.axvline(cx[0]["crossover_size"], color="#c00000", ls=":", lw=1.5)
        ax1.annotate(f"crossover\n{cx[0]['crossover_size']:,}", (cx[0]["crossover_size"], ax1.get_ylim()[1]),
                     xytext=(5, -25), textcoords="offset points", color="#c00000", fontsize=8)
    ax2.legend(fontsize=7, loc="best")
    fig.suptitle(f"sweep · {series} · {dtype} — CPU (solid) vs GPU (dashed). {note}", fontsize=10)
    return _save(fig, out_dir / f"sweep_{slug(series)}_{dtype}.png")



def roofline_axes(ax, xlabel: str, ylabel: str) -> None:
    """Log-log axes, grid and legend of a roofline (the measured one here, the bound's in explain/)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="lower right")


def roofline(entries: list, peaks: dict, device: str, out_dir: Path, dtype: str = "float32") -> Optional[Path]:
    """Arithmetic intensity (FLOP/byte) against achieved GFLOP/s, with the compute ceiling of the
    dtype and the bandwidth ceiling (datasheet; dotted: measured bandwidth)."""
    rows = [e for e in entries if analysis.ok(e) and e["device"] == device and e["dtype"] == dtype
            and e.get("intensity") and e.get("suite") in ("ladder", "shapes")]
    if not rows:
        return None
    p = peaks.get(device) or {}
    fpk = (p.get("flops") or {}).get(dtype)
    bw = p.get("bandwidth")
    mbw = (p.get("measured") or {}).get("bandwidth")
    fig, ax = plt.subplots(figsize=(8, 5.5))
    xs = [e["intensity"] for e in rows]
    lo, hi = min(xs + [0.05]) / 2, max(xs + [100]) * 2
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    if bw:
        ceil = [min(fpk or math.inf, x * bw) / 1e9 for x in grid]
        ax.plot(grid, ceil, color="k", lw=1.5, label=f"ceiling: {p.get('bandwidth_source', '')}"[:90])
    if mbw and mbw != bw:
        ax.plot(grid, [min(fpk or math.inf, x * mbw) / 1e9 for x in grid], color="k", lw=1, ls=":",
                label=f"measured {mbw / 1e9:.3g} GB/s")
    if fpk:
        ax.axhline(fpk / 1e9, color="#555", lw=0.8, ls="--", label=f"{dtype} peak {fpk / 1e12:.3g} TFLOP/s")
    markers = {"matmul": "o", "reduce": "s", "softmax": "^", "log_softmax": "v", "l2norm": "D"}
    seen = set()
    cached = False
    for e in rows:
        gf = e["flops"] / e["median_s"] / 1e9
        lab = e["layer"] if e["layer"] not in seen else None
        seen.add(e["layer"])
        in_cache = e.get("peak_level") == "cache"
        cached |= in_cache
        ax.scatter(e["intensity"], gf, marker=markers.get(e["op"], "o"), s=28,
                   color="none" if in_cache else LAYER_COLORS.get(e["layer"], "#333"), label=lab,
                   edgecolors=LAYER_COLORS.get(e["layer"], "#333") if in_cache else "k",
                   linewidths=1.0 if in_cache else 0.3)
    # labels: in each cluster of intensity, the best point of each layer (all of them would overlap)
    best: dict = {}
    for e in rows:
        gf = e["flops"] / e["median_s"] / 1e9
        k = (round(math.log10(e["intensity"]) * 2), e["layer"])
        if k not in best or gf > best[k][1]:
            best[k] = (e, gf)
    per_cluster: dict = defaultdict(int)
    for (cl, _), (e, gf) in sorted(best.items(), key=lambda kv: -kv[1][1]):
        n = per_cluster[cl]
        per_cluster[cl] += 1
        ax.annotate(f"{e['impl']} ({e['op']})", (e["intensity"], gf), xytext=(6, 8 - 9 * n), textcoords="offset points",
                    fontsize=6, color=LAYER_COLORS.get(e["layer"], "#333"),
                    arrowprops=dict(arrowstyle="-", lw=0.3, color="#999"))
    if cached:
        ax.text(0.01, 0.01, "hollow: data fits in cache (may sit above the DRAM roof)", transform=ax.transAxes,
                fontsize=7, color="#555")
    roofline_axes(ax, "arithmetic intensity (FLOP / byte, ideal traffic)", "achieved GFLOP/s")
    ax.set_title(f"roofline · {p.get('name', device)} · {dtype}  (o matmul, s reduce, ^ softmax, v log_softmax, "
                 f"D l2norm; labelled: the best of each layer per intensity)", fontsize=8)
    return _save(fig, out_dir / f"roofline_{device}_{dtype}.png")


def layers_chart(entries: list, device: str, out_dir: Path, suite: str = "ladder",
                 ops: Optional[tuple] = None) -> Optional[Path]:
    """Per case of `suite` on one device (and `ops`): the best rung of each layer as % of the
    library rung."""
    per = {k: v for k, v in analysis.best_per_layer(entries, suite).items()
           if next(iter(v.values()))["device"] == device
           and (ops is None or next(iter(v.values()))["op"] in ops)}
    if not per:
        return None
    layers = [layer for layer in analysis.layer_order(device) if any(layer in v for v in per.values())]
    n_cases, n_layers = len(per), len(layers)
    width = 0.8 / max(1, n_layers)
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * n_cases + 3), 5.2))
    labels = []
    for ci, (key, best) in enumerate(per.items()):
        e0 = next(iter(best.values()))
        labels.append(textwrap.fill(f"{e0['label']} · {e0['dtype']}", 16))
        for li, layer in enumerate(layers):
            e = best.get(layer)
            if e is None:
                continue
            v = e.get("pct_library")
            x = ci - 0.4 + width * (li + 0.5)
            ax.bar(x, v or 0, width=width * 0.95, color=LAYER_COLORS.get(layer))
            ax.text(x, (v or 0) + 1, f"{e['impl']}", rotation=90, fontsize=6, ha="center", va="bottom")
    ax.axhline(100, color="#2ca02c", ls=":", lw=1)
    ax.set_xticks(range(n_cases))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("speed, % of the library rung\n(library time / rung time; higher is faster)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=LAYER_COLORS[layer]) for layer in layers]
    ax.legend(handles, layers, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"{suite} · best rung of each layer · {device}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylim(0, max([100] + [e.get("pct_library") or 0 for b in per.values() for e in b.values()]) * 1.35)
    name = "layers" if suite == "ladder" else f"{suite}_layers"
    if ops is not None:
        name += "_" + "_".join(ops)
    return _save(fig, out_dir / f"{name}_{device}.png")


def overhead_chart(entries: list, out_dir: Path) -> Optional[Path]:
    rows = [e for e in entries if e.get("suite") == "overhead" and analysis.ok(e)]
    if not rows:
        return None
    rows.sort(key=lambda e: (e["device"], e["op"], e["wall_s"]))
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.3 * len(rows) + 1)))
    y = range(len(rows))
    ax.barh(list(y), [e["wall_s"] * 1e6 for e in rows], color="#bbbbbb", label="wall per call")
    ax.barh(list(y), [(e.get("device_s") or 0) * 1e6 for e in rows], color="#1f77b4", label="device per call")
    ax.set_yticks(list(y))
    ax.set_yticklabels([f"{e['op']} · {e['device']} · {e.get('front_door')} · {e['impl']}" for e in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("µs per call (tiny inputs)")
    ax.legend(fontsize=7)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.set_title("overhead · per-call cost of each front door", fontsize=10)
    return _save(fig, out_dir / "overhead.png")
