"""explain(): per kernel of a CUDA rung, its compiler facts, occupancy and what limits it, the
executor's counters against their ideals, the speed-of-light bound and what binds, and one sentence
derived from those numbers.  kernelbench.explain re-exports it; `kernelbench explain` prints it."""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Optional

from . import bound as bnd
from . import facts as fx
from . import gpus
from .occupancy import Occupancy, for_gpu

# The benchmark's shapes (kernelbench/bench/suites.py, full CUDA profile), per op.
DEFAULT_SHAPES = {"matmul": (4096, 4096, 4096), "reduce": (1 << 28,), "softmax": (4096, 32768),
                  "log_softmax": (4096, 32768), "l2norm": (4096, 32768)}
# Rungs whose table line takes one dim layout only (trait inner_one / inner_many): the benchmark's dim shapes.
DIM_SHAPES = {"inner_one": ((16384, 4096), 1), "inner_many": ((128, 4096, 4095), 1)}


def default_dim(impl):
    """(shape, dim) for a reduction rung restricted to one dim layout, from its trait; None for the others."""
    return next((DIM_SHAPES[t] for t in getattr(impl, "traits", ()) if t in DIM_SHAPES), None)
DTYPES = {"f32": "float32", "f64": "float64", "f16": "float16", "bf16": "bfloat16", "tf32": "tf32"}


@dataclass
class CounterLine:
    """One counter against its ideal, e.g. global loads: 32.0 sectors/request, ideal 4 -- uncoalesced."""
    what: str
    value: float
    ideal: Optional[float]
    unit: str
    verdict: str = ""
    weight: float = 1.0     # requests behind it: how much the excess costs (picks the sentence's example)

    @property
    def ratio(self) -> Optional[float]:
        return self.value / self.ideal if self.ideal else None

    def text(self) -> str:
        s = f"{self.what}: {self.value:.4g} {self.unit}"
        if self.ideal is not None:
            s += f", ideal {self.ideal:.4g}"
        return s + (f" -- {self.verdict}" if self.verdict else "")


@dataclass
class KernelView:
    name: str
    facts: Optional[dict]
    threads_per_block: Optional[int] = None
    blocks: Optional[int] = None
    dynamic_smem: int = 0
    occupancy: Optional[Occupancy] = None
    counters: Optional[dict] = None
    lines: list = field(default_factory=list)
    bound: Optional[bnd.Bound] = None
    helper: bool = False      # a kernel the rung's file shares with others (e.g. the partial-sums pass)


@dataclass
class Explanation:
    rung: str
    op: str
    shape: tuple
    dtype: str
    gpu: gpus.GpuSpec
    kernels: list
    bound: bnd.Bound
    flops: float
    unique_bytes: tuple          # (read, written)
    counters_note: str           # where the counts come from, or why there are none
    notes: list = field(default_factory=list)
    sentence: str = ""

    @property
    def basis(self) -> str:
        return self.bound.basis


# ------------------------------------------------------------------------------- problem sizes
def parse_shape(text) -> tuple:
    if isinstance(text, (tuple, list)):
        return tuple(int(x) for x in text)
    parts = re.split(r"[x×,*]", str(text).strip())
    out = []
    for p in parts:
        p = p.strip()
        m = re.fullmatch(r"(\d+)\s*(?:\^|\*\*)\s*(\d+)", p)
        out.append(int(m.group(1)) ** int(m.group(2)) if m else int(float(p)))
    return tuple(out)


def analytic(op: str, shape: tuple, dtype: str, dim: Optional[int] = None) -> tuple[float, int, int]:
    """(FLOPs, unique bytes read, unique bytes written): what any correct kernel must do at least."""
    eb = bnd.ELEM_BYTES.get(dtype, 4)
    if op == "matmul":
        *b, m, n, k = shape
        batch = b[0] if b else 1
        return 2.0 * batch * m * n * k, batch * (m * k + k * n) * eb, batch * m * n * eb
    n = math.prod(shape)
    if op == "reduce":
        out = n // shape[dim] if dim is not None else 1
        return float(n), n * eb, out * eb
    rows, cols = math.prod(shape[:-1]), shape[-1]
    if op == "l2norm":
        return 2.0 * n, n * eb, rows * eb
    return 3.0 * n, n * eb, n * eb   # softmax: max, exp-sum, scale (an undercount is still a bound)


