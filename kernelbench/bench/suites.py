"""The suites: which cases, which rungs, which budgets.

  ladder    (default) every rung of every op at one representative size per device
  sweep     the CPU-vs-GPU experiment: a full sum from 10^2 to 10^8 elements and square matmuls
            from 64 to 8192, on every device present; the crossover is marked
  shapes    irregular, tall-skinny, large-K, small-K, batched, transposed matmuls and a GEMV;
            reductions over the inner, middle and outer dims; softmax rows of several widths
  overhead  tiny inputs: the per-call cost of each front door
  cpu-gemm  the best native CPU matmul rung beside the libraries (torch, numpy): square fp32 from
            64 to 4096, fp64 2048, tall-skinny; with KB_CPU_ISA=avx2 (and the libraries pinned
            to AVX2, docs/matmul.md) the AVX2 path
  layers    the best rung of each layer per op, side by side (a view of the ladder measurements)

A suite is planned into `Group`s: one case and the rungs measured on it, in ladder order.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace
from typing import Optional

from ..registry.core import LAYERS, OPS, layout_class
from . import figures
from .analysis import layer_order
from .cases import Case
from .measure import StopRule

SUITES = ("ladder", "sweep", "shapes", "overhead", "layers", "cpu-gemm")
DEFAULT_SUITE = "ladder"
# Layers whose rungs are ours and may be naive: their per-call time is estimated on a smaller
# problem first, and they are measured at a smaller size (ladder) or skipped (sweep, shapes) when
# one call would take longer than the budget's max_call_s.
HANDWRITTEN = ("handwritten-cuda", "cpu", "numba", "cupy-nvrtc")
SECONDARY_DTYPES = ("float16", "bfloat16", "float64")
QUICK_SKIP = "compiler layer left out of --quick (compiling takes longer than the whole quick budget); name it with --impl"


@dataclass(frozen=True)
class Budget:
    warmup_s: float
    measure_s: float
    min_reps: int
    max_reps: int
    target_rel_ci: float
    max_call_s: float        # a call estimated longer than this is scaled down or skipped
    flush: bool = True       # GPU: flush L2 before each repetition
    cooldown_s: float = 0.0  # CPU: pause before each rung, so the previous rung's thread pool
    #                          (OpenBLAS, OpenMP, Eigen spin-waiting) is asleep when this one starts
    interleave_s: float = 0.0  # CPU: then time all rungs of a case again round-robin for this long
    #                            (a shared VM's speed drifts over seconds: ratios need the same moments)
    min_rounds: int = 5
    max_rounds: int = 25
    turn_warmup_s: float = 0.02  # round-robin: calls thrown away at the start of each turn (>= 1)
    turn_measure_s: float = 0.02  # round-robin: then calls kept for this long (>= 1) per turn
    quiesce_max_s: float = 0.3   # round-robin: before a turn, wait (at most this) for other pools to park
    turn_long_call_s: float = 0.1  # round-robin: a rung this slow keeps its first call (a hand-over of
    #                                a few 4 ms ticks is then < 10 % of one call, inside the noise)

    def rule(self) -> StopRule:
        return StopRule(min_reps=self.min_reps, max_reps=self.max_reps, budget_s=self.measure_s,
                        target_rel_ci=self.target_rel_ci)


BUDGETS = {
    ("cpu", False): Budget(warmup_s=0.15, measure_s=0.8, min_reps=5, max_reps=200, target_rel_ci=0.01, max_call_s=2.0,
                           cooldown_s=0.2, interleave_s=6.0, min_rounds=9),
    ("cuda", False): Budget(warmup_s=0.1, measure_s=0.5, min_reps=10, max_reps=500, target_rel_ci=0.005, max_call_s=2.0),
    ("cpu", True): Budget(warmup_s=0.02, measure_s=0.06, min_reps=3, max_reps=25, target_rel_ci=0.03, max_call_s=0.3,
                          cooldown_s=0.1),
    ("cuda", True): Budget(warmup_s=0.01, measure_s=0.05, min_reps=5, max_reps=50, target_rel_ci=0.02, max_call_s=0.3),
}
SWEEP_MEASURE_S = {False: 0.25, True: 0.04}

# Representative sizes per (device, quick).
LADDER_SIZES = {
    ("cuda", False): {"matmul": (4096, 4096, 4096), "sum": (1 << 28,), "sum_mid": ((128, 4096, 4095), 1),
                      "sum_inner": ((16384, 4096), 1), "rows": (4096, 32768)},
    ("cpu", False): {"matmul": (2048, 2048, 2048), "sum": (1 << 26,), "sum_mid": ((16, 2048, 1023), 1),
                     "sum_inner": ((4096, 4096), 1), "rows": (2048, 8192)},
    ("cuda", True): {"matmul": (1024, 1024, 1024), "sum": (1 << 24,), "sum_mid": ((16, 1024, 1023), 1),
                     "sum_inner": ((1024, 4096), 1), "rows": (1024, 4096)},
    ("cpu", True): {"matmul": (256, 256, 256), "sum": (1 << 20,), "sum_mid": ((8, 256, 255), 1),
                    "sum_inner": ((256, 1024), 1), "rows": (256, 1024)},
}
SWEEP_SUM = {False: [10 ** e for e in range(2, 9)], True: [10 ** e for e in range(2, 7)]}
SWEEP_MATMUL = {False: [64, 128, 256, 512, 1024, 2048, 4096, 8192], True: [64, 128, 256]}
SHAPES = {
    # tag: (M, N, K) or (batch, M, N, K), trans_a, trans_b -- per (device, quick)
    ("cuda", False): [("irregular", (2047, 2049, 2045)), ("tall-skinny", (65536, 128, 1024)),
                      ("large-K", (256, 256, 262144)), ("small-K", (8192, 8192, 16)),
                      ("batched", (64, 512, 512, 512)), ("B transposed", (2048, 2048, 2048), False, True),
                      ("A transposed", (2048, 2048, 2048), True, False), ("GEMV", (8192, 1, 8192))],
    ("cpu", False): [("irregular", (1023, 1025, 1021)), ("tall-skinny", (16384, 64, 256)),
                     ("large-K", (128, 128, 65536)), ("small-K", (2048, 2048, 16)),
                     ("batched", (16, 256, 256, 256)), ("B transposed", (1024, 1024, 1024), False, True),
                     ("A transposed", (1024, 1024, 1024), True, False), ("GEMV", (4096, 1, 4096))],
    ("cuda", True): [("irregular", (127, 129, 131)), ("tall-skinny", (4096, 16, 64)), ("large-K", (32, 32, 8192)),
                     ("small-K", (512, 512, 8)), ("batched", (4, 64, 64, 64)), ("B transposed", (128, 128, 128), False, True),
                     ("A transposed", (128, 128, 128), True, False), ("GEMV", (1024, 1, 1024))],
    ("cpu", True): [("irregular", (127, 129, 131)), ("tall-skinny", (2048, 16, 64)), ("large-K", (32, 32, 4096)),
                    ("small-K", (256, 256, 8)), ("batched", (4, 64, 64, 64)), ("B transposed", (128, 128, 128), False, True),
                    ("A transposed", (128, 128, 128), True, False), ("GEMV", (512, 1, 512))],
}
SHAPES_REDUCE = {("cuda", False): (256, 1024, 1024), ("cpu", False): (64, 512, 512),
                 ("cuda", True): (8, 128, 128), ("cpu", True): (8, 64, 64)}
SHAPES_ROWS = {("cuda", False): [(262144, 128), (8192, 8192), (64, 1 << 20)],
               ("cpu", False): [(65536, 64), (4096, 1024), (16, 1 << 18)],
               ("cuda", True): [(4096, 32), (256, 1024), (4, 1 << 16)],
               ("cpu", True): [(4096, 32), (256, 1024), (4, 1 << 15)]}
OVERHEAD = {"matmul": (16, 16, 16), "sum": (1024,), "rows": (4, 64)}


@dataclass
class Selection:
    """The run's filters (command-line flags)."""
    ops: tuple = OPS
    impl_globs: tuple = ()           # empty: every rung
    dtype: Optional[str] = None      # None: float32, plus each rung's own dtype when it lacks float32
    devices: tuple = ("cpu", "cuda")
    sizes: dict = field(default_factory=dict)   # parse_sizes()
    quick: bool = False

    def impl_ok(self, name: str) -> bool:
        return not self.impl_globs or any(fnmatch.fnmatch(name, g) for g in self.impl_globs)

    def op_ok(self, op: str) -> bool:
        return op in self.ops


