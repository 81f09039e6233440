"""Device peaks: datasheet figures for known GPUs, a computed peak for CPUs, and measured ones.

% of peak is always said against a named figure: "H100 SXM5 fp32 67 TFLOP/s (datasheet)",
"2 cores x 2.50 GHz x 16 fp32 lanes x 2 (FMA) x 2 FMA units (computed)", "copy 13.1 GB/s (measured)".
Datasheet FLOP/s are dense (no sparsity); float16/bfloat16 are tensor-core figures with fp32
accumulation, tf32 likewise; float32 and float64 are the non-tensor (SIMT) figures.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

T = 1e12


# The GPU table (datasheet peaks, SM counts, clocks, caches, occupancy limits, each with its source)
# lives in kernelbench/explain/gpus.py; the benchmark reads its datasheet figures from there.
from ..explain.gpus import GPUS, GpuSpec, lookup_gpu  # noqa: E402,F401


# ----------------------------------------------------------------------------------------- CPU
def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _lscpu() -> dict:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    d = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            d[k.strip()] = v.strip()
    return d


def cpu_facts() -> dict:
    """Model, usable cores, clock (GHz) and SIMD flags of this CPU, from /proc/cpuinfo and lscpu."""
    cpuinfo = _read("/proc/cpuinfo")
    ls = _lscpu()
    model = ls.get("Model name") or next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), "")
    flags_line = ls.get("Flags") or next(
        (ln.split(":", 1)[1] for ln in cpuinfo.splitlines() if ln.startswith("flags")), "")
    flags = set(flags_line.split())
    try:
        logical = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        logical = os.cpu_count() or 1
    tpc = int(ls.get("Thread(s) per core", "1") or 1)
    cores = max(1, math.ceil(logical / max(1, tpc)))
    ghz, clock_src = None, None
    m = re.search(r"@\s*([\d.]+)\s*GHz", model)
    if m:
        ghz, clock_src = float(m.group(1)), "nominal clock in the model name"
    elif ls.get("CPU max MHz"):
        ghz, clock_src = float(ls["CPU max MHz"]) / 1000.0, "lscpu CPU max MHz"
    else:
        mhz = [float(ln.split(":", 1)[1]) for ln in cpuinfo.splitlines() if ln.startswith("cpu MHz")]
        if mhz:
            ghz, clock_src = max(mhz) / 1000.0, "/proc/cpuinfo cpu MHz"
    return {"model": model, "logical": logical, "threads_per_core": tpc, "cores": cores,
            "ghz": ghz, "clock_source": clock_src, "flags": sorted(flags & SIMD_FLAGS),
            "llc_bytes": last_level_cache_bytes()}


LLC_CAP = 32 << 20   # a VM's sysfs may report the host's whole L3 (480 MB on a 2-vCPU EPYC guest);
#                     one core complex holds at most 32 MB of it: data beyond that is not "in cache"


def last_level_cache_bytes() -> Optional[int]:
    """Size of the largest cache of CPU 0 (sysfs, capped at LLC_CAP), None when unknown."""
    best = None
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for idx in sorted(base.glob("index*")) if base.exists() else []:
        txt = _read(str(idx / "size")).strip().upper()
        m = re.match(r"(\d+)([KMG]?)", txt)
        if not m:
            continue
        size = int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)]
        best = max(best or 0, size)
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
    import time

    import numpy as np

    from .stats import median
    n = nbytes // 4
    src = np.random.default_rng(0).random(n, dtype=np.float32)
    dst = np.empty_like(src)

    def timed(fn) -> float:
        fn()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return median(ts)
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

    from .stats import median
    src = torch.empty(nbytes // 4, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    dst.copy_(src)
    ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        dst.copy_(src)
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b) / 1e3)
    del src, dst
    torch.cuda.empty_cache()
    return {"bandwidth": 2 * nbytes / median(ts),
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
        return {"device": self.device, "name": self.name, "flops": self.flops,
                "flops_source": self.flops_source, "bandwidth": self.bandwidth,
                "bandwidth_source": self.bandwidth_source, "measured": self.measured, "facts": self.facts}

    @classmethod
    def from_dict(cls, d: dict) -> "DevicePeaks":
        return cls(**{k: d.get(k, v.default if not callable(v.default_factory) else v.default_factory())
                      for k, v in cls.__dataclass_fields__.items()})


def cpu_peaks(measure: bool = True, copy_bytes: int = 256 << 20) -> DevicePeaks:
    facts = cpu_facts()
    pk = cpu_peak(facts["cores"], facts["ghz"], facts["flags"])
    p = DevicePeaks(device="cpu", name=facts["model"] or "CPU", flops=pk["flops"],
                    flops_source=pk["formula"] + " (computed)", facts={**facts, "isa": pk["isa"]})
    if measure:
        m = measure_cpu_bandwidth(copy_bytes)
        p.measured.update(m)
        p.bandwidth = m["bandwidth"]
        p.bandwidth_source = m["bandwidth_method"] + " (measured)"
    return p


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