# ------------------------------------------------------------------------------------ the rung
def _impl(rung: str, op: Optional[str]):
    from ..registry import list_impls
    found = [i for i in list_impls(device="cuda") if i.name == rung and i.layer == "handwritten-cuda"
             and (op is None or i.op == op)]
    if len(found) > 1:
        found = [i for i in found if i.op != "log_softmax"] or found
    if not found:
        names = sorted({i.name for i in list_impls(device="cuda") if i.layer == "handwritten-cuda"})
        raise ValueError(f"rung: no CUDA C++ rung named {rung!r}" + (f"; rungs: {', '.join(names)}" if names else
                         " (the kernel tables are not built here: run `make build`)"))
    if len(found) > 1 and op is None:
        raise ValueError(f"rung: {rung!r} exists for several ops ({', '.join(i.op for i in found)}): pass op=")
    return found[0]


def _launch_config(impl, shape: tuple, dtype: str, dim: Optional[int]) -> Optional[dict]:
    """The one launch a single-launch rung makes (its table line's config function), when the
    pybind11 module is built; else None."""
    if not impl.nvrtc:
        return None
    try:
        from .. import _frontdoors
        mod = _frontdoors.pybind()
    except Exception:   # noqa: BLE001 -- any failure to load means: no config here
        return None
    if mod is None or not hasattr(mod, "matmul_config"):
        return None
    dt = "float32" if dtype == "tf32" else dtype
    try:
        if impl.op == "matmul":
            *b, m, n, k = shape
            return mod.matmul_config(impl.name, m, n, k, b[0] if b else 1, k, n, n, m * k, k * n, m * n,
                                     False, False, dt)
        if impl.op == "reduce":
            outer, r, inner = _reduce_dims(shape, dim)
            return mod.reduce_config(impl.name, outer, r, inner, "sum", dt)
    except Exception:   # noqa: BLE001 -- a refusal: no config
        return None
    return None


def _reduce_dims(shape: tuple, dim: Optional[int]) -> tuple:
    if dim is None:
        return 1, math.prod(shape), 1
    return math.prod(shape[:dim]), shape[dim], math.prod(shape[dim + 1:])


# ------------------------------------------------------------------- recorded counts (the cache)
COUNTS_JSON = fx.FACTS_JSON.parent / "ladder_counts.json"


def counts_key(impl, shape: tuple, dtype: str, dim: Optional[int], sms: Optional[int]) -> str:
    return f"{impl.name}|{'x'.join(map(str, shape))}|{dtype}|dim={dim}|sms={sms}"


@functools.lru_cache(maxsize=2)
def _recorded(mtime: float) -> dict:
    import json
    return json.loads(COUNTS_JSON.read_text())


def recorded_counters(impl, shape: tuple, dtype: str, dim: Optional[int], sms: Optional[int],
                      any_age: bool = False) -> tuple[Optional[list], str]:
    """Counts recorded by scripts/ladder_counts.py (kernelbench/data/ladder_counts.json), when they were
    taken from the rung's current source (same key as its compiler facts, or as its kernel code);
    any_age: whatever is recorded (the generated docs: their freshness is the tests' business, so a
    header edit elsewhere does not make the committed docs stale); else (None, why not)."""
    if not COUNTS_JSON.exists():
        return None, "no recorded counts (scripts/ladder_counts.py): analytic minimum only"
    data = _recorded(COUNTS_JSON.stat().st_mtime)
    rec = data.get("entries", {}).get(counts_key(impl, shape, dtype, dim, sms))
    if rec is None:
        return None, "no recorded counts for this rung, shape and dtype: analytic minimum only"
    entry = fx.load()["files"].get(impl.source) or {}
    if not any_age and rec.get("source_key") not in (entry.get("key"), entry.get("kernel_key")):
        return None, "recorded counts are stale (the rung's source changed): analytic minimum only"
    return [dict(c) for c in rec["launches"]], (f"recorded from the SIMT executor by scripts/ladder_counts.py "
                                                f"({len(rec['launches'])} launch(es), source-level)")


