"""Derived from the entries by pure functions (a stored file is re-derived): % of the library rung, solo vs
round-robin agreement, crossovers, the best rung per layer."""
from __future__ import annotations

import fnmatch
import math
from collections import Counter
from typing import Callable, Optional

from ..registry.core import LAYERS

METHOD_TOLERANCE = 0.10   # solo and round-robin figures within 10 % (or their spread) agree
DRIFT_MAX = 1.5           # a whole case moving by more than this is not the machine's speed drift
BUSY_CORES = 0.15         # other processes using more than this many cores: the figures are suspect
TICK_S = 0.004            # the scheduler tick of the measuring machine (HZ=250): spin stalls are multiples
PIVOTED = ("sweep", "overhead", "collectives")   # suites shown in tables of their own, not case by case


def layer_order(device: str) -> tuple:
    """Ladder order of the layers: our own kernels first, then up the abstraction levels."""
    return ("cpu",) + tuple(x for x in LAYERS if x != "cpu") if device == "cpu" else LAYERS


def entry_id(e) -> tuple:
    """What one entry measures, across files: suite, case, rung (and the front door, overhead suite)."""
    return (e.get("suite"), e.get("key"), e.get("impl"), e.get("front_door") if e.get("suite") == "overhead" else None)


def ok(e) -> bool:
    """Passed and timed (a zero or missing time is not a timing)."""
    return e.get("status") == "ok" and (e.get("median_s") or 0) > 0


def grouped(entries, key: Callable, keep: Callable = lambda e: True) -> dict:
    """{key(e): [entries]} of the entries `keep` takes, in first-seen order."""
    out: dict = {}
    for e in filter(keep, entries):
        out.setdefault(key(e), []).append(e)
    return out


def case_groups(entries) -> dict:
    """Entries grouped by (suite, case key), in first-seen order."""
    return grouped(entries, lambda e: (e.get("suite"), e.get("key")))


def ranked(entries: list) -> list:
    """Passing entries, fastest first; FAILED / error / skipped are never ranked."""
    return sorted(filter(ok, entries), key=lambda e: e["median_s"])


def fastest(entries, key: Callable) -> dict:
    """{key(e): the passing entry with the shortest time}, first seen first."""
    return {k: min(es, key=lambda e: e["median_s"]) for k, es in grouped(entries, key, ok).items()}


def choose_reference(group: list) -> Optional[str]:
    """The table's library rung: the candidate timed in most cases (preferred patterns first, then listed order)."""
    cands = list(dict.fromkeys(c for e in group for c in e.get("library_candidates") or []))
    preferred = next((tuple(e["library_preferred"]) for e in group if e.get("library_preferred")), ())
    timed = Counter(e["impl"] for e in filter(ok, group) if e["impl"] in cands)
    return min((c for c in cands if timed[c]), default=None,
               key=lambda c: (not any(fnmatch.fnmatch(c, p) for p in preferred), -timed[c], cands.index(c)))


def apply_library_ratios(entries: list) -> None:
    """pct_library / library_ref of every entry: one library rung per table, the same in each of its cases."""
    table_keys = ("suite", "op", "variant", "device", "dtype", "series")
    tables = grouped(entries, lambda e: tuple(map(e.get, table_keys)), lambda e: e.get("suite") != "overhead")
    for group in tables.values():
        ref_name = choose_reference(group)
        for case in case_groups(group).values():
            ref = next((e for e in case if e["impl"] == ref_name and ok(e)), None)
            for e in case:
                e["library_ref"] = ref_name
                e["pct_library"] = 100.0 * ref["median_s"] / e["median_s"] if ref is not None and ok(e) else None


