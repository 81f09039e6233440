"""What is derived from the measurements: % of the library rung, measured peaks, the CPU-vs-GPU
crossover of the sweep, the best rung of each layer.  Pure functions over entry dicts, so the
report and the tables can recompute them from a stored result file."""
from __future__ import annotations

import fnmatch
from collections import OrderedDict, defaultdict
from typing import Optional

from ..registry.core import LAYERS
from .figures import pct


def layer_order(device: str) -> tuple:
    """Ladder order of the layers: our own kernels first, then up the abstraction levels."""
    if device == "cpu":
        return ("cpu",) + tuple(x for x in LAYERS if x != "cpu")
    return LAYERS


def entry_id(e: dict) -> tuple:
    """What one entry measures, across files: suite, case, rung (and the front door, overhead suite)."""
    return (e.get("suite"), e.get("key"), e.get("impl"), e.get("front_door") if e.get("suite") == "overhead" else None)


def ok(e: dict) -> bool:
    """Passed and timed (a zero or missing time is not a timing)."""
    t = e.get("median_s")
    return e.get("status") == "ok" and isinstance(t, (int, float)) and t > 0


def _table_key(e: dict) -> tuple:
    """Entries that share a table (and so one library reference): suite, op (variant), device, dtype."""
    return (e.get("suite"), e.get("op"), e.get("variant"), e.get("device"), e.get("dtype"), e.get("series"))


def choose_reference(group: list) -> Optional[str]:
    """The one library rung of a table: among the candidates (preferred patterns first, then in
    the candidates' order), the one timed in the most of the table's cases."""
    cands: list = []
    preferred: tuple = ()
    for e in group:
        cands += [c for c in e.get("library_candidates") or [] if c not in cands]
        preferred = preferred or tuple(e.get("library_preferred") or ())
    if not cands:
        return None
    timed = defaultdict(int)
    for e in group:
        if ok(e) and e["impl"] in cands:
            timed[e["impl"]] += 1
    if not timed:
        return None

    def rank(c):
        pref = any(fnmatch.fnmatch(c, p) for p in preferred)
        return (not pref, -timed.get(c, 0), cands.index(c))
    return min((c for c in cands if timed.get(c)), key=rank)


def apply_library_ratios(entries: list) -> None:
    """Set pct_library / library_ref on every passing entry: one library rung per table (suite, op,
    device, dtype), the same in every case of it, so "% of library" compares like with like."""
    tables: dict = defaultdict(list)
    for e in entries:
        if e.get("suite") != "overhead":
            tables[_table_key(e)].append(e)
    for group in tables.values():
        ref_name = choose_reference(group)
        by_case: dict = defaultdict(list)
        for e in group:
            by_case[e.get("key")].append(e)
        for case_entries in by_case.values():
            ref = next((e for e in case_entries if e["impl"] == ref_name and ok(e)), None)
            for e in case_entries:
                e["library_ref"] = ref_name
                e["pct_library"] = 100.0 * ref["median_s"] / e["median_s"] if ref is not None and ok(e) else None


METHOD_TOLERANCE = 0.10   # solo and round-robin figures within 10 % (or their spread) agree
DRIFT_MAX = 1.5           # a whole case moving by more than this is not the machine's speed drift
BUSY_CORES = 0.15         # other processes using more than this many cores: the figures are suspect
TICK_S = 0.004            # the scheduler tick of the measuring machine (HZ=250): spin stalls are multiples