def executor_counters(impl, shape: tuple, dtype: str, dim: Optional[int], sms: Optional[int] = None
                      ) -> tuple[Optional[list], str]:
    """Per-launch counter dicts from the SIMT executor (kernelbench.sim.counters), or (None, why not)."""
    from .. import sim
    fn = getattr(sim, "counters", None)
    if fn is None:
        return None, ("no executor counters in this build (kernelbench.sim.counters is missing): "
                      "analytic minimum only (FLOPs and unique bytes)")
    why = sim.available()
    if why:
        return None, f"the SIMT executor is not built here ({why.split(';')[0]}): analytic minimum only"
    try:
        launches = fn(impl.name, shape, "float32" if dtype == "tf32" else dtype, dim=dim, sms=sms, kind=impl.op)
    except Exception as exc:   # noqa: BLE001 -- the executor refused or cannot run this rung
        return None, f"executor counters unavailable for {impl.name}: {str(exc).splitlines()[0]}; analytic minimum only"
    launches = [dict(c) for c in (launches or [])]
    inexact = sum(1 for c in launches if c.get("exact") is False)
    return launches, (f"counted by the SIMT executor ({len(launches)} launch{'es' if len(launches) != 1 else ''}, "
                      "source-level: one C++ access = one request"
                      + (f"; {inexact} launch(es) sampled with unequal interior blocks" if inexact else "") + ")")


# --------------------------------------------------------------------------- counters vs ideal
EMULATION = "/sim/kbsim"   # sites inside the executor's own emulation (e.g. kbsim_wmma.h's fragment loads)


def without_emulation(c: dict) -> tuple[dict, float]:
    """The counters less the accesses the executor's emulation of an opaque instruction makes (WMMA's
    fragment loads: each lane reads the whole fragment there, the hardware's LDSM reads each byte once):
    they are no count of the kernel's, and left in they could raise the bound above the truth.  Returns
    (counters, requests removed)."""
    sites = c.get("sites") or []
    emu = [x for x in sites if EMULATION in (x.get("site") or "")]
    if not emu:
        return c, 0.0
    out = dict(c)
    out["sites"] = [x for x in sites if x not in emu]
    removed = 0.0
    for x in emu:
        kind = x.get("kind", "")
        if kind in ("global_load", "global_store", "shared_load", "shared_store"):
            unit = "wavefronts" if kind.startswith("shared") else "sectors"
            out[f"{kind}_requests"] = max(0.0, out.get(f"{kind}_requests", 0) - x.get("requests", 0))
            out[f"{kind}_{unit}"] = max(0.0, out.get(f"{kind}_{unit}", 0) - x.get(unit, 0))
            if kind.startswith("shared"):
                out["shared_ideal_wavefronts"] = max(0.0, out.get("shared_ideal_wavefronts", 0) - x.get("ideal_wavefronts", 0))
            removed += x.get("requests", 0)
    return out, removed


def _merge_sites(sites: list) -> list:
    """One entry per (site, kind, bytes): a line may hold several accesses (x[i] and x[i + s])."""
    out: dict = {}
    for x in sites:
        key = (x.get("site"), x.get("kind"), x.get("bytes"))
        if key not in out:
            out[key] = dict(x)
        else:
            for f in ("requests", "sectors", "wavefronts", "ideal_wavefronts", "lanes"):
                out[key][f] = out[key].get(f, 0) + x.get(f, 0)
    return list(out.values())


def _ideal_sectors(x: dict, eb: int) -> float:
    """Sectors per request if the request's active lanes read consecutive bytes."""
    req = x.get("requests") or 1
    lanes = x.get("lanes", 32 * req) / req
    return max(1.0, math.ceil(lanes * x.get("bytes", eb) / 32))


