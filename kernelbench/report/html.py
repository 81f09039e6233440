"""`kernelbench report RESULTS... --out DIR`: an HTML page with its PNG plots beside it, from one or more result
files; rung names link to their source files."""
from __future__ import annotations

import html
import os
from pathlib import Path

from ..bench import analysis
from ..bench.measure import NOISE_THRESHOLD
from ..bench.results import read
from . import model, plots

CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222} h1{font-size:1.5em}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em} h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1em} th,td{padding:.2em .6em;border-bottom:1px solid #eee}
th{background:#f6f6f6;text-align:left} .r{text-align:right} .bad{color:#b00} .dim{color:#888} .good{color:#060}
.best{font-weight:600;color:#060} .noisy{color:#b80} .cap{font-size:.8em;color:#666;margin-top:-.6em}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}"""
REPO = Path(__file__).resolve().parents[2]
INTRO = {"ladder": "One representative size per device: the best rung of each layer, then every rung (bars: time "
                   "per call; FAILED rungs are never ranked).",
         "shapes": "Irregular, skinny, batched and transposed problems, the same way."}


def _img(path: Path, out: Path) -> str:
    """A PNG beside the page (`out`: the page's folder)."""
    return f'<img alt="{html.escape(path.name)}" src="{html.escape(os.path.relpath(path, out))}">'


def _table(t: model.Table, out: Path) -> str:
    """`t` as an HTML table under its title, its footnotes below; emphasis as CSS classes."""
    def td(c, right):
        s = html.escape(c.text)
        s = f'<a href="{html.escape(os.path.relpath(REPO / c.link, out))}">{s}</a>' if c.link else s
        title = f' title="{html.escape(c.title)}"' if c.title else ""
        return f'<td class="{c.style}{" r" * right}"{title}>{s}{html.escape(c.tail)}</td>'
    head = "".join(f"<th{' class=r' * (h in t.right)}>{html.escape(h)}</th>" for h in t.heads)
    rows = "".join("<tr>" + "".join(td(c, h in t.right) for c, h in zip(r, t.heads)) + "</tr>" for r in t.rows if r)
    notes = " · ".join(html.escape(n) for _, n in t.notes)
    return (f"<h3>{html.escape(t.title)}</h3>" * bool(t.title) + f"<table><tr>{head}</tr>{rows}</table>"
            + f"<div class=cap>{notes}</div>" * bool(notes))


def _section(data: dict, d: Path, out: Path) -> str:
    """One result file: its environment, then per suite its tables and plots (PNGs under `d`; links relative
    to `out`, the page's folder)."""
    entries, parts = data.get("entries") or [], []
    analysis.apply_library_ratios(entries)     # one library rung per table (older files: per case)

    def add(*items):   # HTML, a table, or a plot's PNG path (None: nothing)
        parts.extend(_img(x, out) if isinstance(x, Path) else _table(x, out) if isinstance(x, model.Table) else x
                     for x in items if x is not None)
    add(f"<h2>{html.escape(Path(data.get('_path', 'results')).name)}</h2>", model.environment([data]))
    for suite, es in analysis.grouped(entries, lambda e: e.get("suite"), lambda e: e.get("suite") not in
                                      analysis.PIVOTED).items():
        add(f"<h2>{suite}</h2><p>{INTRO.get(suite, 'The best rung of each layer, then every case.')}</p>",
            model.layers(entries, suite))
        for case in analysis.case_groups(es).values():
            add(model.case(case), plots.ladder_bars(case, d) if suite == "ladder" else None)
    if analysis.sweep_series(entries):
        add("<h2>sweep: CPU vs GPU</h2>")
    for s, dt in analysis.sweep_series(entries):
        add(plots.sweep_plot(entries, s, dt, d), model.sweep(entries, s, dt))
    if any(e.get("suite") == "collectives" for e in entries):   # busbw vs size, one line per rung
        from ..collectives.plot import section as collectives_section
        add(collectives_section(entries, d, lambda png: _img(png, out)))
    if model.overhead(entries):
        add("<h2>overhead</h2>", model.overhead(entries))
    return "\n".join(parts)


def build_report(paths: list, out_dir) -> Path:
    """Write out_dir/index.html and the PNGs it links; returns its path."""
    from ..explain.roofline import section as bound_section   # the rungs at their speed-of-light bound (modelled)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir.resolve()
    datas = [read(p) for p in paths]
    body = [_section(data, out_dir / plots.slug(Path(data["_path"]).stem) if len(datas) > 1 else out_dir, out)
            for data in datas] + [bound_section(out_dir, datas, img=lambda png: _img(png, out))[0]]
    (out_dir / "index.html").write_text(
        f"<!doctype html><html><head><meta charset=utf-8><title>kernelbench report</title><style>{CSS}</style>"
        f"</head><body><h1>kernelbench report</h1><p>Median of repeated timings (IQR = interquartile range; ~ marks "
        f"IQR &gt; {NOISE_THRESHOLD:.0%} of the median). Throughput counts ideal traffic. Generated from "
        f"{', '.join(html.escape(str(p)) for p in paths)}.</p>" + "\n".join(body) + "</body></html>")
    return out_dir / "index.html"
