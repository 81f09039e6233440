"""Device peaks, each with its source ("H100 SXM5 datasheet", "measured FMA peak (AVX2, 2 threads)", "L2 read
150 GB/s (measured ...)") or why there is none.  GPUs: the datasheet table of kernelbench/explain/gpus.py
(float16/bfloat16/tf32: tensor cores).  CPUs: the probes of csrc/cpu/cpu_probe.cpp (FMA, read bandwidth per level).
"""
from __future__ import annotations

import functools
import os
from typing import Optional

from ..explain.gpus import lookup_gpu
from .backends import cuda_available
from .measure import timed

LLC_CAP = 32 << 20   # a VM's sysfs may report the host's whole L3 (480 MB on a 2-vCPU EPYC guest);
#                     one core complex holds at most 32 MB of it: data beyond that is not "in cache"
PROBE_SECONDS = 0.02   # per probe figure: 10 trials of 2 ms, best per thread
DRAM_PROBE_MIN = 128 << 20
NO_PROBES = "no % of peak: the native CPU probes (kernelbench._pybind) are not built"


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


def cpu_peaks() -> dict:
    """The probes' figures: FMA throughput (all threads, the widest ISA) and read bandwidth per memory
    level (`bandwidth`: DRAM's).  Without the probes no figure, and the labels say why."""
    from ..info import cpu_info
    p = {"device": "cpu", "name": cpu_info()["model"] or "CPU", "flops": {}, "flops_source": NO_PROBES,
         "bandwidth": None, "bandwidth_source": NO_PROBES}
    probes = measure_cpu_probes()
    if probes is None:
        return p
    dram, fma = probes["levels"][-1], probes["fma"]
    p.update(bandwidth=dram["bandwidth"], measured={"probes": probes}, bandwidth_source=(
        f"read probe over {dram['working_set'] >> 20} MB, {probes['threads']} threads (measured)"),
        flops_source=f"no % of peak: no FMA probe for this CPU's ISA ({probes['isa_hardware']})")
    if fma:
        isa = max(fma, key=lambda i: fma[i]["float32"]["all threads"])
        p["flops"] = {dt: v["all threads"] for dt, v in fma[isa].items()}
        p["flops_source"] = f"measured FMA peak ({isa.upper()}, {probes['threads']} threads)"
    return p


def bandwidth_for(peaks: Optional[dict], nbytes: float) -> tuple:
    """(bytes/s, label, level) of the memory level a working set of `nbytes` lives in: the first
    probed level that holds it (CPU), else the device's one figure (DRAM)."""
    if not peaks:
        return None, "", None
    levels = ((peaks.get("measured") or {}).get("probes") or {}).get("levels") or []
    lv = next((lv for lv in levels if lv["capacity"] is None or nbytes <= lv["capacity"]), None)
    if lv and lv["level"] != "DRAM":
        return (lv["bandwidth"], f"{lv['level']} read {lv['bandwidth'] / 1e9:.4g} GB/s (measured over "
                f"{_mb(lv['working_set'])}; the data fit its {_mb(lv['capacity'])})", lv["level"])
    return peaks.get("bandwidth"), peaks.get("bandwidth_source", ""), "dram"


def _mb(n: float) -> str:
    return f"{n / 2**20:.3g} MB" if n >= 2**20 else f"{n / 2**10:.3g} KB"


def gpu_peaks() -> Optional[dict]:
    """The first CUDA device's datasheet peaks (none without a datasheet entry); None without a device."""
    if not cuda_available():
        return None
    import torch
    props = torch.cuda.get_device_properties(0)
    spec, why = lookup_gpu(props.name, props.total_memory), f"no % of peak: no datasheet entry for {props.name}"
    return {"device": "cuda", "name": props.name, "flops": dict(spec.flops) if spec else {},
            "flops_source": f"{spec.name} datasheet" if spec else why, "bandwidth": spec.bandwidth if spec else None,
            "bandwidth_source": f"{spec.name} {spec.memory} datasheet" if spec else why,
            "facts": {"sm_count": props.multi_processor_count, "memory_bytes": props.total_memory,
                      "cc": f"{props.major}.{props.minor}", "datasheet_entry": spec.name if spec else None}}


def peak_for(peaks: Optional[dict], dtype: str) -> tuple[Optional[float], str]:
    """(FLOP/s, label) of the compute peak a matmul's rate is compared with (bandwidth: bandwidth_for)."""
    if not peaks:
        return None, ""
    v, label, gpu = (peaks.get("flops") or {}).get(dtype), peaks.get("flops_source", ""), peaks.get("device") == "cuda"
    if v is None and dtype in ("float16", "bfloat16"):
        v = (peaks.get("flops") or {}).get("float32")
        label += " (its fp32 SIMT figure: no tensor-core figure listed for this GPU)" if v is not None and gpu else ""
    elif v is not None and gpu and dtype in ("float16", "bfloat16", "tf32"):
        label += f": {dtype} tensor cores, dense, {v / 1e12:.4g} TFLOP/s"   # say which figure
    return v, label
