"""Device peaks: datasheet figures for known GPUs, a computed peak for CPUs, and measured ones.

% of peak is always said against a named figure: "H100 SXM5 fp32 67 TFLOP/s (datasheet)",
"2 cores x 2.50 GHz x 16 fp32 lanes x 2 (FMA) x 2 FMA units (computed)", "copy 13.1 GB/s (measured)".
Datasheet FLOP/s are dense (no sparsity); float16/bfloat16 are tensor-core figures with fp32
accumulation, tf32 likewise; float32 and float64 are the non-tensor (SIMT) figures.
"""
from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

# The GPU table (datasheet peaks, SM counts, clocks, caches, occupancy limits, each with its source)
# lives in kernelbench/explain/gpus.py; the benchmark reads its datasheet figures from there.
from ..explain.gpus import lookup_gpu


# ----------------------------------------------------------------------------------------- CPU
def cpu_facts() -> dict:
    """Model, usable cores, clock (GHz) and SIMD flags of this CPU: kernelbench.info.cpu_info (the one
    reader of /proc/cpuinfo) and psutil (physical cores, clock)."""
    import psutil

    from ..info import cpu_info
    info = cpu_info()
    model = info.get("model") or ""
    logical = info.get("threads_available") or os.cpu_count() or 1
    tpc = max(1, (psutil.cpu_count(logical=True) or 1) // max(1, psutil.cpu_count(logical=False) or 1))
    ghz, clock_src = None, None
    m = re.search(r"@\s*([\d.]+)\s*GHz", model)
    freq = psutil.cpu_freq()
    if m:
        ghz, clock_src = float(m.group(1)), "nominal clock in the model name"
    elif freq and (freq.max or freq.current):
        ghz, clock_src = (freq.max or freq.current) / 1000.0, "psutil.cpu_freq (max, else current)"
    return {"model": model, "logical": logical, "threads_per_core": tpc, "cores": max(1, math.ceil(logical / tpc)),
            "ghz": ghz, "clock_source": clock_src, "flags": sorted(set(info.get("simd") or ()) & SIMD_FLAGS),
            "llc_bytes": last_level_cache_bytes()}


LLC_CAP = 32 << 20   # a VM's sysfs may report the host's whole L3 (480 MB on a 2-vCPU EPYC guest);
#                     one core complex holds at most 32 MB of it: data beyond that is not "in cache"


def last_level_cache_bytes() -> Optional[int]:
    """Size of the largest cache of CPU 0 (sysfs, capped at LLC_CAP), None when unknown."""
    best = None
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for idx in sorted(base.glob("index*")) if base.exists() else []:
        try:
            m = re.match(r"(\d+)([KMG]?)", (idx / "size").read_text().strip().upper())
        except OSError:
            continue
        if m:
            best = max(best or 0, int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)])
    return min(best, LLC_CAP) if best else None


