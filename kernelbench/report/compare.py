"""`kernelbench compare A.json B.json`: per-entry time ratios B / A; a change is flagged only
when it exceeds the noise of the two measurements (their IQR relative to the median, at least
`min_change`)."""
from __future__ import annotations

from ..bench import analysis
from ..bench.fmt import fmt_pct, fmt_time


def _index(entries: list) -> dict:
    out = {}
    for e in entries:
        out[(e.get("suite"), e.get("key"), e.get("impl"), e.get("front_door") if e.get("suite") == "overhead" else None)] = e
    return out


def noise(e: dict) -> float:
    r = e.get("rel_iqr")
    return float(r) if r is not None else 0.0


def compare(a: dict, b: dict, min_change: float = 0.05) -> list:
    """Rows {suite, key, label, impl, device, a_s, b_s, ratio, threshold, verdict} for every entry in
    either file.  verdict: regression | improvement | same | broke (ok -> FAILED/error) |
    fixed | new | gone | not timed."""
    ia, ib = _index(a.get("entries") or []), _index(b.get("entries") or [])
    rows = []
    for k in list(ia) + [k for k in ib if k not in ia]:
        ea, eb = ia.get(k), ib.get(k)
        e = eb or ea
        row = {"suite": k[0], "key": k[1], "impl": k[2], "label": e.get("label"), "device": e.get("device"),
               "a_s": ea.get("median_s") if ea else None, "b_s": eb.get("median_s") if eb else None,
               "ratio": None, "threshold": None}
        if ea is None:
            row["verdict"] = "new"
        elif eb is None:
            row["verdict"] = "gone"
        elif analysis.ok(ea) and analysis.ok(eb):
            ratio = eb["median_s"] / ea["median_s"]
            thr = max(noise(ea), noise(eb), min_change)
            row["ratio"], row["threshold"] = ratio, thr
            row["verdict"] = "regression" if ratio > 1 + thr else "improvement" if ratio < 1 / (1 + thr) else "same"
        elif analysis.ok(ea) and eb.get("status") in ("failed", "error"):
            row["verdict"] = "broke"
        elif ea.get("status") in ("failed", "error") and analysis.ok(eb):
            row["verdict"] = "fixed"
        else:
            row["verdict"] = "not timed"
        rows.append(row)
    return rows


def regressions(rows: list) -> list:
    return [r for r in rows if r["verdict"] in ("regression", "broke")]


def compare_table(rows: list, a_name: str, b_name: str, only_changes: bool = False):
    from rich import box
    from rich.table import Table
    from rich.text import Text
    t = Table(title=f"compare · B = {b_name} vs A = {a_name} (ratio = time B / time A)", box=box.SIMPLE_HEAVY,
              title_justify="left")
    for col in ("suite", "case", "rung", "dev", "A", "B", "B/A", "noise", "verdict"):
        t.add_column(col, justify="right" if col in ("A", "B", "B/A", "noise") else "left")
    styles = {"regression": "bold red", "broke": "bold red", "improvement": "green", "fixed": "green",
              "same": "", "new": "cyan", "gone": "yellow", "not timed": "dim"}
    for r in rows:
        if only_changes and r["verdict"] in ("same", "not timed"):
            continue
        t.add_row(r["suite"] or "", Text(r["label"] or r["key"] or ""), Text(r["impl"] or ""), r["device"] or "",
                  fmt_time(r["a_s"]), fmt_time(r["b_s"]), f"{r['ratio']:.3f}" if r["ratio"] else "-",
                  fmt_pct(100 * r["threshold"]) if r["threshold"] else "-",
                  Text(r["verdict"], style=styles.get(r["verdict"], "")))
    return t


def main(a_path: str, b_path: str, min_change: float = 0.05, only_changes: bool = False,
         fail_on_regression: bool = False, console=None) -> int:
    from rich.console import Console

    from ..bench.results import read
    console = console or Console()
    a, b = read(a_path), read(b_path)
    rows = compare(a, b, min_change)
    console.print(compare_table(rows, a_path, b_path, only_changes))
    regs = regressions(rows)
    summary: dict[str, int] = {}
    for r in rows:
        summary[r["verdict"]] = summary.get(r["verdict"], 0) + 1
    console.print(", ".join(f"{v}: {n}" for v, n in sorted(summary.items())))
    if regs:
        console.print(f"[bold red]{len(regs)} regression(s) beyond the noise[/]")
    return 1 if (fail_on_regression and regs) else 0
