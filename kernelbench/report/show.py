"""`kernelbench show RESULTS...`: the terminal tables of stored result files, as `run` printed them
(a table per case, the sweep pivots, the layers view, the overhead table), fitted to the width."""
from __future__ import annotations

from typing import Optional

from ..bench import analysis, console as con
from ..bench.results import environment_summary, read


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
            console.print(con.case_table(es, width=w))
        for (series, dtype) in analysis.sweep_series(entries):
            console.print(con.sweep_table(entries, series, dtype, width=console.width))
        lt = con.layers_table(entries, width=console.width) if any(e.get("suite") == "ladder" for e in entries) else None
        if lt is not None:
            console.print(lt)
        ot = con.overhead_table(entries, width=console.width)
        if ot is not None:
            console.print(ot)
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