def apply_method_agreement(entries: list, tolerance: float = METHOD_TOLERANCE) -> None:
    """e["methods"] of every entry timed both ways: "agree" (|log(rr / solo)| <= log(1 + max(`tolerance`, both
    relative IQRs added))), "drift" (the whole case moved alike: machine speed) or "disagree", explained."""
    for group in case_groups([e for e in entries if ok(e) and (e.get("solo") or {}).get("median_s")]).values():
        ratios = [e["median_s"] / e["solo"]["median_s"] for e in group]
        shift = sorted(ratios)[len(ratios) // 2] if len(group) >= 3 else 1.0
        for e, r in zip(group, ratios):
            tol = max(tolerance, (e.get("rel_iqr") or 0.0) + (e["solo"].get("rel_iqr") or 0.0))
            drift = abs(math.log(r / shift)) <= math.log1p(tol) and abs(math.log(shift)) <= math.log(DRIFT_MAX)
            verdict = "agree" if abs(math.log(r)) <= math.log1p(tol) else "drift" if drift else "disagree"
            turns = ((e.get("timing") or {}).get("round_robin") or {}).get("turn_medians") or []
            stalls = sum(x >= 1e-3 and x >= 10 * min(turns) for x in turns)   # not the kernel: the thread team
            busy = e.get("machine_busy") or 0
            why = {"drift": [f"every rung of this case moved by x{shift:.2f} between the solo timings and the "
                             f"round-robin rounds (machine speed drift); its ratio to the others agrees"],
                   "disagree": [f"round-robin {r:.2f}x the solo figure, beyond the noise (+-{100 * tol:.0f}%) and "
                                f"beyond the case's drift (x{shift:.2f})"]
                   + [f"{stalls} of the round-robin turns took >= 1 ms and >= 10x the fastest turn (a spinning thread "
                      f"team waiting for the {TICK_S * 1e3:g} ms scheduler tick)"] * bool(stalls)
                   + [f"other processes kept {busy:.2f} cores busy meanwhile: machine not quiet"] * (busy > BUSY_CORES)}
            e["methods"] = {"solo_s": e["solo"]["median_s"], "round_robin_s": e["median_s"], "ratio": r,
                            "tolerance": tol, "case_shift": shift, "verdict": verdict,
                            "explanation": "; ".join(why.get(verdict, []))}


def sweep_series(entries: list) -> list:
    """[(series, dtype)] of the sweep suite's passing entries, first seen first."""
    return list(dict.fromkeys((e.get("series"), e["dtype"]) for e in entries if e.get("suite") == "sweep" and ok(e)))


def crossovers(entries: list) -> list:
    """Per sweep series and dtype: the size from which on the GPU's fastest rung beats the CPU's (None: never)."""
    best = fastest([e for e in entries if e.get("suite") == "sweep"],
                   lambda e: (e.get("series"), e["dtype"], e["device"], e.get("size")))
    res = []
    for (series, dtype), es in grouped(best.values(), lambda e: (e.get("series"), e["dtype"])).items():
        cpu, gpu = ({e.get("size"): e for e in es if e["device"] == dev} for dev in ("cpu", "cuda"))
        common = sorted(set(cpu) & set(gpu))
        gpu_faster = [gpu[s]["median_s"] < cpu[s]["median_s"] for s in common]
        cross = next((s for i, s in enumerate(common) if all(gpu_faster[i:])), None)
        res.append({"series": series, "dtype": dtype, "crossover_size": cross, "sizes_compared": common,
                    "devices": sorted({e["device"] for e in es}),
                    "note": ("no GPU in this run" if not gpu else
                             "the GPU never beat the CPU over the sizes measured" if cross is None else
                             f"GPU faster from {cross:,} on (device time, transfers excluded)")})
    return res


def best_per_layer(entries: list, suite: str = "ladder") -> dict:
    """{case key: {layer: fastest entry}} in layer order (unknown layers last) -- the `layers` view."""
    best = fastest([e for e in entries if e.get("suite") == suite], lambda e: (e["key"], e["layer"]))

    def rank(e):
        order = layer_order(e["device"])
        return order.index(e["layer"]) if e["layer"] in order else len(order)
    return {k: {e["layer"]: e for e in sorted(es, key=rank)}
            for k, es in grouped(best.values(), lambda e: e["key"]).items()}