@dataclass
class Group:
    """One case and the rungs measured on it."""
    suite: str
    case: Case
    impls: list                       # Impl entries, ladder order
    references: list = field(default_factory=list)   # names of the library candidates for % of library
    preferred: tuple = ()             # glob patterns: the library rung proper, when present
    too_slow: str = "scale"           # "scale": measure at a smaller size; "skip"
    probe: bool = True                # estimate handwritten rungs' time on a smaller case first
    series: str = ""                  # sweep: history key for time estimates across sizes
    budget: Optional[Budget] = None
    skip: dict = field(default_factory=dict)   # impl name -> reason it is listed but not run


# ----------------------------------------------------------------------------------- sizes flag
_INT = re.compile(r"^\s*(\d+(?:\.\d+)?)(?:e(\d+))?\s*$|^\s*(\d+)\s*(?:\^|\*\*)\s*(\d+)\s*$", re.I)


def parse_int(tok: str) -> int:
    """"4096", "1e6", "2^20", "2**20" -> int."""
    m = _INT.match(tok)
    if not m:
        raise ValueError(f"--sizes: cannot read {tok!r} as a size (examples: 4096, 1e6, 2^20)")
    if m.group(3):
        return int(m.group(3)) ** int(m.group(4))
    v = float(m.group(1)) * (10 ** int(m.group(2)) if m.group(2) else 1)
    return int(v)


