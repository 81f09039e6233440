"""The terminal tables of a collectives sweep: time, algbw and busbw per size (rows) and rung
(columns), beside the ceiling (memcpy bandwidth) and the latency floor."""
from __future__ import annotations

from collections import OrderedDict
from typing import Optional

from rich import box
from rich.table import Table

from ..report.model import fmt_num, fmt_time

FIELDS = (("median_s", "time", "floor_s"), ("algbw_gbps", "algbw GB/s", None), ("busbw_gbps", "busbw GB/s", "ceiling_gbps"))


def _size(b: int) -> str:
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= k:
            return f"{b / k:g} {unit}"
    return f"{b} B"


def groups(entries: list) -> "OrderedDict":
    """Collectives entries by (collective, op, dtype, device, world size, backend)."""
    out: "OrderedDict" = OrderedDict()
    for e in entries:
        if e.get("suite") == "collectives":
            k = (e.get("op"), e.get("variant"), e.get("dtype"), e.get("device"), e.get("world_size"), e.get("backend"))
            out.setdefault(k, []).append(e)
    return out


def tables(entries: list, width: Optional[int] = None) -> list:
    out = []
    for (coll, op, dt, dev, n, backend), es in groups(entries).items():
        rungs = list(OrderedDict.fromkeys(e["impl"] for e in es))
        sizes = sorted({e["size"] for e in es})
        cell = {(e["impl"], e["size"]): e for e in es}
        for field, title, extra in FIELDS:
            t = Table(title=f"{coll}{' ' + op if op else ''} · {dt} · {n} ranks · {backend} on {dev} — {title}",
                      box=box.SIMPLE_HEAVY,
                      title_justify="left")
            t.add_column("size", justify="right", no_wrap=True)
            for r in rungs:
                t.add_column(r.replace("dist_", ""), justify="right", overflow="fold")
            if extra:
                t.add_column("latency floor" if extra == "floor_s" else "ceiling", justify="right")
            for s in sizes:
                row = [_size(s)]
                for r in rungs:
                    e = cell.get((r, s))
                    if e is None:
                        row.append("")
                    elif e.get("status") != "ok":
                        row.append(str(e.get("status")))
                    else:
                        v = e.get(field)
                        row.append(fmt_time(v) if field == "median_s" else fmt_num(v))
                if extra:
                    v = next((e.get(extra) for e in es if e.get(extra) is not None), None)
                    row.append(fmt_time(v) if extra == "floor_s" else fmt_num(v))
                t.add_row(*row)
            if field == "busbw_gbps":
                t.caption = (f"busbw = S/t x {'2' if coll == 'all_reduce' else ''}(n-1)/n; ceiling: memcpy bandwidth "
                             "of one rank while every rank copies; "
                             "latency floor: one-way 8 B message (half a ping-pong)")
            out.append(t)
        bad = [e for e in es if e.get("status") != "ok"]
        if bad:
            t = Table(title="not timed", box=box.SIMPLE)
            t.add_column("rung")
            t.add_column("why")
            for e in {e["impl"]: e for e in bad}.values():
                t.add_row(e["impl"], f"{e['status']}: {e.get('reason') or ''}")
            out.append(t)
    return out
