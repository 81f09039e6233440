"""`kernelbench compare A.json B.json`: time ratios B / A; a change needs a rank test on the stored samples (p <
alpha) and a ratio beyond both runs' spread and `min_change`.  Other hardware: refused, or labelled verdicts."""
from __future__ import annotations

from collections import Counter

from rich.console import Console

from ..bench import analysis
from ..bench.measure import mann_whitney_p
from ..bench.results import environment_summary, read
from . import model, terminal
from .model import fmt_pct, fmt_time

ALPHA = 0.01
HARDWARE = ("CPU model", "GPU", "threads")
REGRESSED = ("regression", "broke")


class CrossMachine(ValueError):
    """The two result files come from different hardware."""


def samples(e) -> list:
    """The samples an entry's reported figure comes from (round-robin turn medians, else solo)."""
    t = e.get("timing") or {}     # a typed field: a dict when present
    xs = (t.get("round_robin") or {}).get("turn_medians") or t.get("samples") or []
    return [float(x) for x in xs if isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0]


def differences(a: dict, b: dict) -> list:
    """[(field, value in A, value in B)] of the provenance fields (hardware, versions, commit) that differ."""
    def provenance(d):
        s, th = environment_summary(d), d.get("threads") or {}
        versions = (d.get("environment") or {}).get("versions") or {}
        return {"CPU model": s["cpu"], "GPU": s["gpu"],
                "threads": (th.get("affinity") or th.get("os_cpu_count"), th.get("torch"), th.get("OMP_NUM_THREADS")),
                "devices": tuple(d.get("devices") or ()),
                **{f"{k} version": v for k, v in sorted(versions.items()) if k != "torch_threads" and v},
                "commit": s["commit"]}
    pa, pb = provenance(a), provenance(b)
    return [(k, pa.get(k), pb.get(k)) for k in dict.fromkeys(list(pa) + list(pb)) if pa.get(k) != pb.get(k)]


def judge(ea, eb, min_change: float = 0.05, alpha: float = ALPHA) -> dict:
    """ratio, threshold, p-value and verdict (regression | improvement | same) of two timed entries."""
    ratio = eb["median_s"] / ea["median_s"]
    thr = max(float(ea.get("rel_iqr") or 0), float(eb.get("rel_iqr") or 0), min_change)
    sa, sb = samples(ea), samples(eb)
    p = mann_whitney_p(sa, sb) if len(sa) >= 2 and len(sb) >= 2 else None
    changed = (ratio > 1 + thr or ratio < 1 / (1 + thr)) and (p is None or p < alpha)
    return {"ratio": ratio, "threshold": thr, "p": p,      # p None: no samples, the spread alone decides
            "verdict": ("regression" if ratio > 1 else "improvement") if changed else "same"}


def compare(a: dict, b: dict, min_change: float = 0.05, alpha: float = ALPHA, cross_machine: bool = False) -> list:
    """Rows {suite, key, label, impl, device, a_s, b_s, ratio, threshold, p, verdict} of both files' entries; verdict:
    regression | improvement | same | broke | fixed | new | gone | not timed (+ " (cross-machine)")."""
    ia, ib = ({analysis.entry_id(e): e for e in d.get("entries") or []} for d in (a, b))
    rows = []
    for k in dict.fromkeys(list(ia) + list(ib)):
        ea, eb = ia.get(k), ib.get(k)
        row = {"suite": k[0], "key": k[1], "impl": k[2], "label": (eb or ea).get("label"),
               "device": (eb or ea).get("device"), "a_s": ea and ea.get("median_s"), "b_s": eb and eb.get("median_s"),
               "ratio": None, "threshold": None, "p": None}
        if ea is None or eb is None:
            row["verdict"] = "new" if ea is None else "gone"
        elif analysis.ok(ea) and analysis.ok(eb):
            row.update(judge(ea, eb, min_change, alpha))
            row["verdict"] += " (cross-machine)" * (cross_machine and row["verdict"] != "same")
        else:
            failed = [x.get("status") in ("failed", "error") for x in (ea, eb)]
            row["verdict"] = ("broke" if analysis.ok(ea) and failed[1] else
                              "fixed" if failed[0] and analysis.ok(eb) else "not timed")
        rows.append(row)
    return rows


STYLE = {"regression": "bad", "broke": "bad", "improvement": "good", "fixed": "good", "new": "new", "gone": "noisy",
         "not timed": "dim"}


def compare_table(rows: list, a_name: str, b_name: str, only_changes: bool = False) -> model.Table:
    heads = ["case", "rung", "A", "B", "B/A", "noise", "p", "verdict"]
    t = model.Table(f"compare · B = {b_name} vs A = {a_name} (ratio = time B / time A)", heads, set(heads[2:7]),
                    flex=("case", 12))
    t.rows = [[model.Cell(f"{r['suite'] or ''} · {r['label'] or r['key'] or ''}"), model.Cell(r["impl"] or "")]
              + [model.Cell(x) for x in (fmt_time(r["a_s"]), fmt_time(r["b_s"]),
                                         f"{r['ratio']:.3f}" if r["ratio"] else "-",
                                         fmt_pct(100 * r["threshold"]) if r["threshold"] else "-",
                                         f"{r['p']:.2g}" if r.get("p") is not None else "-")]
              + [model.Cell(r["verdict"], STYLE.get(r["verdict"].split(" (")[0], ""))]
              for r in rows if not (only_changes and r["verdict"] in ("same", "not timed"))]
    t.notes = [(None, f"a change counts when the rank test on the stored samples gives p < {ALPHA} and the ratio is "
                      f"beyond both runs' spread (noise column)")]
    return t


def main(a_path: str, b_path: str, min_change: float = 0.05, only_changes: bool = False,
         fail_on_regression: bool = False, console=None, cross_machine: bool = False) -> int:
    console = console or Console()
    a, b = read(a_path), read(b_path)
    diffs = differences(a, b)
    hw = [d for d in diffs if d[0] in HARDWARE]
    if hw and not cross_machine:
        what = "; ".join(f"{k}: {va!r} vs {vb!r}" for k, va, vb in hw)
        raise CrossMachine(f"A and B were measured on different machines ({what}); their times say nothing about "
                           f"the code. Pass --cross-machine to compare anyway (verdicts are then labelled and "
                           f"never count as regressions)")
    for k, va, vb in diffs:
        console.print(f"[yellow]A and B differ in {k}: {va!r} vs {vb!r}[/]")
    rows = compare(a, b, min_change, cross_machine=bool(hw))
    console.print(terminal.render(compare_table(rows, a_path, b_path, only_changes)))
    regs = [r for r in rows if r["verdict"] in REGRESSED]
    console.print(", ".join(f"{v}: {n}" for v, n in sorted(Counter(r["verdict"] for r in rows).items())))
    if regs:
        console.print(f"[bold red]{len(regs)} regression(s) beyond the noise[/]")
    return 1 if (fail_on_regression and regs) else 0