def parse_size(tok: str):
    """A size token: an int, or a shape "AxBxC", optionally ":dim" (reductions)."""
    dim = None
    if ":" in tok:
        tok, d = tok.split(":", 1)
        try:
            dim = int(d)
        except ValueError:
            raise ValueError(f"--sizes: cannot read the dim {d!r} of {tok}:{d} (example: 128x4096x4095:1)") from None
    if "x" in tok.lower():
        shape = tuple(parse_int(t) for t in tok.lower().split("x"))
        return (shape, dim)
    return (parse_int(tok), dim)


def parse_sizes(spec: Optional[str]) -> dict:
    """--sizes "1024,2048" (matmul N^3 and full-sum lengths), or per op:
    "matmul=1024,512x512x4096;reduce=1e6,128x4096x4095:1;softmax=4096x32768" -> {op|"all": [sizes]}."""
    if not spec:
        return {}
    out: dict = {}
    for part in re.split(r"[;\s]+", spec.strip()):
        if not part:
            continue
        key, _, vals = part.rpartition("=")
        key = key or "all"
        if key not in OPS + ("all", "sum"):
            raise ValueError(f"--sizes: unknown op {key!r} (use one of {', '.join(OPS)})")
        key = "reduce" if key == "sum" else key
        out.setdefault(key, []).extend(parse_size(t) for t in vals.split(",") if t.strip())
    return out


def _sizes_for(sel: Selection, op: str) -> Optional[list]:
    s = sel.sizes.get(op)
    if s is None and op in ("matmul", "reduce"):
        s = sel.sizes.get("all")
    return s


# ----------------------------------------------------------------------------------- impls
def applicable(impl, case: Case) -> bool:
    """Does this rung implement this problem at all (op, variant, whole-tensor vs dim, dtype)?
    Rungs that do not are left out of the case; rungs that could but cannot run *here* are
    reported as skipped with the reason (by the engine)."""
    if impl.device != case.device or case.dtype not in impl.dtypes:
        return False
    if getattr(impl, "precision", "") != case.precision:   # TF32 rungs are measured beside TF32 rungs only
        return False
    if case.op == "reduce" and impl.variants and case.variant not in impl.variants:
        return False
    return impl.refusal(case_layout(case)) is None   # the rung's own precondition (kb::refuses)


def case_layout(case: Case) -> str:
    """The layout class of a case (registry.core.layout_class): what a rung's table line may refuse."""
    if case.op == "matmul":
        batch, m, n, _ = figures.matmul_dims(case.shape)
        return layout_class("matmul", (), batch_m_n=(batch, m, n))
    return layout_class(case.op, tuple(case.shape), case.dim)