SIMD_FLAGS = {"sse2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "neon", "asimd"}


def cpu_peak(cores: int, ghz: Optional[float], flags, fma_units: Optional[int] = None) -> dict:
    """Peak FLOP/s = cores x clock x SIMD lanes x 2 (FMA) x FMA units, for float32 and float64.
    FMA units per core cannot be read from the flags; 2 is assumed for AVX2 / AVX-512 server
    parts (1 on some AVX-512 SKUs: then the real peak is half), 1 without FMA."""
    flags = set(flags)
    if "avx512f" in flags:
        bits, isa = 512, "AVX-512"
    elif "avx2" in flags or "avx" in flags:
        bits, isa = 256, "AVX2" if "avx2" in flags else "AVX"
    elif "asimd" in flags or "neon" in flags:
        bits, isa = 128, "NEON"
    else:
        bits, isa = 128, "SSE"
    has_fma = "fma" in flags or isa in ("AVX-512", "NEON")
    units = fma_units if fma_units is not None else (2 if has_fma and bits >= 256 else 1)
    per_op = 2 if has_fma else 1
    if ghz is None:
        return {"flops": {}, "formula": "clock unknown: no computed peak", "isa": isa}
    lanes32 = bits // 32
    f32 = cores * ghz * 1e9 * lanes32 * per_op * units
    formula = (f"{cores} cores x {ghz:.2f} GHz x {lanes32} fp32 lanes ({isa}) x {per_op} "
               f"({'FMA' if has_fma else 'no FMA'}) x {units} FMA unit{'s' if units > 1 else ''}")
    return {"flops": {"float32": f32, "float64": f32 / 2}, "formula": formula, "isa": isa}


# ------------------------------------------------------------------------------------ measured
def measure_cpu_bandwidth(nbytes: int = 256 << 20, reps: int = 5) -> dict:
    """Memory bandwidth of this CPU over `nbytes` (well beyond the last-level cache): the best of
    numpy.copyto (one thread) and torch copy_ (all threads), counting read + write (2 x nbytes) per
    copy, and of a read-only pass (torch.sum, all threads).  A copy alone understates what a
    reduction can read (write-allocate traffic is not counted), so the larger figure is the
    ceiling; both are recorded.  Medians of `reps` passes."""
    import numpy as np

    from .measure import fixed, measure
    n = nbytes // 4
    src = np.random.default_rng(0).random(n, dtype=np.float32)
    dst = np.empty_like(src)

    def timed(fn) -> float:
        return measure(fn, rule=fixed(reps), min_warmup=1).stats.median
    out = {"numpy copy": 2 * src.nbytes / timed(lambda: np.copyto(dst, src))}
    try:
        import torch
        s, d = torch.from_numpy(src), torch.from_numpy(dst)
        out["torch copy"] = 2 * src.nbytes / timed(lambda: d.copy_(s))
        out["torch sum (read)"] = src.nbytes / timed(lambda: torch.sum(s))
    except ImportError:
        out["numpy sum (read)"] = src.nbytes / timed(lambda: np.add.reduce(src))
    best = max(out, key=out.get)
    copies = {k: v for k, v in out.items() if "copy" in k}
    best_copy = max(copies, key=copies.get)
    return {"bandwidth": out[best], "bandwidth_method": f"best of copy and read passes over {nbytes >> 20} MB: {best}",
            "copy_only_bandwidth": copies[best_copy], "copy_all": out}


def measure_gpu_bandwidth(nbytes: int = 1 << 30, reps: int = 10, device: str = "cuda") -> dict:
    """Device-to-device copy bandwidth through torch (read + write = 2 x nbytes per copy)."""
    import torch

    from .backends import torch_cuda_sync
    from .measure import CudaEvents, fixed, measure
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    t = measure(lambda: dst.copy_(src), torch_cuda_sync, fixed(reps), CudaEvents(flush=False), min_warmup=1).stats.median
    del src, dst
    torch.cuda.empty_cache()
    return {"bandwidth": 2 * nbytes / t,
            "bandwidth_method": f"torch device-to-device copy of {nbytes >> 20} MB (read + write)"}


# ------------------------------------------------------------------------------------- per run
@dataclass
class DevicePeaks:
    """Everything known about one device's limits, as stored in the result file."""
    device: str                               # "cpu" | "cuda"
    name: str
    flops: dict = field(default_factory=dict)          # dtype -> FLOP/s (datasheet or computed)
    flops_source: str = ""
    bandwidth: Optional[float] = None                  # bytes/s (datasheet; CPU: measured)
    bandwidth_source: str = ""
    measured: dict = field(default_factory=dict)       # bandwidth, library_flops {dtype: FLOP/s}
    facts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _native():
    try:
        from .. import _pybind
    except ImportError:
        return None
    return _pybind if hasattr(_pybind, "cpu_probe_fma") else None


PROBE_SECONDS = 0.02   # per probe figure: 10 trials of 2 ms, best per thread
DRAM_PROBE_MIN = 128 << 20


def probe_levels(caches: dict, threads: int) -> list:
    """(level, working set of the all-thread probe, capacity) per memory level: half of each cache
    (private levels: per thread; L3: of min(L3, LLC_CAP), shared), DRAM beyond 4 x that.  A case's
    data "lives" in the first level whose capacity (private levels x threads; L3 as reported)
    holds it."""
    out = []
    for name in ("L1d", "L2"):
        c = caches.get(name) or {}
        if c.get("bytes"):
            per = c["bytes"] // max(1, c.get("shared_cpus", 1))
            out.append((name.rstrip("d"), threads * per // 2, threads * per))
    l3 = caches.get("L3") or {}
    if l3.get("bytes"):
        out.append(("L3", min(l3["bytes"], LLC_CAP) // 2, l3["bytes"]))
    dram_ws = max(DRAM_PROBE_MIN, 4 * min(l3.get("bytes") or 0, LLC_CAP))
    out.append(("DRAM", dram_ws, None))
    return out


@functools.lru_cache(maxsize=None)
def measure_cpu_probes(seconds: float = PROBE_SECONDS) -> Optional[dict]:
    """The C++ probes (csrc/cpu/cpu_probe.cpp, through kernelbench._pybind), once per process:
    FMA throughput per ISA the CPU has (AVX2/FMA, AVX-512), fp32 and fp64, one thread and all;
    read bandwidth per memory level (working sets from the OS-reported caches).  None without the
    native module."""
    nat = _native()
    if nat is None:
        return None
    from .measure import timed

    def probe() -> dict:
        caches = nat.cpu_caches()
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        hw = nat.cpu_isa_hardware()
        isas = {"avx512": ["avx2", "avx512"], "avx2": ["avx2"]}.get(hw, [])
        fma = {isa: {dt: {"1 thread": nat.cpu_probe_fma(isa, dt == "float64", 1, seconds),
                          "all threads": nat.cpu_probe_fma(isa, dt == "float64", threads, seconds)}
                     for dt in ("float32", "float64")} for isa in isas}
        levels = [{"level": name, "working_set": ws, "capacity": capacity,
                   "bandwidth": nat.cpu_probe_read(ws, threads, seconds),
                   "bandwidth_1_thread": nat.cpu_probe_read(max(ws // threads, 4096), 1, seconds)}
                  for name, ws, capacity in probe_levels(caches, threads)]
        return {"threads": threads, "isa_hardware": hw, "caches": caches, "fma": fma, "levels": levels,
                "method": f"best of 10 trials of {1e3 * seconds / 10:.0f} ms per figure, per thread, summed over threads"}
    res, took = timed(probe)
    return {**res, "seconds": took}


def matmul_blocking() -> Optional[dict]:
    """{dtype: register tile and MC/KC/NC} cpu_05_analytic_blocking uses here (None without the
    native module)."""
    nat = _native()
    if nat is None:
        return None
    return {dt: nat.cpu_matmul_blocking(dt) for dt in ("float32", "float64")}


def cpu_peaks(measure: bool = True, copy_bytes: int = 128 << 20) -> DevicePeaks:
    """Compute peak: the measured FMA throughput (all threads, the widest ISA), the nominal
    formula beside it.  Bandwidth: the measured read bandwidth per level; `bandwidth` (DRAM) the
    best of the DRAM probe and the numpy / torch copy and sum passes."""
    facts = cpu_facts()
    pk = cpu_peak(facts["cores"], facts["ghz"], facts["flags"])
    p = DevicePeaks(device="cpu", name=facts["model"] or "CPU", flops=pk["flops"],
                    flops_source=pk["formula"] + " (computed)",
                    facts={**facts, "isa": pk["isa"], "nominal_flops": pk["flops"], "nominal_formula": pk["formula"]})
    if not measure:
        return p
    probes = measure_cpu_probes()
    if probes:
        p.measured["probes"] = probes
        p.facts["caches"] = probes["caches"]
        p.facts["matmul_blocking"] = matmul_blocking()
        if probes["fma"]:
            isa = max(probes["fma"], key=lambda i: probes["fma"][i]["float32"]["all threads"])
            p.flops = {dt: v["all threads"] for dt, v in probes["fma"][isa].items()}
            nominal = pk["flops"].get("float32")
            p.flops_source = (f"measured FMA peak ({isa.upper()}, {probes['threads']} threads)"
                              + (f"; nominal {pk['formula']} = {nominal / 1e9:.0f} GFLOP/s fp32" if nominal else ""))
    m = measure_cpu_bandwidth(copy_bytes, reps=3)
    dram = next((lv for lv in (probes or {}).get("levels", []) if lv["level"] == "DRAM"), None)
    if dram and dram["bandwidth"] > m["bandwidth"]:
        m["bandwidth"] = dram["bandwidth"]
        m["bandwidth_method"] = f"read probe over {dram['working_set'] >> 20} MB, {probes['threads']} threads"
    p.measured.update(m)
    p.bandwidth = m["bandwidth"]
    p.bandwidth_source = m["bandwidth_method"] + " (measured)"
    return p


def bandwidth_for(peaks: Optional[dict], nbytes: float) -> tuple:
    """(bytes/s, label, level) of the memory level a working set of `nbytes` lives in: the first
    measured level whose capacity holds it (CPU probes); else DRAM, or (None, reason, "cache") when
    only a DRAM figure exists and the data fit the last-level cache."""
    if not peaks:
        return None, "", None
    levels = ((peaks.get("measured") or {}).get("probes") or {}).get("levels") or []
    for lv in levels:
        if lv["capacity"] is None or nbytes <= lv["capacity"]:
            if lv["level"] == "DRAM":
                break
            return (lv["bandwidth"], f"{lv['level']} read {lv['bandwidth'] / 1e9:.4g} GB/s (measured over "
                    f"{_mb(lv['working_set'])}; the data fit its {_mb(lv['capacity'])})", lv["level"])
    value, label = peak_for(peaks, "bandwidth", "")
    cache = (peaks.get("facts") or {}).get("llc_bytes")
    if not levels and peaks.get("device") == "cpu" and cache and nbytes <= cache:
        # no per-level figure: a DRAM figure would read 400 %; no % rather than a wrong one
        return None, f"no % of peak: the {nbytes / 1e6:.3g} MB of data fit in the {cache / 1e6:.3g} MB last-level cache", "cache"
    return value, label, "dram"


def _mb(n: float) -> str:
    return f"{n / 2**20:.3g} MB" if n >= 2**20 else f"{n / 2**10:.3g} KB"


def gpu_peaks(measure: bool = True, copy_bytes: int = 1 << 30) -> Optional[DevicePeaks]:
    try:
        import torch
        if not torch.cuda.is_available():
            return None
    except ImportError:
        return None
    props = torch.cuda.get_device_properties(0)
    spec = lookup_gpu(props.name, props.total_memory)
    facts = {"sm_count": props.multi_processor_count, "memory_bytes": props.total_memory,
             "cc": f"{props.major}.{props.minor}", "datasheet_entry": spec.name if spec else None}
    p = DevicePeaks(device="cuda", name=props.name, facts=facts)
    if spec:
        p.flops = dict(spec.flops)
        p.flops_source = f"{spec.name} datasheet"
        p.bandwidth = spec.bandwidth
        p.bandwidth_source = f"{spec.name} {spec.memory} datasheet"
    if measure:
        m = measure_gpu_bandwidth(copy_bytes)
        p.measured.update(m)
        if p.bandwidth is None:
            p.bandwidth = m["bandwidth"]
            p.bandwidth_source = m["bandwidth_method"] + " (measured; no datasheet entry for this GPU)"
    return p


def peak_for(peaks: Optional[dict], kind: str, dtype: str) -> tuple[Optional[float], str]:
    """(value, label) of the peak a measurement is compared with: kind "flops" or "bandwidth"."""
    if not peaks:
        return None, ""
    if kind == "bandwidth":
        return peaks.get("bandwidth"), peaks.get("bandwidth_source", "")
    flops = peaks.get("flops") or {}
    v = flops.get(dtype)
    label = peaks.get("flops_source", "")
    gpu = peaks.get("device") == "cuda"
    if v is None and dtype in ("float16", "bfloat16"):
        v = flops.get("float32")
        if v is not None and gpu:
            label += " (its fp32 SIMT figure: no tensor-core figure listed for this GPU)"
    elif v is not None and gpu and dtype in ("float16", "bfloat16", "tf32"):
        label += f": {dtype} tensor cores, dense, {v / 1e12:.4g} TFLOP/s"   # say which figure
    return v, label