def counter_lines(c: dict, dtype: str, mix: Optional[dict] = None) -> list:
    """Each counter against its ideal (Nsight Compute's definitions, csrc/sim/kbsim_counters.h), per
    kind of access, then the sites (file:line) furthest from theirs.  Counts are source-level: where
    the kernel's SASS has wider accesses than a site's, nvcc may have merged that site's accesses, and
    the line says so instead of calling it uncoalesced or conflicted."""
    eb = bnd.ELEM_BYTES.get(dtype, 4)
    sites = _merge_sites(c.get("sites") or [])
    widest = {"load": bnd._widest(mix, ("LDG", "LDS")), "store": bnd._widest(mix, ("STG", "STS"))}
    out = []

    def mergeable(kind: str, bytes_: int) -> bool:
        return widest[kind.split("_")[1]] > 8 * bytes_

    def ideal_of(kind: str, unit: str) -> float:
        ss = [x for x in sites if x.get("kind") == kind and x.get("requests")]
        if not ss:
            return max(1.0, float(eb)) if unit == "sectors" else 1.0
        req = sum(x["requests"] for x in ss)
        if unit == "sectors":
            return sum(x["requests"] * _ideal_sectors(x, eb) for x in ss) / req
        return sum(x.get("ideal_wavefronts", x["requests"]) for x in ss) / req

    def verdict_of(kind: str, v: float, ideal: float, bytes_: int) -> str:
        bad = v > 2 * ideal if kind.startswith("global") else v > 1.05 * ideal
        if not bad:
            return ""
        what = "uncoalesced" if kind.startswith("global") else f"{v / ideal:.1f}-way bank conflicts"
        if mergeable(kind, bytes_):
            return f"{what} as source-level {bytes_}-byte accesses; the SASS's wider accesses may merge them"
        return what

    for kind, label, unit in (("global_load", "global loads", "sectors"), ("global_store", "global stores", "sectors"),
                              ("shared_load", "shared loads", "wavefronts"),
                              ("shared_store", "shared stores", "wavefronts")):
        req = c.get(f"{kind}_requests")
        if not req:
            continue
        v = c.get(f"{kind}_{unit}", 0) / req
        ideal = ideal_of(kind, unit)
        small = min([x.get("bytes", eb) for x in sites if x.get("kind") == kind] or [eb])
        verdict = verdict_of(kind, v, ideal, small)
        out.append(CounterLine(label, v, ideal, f"{unit}/request", verdict, 0 if "merge" in verdict else req))
    rd = c.get("unique_bytes_read")
    if rd is not None and rd > 0 and c.get("global_load_sectors"):
        moved = c["global_load_sectors"] * 32
        out.append(CounterLine("global load bytes / unique bytes read", moved / rd, 1.0, "x",
                               "each byte fetched many times: reuse must come from caches" if moved > 4 * rd else ""))
    for key, label in (("ldmatrix", "ldmatrix"), ("cp_async_bytes", "cp.async bytes"), ("atomics", "atomics"),
                       ("barriers", "barriers"), ("shuffles", "shuffles")):
        if c.get(key):
            out.append(CounterLine(label, c[key], None, "per launch"))
    same = c.get("atomic_max_same_address") or 0
    if c.get("atomics") and same > 1:   # lanes of one atomic request on one address: serialized there
        out.append(CounterLine("atomic lanes on one address (worst request)", same, 1.0, "lanes",
                               "serialized at the address", c["atomics"]))
    worst = []
    for x in sites:
        kind, req = x.get("kind", ""), x.get("requests") or 0
        if not req or kind not in ("global_load", "global_store", "shared_load", "shared_store"):
            continue
        b = int(x.get("bytes", eb))
        if kind.startswith("global"):
            v, ideal, unit = x.get("sectors", 0) / req, _ideal_sectors(x, eb), "sectors/request"
        else:
            v, ideal, unit = x.get("wavefronts", 0) / req, (x.get("ideal_wavefronts") or req) / req, "wavefronts/request"
        verdict = verdict_of(kind, v, ideal, b)
        if verdict:
            what = f"{kind.replace('_', ' ')} at {x.get('site', '?')} ({b} B/lane)"
            weight = 0 if "merge" in verdict else req
            worst.append((req * (v / ideal - 1), CounterLine(what, v, ideal, unit, verdict, weight)))
    out += [ln for _, ln in sorted(worst, key=lambda t: -t[0])[:4]]
    return out