def _impls(op: str, device: str) -> list:
    from .. import registry
    return [i for i in registry.list_impls(op=None, device=device) if i.op == op]


def reference_candidates(op: str, device: str) -> tuple[list, tuple]:
    """(the rungs the % of library is taken against, preferred name patterns).

    GPU: the vendor-library layer (cuBLAS for matmul, CUB for reductions preferred), else the
    framework layer (torch eager).  CPU: the faster of numpy and torch (framework layer)."""
    impls = _impls(op, device)
    preferred = {"matmul": ("cublas*", "*cublas*"), "reduce": ("cub_*", "*cub*")}.get(op, ()) if device == "cuda" else ()
    lib = [i for i in impls if i.layer == "vendor-library"]
    if device == "cuda" and lib:
        return lib, preferred
    fw = [i for i in impls if i.layer == "framework"]
    np_torch = [i for i in fw if (i.backend or "") in ("numpy", "torch")]
    return (np_torch or fw), ()


def _ladder_order(impls: list) -> list:
    reg_order = {id(i): n for n, i in enumerate(impls)}
    order = {dev: layer_order(dev) for dev in ("cpu", "cuda")}

    def key(i):
        lo = order.get(i.device, LAYERS)
        return (lo.index(i.layer) if i.layer in lo else 99, reg_order[id(i)])
    return sorted(impls, key=key)


def _group(suite: str, case: Case, sel: Selection, budget: Budget, candidates=None, **kw) -> Optional[Group]:
    impls = candidates if candidates is not None else _impls(case.op, case.device)
    chosen = [i for i in impls if applicable(i, case) and sel.impl_ok(i.name)]
    refs, preferred = reference_candidates(case.op, case.device)
    refs = [r for r in refs if applicable(r, case)]
    if not chosen:
        return None
    for r in refs:   # the library rungs are measured even when --impl leaves them out
        if all(r is not c for c in chosen):
            chosen.append(r)
    skip = {}
    if sel.quick and not sel.impl_globs:
        skip = {i.name: QUICK_SKIP for i in chosen if i.layer == "compiler"}
    return Group(suite=suite, case=case, impls=_ladder_order(chosen), references=[r.name for r in refs],
                 preferred=preferred, budget=budget, skip=skip, **kw)


def _dtype_groups(suite: str, case: Case, sel: Selection, budget: Budget, **kw) -> list:
    """The case at the selected dtype (float32 by default) -- and, when no dtype was asked for,
    once more at a rung's own dtype for the rungs that lack float32 (tensor cores)."""
    groups = []
    groups.extend(filter(None, [_group(suite, case, sel, budget, **kw)]))
    if case.op == "matmul" and case.dtype == "float32" and not case.precision:
        # fp32 data with TF32 math: a precision of its own, beside cuBLAS with TF32 on
        tf32 = [i for i in _impls(case.op, case.device) if i.precision == "tf32" and sel.impl_ok(i.name)]
        if tf32:
            groups.extend(filter(None, [_group(suite, replace(case, precision="tf32"), sel, budget, **kw)]))
    if sel.dtype is None:
        lacking = [i for i in _impls(case.op, case.device)
                   if case.dtype not in i.dtypes and sel.impl_ok(i.name)]
        # GPU matmul: the tensor-core rungs (fp16 and bf16) are measured in bf16, the dtype of the
        # ladder's targets and of most training; elsewhere the first secondary dtype a rung has.
        order = (("bfloat16", "float16", "float64") if case.op == "matmul" and case.device == "cuda"
                 else SECONDARY_DTYPES)
        for dt in order:
            own = [i for i in lacking if next((d for d in order if d in i.dtypes), None) == dt]
            if own:
                c2 = replace(case, dtype=dt)
                refs, _ = reference_candidates(case.op, case.device)
                cands = own + [r for r in refs if dt in r.dtypes]
                if case.op == "matmul" and any(i.native for i in own):   # + frameworks, compilers at that dtype
                    cands += [i for i in _impls(case.op, case.device)
                              if i.layer in ("framework", "compiler") and dt in i.dtypes and i not in cands]
                groups.extend(filter(None, [_group(suite, c2, sel, budget, candidates=cands, **kw)]))
    return groups


