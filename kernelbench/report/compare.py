"""`kernelbench compare A.json B.json`: per-entry time ratios B / A, judged on the stored samples.

A change is a regression (or an improvement) only when both hold:
  * a rank test on the two entries' samples (Mann-Whitney U, two-sided, p < `alpha`) says the two
    runs differ -- the samples are each round-robin turn's median, else the solo repetitions;
  * the ratio of the medians is beyond both runs' own spread (IQR / median) and `min_change`.
An entry stored without samples is judged on the spread alone and says so ("no samples").

The two files' provenance is compared first: device, CPU model, thread count, library versions,
commit.  Different hardware (CPU model, GPU, thread count) is refused unless `cross_machine`, and
then every verdict is labelled "cross-machine" and none counts as a regression."""
from __future__ import annotations

from collections import Counter

from ..bench import analysis
from .fmt import fmt_pct, fmt_time
from ..bench.measure import mann_whitney_p
from ..bench.results import environment_summary

ALPHA = 0.01


class CrossMachine(ValueError):
    """The two result files come from different hardware."""


def _index(entries: list) -> dict:
    return {analysis.entry_id(e): e for e in entries}


def noise(e: dict) -> float:
    return float(e.get("rel_iqr") or 0.0)


def samples(e: dict) -> list:
    """The samples an entry's reported figure comes from (round-robin turn medians, else solo)."""
    t = e.get("timing") if isinstance(e.get("timing"), dict) else {}
    rr = t.get("round_robin") if isinstance(t.get("round_robin"), dict) else {}
    xs = rr.get("turn_medians") or t.get("samples") or []
    if not isinstance(xs, list):
        return []
    return [float(x) for x in xs if isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0]


# ------------------------------------------------------------------------------ provenance
def provenance(d: dict) -> dict:
    s, threads = environment_summary(d), d.get("threads") or {}
    versions = {k: v for k, v in ((d.get("environment") or {}).get("versions") or {}).items() if k != "torch_threads" and v}
    return {"CPU model": s["cpu"], "GPU": s["gpu"],
            "threads": (threads.get("affinity") or threads.get("os_cpu_count"), threads.get("torch"),
                        threads.get("OMP_NUM_THREADS")),
            "devices": tuple(d.get("devices") or ()), "library versions": versions, "commit": s["commit"]}


HARDWARE = ("CPU model", "GPU", "threads")


def differences(a: dict, b: dict) -> list:
    """[(field, value in A, value in B)] of the provenance fields that differ."""
    pa, pb = provenance(a), provenance(b)
    out = []
    for k in pa:
        if k == "library versions":
            for lib in sorted(set(pa[k]) | set(pb[k])):
                if pa[k].get(lib) != pb[k].get(lib):
                    out.append((f"{lib} version", pa[k].get(lib), pb[k].get(lib)))
        elif pa[k] != pb[k]:
            out.append((k, pa[k], pb[k]))
    return out


# ------------------------------------------------------------------------------ the comparison
def judge(ea: dict, eb: dict, min_change: float = 0.05, alpha: float = ALPHA) -> dict:
    """ratio, threshold, p-value and verdict (regression | improvement | same) of two timed entries."""
    ratio = eb["median_s"] / ea["median_s"]
    thr = max(noise(ea), noise(eb), min_change)
    sa, sb = samples(ea), samples(eb)
    p = mann_whitney_p(sa, sb) if len(sa) >= 2 and len(sb) >= 2 else None
    beyond = ratio > 1 + thr or ratio < 1 / (1 + thr)
    significant = p is None or p < alpha
    verdict = ("regression" if ratio > 1 else "improvement") if beyond and significant else "same"
    return {"ratio": ratio, "threshold": thr, "p": p, "verdict": verdict,
            "basis": "rank test + spread" if p is not None else "no samples: spread only"}


def compare(a: dict, b: dict, min_change: float = 0.05, alpha: float = ALPHA, cross_machine: bool = False) -> list:
    """Rows {suite, key, label, impl, device, a_s, b_s, ratio, threshold, p, verdict} for every entry in
    either file.  verdict: regression | improvement | same | broke (ok -> FAILED/error) | fixed |
    new | gone | not timed; with `cross_machine`, timed verdicts get a " (cross-machine)" suffix."""
    ia, ib = _index(a.get("entries") or []), _index(b.get("entries") or [])
    rows = []
    for k in list(ia) + [k for k in ib if k not in ia]:
        ea, eb = ia.get(k), ib.get(k)
        e = eb or ea
        row = {"suite": k[0], "key": k[1], "impl": k[2], "label": e.get("label"), "device": e.get("device"),
               "a_s": ea.get("median_s") if ea else None, "b_s": eb.get("median_s") if eb else None,
               "ratio": None, "threshold": None, "p": None}
        if ea is None:
            row["verdict"] = "new"
        elif eb is None:
            row["verdict"] = "gone"
        elif analysis.ok(ea) and analysis.ok(eb):
            row.update(judge(ea, eb, min_change, alpha))
            if cross_machine and row["verdict"] != "same":
                row["verdict"] += " (cross-machine)"
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
    for col in ("case", "rung", "A", "B", "B/A", "noise", "p", "verdict"):
        t.add_column(col, justify="right" if col in ("A", "B", "B/A", "noise", "p") else "left",
                     overflow="fold", no_wrap=col in ("A", "B", "B/A", "noise", "p"))
    styles = {"regression": "bold red", "broke": "bold red", "improvement": "green", "fixed": "green",
              "same": "", "new": "cyan", "gone": "yellow", "not timed": "dim"}
    for r in rows:
        if only_changes and r["verdict"] in ("same", "not timed"):
            continue
        t.add_row(Text(f"{r['suite'] or ''} · {r['label'] or r['key'] or ''}"), Text(r["impl"] or ""),
                  fmt_time(r["a_s"]), fmt_time(r["b_s"]), f"{r['ratio']:.3f}" if r["ratio"] else "-",
                  fmt_pct(100 * r["threshold"]) if r["threshold"] else "-",
                  f"{r['p']:.2g}" if r.get("p") is not None else "-",
                  Text(r["verdict"], style=styles.get(r["verdict"].split(" (")[0], "")))
    t.caption = (f"a change counts when the rank test on the stored samples gives p < {ALPHA} and the ratio is "
                 f"beyond both runs' spread (noise column)")
    return t


def main(a_path: str, b_path: str, min_change: float = 0.05, only_changes: bool = False,
         fail_on_regression: bool = False, console=None, cross_machine: bool = False) -> int:
    from rich.console import Console

    from ..bench.results import read
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
    console.print(compare_table(rows, a_path, b_path, only_changes))
    regs = regressions(rows)
    summary = Counter(r["verdict"] for r in rows)
    console.print(", ".join(f"{v}: {n}" for v, n in sorted(summary.items())))
    if regs:
        console.print(f"[bold red]{len(regs)} regression(s) beyond the noise[/]")
    return 1 if (fail_on_regression and regs) else 0