# ---------------------------------------------------------------------------------- sentence
def sentence(ex: Explanation) -> str:
    """One plain sentence of why, from the numbers (never typed per rung)."""
    b = ex.bound
    if not b.terms:
        return "Nothing to bound: no counts for this rung."
    main = next((k for k in ex.kernels if not k.helper), ex.kernels[0] if ex.kernels else None)
    parts = []
    share = {t.name: t.seconds / b.seconds for t in b.terms} if b.seconds else {}
    what = {"math": "arithmetic throughput", "issue": "instruction issue", "shared": "shared-memory bandwidth",
            "L1": "L1 load bandwidth", "DRAM": "DRAM bandwidth"}
    s = f"At best {_fmt_time(b.seconds)} on {ex.gpu.name}, bound by {what.get(b.binds, b.binds)}"
    second = sorted((v, n) for n, v in share.items() if n != b.binds)
    if second and second[-1][0] > 0.5 and not (second[-1][1] == "issue" and b.basis != "counted"):
        s += f" (then {what.get(second[-1][1], second[-1][1])} at {second[-1][0]:.0%} of it)"
    worst, cost = None, 0.0
    for k in ex.kernels:
        for ln in k.lines:   # the line whose excess costs the most requests' worth
            if ln.verdict and ln.ratio and ln.ratio > 1.5 and ln.weight * (ln.ratio - 1) > cost:
                worst, cost = ln, ln.weight * (ln.ratio - 1)
    if worst is not None:
        parts.append(f"{worst.what}: {worst.value:.3g} {worst.unit} where {worst.ideal:.3g} would do ({worst.verdict})")
    if main is not None and main.occupancy is not None and main.occupancy.fraction < 0.5:
        parts.append(f"only {main.occupancy.fraction:.0%} occupancy ({main.occupancy.limiter}) to hide latency")
    if main is not None and main.facts and (main.facts.get("spill_store_bytes") or 0) > 0:
        parts.append(f"{main.facts['spill_store_bytes']} bytes of register spills")
    if b.basis != "counted":
        parts.append("only the analytic minimum is counted, so memory inefficiency is not in this bound")
    return s + ("; " + "; ".join(parts) if parts else "") + "."


def _fmt_time(s: float) -> str:
    return f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} us"