def ladder_cases(device: str, sel: Selection) -> list:
    sz = LADDER_SIZES[(device, sel.quick)]
    dt = sel.dtype or "float32"
    cases = []
    if sel.op_ok("matmul"):
        mm = _sizes_for(sel, "matmul")
        for s, _ in (mm or [(sz["matmul"], None)]):
            shape = (s, s, s) if isinstance(s, int) else tuple(s)
            cases.append(Case("matmul", device, dt, shape))
    if sel.op_ok("reduce"):
        rs = _sizes_for(sel, "reduce")
        if rs:
            for s, d in rs:
                shape = (s,) if isinstance(s, int) else tuple(s)
                cases.append(Case("reduce", device, dt, shape, variant="sum", dim=d))
        else:
            cases.append(Case("reduce", device, dt, sz["sum"], variant="sum"))
            cases.append(Case("reduce", device, dt, sz["sum_mid"][0], variant="sum", dim=sz["sum_mid"][1]))
            cases.append(Case("reduce", device, dt, sz["sum_inner"][0], variant="sum", dim=sz["sum_inner"][1]))
    for op in ("softmax", "log_softmax", "l2norm"):
        if sel.op_ok(op):
            rows = _sizes_for(sel, op)
            for s, _ in (rows or [(sz["rows"], None)]):
                shape = tuple(s) if not isinstance(s, int) else (s, s)
                cases.append(Case(op, device, dt, shape))
    return cases


def plan_ladder(sel: Selection, devices: list, suite: str = "ladder") -> list:
    groups = []
    for dev in devices:
        budget = BUDGETS[(dev, sel.quick)]
        for case in ladder_cases(dev, sel):
            groups.extend(_dtype_groups(suite, case, sel, budget, too_slow="scale", probe=True))
    return groups


def plan_sweep(sel: Selection, devices: list) -> list:
    """Per device, the best native rung plus every library / framework / Numba / CuPy rung (the
    compiler layer is left out by default: one compilation per size), size by size."""
    groups = []
    dt = sel.dtype or "float32"
    series = []
    if sel.op_ok("reduce"):
        sizes = [s for s, _ in (_sizes_for(sel, "reduce") or [(n, None) for n in SWEEP_SUM[sel.quick]])
                 if isinstance(s, int)]
        series.append(("sum", [Case("reduce", "", dt, (n,), variant="sum", tag="sweep sum") for n in sizes]))
    if sel.op_ok("matmul"):
        sizes = [s for s, _ in (_sizes_for(sel, "matmul") or [(n, None) for n in SWEEP_MATMUL[sel.quick]])
                 if isinstance(s, int)]
        series.append(("matmul", [Case("matmul", "", dt, (n, n, n), tag="sweep matmul") for n in sizes]))
    for dev in devices:
        b = BUDGETS[(dev, sel.quick)]
        budget = replace(b, measure_s=SWEEP_MEASURE_S[sel.quick], warmup_s=min(b.warmup_s, 0.05),
                         interleave_s=min(b.interleave_s, 0.5))
        for name, cases in series:
            for c in cases:
                case = replace(c, device=dev)
                cands = [i for i in _impls(case.op, dev) if applicable(i, case)]
                if not sel.impl_globs:
                    native = [i for i in cands if i.native]
                    cands = [i for i in cands if not i.native and i.layer != "compiler"] + native[-1:]
                groups.extend(filter(None, [_group("sweep", case, sel, budget, candidates=cands, too_slow="skip",
                                                   probe=False, series=name)]))
    return groups


# (dtype, (M, N, K)) per quick
CPU_GEMM = {False: [("float32", (n, n, n)) for n in (64, 128, 256, 512, 1024, 2048, 4096)]
            + [("float64", (2048, 2048, 2048)), ("float32", (8192, 64, 8192))],
            True: [("float32", (n, n, n)) for n in (64, 128, 256)] + [("float64", (256, 256, 256))]}