def apply_method_agreement(entries: list, tolerance: float = METHOD_TOLERANCE) -> None:
    """For every entry timed both ways (solo, then round-robin), e["methods"] says whether the two
    figures agree: |log(rr / solo)| within log(1 + tol), tol = max(`tolerance`, the two relative
    IQRs added).  When they do not, but every rung of the case moved by the same factor (the
    machine's speed drifted between the solo timings and the rounds), the verdict is "drift" and
    the ratios between rungs hold; otherwise "disagree": the row is flagged and explained."""
    import math
    groups: dict = defaultdict(list)
    for e in entries:
        solo = e.get("solo")
        if ok(e) and solo and solo.get("median_s"):
            groups[(e.get("suite"), e.get("key"))].append(e)
    for group in groups.values():
        ratios = {id(e): e["median_s"] / e["solo"]["median_s"] for e in group}
        shift = sorted(ratios.values())[len(ratios) // 2] if len(group) >= 3 else 1.0
        for e in group:
            r = ratios[id(e)]
            tol = max(tolerance, (e.get("rel_iqr") or 0.0) + (e["solo"].get("rel_iqr") or 0.0))
            within = abs(math.log(r)) <= math.log1p(tol)
            m = {"solo_s": e["solo"]["median_s"], "round_robin_s": e["median_s"], "ratio": r, "tolerance": tol,
                 "case_shift": shift}
            if within:
                m["verdict"], m["explanation"] = "agree", ""
            elif abs(math.log(r / shift)) <= math.log1p(tol) and abs(math.log(shift)) <= math.log(DRIFT_MAX):
                m["verdict"] = "drift"
                m["explanation"] = (f"every rung of this case moved by x{shift:.2f} between the solo timings and the "
                                    f"round-robin rounds (machine speed drift); its ratio to the others agrees")
            else:
                m["verdict"] = "disagree"
                m["explanation"] = (f"round-robin {r:.2f}x the solo figure, beyond the noise (+-{100 * tol:.0f}%) and "
                                    f"beyond the case's drift (x{shift:.2f})")
                busy = e.get("machine_busy")
                stalls = stalled_turns(e)
                if stalls:
                    m["explanation"] += (f"; {stalls} of the round-robin turns took >= 1 ms and >= 10x the fastest "
                                         f"turn (a spinning thread team waiting for the {TICK_S * 1e3:g} ms "
                                         f"scheduler tick)")
                if busy is not None and busy > BUSY_CORES:
                    m["explanation"] += f"; other processes kept {busy:.2f} cores busy meanwhile: machine not quiet"
            e["methods"] = m


def stalled_turns(e: dict) -> int:
    """Round-robin turns whose median is >= 1 ms and >= 10x the fastest turn's: stalls, not the kernel."""
    tm = (((e.get("timing") or {}).get("round_robin") or {}).get("turn_medians")) or []
    if not tm:
        return 0
    lo = min(tm)
    return sum(1 for x in tm if x >= 1e-3 and x >= 10 * lo)


def non_monotone(entries: list, slack: float = 1.3) -> list:
    """Sweep points where a rung took less time on a larger problem than on a smaller one by more
    than `slack` (more work cannot take much less time: such a point is a measurement artefact).
    [(entry at the smaller size, entry at the larger size)]."""
    by: dict = defaultdict(list)
    for e in entries:
        if e.get("suite") == "sweep" and ok(e):
            by[(e.get("series"), e["impl"], e["device"], e["dtype"])].append(e)
    out = []
    for es in by.values():
        es.sort(key=lambda e: e["size"])
        for small, big in zip(es, es[1:]):
            if big["median_s"] * slack < small["median_s"]:
                out.append((small, big))
    return out


def disagreements(entries: list) -> list:
    return [e for e in entries if (e.get("methods") or {}).get("verdict") == "disagree"]


def library_layer(device: str) -> tuple:
    return ("vendor-library",) if device == "cuda" else ("framework",)


def apply_measured_peaks(entries: list, peaks: dict) -> None:
    """Best library GEMM per device and dtype -> peaks[dev]["measured"]["library_flops"]; then
    pct_measured_peak on every entry (matmul: vs that GEMM; others: vs the measured bandwidth)."""
    best: dict = defaultdict(dict)
    for e in entries:
        if (ok(e) and e["op"] == "matmul" and e.get("metric") == "tflops" and e.get("tflops") is not None
                and e.get("suite") != "overhead" and e.get("layer") in library_layer(e["device"])):
            cur = best[e["device"]].get(e["dtype"])
            if cur is None or e["tflops"] * 1e12 > cur["flops"]:
                best[e["device"]][e["dtype"]] = {"flops": e["tflops"] * 1e12, "impl": e["impl"], "key": e["key"]}
    for dev, per in best.items():
        p = peaks.setdefault(dev, {"device": dev, "name": dev, "measured": {}})
        p.setdefault("measured", {})["library_flops"] = per
    for e in entries:
        if not ok(e) or e.get("suite") == "overhead" or e.get("value") is None:
            e["pct_measured_peak"] = None
            continue
        m = (peaks.get(e["device"]) or {}).get("measured") or {}
        if e.get("metric") == "tflops":
            lib = (m.get("library_flops") or {}).get(e["dtype"])
            e["pct_measured_peak"] = pct(e["tflops"] * 1e12, lib["flops"]) if lib else None
        elif e.get("peak_level") not in (None, "dram"):
            e["pct_measured_peak"] = None      # in-cache data: no % of a DRAM bandwidth (pct_peak has its level's)
        else:
            e["pct_measured_peak"] = pct(e["gbps"] * 1e9, m.get("bandwidth"))


def sweep_series(entries: list) -> dict:
    """{(series, dtype): {device: {size: best entry}}} for the sweep suite."""
    out: dict = defaultdict(lambda: defaultdict(dict))
    for e in entries:
        if e.get("suite") != "sweep" or not ok(e):
            continue
        size = e.get("size")
        key = (e.get("series"), e["dtype"])
        cur = out[key][e["device"]].get(size)
        if cur is None or e["median_s"] < cur["median_s"]:
            out[key][e["device"]][size] = e
    return out


def sweep_grid(entries: list, series: str, dtype: Optional[str] = None) -> tuple:
    """(sizes, {(impl, device, dtype): {size: entry}}) of one sweep series (one dtype, or all)."""
    rows = [e for e in entries if e.get("suite") == "sweep" and e.get("series") == series
            and (dtype is None or e["dtype"] == dtype)]
    grid: dict = {}
    for e in rows:
        grid.setdefault((e["impl"], e["device"], e["dtype"]), {})[e["size"]] = e
    return sorted({e["size"] for e in rows}), grid


def crossovers(entries: list) -> list:
    """Per sweep series: the smallest size from which the best GPU rung beats the best CPU rung
    at every larger size measured on both (None when the GPU never wins or there is no GPU)."""
    res = []
    for (series, dtype), per_dev in sweep_series(entries).items():
        cpu, gpu = per_dev.get("cpu", {}), per_dev.get("cuda", {})
        common = sorted(set(cpu) & set(gpu))
        cross = None
        for s in reversed(common):
            if gpu[s]["median_s"] < cpu[s]["median_s"]:
                cross = s
            else:
                break
        res.append({"series": series, "dtype": dtype, "crossover_size": cross,
                    "sizes_compared": common, "devices": sorted(per_dev),
                    "note": ("no GPU in this run" if not gpu else
                             "the GPU never beat the CPU over the sizes measured" if cross is None else
                             f"GPU faster from {cross:,} on (device time, transfers excluded)")})
    return res


def best_per_layer(entries: list, suite: str = "ladder") -> "OrderedDict":
    """{(case key): {layer: best passing entry}} in layer order -- the `layers` view."""
    per: "OrderedDict" = OrderedDict()
    for e in entries:
        if e.get("suite") != suite or not ok(e):
            continue
        d = per.setdefault(e["key"], {})
        cur = d.get(e["layer"])
        if cur is None or e["median_s"] < cur["median_s"]:
            d[e["layer"]] = e
    for k in per:
        lo = layer_order(next(iter(per[k].values()))["device"])
        per[k] = OrderedDict(sorted(per[k].items(), key=lambda kv: lo.index(kv[0]) if kv[0] in lo else 99))
    return per


def case_groups(entries: list, suite: Optional[str] = None) -> "OrderedDict":
    """Entries grouped by (suite, case key), in first-seen order."""
    out: "OrderedDict" = OrderedDict()
    for e in entries:
        if suite is not None and e.get("suite") != suite:
            continue
        out.setdefault((e.get("suite"), e.get("key")), []).append(e)
    return out


def ranked(entries: list) -> list:
    """Passing entries, fastest first; FAILED / error / skipped are never ranked."""
    return sorted([e for e in entries if ok(e)], key=lambda e: e["median_s"])
