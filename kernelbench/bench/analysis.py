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


def ok(e: dict) -> bool:
    return e.get("status") == "ok" and e.get("median_s") is not None


def library_ref(entries: list, candidates: list, preferred: tuple = ()) -> Optional[dict]:
    """The library entry of one case: the fastest passing candidate matching a preferred pattern
    (cuBLAS, CUB), else the fastest passing candidate."""
    cands = [e for e in entries if ok(e) and e["impl"] in candidates]
    pref = [e for e in cands if any(fnmatch.fnmatch(e["impl"], p) for p in preferred)]
    pool = pref or cands
    return min(pool, key=lambda e: e["median_s"]) if pool else None


def apply_library_ratios(entries: list) -> None:
    """Set pct_library / library_ref on every passing entry, case by case (entries that share a
    case key and suite)."""
    by_case: dict = defaultdict(list)
    for e in entries:
        by_case[(e.get("suite"), e.get("key"))].append(e)
    for group in by_case.values():
        cands = []
        preferred: tuple = ()
        for e in group:
            cands += [c for c in e.get("library_candidates") or [] if c not in cands]
            preferred = preferred or tuple(e.get("library_preferred") or ())
        ref = library_ref(group, cands, preferred)
        for e in group:
            if ref is not None and ok(e):
                e["pct_library"] = 100.0 * ref["median_s"] / e["median_s"]
                e["library_ref"] = ref["impl"]
            else:
                e["pct_library"] = None
                e["library_ref"] = ref["impl"] if ref else None


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
