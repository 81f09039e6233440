"""Device peaks, each said against a named figure: "H100 SXM5 fp32 67 TFLOP/s (datasheet)",
"measured FMA peak (AVX2, 2 threads); nominal 2 cores x 2.50 GHz x ...", "L2 read 150 GB/s (measured)".

GPUs: the datasheet table of kernelbench/explain/gpus.py (dense FLOP/s; float16/bfloat16/tf32 are
tensor-core figures, float32/float64 SIMT) and a measured copy.  CPUs: the C++ probes (FMA
throughput, read bandwidth per memory level), the nominal formula beside them.
"""
from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Optional

from ..explain.gpus import lookup_gpu
from .measure import CudaEvents, fixed, timed
from .measure import measure as measure_call

LLC_CAP = 32 << 20   # a VM's sysfs may report the host's whole L3 (480 MB on a 2-vCPU EPYC guest);
#                     one core complex holds at most 32 MB of it: data beyond that is not "in cache"
PROBE_SECONDS = 0.02   # per probe figure: 10 trials of 2 ms, best per thread
DRAM_PROBE_MIN = 128 << 20
ISAS = (("avx512f", 512, "AVX-512"), ("avx2", 256, "AVX2"), ("avx", 256, "AVX"))   # (flag, SIMD bits, name)


