"""Speed-of-light bound: the least time a kernel launch can take on a GPU, given its counts.

A bound, never a measurement and never a model: every term is a time the launch cannot beat, so no
real run may be faster than the largest of them.  Terms (seconds), per launch:
  math     FLOPs / the pipe's peak (fp32 / fp64 SIMT FMA lanes, or the tensor cores for the dtype)
  issue    warp instructions known to execute (math instructions from the FLOPs, plus every counted
           memory request, barrier and shuffle) / (4 schedulers x SMs x clock)
  shared   shared-memory wavefronts (+ ldmatrix, + cp.async bytes / 128) / (1 per clock x SMs x clock)
  L1       global load sectors / (4 sectors per clock x SMs x clock): the L1TEX data path.  These
           sectors are L1 requests, mostly L1/L2 hits: they are never charged to L2 or DRAM.
  DRAM     (unique bytes read + unique bytes written beyond what L2 can hold) / DRAM bandwidth: the
           least traffic any schedule needs (the inputs start outside L2: the benchmark flushes it).
Clocks are the part's maximum (gpus.py), not its datasheet boost.  The per-SM terms (all but DRAM)
carry wave quantization: with B blocks on S SMs the busiest SM runs ceil(B/S) of them, so when the
blocks do equal work it does ceil(B/S)/B of the total; with fewer blocks than SMs only B SMs work.

nvcc merges neighbouring scalar accesses of a thread into one wider instruction (LDS.128, LDG.128),
and Nsight Compute counts the SASS instruction.  Counts taken at the source level are therefore
divided by the widest merge the kernel's SASS shows (e.g. 4 for fp32 data when it has LDS.128)
unless the counters say they are already per SASS instruction (key "sass_level": True): a merged
access takes at least as many sectors / wavefronts as the widest of its parts, so the quotient
never overstates the SASS count, and the bound stays a bound.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from .gpus import GpuSpec

ELEM_BYTES = {"float32": 4, "tf32": 4, "float64": 8, "float16": 2, "bfloat16": 2}
FLOP_PER_WARP_INSTR = {"fp32": 64, "fp64": 64, "HMMA": 4096, "HMMA.tf32": 2048, "HGMMA": 2 * 64 * 256 * 16}


@dataclass
class Term:
    name: str
    seconds: float
    detail: str


@dataclass
class Bound:
    """The bound of one launch or of a whole rung (the sum of its launches: one stream, in order)."""
    seconds: float
    binds: str
    terms: list = field(default_factory=list)
    basis: str = "counted"          # "counted" (executor counters) or "analytic minimum" (FLOPs, unique bytes)
    label: str = "bound"

    def term(self, name: str) -> Optional[Term]:
        return next((t for t in self.terms if t.name == name), None)


def pipe_of(dtype: str, mix: Optional[dict], tf32: bool = False) -> str:
    """Which pipe does the math: tensor cores when the SASS has HMMA/HGMMA, else the SIMT FMA pipe of
    the accumulation type (fp64 for float64, fp32 otherwise: 16-bit SIMT rungs accumulate in fp32)."""
    if not mix:   # no SASS known: the fastest pipe the dtype could use (a smaller, still valid bound)
        mix = {"HMMA": 1} if tf32 or dtype in ("float16", "bfloat16", "tf32") else {}
    if mix.get("HMMA") or mix.get("HGMMA"):
        if tf32 or dtype in ("float32", "tf32"):
            return "tf32"
        return "bf16" if dtype == "bfloat16" else "fp16"
    return "fp64" if dtype == "float64" or mix.get("DFMA") else "fp32"


def _widest(mix: Optional[dict], prefixes: tuple) -> int:
    return max([int(k.partition(".")[2]) for k, v in (mix or {}).items()
                if k.partition(".")[0] in prefixes and v and k.partition(".")[2].isdigit()] or [0])


def merged(c: dict, kind: str, prefixes: tuple, sass_mix: Optional[dict], elem_bytes: int) -> tuple[float, float]:
    """(requests, sectors or wavefronts) of one kind of access ("global_load", "shared_load", ...), the
    source-level counts divided by the widest merge the SASS allows: per site when the counters have
    sites (a site of B bytes per lane can merge widest/8B of its accesses), else by the dtype."""
    unit = "wavefronts" if kind.startswith("shared") else "sectors"
    if c.get("sass_level"):
        return c.get(f"{kind}_requests", 0), c.get(f"{kind}_{unit}", 0)
    widest = _widest(sass_mix, prefixes)
    sites = [x for x in c.get("sites") or [] if x.get("kind") == kind]
    if sites and widest:
        req = sum(x.get("requests", 0) / max(1, widest // (8 * max(1, int(x.get("bytes", 4))))) for x in sites)
        amt = sum(x.get(unit, 0) / max(1, widest // (8 * max(1, int(x.get("bytes", 4))))) for x in sites)
        return req, amt
    k = max(1, widest // (8 * elem_bytes)) if widest else 1
    return c.get(f"{kind}_requests", 0) / k, c.get(f"{kind}_{unit}", 0) / k


def quantization(blocks: Optional[int], sms: int, uniform: bool) -> tuple[float, str]:
    """Factor >= 1 on the per-SM terms, and what it is."""
    if not blocks:
        return 1.0, "blocks unknown: no wave quantization"
    used = min(blocks, sms)
    q = sms / used
    note = f"{blocks} blocks on {sms} SMs"
    if uniform and blocks > sms:
        q = max(q, math.ceil(blocks / sms) * sms / blocks)
        note += f" ({math.ceil(blocks / sms)} on the busiest SM)"
    elif blocks < sms:
        note += f" (only {blocks} SMs busy)"
    return q, note


def launch_bound(gpu: GpuSpec, *, flops: float, pipe: str, counters: Optional[dict] = None,
                 math_instructions: Optional[float] = None, sass_mix: Optional[dict] = None,
                 dtype: str = "float32", uniform: bool = True) -> Bound:
    """The bound of one launch.  `counters` is the executor's dict for the launch (kernelbench.sim);
    without it only the analytic terms (math, issue of the math, DRAM of `flops`/unique bytes) exist,
    and the unique bytes come from counters={'unique_bytes_read': ..., 'unique_bytes_written': ...}."""
    c = counters or {}
    clk = gpu.max_mhz * 1e6
    sms = gpu.sms
    peak = gpu.peak(pipe)
    q, qnote = quantization(c.get("blocks"), sms, uniform)
    terms = []
    if flops and peak:
        terms.append(Term("math", q * flops / peak,
                          f"{flops:.3g} FLOP at {peak / 1e12:.1f} TFLOP/s ({pipe}, {gpu.max_mhz} MHz); {qnote}"))
    eb = ELEM_BYTES.get(dtype, 4)
    # The widest load (store) of either space: an access the counters put in the wrong space must not
    # escape the division (the bound may only get smaller for it).
    loads, stores = ("LDG", "LDS"), ("STG", "STS")
    gl_req, gl_sec = merged(c, "global_load", loads, sass_mix, eb)
    gs_req, _ = merged(c, "global_store", stores, sass_mix, eb)
    sl_req, sl_wf = merged(c, "shared_load", loads, sass_mix, eb)
    ss_req, ss_wf = merged(c, "shared_store", stores, sass_mix, eb)
    if math_instructions is None:
        key = "HGMMA" if (sass_mix or {}).get("HGMMA") else "HMMA.tf32" if pipe == "tf32" else \
            "HMMA" if pipe in ("fp16", "bf16") else pipe
        math_instructions = flops / FLOP_PER_WARP_INSTR[key] if flops else 0.0
    mem_instr = (gl_req + gs_req + sl_req + ss_req + c.get("ldmatrix", 0) + c.get("atomics", 0)
                 + c.get("barriers", 0) + c.get("shuffles", 0) + c.get("cp_async_bytes", 0) / (16 * 32))
    instr = math_instructions + mem_instr
    if instr and gpu.limits is not None:
        issue_rate = gpu.limits.schedulers_per_sm * sms * clk
        terms.append(Term("issue", q * instr / issue_rate,
                          f"{instr:.3g} warp instructions known to issue ({math_instructions:.3g} math) "
                          f"at {gpu.limits.schedulers_per_sm}/clk/SM"))
    src_wf = c.get("shared_load_wavefronts", 0) + c.get("shared_store_wavefronts", 0)
    wf = sl_wf + ss_wf + c.get("ldmatrix", 0) + c.get("cp_async_bytes", 0) / gpu.smem_bytes_per_clk
    if wf:
        terms.append(Term("shared", q * wf / (sms * clk),
                          f"{wf:.3g} shared-memory wavefronts at 1/clk/SM"
                          + (f" (source-level {src_wf:.3g}, less what the SASS's wider LDS/STS may merge)"
                             if sl_wf + ss_wf < src_wf else "")))
    if gl_sec:
        terms.append(Term("L1", q * gl_sec / (gpu.l1_sectors_per_clk * sms * clk),
                          f"{gl_sec:.3g} global load sectors at {gpu.l1_sectors_per_clk}/clk/SM (L1 requests, "
                          "not DRAM traffic)" + (" after SASS merging" if gl_sec < c.get("global_load_sectors", 0) else "")))
    rd, wr = c.get("unique_bytes_read", 0), c.get("unique_bytes_written", 0)
    dram = rd + max(0, wr - (gpu.l2_bytes or 0))
    if dram:
        terms.append(Term("DRAM", dram / gpu.bandwidth,
                          f"{rd / 1e6:.4g} MB unique read + {max(0, wr - (gpu.l2_bytes or 0)) / 1e6:.4g} MB written "
                          f"beyond L2 at {gpu.bandwidth / 1e9:.0f} GB/s"))
    if not terms:
        return Bound(0.0, "nothing counted", [], basis="none")
    top = max(terms, key=lambda t: t.seconds)
    # within 1 % of each other (e.g. FFMA issue vs the FMA pipe: 4 schedulers x 32 lanes = 128 lanes),
    # name the more fundamental resource
    order = ("math", "DRAM", "shared", "L1", "issue")
    near = [t for t in terms if t.seconds >= 0.99 * top.seconds]
    binds = min(near, key=lambda t: order.index(t.name) if t.name in order else 99).name
    basis = "counted" if any(k in c for k in ("global_load_sectors", "shared_load_wavefronts")) else "analytic minimum"
    return Bound(top.seconds, binds, terms, basis=basis)


def total(bounds: list) -> Bound:
    """A rung's bound: its launches run one after another on one stream, so their bounds add."""
    if not bounds:
        return Bound(0.0, "nothing counted", [], basis="none")
    if len(bounds) == 1:
        return bounds[0]
    secs = sum(b.seconds for b in bounds)
    top = max(bounds, key=lambda b: b.seconds)
    names = {}
    for b in bounds:
        for t in b.terms:
            names[t.name] = names.get(t.name, 0.0) + t.seconds
    terms = [Term(n, s, "sum over launches of this term") for n, s in names.items()]
    basis = "counted" if all(b.basis == "counted" for b in bounds) else "analytic minimum"
    return Bound(secs, top.binds, terms, basis=basis)
