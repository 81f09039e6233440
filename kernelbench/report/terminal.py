"""Terminal output with rich: one table per case (rows = rungs, one unit per table), the sweep
as a pivot (rows = rungs, columns = sizes), the layers view, the overhead table -- what `run`
prints as it goes, and `kernelbench show RESULTS...` (the same tables of stored files)."""
from __future__ import annotations

from typing import Optional

from rich import box
from rich.table import Table
from rich.text import Text

from ..bench import analysis
from .fmt import METRIC_UNIT, fmt_err, fmt_num, fmt_pct, fmt_time, status_text
from ..bench.measure import NOISE_THRESHOLD
from ..bench.results import environment_summary, over_peak_note, read


def _style_for(e: dict, best: Optional[float]) -> str:
    """Colour within 1 % / 10 % of the best time of the table (like torch.benchmark.Compare)."""
    if not analysis.ok(e) or not best:
        return ""
    r = e["median_s"] / best
    return "bold green" if r <= 1.01 else "green" if r <= 1.10 else ""


# Columns of a case table, and the order they are dropped in when the terminal is too narrow
# (the rung, its time, its throughput and its status always stay; a number is never cut).
CASE_COLUMNS = ("rung", "layer", "time", "IQR", "unit", "% peak", "% lib", "max err", "status")
DROP_ORDER = ("layer", "max err", "% peak", "IQR", "% lib")
STATUS_MIN = 12


def fit_columns(widths: dict, width: Optional[int], drop_order=DROP_ORDER, flexible: str = "status",
                flex_min: int = STATUS_MIN) -> list:
    """The columns kept so the table fits `width`: each column needs its widest cell + 3 (padding and
    rule); the flexible column may wrap down to `flex_min`; low-priority columns go first."""
    cols = list(widths)
    if width is None:
        return cols

    def need(cs):
        return sum((min(widths[c], flex_min) if c == flexible else widths[c]) + 3 for c in cs) + 1
    for c in drop_order:
        if need(cols) <= width:
            break
        if c in cols:
            cols.remove(c)
    return cols


def _fitted(title, heads: tuple, rows: list, width: Optional[int], right, drop_order, flexible: str = "status",
            flex_min: int = STATUS_MIN, pin: bool = False, **table_kw) -> tuple[Table, list]:
    """A table of `rows` ({heading: Text}; None: a section break) that fits `width` (fit_columns; `pin`:
    no column narrower than its widest cell); returns (table, headings left out)."""
    widths = {c: max([len(c)] + [r[c].cell_len for r in rows if r]) for c in heads}
    cols = fit_columns(widths, width, drop_order, flexible, flex_min)
    t = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", **table_kw)
    for c in cols:
        t.add_column(c, justify="right" if c in right else "left", no_wrap=c != flexible, overflow="fold",
                     min_width=(flex_min if c == flexible else widths[c]) if pin else None)
    for r in rows:
        t.add_section() if r is None else t.add_row(*[r[c] for c in cols])
    return t, [c for c in heads if c not in cols]