@dataclass
class DevicePeaks:
    """Everything known about one device's limits, as stored in the result file."""
    device: str                               # "cpu" | "cuda"
    name: str
    flops: dict = field(default_factory=dict)          # dtype -> FLOP/s (datasheet, measured or computed)
    flops_source: str = ""
    bandwidth: Optional[float] = None                  # bytes/s (datasheet; CPU: measured)
    bandwidth_source: str = ""
    measured: dict = field(default_factory=dict)       # bandwidth, probes, library_flops {dtype: ...}
    facts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def cpu_facts() -> dict:
    """Model, cores, clock (GHz: the model name's nominal clock, else psutil's) and SIMD flags of
    this CPU (kernelbench.info.cpu_info, psutil)."""
    import psutil

    from ..info import cpu_info
    info = cpu_info()
    model, logical = info.get("model") or "", info.get("threads_available") or os.cpu_count() or 1
    per_core = max(1, (psutil.cpu_count() or 1) // max(1, psutil.cpu_count(logical=False) or 1))
    nominal, freq = re.search(r"@\s*([\d.]+)\s*GHz", model), psutil.cpu_freq()
    ghz = (float(nominal.group(1)) if nominal else
           (freq.max or freq.current) / 1e3 if freq and (freq.max or freq.current) else None)
    return {"model": model, "logical": logical, "threads_per_core": per_core, "cores": math.ceil(logical / per_core),
            "ghz": ghz, "flags": sorted(info.get("simd") or ())}


def cpu_peak(cores: int, ghz: Optional[float], flags, fma_units: Optional[int] = None) -> dict:
    """Nominal FLOP/s = cores x clock x fp32 lanes x 2 (FMA) x FMA units, float64 half of it.  FMA
    units per core are not in the flags: 2 assumed for AVX2 / AVX-512 (1 on some AVX-512 SKUs)."""
    bits, isa = next(((b, name) for flag, b, name in ISAS if flag in set(flags)), (128, "SSE"))
    has_fma = "fma" in flags or isa == "AVX-512"
    units = fma_units if fma_units is not None else (2 if has_fma and bits >= 256 else 1)
    if ghz is None:
        return {"flops": {}, "formula": "clock unknown: no computed peak", "isa": isa}
    f32 = cores * ghz * 1e9 * (bits // 32) * (1 + has_fma) * units
    formula = (f"{cores} cores x {ghz:.2f} GHz x {bits // 32} fp32 lanes ({isa}) x {1 + has_fma} "
               f"({'FMA' if has_fma else 'no FMA'}) x {units} FMA unit{'s' * (units > 1)}")
    return {"flops": {"float32": f32, "float64": f32 / 2}, "formula": formula, "isa": isa}


def _native():
    try:
        from .. import _pybind
    except ImportError:
        return None
    return _pybind if hasattr(_pybind, "cpu_probe_fma") else None


def probe_levels(caches: dict, threads: int) -> list:
    """(level, working set of the all-thread probe, capacity) per memory level: half of each cache
    (private levels: per thread, capacity x threads; L3: half of min(L3, LLC_CAP)), DRAM beyond 4x."""
    out = []
    for name in ("L1d", "L2"):
        c = caches.get(name) or {}
        if c.get("bytes"):
            per = c["bytes"] // max(1, c.get("shared_cpus", 1))
            out.append((name.rstrip("d"), threads * per // 2, threads * per))
    l3 = (caches.get("L3") or {}).get("bytes")
    if l3:
        out.append(("L3", min(l3, LLC_CAP) // 2, l3))
    return out + [("DRAM", max(DRAM_PROBE_MIN, 4 * min(l3 or 0, LLC_CAP)), None)]


@functools.lru_cache(maxsize=None)
def measure_cpu_probes(seconds: float = PROBE_SECONDS) -> Optional[dict]:
    """The C++ probes (csrc/cpu/cpu_probe.cpp), once per process: FMA throughput per ISA the CPU
    has, fp32 and fp64, one thread and all; read bandwidth per memory level.  None without them."""
    nat = _native()
    if nat is None:
        return None

    def probe() -> dict:
        caches, hw = nat.cpu_caches(), nat.cpu_isa_hardware()
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        isas = {"avx512": ["avx2", "avx512"], "avx2": ["avx2"]}.get(hw, [])
        fma = {isa: {dt: {"1 thread": nat.cpu_probe_fma(isa, dt == "float64", 1, seconds),
                          "all threads": nat.cpu_probe_fma(isa, dt == "float64", threads, seconds)}
                     for dt in ("float32", "float64")} for isa in isas}
        levels = [{"level": name, "working_set": ws, "capacity": capacity,
                   "bandwidth": nat.cpu_probe_read(ws, threads, seconds),
                   "bandwidth_1_thread": nat.cpu_probe_read(max(ws // threads, 4096), 1, seconds)}
                  for name, ws, capacity in probe_levels(caches, threads)]
        return {"threads": threads, "isa_hardware": hw, "caches": caches, "fma": fma, "levels": levels,
                "method": f"best of 10 trials of {1e3 * seconds / 10:.0f} ms per figure, per thread, "
                          "summed over threads"}
    res, took = timed(probe)
    return {**res, "seconds": took}


def matmul_blocking() -> Optional[dict]:
    """{dtype: register tile and MC/KC/NC} cpu_05_analytic_blocking uses here (None without the probes' module)."""
    nat = _native()
    return {dt: nat.cpu_matmul_blocking(dt) for dt in ("float32", "float64")} if nat else None


def cpu_peaks(measure: bool = True, copy_bytes: int = 128 << 20) -> DevicePeaks:
    """Compute: the measured FMA throughput (all threads, the widest ISA), the nominal formula beside.
    Bandwidth: measured per level; `bandwidth` is DRAM's (without the probes: a numpy copy)."""
    facts = cpu_facts()
    pk = cpu_peak(facts["cores"], facts["ghz"], facts["flags"])
    p = DevicePeaks("cpu", facts["model"] or "CPU", pk["flops"], pk["formula"] + " (computed)",
                    facts={**facts, "isa": pk["isa"], "nominal_flops": pk["flops"], "nominal_formula": pk["formula"]})
    probes = measure_cpu_probes() if measure else None
    if probes:
        p.measured["probes"] = probes
        p.facts.update(caches=probes["caches"], matmul_blocking=matmul_blocking())
        dram = probes["levels"][-1]
        p.measured.update(bandwidth=dram["bandwidth"], bandwidth_method=(
            f"read probe over {dram['working_set'] >> 20} MB, {probes['threads']} threads"))
    if probes and probes["fma"]:
        isa = max(probes["fma"], key=lambda i: probes["fma"][i]["float32"]["all threads"])
        p.flops = {dt: v["all threads"] for dt, v in probes["fma"][isa].items()}
        nominal = pk["flops"].get("float32")
        p.flops_source = (f"measured FMA peak ({isa.upper()}, {probes['threads']} threads)"
                          + (f"; nominal {pk['formula']} = {nominal / 1e9:.0f} GFLOP/s fp32" if nominal else ""))
    if measure and not probes:
        import numpy as np
        src = np.ones(copy_bytes // 4, np.float32)
        dst = np.empty_like(src)
        t = measure_call(lambda: np.copyto(dst, src), rule=fixed(3), min_warmup=1).stats.median
        p.measured.update(bandwidth=2 * src.nbytes / t,
                          bandwidth_method=f"numpy copy of {copy_bytes >> 20} MB (read + write)")
    if p.measured:
        p.bandwidth, p.bandwidth_source = p.measured["bandwidth"], p.measured["bandwidth_method"] + " (measured)"
    return p


def bandwidth_for(peaks: Optional[dict], nbytes: float) -> tuple:
    """(bytes/s, label, level) of the memory level a working set of `nbytes` lives in: the first
    measured level that holds it (CPU probes), else DRAM; a CPU without level figures gives data
    that may fit a cache no figure: (None, why, "cache")."""
    if not peaks:
        return None, "", None
    levels = ((peaks.get("measured") or {}).get("probes") or {}).get("levels") or []
    lv = next((lv for lv in levels if lv["capacity"] is None or nbytes <= lv["capacity"]), None)
    if lv and lv["level"] != "DRAM":
        return (lv["bandwidth"], f"{lv['level']} read {lv['bandwidth'] / 1e9:.4g} GB/s (measured over "
                f"{_mb(lv['working_set'])}; the data fit its {_mb(lv['capacity'])})", lv["level"])
    if not levels and peaks.get("device") == "cpu" and nbytes < DRAM_PROBE_MIN:
        return None, f"no % of peak: no bandwidth per cache level measured, and {_mb(nbytes)} may fit a cache", "cache"
    return peaks.get("bandwidth"), peaks.get("bandwidth_source", ""), "dram"


def _mb(n: float) -> str:
    return f"{n / 2**20:.3g} MB" if n >= 2**20 else f"{n / 2**10:.3g} KB"


def gpu_peaks(measure: bool = True, copy_bytes: int = 1 << 30) -> Optional[DevicePeaks]:
    """The first CUDA device's datasheet peaks and its measured device-to-device copy bandwidth
    (torch; the peak where the datasheet has no entry); None without a device."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    spec = lookup_gpu(props.name, props.total_memory)
    facts = {"sm_count": props.multi_processor_count, "memory_bytes": props.total_memory,
             "cc": f"{props.major}.{props.minor}", "datasheet_entry": spec.name if spec else None}
    p = DevicePeaks("cuda", props.name, facts=facts)
    if spec:
        p.flops, p.flops_source = dict(spec.flops), f"{spec.name} datasheet"
        p.bandwidth, p.bandwidth_source = spec.bandwidth, f"{spec.name} {spec.memory} datasheet"
    if measure:
        from .backends import torch_cuda_sync
        src = torch.empty(copy_bytes // 4, dtype=torch.float32, device="cuda").uniform_()
        dst = torch.empty_like(src)
        t = measure_call(lambda: dst.copy_(src), torch_cuda_sync, fixed(10), CudaEvents(flush=False), min_warmup=1)
        p.measured.update(bandwidth=2 * copy_bytes / t.stats.median,
                          bandwidth_method=f"torch device-to-device copy of {copy_bytes >> 20} MB (read + write)")
        del src, dst
        torch.cuda.empty_cache()
        if p.bandwidth is None:
            p.bandwidth = p.measured["bandwidth"]
            p.bandwidth_source = p.measured["bandwidth_method"] + " (measured; no datasheet entry for this GPU)"
    return p


def peak_for(peaks: Optional[dict], kind: str, dtype: str) -> tuple[Optional[float], str]:
    """(value, label) of the peak a measurement is compared with: kind "flops" or "bandwidth"."""
    if not peaks:
        return None, ""
    if kind == "bandwidth":
        return peaks.get("bandwidth"), peaks.get("bandwidth_source", "")
    v, label, gpu = (peaks.get("flops") or {}).get(dtype), peaks.get("flops_source", ""), peaks.get("device") == "cuda"
    if v is None and dtype in ("float16", "bfloat16"):
        v = (peaks.get("flops") or {}).get("float32")
        label += " (its fp32 SIMT figure: no tensor-core figure listed for this GPU)" if v is not None and gpu else ""
    elif v is not None and gpu and dtype in ("float16", "bfloat16", "tf32"):
        label += f": {dtype} tensor cores, dense, {v / 1e12:.4g} TFLOP/s"   # say which figure
    return v, label
