"""`kernelbench report RESULTS... --out DIR`: an HTML page and its PNG plots, from one or more
result files.  By default the page links the PNGs beside it (what results/ keeps: the PNGs once,
not again inside the page); `embed=True` (`--embed`) writes one self-contained page instead and
no PNG files.  Rung names link to their source files."""
from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from ..bench import analysis
from .fmt import METRIC_UNIT, fmt_bytes, fmt_err, fmt_num, fmt_pct, fmt_time, status_text
from ..bench.measure import NOISE_THRESHOLD
from ..bench.results import environment_summary, over_peak_note, read
from . import plots

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;color:#222}
h1{font-size:1.5em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em} h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1em} th,td{padding:.2em .6em;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6} td.l,th.l{text-align:left} tr.failed td{color:#b00} tr.skipped td,tr.error td{color:#888}
tr.best td{font-weight:600;color:#060} .noisy{color:#b80} .cap{font-size:.8em;color:#666;margin-top:-.6em}
img{max-width:100%;border:1px solid #eee;margin:.4em 0} code{background:#f3f3f3;padding:0 .2em}
.env td{text-align:left}
"""


REPO = Path(__file__).resolve().parents[2]
_STATE: dict = {"embed": False, "out": Path(".")}


def _img(path: Path) -> str:
    if _STATE["embed"]:
        data = base64.b64encode(path.read_bytes()).decode()
        path.unlink()
        return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'
    rel = os.path.relpath(path, _STATE["out"])
    return f'<img alt="{html.escape(path.name)}" src="{html.escape(rel)}">'


def _src_link(e: dict) -> str:
    """The rung's name, linked to its source file (relative to the page, inside this repository)."""
    name = html.escape(e["impl"])
    src = e.get("source")
    if not src:
        return name
    rel = os.path.relpath(REPO / src, _STATE["out"])
    return f'<a href="{html.escape(rel)}">{name}</a>'


def _case_table(entries: list) -> str:
    e0 = entries[0]
    unit = METRIC_UNIT[e0.get("metric") or "gbps"]
    okays = analysis.ranked(entries)
    best = okays[0]["median_s"] if okays else None
    rows = []
    for e in entries:
        cls = e.get("status") or ""
        if analysis.ok(e) and best and e["median_s"] <= best * 1.01:
            cls += " best"
        iqr = fmt_pct(100 * e["rel_iqr"]) if e.get("rel_iqr") is not None else "-"
        if e.get("noisy"):
            iqr = f'<span class="noisy">{iqr} ~</span>'
        name = _src_link(e) + (" (ref)" if e.get("library_ref") == e["impl"] else "")
        if (e.get("methods") or {}).get("verdict") == "disagree":
            name += f' <span class=noisy title="{html.escape(e["methods"]["explanation"])}">≠</span>'
        rows.append(
            f'<tr class="{cls}"><td class="l" title="{html.escape(e.get("adds") or "")}">{name}</td>'
            f'<td class="l">{html.escape(e.get("layer") or "")}</td><td>{fmt_time(e.get("median_s"))}</td>'
            f'<td>{iqr}</td><td>{fmt_num(e.get("value"))}</td><td>{fmt_pct(e.get("pct_peak"))}'
            f'{"*" if e.get("peak_level") == "cache" else ""}</td>'
            f'<td>{fmt_pct(e.get("pct_library"))}</td><td>{fmt_err(e.get("max_abs_err"))}</td>'
            f'<td>{fmt_bytes(e.get("peak_mem_bytes"))}</td>'
            f'<td class="l">{html.escape(status_text(e))}</td></tr>')
    head = ("<tr><th class=l>rung</th><th class=l>layer</th><th>time (median)</th><th>IQR</th>"
            f"<th>{unit}</th><th>% peak</th><th>% lib</th><th>max err</th><th>peak mem</th><th class=l>status</th></tr>")
    cap = []
    peak = next((e.get("peak_label") for e in entries if e.get("peak_label")), None)
    if peak:
        cap += [f"% peak: {html.escape(peak)}"] + [html.escape(n) for n in (over_peak_note(entries),) if n]
    lib = next((e.get("library_ref") for e in entries if e.get("library_ref")), None)
    if lib:
        cap.append(f"% lib: against {html.escape(lib)}")
    cap += [html.escape(n) for n in sorted({e["note"] for e in entries if e.get("note")})]
    return f"<table>{head}{''.join(rows)}</table><div class=cap>{' · '.join(cap)}</div>"


def _sweep_table(entries: list, series: str, dtype: str) -> str:
    sizes, grid = analysis.sweep_grid(entries, series, dtype)
    head = "<tr><th class=l>rung</th><th class=l>device</th>" + "".join(f"<th>{s:,}</th>" for s in sizes) + "</tr>"
    body = []
    for (impl, dev, _), per in grid.items():
        cells = []
        for s in sizes:
            e = per.get(s)
            cells.append("<td></td>" if e is None else
                         f"<td>{fmt_time(e['median_s'])}</td>" if analysis.ok(e) else
                         f"<td title='{html.escape(status_text(e, plain=True))}'>{e['status']}</td>")
        body.append(f"<tr><td class=l>{html.escape(impl)}</td><td class=l>{dev}</td>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _env_table(data: dict) -> str:
    s = environment_summary(data)
    p = data.get("peaks") or {}
    rows = [("host", s["host"]), ("created", s["created"]), ("git commit", s["commit"]),
            ("CPU", s["cpu"]), ("GPU", s["gpu"] or "none"), ("versions", s["versions"]),
            ("suites", ", ".join(data.get("suites") or [])), ("quick", str(data.get("quick"))),
            ("interrupted", str(data.get("interrupted")))]
    for dev, pk in p.items():
        fl = ", ".join(f"{k} {v / 1e12:.3g} TFLOP/s" for k, v in (pk.get("flops") or {}).items())
        rows.append((f"{dev} peak FLOP/s", f"{fl} — {pk.get('flops_source', '')}"))
        if pk.get("bandwidth"):
            rows.append((f"{dev} peak bandwidth", f"{pk['bandwidth'] / 1e9:.4g} GB/s — {pk.get('bandwidth_source', '')}"))
        m = pk.get("measured") or {}
        if m.get("bandwidth"):
            rows.append((f"{dev} measured bandwidth", f"{m['bandwidth'] / 1e9:.4g} GB/s — {m.get('bandwidth_method', '')}"))
        for dt, lib in (m.get("library_flops") or {}).items():
            rows.append((f"{dev} best library GEMM ({dt})", f"{lib['flops'] / 1e12:.4g} TFLOP/s — {lib['impl']}"))
    th = (data.get("threads") or {})
    if th:
        rows.append(("threads", ", ".join(f"{k}={v}" for k, v in th.items() if v is not None)))
    return "<table class=env>" + "".join(
        f"<tr><th class=l>{html.escape(str(k))}</th><td>{html.escape(str(v or '-'))}</td></tr>" for k, v in rows) + "</table>"


def _section(data: dict, out_dir: Path, prefix: str) -> tuple[str, list]:
    entries = data.get("entries") or []
    analysis.apply_library_ratios(entries)     # one library rung per table (older files: per case)
    peaks = data.get("peaks") or {}
    pngs: list = []
    d = out_dir / prefix if prefix else out_dir
    parts = [f"<h2>{html.escape(Path(data.get('_path', 'results')).name)}</h2>", _env_table(data)]

    def add(png):
        if png is not None:
            pngs.append(png)
            parts.append(_img(png))

    ladder = analysis.case_groups(entries, "ladder")
    if ladder:
        parts.append("<h2>ladder</h2><p>Every rung at one representative size per device; bars are % of the "
                     "library rung (time ratio) and % of the device peak. FAILED rungs are never ranked.</p>")
        for (_, key), es in ladder.items():
            parts.append(f"<h3>{html.escape(es[0]['label'])} · {es[0]['dtype']} · {es[0]['device']}</h3>")
            parts.append(_case_table(es))
            add(plots.ladder_bars(es, d))
        parts.append("<h2>layers</h2><p>The best rung of each layer, per case.</p>")
        for dev in sorted({e["device"] for e in entries if e.get("suite") == "ladder"}):
            add(plots.layers_chart(entries, dev, d))
    series = analysis.sweep_series(entries)
    if series:
        parts.append("<h2>sweep: CPU vs GPU</h2>")
        for c in (data.get("analysis") or {}).get("crossovers") or analysis.crossovers(entries):
            parts.append(f"<p><b>{html.escape(str(c['series']))}</b> ({c['dtype']}): {html.escape(c['note'])}</p>")
        for (s, dt) in series:
            add(plots.sweep_plot(entries, s, dt, d))
            parts.append(_sweep_table(entries, s, dt))
    shapes = analysis.case_groups(entries, "shapes")
    if shapes:
        parts.append("<h2>shapes</h2><p>Irregular, skinny, batched and transposed problems: the best rung of each "
                     "layer per shape, then every rung.</p>")
        for dev in sorted({e["device"] for e in entries if e.get("suite") == "shapes"}):
            for ops in (("matmul",), ("reduce",), ("softmax", "log_softmax", "l2norm")):
                add(plots.layers_chart(entries, dev, d, suite="shapes", ops=ops))
        for (_, key), es in shapes.items():
            parts.append(f"<h3>{html.escape(es[0]['label'])} · {es[0]['dtype']} · {es[0]['device']}</h3>")
            parts.append(_case_table(es))
    devs = sorted({e["device"] for e in entries if analysis.ok(e) and e.get("suite") in ("ladder", "shapes")})
    if devs:
        parts.append("<h2>roofline</h2><p>Achieved GFLOP/s against arithmetic intensity (ideal traffic: every "
                     "operand read or written once), under the device's bandwidth and compute ceilings.</p>")
        for dev in devs:
            for dt in sorted({e["dtype"] for e in entries if e["device"] == dev and analysis.ok(e)}):
                add(plots.roofline(entries, peaks, dev, d, dt))
    if any(e.get("suite") == "collectives" for e in entries):   # busbw vs size, one line per rung
        from ..collectives.plot import section as collectives_section
        parts.append(collectives_section(entries, d, _img))
    over = [e for e in entries if e.get("suite") == "overhead"]
    if over:
        parts.append("<h2>overhead</h2>")
        add(plots.overhead_chart(entries, d))
        rows = "".join(
            f"<tr><td class=l>{html.escape(e['label'])}</td><td class=l>{e['device']}</td>"
            f"<td class=l>{html.escape(e.get('front_door') or '')}</td><td class=l>{html.escape(e['impl'])}</td>"
            f"<td>{fmt_time(e.get('wall_s'))}</td><td>{fmt_time(e.get('device_s'))}</td>"
            f"<td>{fmt_time(e.get('overhead_s'))}</td><td class=l>{html.escape(status_text(e))}</td></tr>" for e in over)
        parts.append("<table><tr><th class=l>case</th><th class=l>device</th><th class=l>front door</th>"
                     "<th class=l>rung</th><th>wall/call</th><th>device/call</th><th>host overhead</th>"
                     f"<th class=l>status</th></tr>{rows}</table>")
    return "\n".join(parts), pngs


def build_report(paths: list, out_dir, embed: bool = False) -> Path:
    """Write out_dir/index.html and the PNGs it links (or, with `embed`, one self-contained page and
    no PNG files); returns the page's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _STATE["embed"], _STATE["out"] = embed, out_dir.resolve()
    datas = [read(p) for p in paths]
    body = []
    for i, data in enumerate(datas):
        prefix = plots.slug(Path(data["_path"]).stem) if len(datas) > 1 else ""
        sec, _ = _section(data, out_dir, prefix)
        body.append(sec)
    from ..explain.roofline import section as bound_section   # the rungs at their speed-of-light bound (modelled)
    body.append(bound_section(out_dir, datas, img=_img)[0])
    page = (f"<!doctype html><html><head><meta charset=utf-8><title>kernelbench report</title>"
            f"<style>{CSS}</style></head><body><h1>kernelbench report</h1>"
            f"<p>Median of repeated timings (IQR = interquartile range; ~ marks IQR &gt; {NOISE_THRESHOLD:.0%} of the median). "
            f"Throughput counts ideal traffic. Generated from {', '.join(html.escape(str(p)) for p in paths)}.</p>"
            + "\n".join(body) + "</body></html>")
    index = out_dir / "index.html"
    index.write_text(page)
    return index