def case_table(entries: list, title: Optional[str] = None, width: Optional[int] = None) -> Table:
    e0 = entries[0]
    unit = METRIC_UNIT[e0.get("metric") or "gbps"]
    dev = e0.get("device")
    okays = analysis.ranked(entries)
    best = okays[0]["median_s"] if okays else None
    rows = []
    for e in entries:
        style = _style_for(e, best)
        iqr = fmt_pct(100 * e["rel_iqr"]) if e.get("rel_iqr") is not None else "-"
        st = status_text(e)
        verdict = (e.get("methods") or {}).get("verdict")
        if verdict == "disagree":
            st += " ≠"
        st_style = "green" if e.get("status") == "ok" else "red" if e.get("status") in ("failed", "error") else "dim"
        name = e["impl"] + (" (ref)" if e.get("library_ref") == e["impl"] else "")
        in_cache = e.get("peak_level") not in (None, "dram")
        peak = fmt_pct(e.get("pct_peak")) + ("*" if in_cache and e.get("pct_peak") is not None else "")
        rows.append({"rung": Text(name, style=style), "layer": Text(e.get("layer", "")),
                     "time": Text(fmt_time(e.get("median_s")), style=style),
                     "IQR": Text(iqr + (" ~" if e.get("noisy") else ""), style="yellow" if e.get("noisy") else ""),
                     unit: Text(fmt_num(e.get("value")), style=style), "% peak": Text(peak),
                     "% lib": Text(fmt_pct(e.get("pct_library"))), "max err": Text(fmt_err(e.get("max_abs_err"))),
                     "status": Text(st, style=st_style)})
    heads = tuple(unit if c == "unit" else c for c in CASE_COLUMNS)
    title = Text(title or f"{e0['suite']} · {e0['label']} · {e0['dtype']} · {dev}", style="bold")
    t, dropped = _fitted(title, heads, rows, width, set(heads) - {"rung", "layer", "status"}, DROP_ORDER, pin=True,
                         caption_justify="left")
    cols = [c for c in heads if c not in dropped]
    caption = []
    if dropped:
        caption.append(f"columns left out to fit {width} columns: {', '.join(dropped)} "
                       f"(`kernelbench show FILE --width 160` prints them)")
    peak = next((e.get("peak_label") for e in entries if e.get("peak_label")), None)
    if peak and "% peak" in cols:
        caption += [f"% peak: {peak}"] + [n for n in (over_peak_note(entries),) if n]
    if any(e.get("peak_level") not in (None, "dram") and e.get("pct_peak") is not None for e in entries):
        caption.append("* the data fits in cache: % of a cache-level figure, not of DRAM bandwidth")
    lib = next((e.get("library_ref") for e in entries if e.get("library_ref")), None)
    if lib and "% lib" in cols:
        caption.append(f"% lib: time of {lib} / time of the rung")
    notes = sorted({e["note"] for e in entries if e.get("note")})
    caption += notes
    if any(e.get("noisy") for e in entries) and "IQR" in cols:
        caption.append(f"~ noisy: IQR > {NOISE_THRESHOLD:.0%} of the median")
    busy = max([e["machine_busy"] for e in entries if e.get("machine_busy") is not None], default=None)
    if busy is not None and busy > analysis.BUSY_CORES:
        caption.append(f"! other processes kept {busy:.2f} cores busy while this case was measured: not a quiet "
                       f"machine, the times are suspect")
    if any((e.get("methods") or {}).get("verdict") == "disagree" for e in entries):
        caption.append("≠ the solo and round-robin figures disagree beyond the noise (entry \"methods\" says by how much)")
    if caption:
        t.caption = Text("\n".join(caption), style="dim")
    return t


def sweep_table(entries: list, series: str, dtype: str, width: Optional[int] = None):
    """Rows = rungs, columns = sizes, time per call in each cell; split into several tables (each
    a range of sizes) when the sizes do not fit `width` -- a cell is never cut."""
    from rich.console import Group
    sizes, grid = analysis.sweep_grid(entries, series, dtype)
    by_impl = {(impl, dev): per for (impl, dev, _), per in grid.items()}

    def cell(e):
        if e is None:
            return Text("")
        if analysis.ok(e):
            return Text(fmt_time(e["median_s"]) + (" ≠" if (e.get("methods") or {}).get("verdict") == "disagree" else ""))
        return Text(e["status"], style="dim")
    cells = {k: {s: cell(per.get(s)) for s in sizes} for k, per in by_impl.items()}
    name_w = max([4] + [len(i) for i, _ in by_impl]) + 3
    dev_w = 4 + 3
    col_w = {s: max([len(f"{s:,}")] + [c[s].cell_len for c in cells.values()]) + 3 for s in sizes}
    chunks, cur, used = [], [], name_w + dev_w + 1
    for s in sizes:
        if cur and width is not None and used + col_w[s] > width:
            chunks.append(cur)
            cur, used = [], name_w + dev_w + 1
        cur.append(s)
        used += col_w[s]
    if cur:
        chunks.append(cur)
    tables = []
    for n, chunk in enumerate(chunks or [[]]):
        part = f" ({n + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        t = Table(title=f"sweep · {series} · {dtype} · time per call{part}", box=box.SIMPLE_HEAVY, title_justify="left")
        t.add_column("rung", no_wrap=True)
        t.add_column("dev", no_wrap=True)
        for s in chunk:
            t.add_column(f"{s:,}", justify="right", no_wrap=True)
        for (impl, dev), per in cells.items():
            t.add_row(Text(impl), dev, *[per[s] for s in chunk])
        tables.append(t)
    cx = [c for c in analysis.crossovers(entries) if c["series"] == series and c["dtype"] == dtype]
    if cx:
        tables[-1].caption = Text(f"crossover: {cx[0]['note']}")
    return Group(*tables)


