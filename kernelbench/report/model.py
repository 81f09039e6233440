"""The cells of every table (numbers formatted once) and one row model per table kind (case, sweep, layers,
overhead, environment), built once from the entries and rendered by terminal.py, tables.py and html.py."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..bench import analysis
from ..bench.measure import NOISE_THRESHOLD
from ..bench.results import environment_summary, over_peak_note

METRIC_UNIT = {"tflops": "TFLOP/s", "gbps": "GB/s"}


def _bad(x: Optional[float]) -> bool:
    return x is None or not math.isfinite(x)


def fmt_time(s: Optional[float]) -> str:
    if _bad(s):
        return "-"
    unit, k = next(((u, k) for u, k in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)) if s >= k), ("ns", 1e-9))
    return f"{s / k:.3g} {unit}"


def fmt_pct(p: Optional[float]) -> str:
    return "-" if _bad(p) else f"{p:.0f}%" if p >= 100 else f"{p:.1f}%" if p >= 10 else f"{p:.2g}%"


def fmt_num(v: Optional[float]) -> str:
    return "-" if _bad(v) else "0" if v == 0 else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def fmt_err(e: Optional[float]) -> str:
    return "-" if e is None else "nan" if not math.isfinite(e) else "0" if e == 0 else f"{e:.1e}"


def status_text(entry) -> str:
    """✔ / ✘ FAILED (reason) / ✘ error: reason / skipped (reason) -- one short line."""
    st, reason = entry.get("status"), "".join((entry.get("reason") or "").splitlines()[:1])[:120]
    return {"ok": "✔", "failed": f"✘ FAILED ({reason})", "error": f"✘ error: {reason}",
            "skipped": f"skipped ({reason})"}.get(st, st or "?")


@dataclass
class Cell:
    text: str = ""
    style: str = ""              # emphasis: best | good | bad | dim | noisy | new
    link: Optional[str] = None   # a source file, relative to the repository
    code: bool = False           # a rung name
    tail: str = ""               # plain text after the (linked) text: " (ref)"
    title: str = ""              # hover text (HTML)


@dataclass
class Table:
    title: str
    heads: list
    right: set = field(default_factory=set)    # numeric columns
    rows: list = field(default_factory=list)   # lists of Cells; None: a break between groups
    notes: list = field(default_factory=list)  # footnotes: (the column they explain or None, text)
    drop: tuple = ()          # terminal: the columns left out, in this order, when it is too narrow
    quiet: tuple = ()         # ... of which these (prose) without saying so
    flex: tuple = ("status", 12)   # terminal: the column that may wrap, and its narrowest width
    split: int = 0            # terminal: repeat the first `split` columns and split the rest instead


def rung(e, style: str = "", tail: str = "") -> Cell:
    return Cell(e["impl"], style, e.get("source") or None, True, tail)


def status(e, marks: str = "") -> Cell:
    st, why = e.get("status"), (e.get("methods") or {}).get("explanation") or ""
    return Cell(status_text(e) + marks, "good" if st == "ok" else "bad" if st in ("failed", "error") else "dim",
                title=why)


def first(entries: list, key: str):
    """The first non-empty value of `key` in the entries (None: none)."""
    return next((e.get(key) for e in entries if e.get(key)), None)


def disagree(e) -> str:
    return " ≠" if (e.get("methods") or {}).get("verdict") == "disagree" else ""


def case(entries: list) -> Table:
    """Rows = the rungs of one case; the fastest times emphasised (within 1 % / 10 % of the best)."""
    e0, okays = entries[0], analysis.ranked(entries)
    unit = METRIC_UNIT[e0.get("metric") or "gbps"]
    t = Table(f"{e0['suite']} · {e0['label']} · {e0['dtype']} · {e0['device']}",
              ["rung", "layer", "what it adds", "time", "IQR", unit, "% peak", "% lib", "max err", "status"],
              {"time", "IQR", unit, "% peak", "% lib", "max err"},
              drop=("what it adds", "layer", "max err", "% peak", "IQR", "% lib"), quiet=("what it adds",))
    cached = False
    for e in entries:
        r = e["median_s"] / okays[0]["median_s"] if analysis.ok(e) else math.inf
        fast = "best" if r <= 1.01 else "good" if r <= 1.10 else ""
        star = "*" if e.get("peak_level") not in (None, "dram") and e.get("pct_peak") is not None else ""
        cached |= bool(star)
        iqr = fmt_pct(100 * e["rel_iqr"]) if e.get("rel_iqr") is not None else "-"
        t.rows.append([rung(e, fast, " (ref)" if e.get("library_ref") == e["impl"] else ""), Cell(e.get("layer") or ""),
                       Cell(e.get("adds") or ""), Cell(fmt_time(e.get("median_s")), fast),
                       Cell(iqr + " ~", "noisy") if e.get("noisy") else Cell(iqr), Cell(fmt_num(e.get("value")), fast),
                       Cell(fmt_pct(e.get("pct_peak")) + star), Cell(fmt_pct(e.get("pct_library"))),
                       Cell(fmt_err(e.get("max_abs_err"))), status(e, disagree(e))])
    peak, lib = first(entries, "peak_label"), first(entries, "library_ref")
    busy = max([e.get("machine_busy") or 0 for e in entries])
    notes = [("% peak", peak and (peak if peak.startswith("no % of peak") else f"% peak: against {peak}")),
             ("% peak", peak and over_peak_note(entries)),
             ("% peak", cached and "* the data fits in cache: % of a cache-level figure, not of DRAM bandwidth"),
             ("% lib", lib and f"% lib: time of {lib} (ref) / time of the rung"),
             *((None, n) for n in sorted({e["note"] for e in entries if e.get("note")})),
             ("IQR", any(e.get("noisy") for e in entries) and f"~ noisy: IQR > {NOISE_THRESHOLD:.0%} of the median"),
             (None, busy > analysis.BUSY_CORES and f"! other processes kept {busy:.2f} cores busy while this case was "
                                                   f"measured: not a quiet machine, the times are suspect"),
             (None, any(map(disagree, entries)) and "≠ the solo and round-robin figures disagree beyond the noise "
                                                    "(the entry's \"methods\" says by how much)")]
    t.notes = [(c, n) for c, n in notes if n]
    return t


def sweep(entries: list, series: str, dtype: str) -> Table:
    """Rows = rungs, columns = sizes, the time per call in each cell."""
    es = [e for e in entries if e.get("suite") == "sweep" and e.get("series") == series and e["dtype"] == dtype]
    sizes = sorted({e["size"] for e in es})
    heads = [f"{s:,}" for s in sizes]
    t = Table(f"sweep · {series} · {dtype} · time per call", ["rung", "device"] + heads, set(heads), split=2)
    for line in analysis.grouped(es, lambda e: (e["impl"], e["device"])).values():
        per = {e["size"]: e for e in line}
        t.rows.append([rung(line[0]), Cell(line[0]["device"])] + [
            Cell() if e is None else Cell(fmt_time(e["median_s"]) + disagree(e)) if analysis.ok(e) else
            Cell(e["status"], "dim", title=status_text(e)) for e in map(per.get, sizes)])
    t.notes = [(None, f"crossover ({dtype}): {c['note']}") for c in analysis.crossovers(entries)
               if c["series"] == series and c["dtype"] == dtype]
    return t


def layers(entries: list, suite: str = "ladder") -> Optional[Table]:
    """The best rung of each layer, per case of `suite`."""
    per = analysis.best_per_layer(entries, suite)
    heads = ["case", "layer", "best rung", "time", "throughput", "% peak", "% lib"]
    t = Table("layers · the best rung of each layer, per case" + f" of {suite}" * (suite != "ladder"), heads,
              set(heads[3:]), drop=("% peak", "throughput", "layer"), flex=("case", 16))
    for best in per.values():
        for n, (layer, e) in enumerate(best.items()):
            t.rows.append([Cell("" if n else f"{e['label']} · {e['dtype']} · {e['device']}"), Cell(layer), rung(e),
                           Cell(fmt_time(e["median_s"])),
                           Cell(f"{fmt_num(e.get('value'))} {METRIC_UNIT[e.get('metric') or 'gbps']}"),
                           Cell(fmt_pct(e.get("pct_peak"))), Cell(fmt_pct(e.get("pct_library")))])
        t.rows.append(None)
    return t if per else None


def overhead(entries: list) -> Optional[Table]:
    """The per-call cost of each front door at tiny sizes."""
    es = [e for e in entries if e.get("suite") == "overhead"]
    heads = ["case", "device", "front door", "rung", "wall / call", "device / call", "host overhead", "status"]
    t = Table("overhead · per-call cost at tiny sizes", heads, set(heads[4:7]),
              drop=("device / call", "host overhead", "device", "case"))
    t.rows = [[Cell(e["label"]), Cell(e["device"]), Cell(e.get("front_door") or ""), rung(e)]
              + [Cell(fmt_time(e.get(k))) for k in ("wall_s", "device_s", "overhead_s")] + [status(e)] for e in es]
    t.notes = [(None, "wall: back-to-back calls then one sync, divided by the count; device: CUDA events around "
                      "the same loop")]
    return t if es else None


def environment(datas: list) -> Table:
    """Where each result file was measured: machine, commit, the run, versions, peaks, threads."""
    t = Table("environment", ["file", "machine", "commit", "created", "run", "versions", "peaks", "threads"],
              drop=("peaks", "versions", "threads", "run"), quiet=("peaks", "versions", "threads"),
              flex=("machine", 16))
    for d in datas:
        s, path, peaks = environment_summary(d), Path(d.get("_path") or "?"), []
        for dev, pk in (d.get("peaks") or {}).items():   # (older files' measured.bandwidth: the peak's, or a copy)
            flops = ", ".join(f"{k} {v / 1e12:.3g} TFLOP/s" for k, v in (pk.get("flops") or {}).items())
            peaks.append(f"{dev} {flops} ({pk.get('flops_source', '')})")
            if pk.get("bandwidth"):
                peaks.append(f"{dev} peak bandwidth {pk['bandwidth'] / 1e9:.4g} GB/s ({pk.get('bandwidth_source')})")
        run = ", ".join(d.get("suites") or []) + " (quick)" * bool(d.get("quick")) + " (interrupted)" * bool(
            d.get("interrupted"))
        t.rows.append([Cell(f"{path.parent.name}/{path.name}", link=str(path.resolve()), code=True),
                       Cell(" + ".join(x for x in (s["cpu"] or "?", s["gpu"]) if x)), Cell(s["commit"] or "?"),
                       Cell((s["created"] or "")[:10]), Cell(run), Cell(s["versions"]), Cell("; ".join(peaks)),
                       Cell(", ".join(f"{k}={v}" for k, v in (d.get("threads") or {}).items() if v is not None))])
    return t