# ---------------------------------------------------------------------------------- explain()
def explain(rung: str, shape=None, dtype: Optional[str] = None, gpu: str = "h100", *, op: Optional[str] = None,
            dim: Optional[int] = None, counters=True) -> Explanation:
    """Everything known about why `rung` is as fast as it is, at `shape` and `dtype` on `gpu`.
    counters: True -- recorded counts (kernelbench/data/ladder_counts.json) when current, else a run of
    the executor (up to a minute); "recorded" -- recorded counts only (fast; analytic otherwise);
    "docs" -- recorded counts whatever their age, and no notes on the age of the facts (the generated
    docs; tests/test_explain*.py check that both are current);
    False -- no counters (compiler facts, occupancy and the analytic bound only)."""
    g = gpus.get(gpu) if isinstance(gpu, str) else gpu
    impl = _impl(rung, op)
    if dtype is None:   # float32 where the rung takes it, else its first dtype
        dtype = "float32" if "float32" in impl.dtypes else impl.dtypes[0]
    dtype = DTYPES.get(dtype, dtype)
    if shape is None:
        shape, d = default_dim(impl) or (DEFAULT_SHAPES[impl.op], None)
        dim = d if dim is None else dim
    shape = parse_shape(shape)
    tf32 = impl.precision == "tf32"
    if tf32 and dtype == "float32":
        dtype = "tf32"
    if dtype.replace("tf32", "float32") not in impl.dtypes:
        raise ValueError(f"dtype: {rung} takes {', '.join(impl.dtypes)}, not {dtype}")
    flops, rd, wr = analytic(impl.op, shape, dtype, dim)
    arch = g.sass_arch
    notes = []
    if impl.min_arch and g.cc < impl.min_arch:
        notes.append(f"{rung} needs sm_{impl.min_arch}{'a' if impl.min_arch == 90 else ''}; {g.name} is "
                     f"sm_{g.cc}: it cannot run there (facts shown are the {arch} build's)")
    own, helpers = fx.kernels(impl.source, arch, dtype.replace("tf32", "float32"), impl.name)
    if not own and not helpers:
        notes.append(f"no compiler facts for {impl.source} (run scripts/compiler_facts.py)")
    elif fx.staleness(impl.source) and counters != "docs":
        notes.append(fx.staleness(impl.source))
    launches, cnote = None, "counters not requested: analytic minimum only"
    if counters:
        launches, cnote = recorded_counters(impl, shape, dtype, dim, g.sms, any_age=counters == "docs")
        if launches is None and counters not in ("recorded", "docs"):
            launches, cnote = executor_counters(impl, shape, dtype, dim, g.sms)
    views = []
    if launches:
        first_own = None
        emulated = 0.0
        for c in launches:
            c, removed = without_emulation(c)
            emulated += removed
            name = c.get("kernel", "?")
            f = fx.by_name(name, arch, dtype)
            is_own = bool(fx.rung_stem(impl.name)) and fx.rung_stem(impl.name) in name
            v = KernelView(fx.short_name(name), f, c.get("threads_per_block"), c.get("blocks"),
                           c.get("dynamic_smem", 0) or 0, counters=c, helper=not is_own)
            if is_own and first_own is None:
                first_own = v
            views.append(v)
        target = first_own or views[0]
        for v in views:
            mix = (v.facts or {}).get("mix")
            v.lines = counter_lines(v.counters, dtype, mix)
            pipe = bnd.pipe_of(dtype, mix, tf32)
            fl = flops if v is target else 0.0
            c = dict(v.counters)
            for key, least in (("unique_bytes_read", rd), ("unique_bytes_written", wr)):
                if c.get(key) is None or c[key] < 0:   # sampled runs do not measure them
                    c[key] = least if v is target else 0
            v.bound = bnd.launch_bound(g, flops=fl, pipe=pipe, counters=c, sass_mix=mix, dtype=dtype,
                                       uniform=_uniform(impl.op, shape))
        total = bnd.total([v.bound for v in views])
        if emulated:
            notes.append(f"{emulated:.3g} requests made by the executor's emulation of opaque instructions (WMMA "
                         "fragments) are not counted: the hardware's own loads for them are not known here")
        if any(((v.facts or {}).get("mix") or {}).get(op) for v in views for op in ("TMA", "HGMMA")):
            notes.append("TMA copies and wgmma's shared-memory operand reads are done by the executor's sm_90a model "
                         "and not counted: they enter the bound only through the unique bytes (DRAM term)")
    else:
        cfg = _launch_config(impl, shape, dtype, dim)
        chosen = own
        if cfg:
            f = fx.by_name(cfg["kernel"], arch)
            chosen = [f] if f else own
        for f in chosen:
            views.append(KernelView(fx.short_name(f["name"]), f))
        for f in helpers:
            views.append(KernelView(fx.short_name(f["name"]), f, helper=True))
        if cfg and views:
            views[0].blocks = int(math.prod(cfg["grid"]))
            views[0].threads_per_block = int(math.prod(cfg["block"]))
            views[0].dynamic_smem = int(cfg.get("shared_bytes", 0))
        mix = (views[0].facts or {}).get("mix") if views else None
        pipe = bnd.pipe_of(dtype, mix, tf32)
        total = bnd.launch_bound(g, flops=flops, pipe=pipe, sass_mix=mix, dtype=dtype,
                                 counters={"unique_bytes_read": rd, "unique_bytes_written": wr,
                                           "blocks": views[0].blocks if views and len(chosen) == 1 else None},
                                 uniform=_uniform(impl.op, shape))
        total.basis = "analytic minimum"
    for v in views:
        tpb = v.threads_per_block or (v.facts or {}).get("max_threads")
        if v.facts and tpb:
            v.threads_per_block = tpb
            v.occupancy = for_gpu(g, tpb, v.facts.get("registers", 0), v.facts.get("static_smem", 0), v.dynamic_smem)
    ex = Explanation(impl.name, impl.op, shape, dtype, g, views, total, flops, (rd, wr), cnote, notes)
    ex.sentence = sentence(ex)
    return ex