def layers_table(entries: list, width: Optional[int] = None) -> Optional[Table]:
    per = analysis.best_per_layer(entries)
    if not per:
        return None
    rows = []
    for key, layers in per.items():
        first = True
        for layer, e in layers.items():
            unit = METRIC_UNIT[e.get("metric") or "gbps"]
            rows.append({"case": Text(f"{e['label']} · {e['dtype']} · {e['device']}" if first else ""),
                         "layer": Text(layer), "best rung": Text(e["impl"]), "time": Text(fmt_time(e["median_s"])),
                         "throughput": Text(f"{fmt_num(e.get('value'))} {unit}"), "% peak": Text(fmt_pct(e.get("pct_peak"))),
                         "% lib": Text(fmt_pct(e.get("pct_library")))})
            first = False
        rows.append(None)
    heads = ("case", "layer", "best rung", "time", "throughput", "% peak", "% lib")
    t, dropped = _fitted("layers · the best rung of each layer, per case", heads, rows, width,
                         ("time", "throughput", "% peak", "% lib"), ("% peak", "throughput", "layer"), "case", 16)
    if dropped:
        t.caption = Text(f"columns left out to fit {width} columns: {', '.join(dropped)}", style="dim")
    return t


def overhead_table(entries: list, width: Optional[int] = None) -> Optional[Table]:
    rows = [e for e in entries if e.get("suite") == "overhead"]
    if not rows:
        return None
    heads = ("case", "dev", "front door", "rung", "wall / call", "device / call", "host overhead", "status")
    data = [{"case": Text(e["label"]), "dev": Text(e["device"]), "front door": Text(e.get("front_door") or ""),
             "rung": Text(e["impl"]), "wall / call": Text(fmt_time(e.get("wall_s"))),
             "device / call": Text(fmt_time(e.get("device_s"))), "host overhead": Text(fmt_time(e.get("overhead_s"))),
             "status": Text(status_text(e))} for e in rows]
    t, dropped = _fitted("overhead · per-call cost at tiny sizes", heads, data, width,
                         [c for c in heads if "call" in c or "overhead" in c], ("device / call", "host overhead", "dev", "case"))
    cap = "wall: back-to-back calls then one sync, divided by the count; device: CUDA events around the same loop"
    if dropped:
        cap += f"; columns left out to fit {width} columns: {', '.join(dropped)}"
    t.caption = cap
    return t


def print_summaries(entries: list, console) -> None:
    """The tables after the per-case ones: the sweep pivots, the layers view, the overhead table."""
    for (series, dtype) in analysis.sweep_series(entries):
        console.print(sweep_table(entries, series, dtype, width=console.width))
    for t in (layers_table(entries, width=console.width) if any(e.get("suite") == "ladder" for e in entries) else None,
              overhead_table(entries, width=console.width)):
        if t is not None:
            console.print(t)


def show(paths: list, console=None, width: Optional[int] = None) -> int:
    from rich.console import Console
    console = console or Console()
    if width:
        console.width = width
    w = console.width
    for p in paths:
        data = read(p)
        s = environment_summary(data)
        console.print(f"[bold]{p}[/]: {s['cpu'] or '?'}{' + ' + s['gpu'] if s['gpu'] else ''}; commit "
                      f"{s['commit'] or '?'}; {(s['created'] or '')[:19]}", soft_wrap=True)
        entries = data["entries"]
        analysis.apply_library_ratios(entries)
        for (suite, _key), es in analysis.case_groups(entries).items():
            if suite in ("sweep", "overhead", "collectives"):
                continue
            console.print(case_table(es, width=w))
        print_summaries(entries, console)
        if any(e.get("suite") == "collectives" for e in entries):
            from ..collectives.table import tables as collectives_tables
            for t in collectives_tables(entries):
                console.print(t)
        bad = analysis.disagreements(entries)
        if bad:
            console.print(f"[yellow]{len(bad)} entr{'y' if len(bad) == 1 else 'ies'} whose solo and round-robin "
                          f"figures disagree beyond the noise: "
                          + ", ".join(f"{e['impl']} on {e['label']}" for e in bad[:8]) + "[/]", soft_wrap=True)
    return 0
