"""The collectives section of the HTML report: busbw against size (log-log, one line per rung,
the memcpy ceiling as a dashed line) beside time against size (the latency floor dotted), and the
busbw table, for each (collective, op, dtype, world size, backend) of a result file."""
from __future__ import annotations

import html
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Optional

from ..bench import analysis
from ..report.model import fmt_num, fmt_time
from ..report.plots import _save, plt, slug
from .table import groups


def _size_label(b: int) -> str:
    for unit, k in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if b >= k:
            return f"{b // k}{unit}"
    return f"{b}"


def busbw_plot(es: list, title: str, out_dir: Path) -> Optional[Path]:
    """busbw and time against the buffer size, one line per rung."""
    rows = [e for e in es if analysis.ok(e) and e.get("busbw_gbps")]
    if not rows:
        return None
    lines: "OrderedDict" = OrderedDict()
    for e in rows:
        lines.setdefault(e["impl"], []).append(e)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    cmap = plt.get_cmap("tab10")
    for n, (impl, pts) in enumerate(lines.items()):
        pts.sort(key=lambda e: e["size"])
        xs = [e["size"] for e in pts]
        kw = dict(marker="o", ms=3, color=cmap(n % 10), label=impl,
                  ls="--" if "library" in impl else "-")
        ax1.plot(xs, [e["busbw_gbps"] for e in pts], **kw)
        ax2.plot(xs, [e["median_s"] for e in pts], **kw)
    ceiling = next((e.get("ceiling_gbps") for e in rows if e.get("ceiling_gbps")), None)
    if ceiling:
        ax1.axhline(ceiling, color="#c00000", ls=":", lw=1.5, label=f"memcpy ceiling {ceiling:.3g} GB/s")
    floor = next((e.get("floor_s") for e in rows if e.get("floor_s")), None)
    if floor:
        ax2.axhline(floor, color="#c00000", ls=":", lw=1.5, label=f"8 B one-way latency {fmt_time(floor)}")
    sizes = sorted({e["size"] for e in rows})
    for ax, ylabel in ((ax1, "busbw (GB/s)"), (ax2, "time per call (s)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ticks = sizes[::max(1, len(sizes) // 10)]
        ax.set_xticks(ticks)
        ax.set_xticklabels([_size_label(s) for s in ticks], fontsize=8)
        ax.set_xlabel("buffer per rank (bytes)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.25)
    ax1.legend(fontsize=7, loc="best")
    ax2.legend(fontsize=7, loc="best")
    factor = "2(n-1)/n" if rows[0].get("op") == "all_reduce" else "(n-1)/n"
    fig.suptitle(f"collectives · {title} — busbw = S/t x {factor}", fontsize=10)
    return _save(fig, out_dir / f"collectives_{slug(title)}.png")


def section(entries: list, out_dir: Path, img: Callable[[Path], str]) -> str:
    """The HTML of every collectives group in `entries` ('' when there is none)."""
    parts = []
    for (coll, op, dt, dev, n, backend), es in groups(entries).items():
        if not parts:
            parts.append("<h2>collectives</h2><p>Collectives across ranks (kernelbench/collectives, "
                         "docs/collectives.md): time = the max over ranks of each rank's median; algbw = S/t; "
                         "busbw = algbw x 2(n-1)/n (reduce-scatter, all-gather: (n-1)/n). Ceiling: memcpy bandwidth of one rank while every rank copies; "
                         "floor: the one-way latency of an 8-byte message.</p>")
        title = f"{coll}{' ' + op if op else ''} {dt} {n} ranks {backend} {dev}"
        parts.append(f"<h3>{html.escape(title)}</h3>")
        png = busbw_plot(es, title, out_dir)
        if png is not None:
            parts.append(img(png))
        rungs = list(OrderedDict.fromkeys(e["impl"] for e in es))
        cell = {(e["impl"], e["size"]): e for e in es}
        head = "<tr><th>size</th>" + "".join(f"<th>{html.escape(r)}</th>" for r in rungs) + "<th>ceiling</th></tr>"
        body = []
        for s in sorted({e["size"] for e in es}):
            tds = []
            for r in rungs:
                e = cell.get((r, s))
                if e is None:
                    tds.append("<td></td>")
                elif not analysis.ok(e):
                    tds.append(f"<td title='{html.escape(e.get('reason') or '')}'>{html.escape(str(e.get('status')))}</td>")
                else:
                    tds.append(f"<td title='{fmt_time(e['median_s'])}'>{fmt_num(e.get('busbw_gbps'))}</td>")
            ceil = next((e.get("ceiling_gbps") for e in es if e.get("ceiling_gbps")), None)
            body.append(f"<tr><td>{s:,} B</td>{''.join(tds)}<td>{fmt_num(ceil)}</td></tr>")
        parts.append(f"<table>{head}{''.join(body)}</table><div class=cap>busbw in GB/s (hover: time)</div>")
    return "\n".join(parts)