def plan_cpu_gemm(sel: Selection, devices: list) -> list:
    """The best native CPU matmul rung (rank 1 in its table) and the framework layer (the library
    rungs), size by size."""
    if "cpu" not in devices or not sel.op_ok("matmul"):
        return []
    budget = BUDGETS[("cpu", sel.quick)]
    groups = []
    for dt, shape in CPU_GEMM[sel.quick]:
        if sel.dtype and dt != sel.dtype:
            continue
        case = Case("matmul", "cpu", dt, shape, tag="cpu-gemm")
        cands = [i for i in _impls("matmul", "cpu")
                 if applicable(i, case) and (i.layer == "framework" or (i.native and i.rank == 1))]
        groups.extend(filter(None, [_group("cpu-gemm", case, sel, budget, candidates=cands, too_slow="skip",
                                           probe=False)]))
    return groups


def plan_shapes(sel: Selection, devices: list) -> list:
    groups = []
    dt = sel.dtype or "float32"
    for dev in devices:
        budget = BUDGETS[(dev, sel.quick)]
        cases = []
        if sel.op_ok("matmul"):
            for spec in SHAPES[(dev, sel.quick)]:
                tag, shape = spec[0], spec[1]
                ta, tb = (spec[2], spec[3]) if len(spec) > 2 else (False, False)
                cases.append(Case("matmul", dev, dt, shape, trans_a=ta, trans_b=tb, tag=tag))
        if sel.op_ok("reduce"):
            shape = SHAPES_REDUCE[(dev, sel.quick)]
            for d, tag in ((2, "inner dim"), (1, "middle dim"), (0, "outer dim")):
                cases.append(Case("reduce", dev, dt, shape, variant="sum", dim=d, tag=tag))
            cases.append(Case("reduce", dev, dt, shape, variant="max", dim=2, tag="inner dim"))
            cases.append(Case("reduce", dev, dt, shape, variant="argmax", dim=2, tag="inner dim"))
        for op in ("softmax", "log_softmax", "l2norm"):
            if sel.op_ok(op):
                for rows in SHAPES_ROWS[(dev, sel.quick)]:
                    cases.append(Case(op, dev, dt, rows))
        for case in cases:
            groups.extend(filter(None, [_group("shapes", case, sel, budget, too_slow="skip", probe=True)]))
    return groups


@dataclass
class OverheadItem:
    """One front door of one op on one device, at a tiny size."""
    case: Case
    impl: object
    door: str          # torch | tf | pybind | cupy (native rung through that array type) or the backend


def plan_overhead(sel: Selection, devices: list) -> list:
    items = []
    for dev in devices:
        tiny = []
        if sel.op_ok("matmul"):
            tiny.append(Case("matmul", dev, "float32", OVERHEAD["matmul"], tag="tiny"))
        if sel.op_ok("reduce"):
            tiny.append(Case("reduce", dev, "float32", OVERHEAD["sum"], variant="sum", tag="tiny"))
        if sel.op_ok("softmax"):
            tiny.append(Case("softmax", dev, "float32", OVERHEAD["rows"], tag="tiny"))
        for case in tiny:
            cands = [i for i in _impls(case.op, dev) if applicable(i, case) and sel.impl_ok(i.name)]
            native = [i for i in cands if i.native]
            if native:
                for door in ("torch", "tf", "pybind") + (("cupy",) if dev == "cuda" else ()):
                    items.append(OverheadItem(case, native[0], door))
            seen = set()
            for i in cands:
                if not i.native and (i.layer, i.backend) not in seen:
                    seen.add((i.layer, i.backend))
                    items.append(OverheadItem(case, i, i.backend or "numpy"))
    return items


def plan(suites: list, sel: Selection, devices: list) -> tuple[list, list]:
    """(groups, overhead items) for the requested suites; `layers` reuses the ladder's groups."""
    groups, overhead = [], []
    want = list(dict.fromkeys(suites))
    if "ladder" in want or "layers" in want:
        groups += plan_ladder(sel, devices)
    if "shapes" in want:
        groups += plan_shapes(sel, devices)
    if "sweep" in want:
        groups += plan_sweep(sel, devices)
    if "cpu-gemm" in want:
        groups += plan_cpu_gemm(sel, devices)
    if "overhead" in want:
        overhead += plan_overhead(sel, devices)
    return groups, overhead