def _uniform(op: str, shape: tuple) -> bool:
    """Do all blocks do equal work?  Assumed only where every dim is a multiple of 256 (full tiles)."""
    dims = shape[-3:] if op == "matmul" else shape
    return all(d % 256 == 0 for d in dims)


def ladder(op: str = "matmul", *, shape=None, dtype: Optional[str] = None, gpu: str = "h100",
           counters=True) -> list:
    """explain() for every CUDA C++ rung of one op ("matmul" or "reduce"), in ladder order; rungs that
    do not take the dtype, or need another GPU, are explained in the dtype they take / noted."""
    from ..registry import list_impls
    out = []
    for impl in list_impls(op=op, device="cuda"):
        if impl.layer != "handwritten-cuda" or "vendor" in impl.traits or not re.match(r"cuda_\d\d_", impl.name):
            continue
        dt = dtype or ("float32" if "float32" in impl.dtypes else impl.dtypes[0])
        if DTYPES.get(dt, dt).replace("tf32", "float32") not in impl.dtypes:
            dt = "float16" if "float16" in impl.dtypes else impl.dtypes[0]
        sh = shape if (shape is not None and default_dim(impl) is None) else None
        if sh is None and op == "matmul" and "vector_only" in impl.traits:
            sh = (4096, 1, 4096)
        out.append(explain(impl.name, sh, dt, gpu, op=op, counters=counters))
    return out


def check_measurements(data: dict) -> list:
    """Every CUDA figure of a result file (kernelbench/bench/results.py) against its bound: a list of
    violations, "impl shape: measured X < bound Y" (empty when none beats its bound).  Any rung is
    held to the analytic bound (its FLOPs and least traffic); our CUDA rungs to their explain() bound."""
    name = ((data.get("peaks") or {}).get("cuda") or {}).get("name") or ""
    g = gpus.lookup_gpu(name)
    if g is None or not g.key:
        return []
    out = []
    for e in data.get("entries", []):
        if e.get("device") != "cuda" or not e.get("median_s"):
            continue
        case = e.get("case") or {}
        shape, dim = tuple(case.get("shape") or ()), case.get("dim")
        dtype = "tf32" if e.get("precision") == "tf32" else e.get("dtype", "float32")
        flops, rd, wr = analytic(e["op"], shape, dtype, dim)
        # Any implementation: the fastest pipe that dtype could use (fp32 data may go through TF32
        # tensor cores in a library; fp64 through the fp64 tensor cores at up to twice the SIMT rate).
        pipe = bnd.pipe_of(dtype, {"HMMA": 1} if dtype != "float64" else {})
        fl = flops / 2 if dtype == "float64" else flops
        b = bnd.launch_bound(g, flops=fl if e["op"] == "matmul" else 0.0, pipe=pipe, dtype=dtype,
                             counters={"unique_bytes_read": rd, "unique_bytes_written": wr})
        if re.match(r"cuda_\d\d_", e.get("impl", "")):
            try:
                b2 = explain(e["impl"], shape, dtype, g.key, op=e["op"], dim=dim, counters=False).bound
                b = b2 if b2.seconds > b.seconds else b
            except ValueError:
                pass
        if e["median_s"] < b.seconds:
            out.append(f"{e.get('impl')} {'x'.join(map(str, shape))} {dtype} on {g.name}: measured "
                       f"{_fmt_time(e['median_s'])} < bound {_fmt_time(b.seconds)} ({b.binds})")
    return out
