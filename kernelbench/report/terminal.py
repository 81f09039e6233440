"""Terminal output with rich: model.py's tables fitted to the terminal -- what `run` prints as it
goes, and `kernelbench show RESULTS...` (the same tables of stored files)."""
from __future__ import annotations

from typing import Optional

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..bench import analysis
from ..bench.results import read
from . import model

STYLE = {"best": "bold green", "good": "green", "bad": "red", "dim": "dim", "noisy": "yellow", "new": "cyan"}


def render(t: model.Table, width: Optional[int] = None):
    """`t` as rich tables within `width` (a column needs its widest cell + 3; t.flex may wrap): columns
    are left out in t.drop's order, saying which, or with t.split spread over several tables.  No cell is cut."""
    rows = [r and [Text(c.text + c.tail, STYLE.get(c.style, "")) for c in r] for r in t.rows]
    w = {h: max([len(h)] + [r[i].cell_len for r in rows if r]) + 3 for i, h in enumerate(t.heads)}
    flex, flex_min = t.flex
    w[flex] = min(w.get(flex, 0), flex_min + 3)

    def fits(cs):
        return not width or sum(w[c] for c in cs) + 1 <= width
    cols, drops = list(t.heads), list(t.drop)
    while drops and not fits(cols):
        cols.remove(drops.pop(0))
    fixed, chunks = cols[:t.split], [[]]
    for c in cols[t.split:]:
        if t.split and chunks[-1] and not fits(fixed + chunks[-1] + [c]):
            chunks.append([])
        chunks[-1].append(c)
    notes = [n for c, n in t.notes if c is None or c in cols]
    loud = [c for c in t.heads if c not in cols and c not in t.quiet]
    if loud:
        notes.insert(0, f"columns left out to fit {width} columns: {', '.join(loud)} "
                        f"(`kernelbench show FILE --width 160` prints them)")
    out = []
    for n, chunk in enumerate(chunks):
        part = f" ({n + 1}/{len(chunks)})" * (len(chunks) > 1)
        rt = Table(title=Text(t.title + part, style="bold"), box=box.SIMPLE_HEAVY, title_justify="left",
                   caption_justify="left")
        for c in fixed + chunk:
            rt.add_column(c, justify="right" if c in t.right else "left", no_wrap=c != flex, overflow="fold",
                          min_width=w[c] - 3)
        for r in rows:
            rt.add_section() if r is None else rt.add_row(*[r[t.heads.index(c)] for c in fixed + chunk])
        out.append(rt)
    out[-1].caption = Text("\n".join(notes), style="dim") if notes else None
    return out[0] if len(out) == 1 else Group(*out)


def print_summaries(entries: list, console) -> None:
    """The tables after the per-case ones: the sweep pivots, the layers view, the overhead table."""
    for t in [model.sweep(entries, *k) for k in analysis.sweep_series(entries)] + [model.layers(entries),
                                                                                   model.overhead(entries)]:
        if t is not None:
            console.print(render(t, console.width))


def show(paths: list, console=None, width: Optional[int] = None) -> int:
    console = console or Console()
    console.width = width or console.width
    for p in paths:
        data = read(p)
        console.print(render(model.environment([data]), console.width))
        entries = data["entries"]
        analysis.apply_library_ratios(entries)
        for es in analysis.case_groups([e for e in entries if e.get("suite") not in analysis.PIVOTED]).values():
            console.print(render(model.case(es), console.width))
        print_summaries(entries, console)
        if any(e.get("suite") == "collectives" for e in entries):
            from ..collectives.table import tables as collectives_tables
            console.print(*collectives_tables(entries))
    return 0
