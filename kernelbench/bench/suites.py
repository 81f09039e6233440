"""The suites, planned into `Group`s (one case and the rungs measured on it, in ladder order): ladder
(every rung, one size per device), sweep (CPU vs GPU, sums 10^2..10^8, matmuls 64..8192), shapes (odd
matmul shapes, reductions over each dim, softmax rows), overhead (each front door's per-call cost),
cpu-gemm (the best CPU matmul beside the libraries), layers (the ladder's best rung of each layer)."""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace
from typing import Optional

from ..registry import list_impls
from ..registry.core import OPS, layout_class
from .analysis import layer_order
from .cases import Case, matmul_dims
from .measure import StopRule

SUITES = ("ladder", "sweep", "shapes", "overhead", "layers", "cpu-gemm")
# Layers whose rungs are ours and may be naive: a call's time is estimated on a smaller problem first
HANDWRITTEN = ("handwritten-cuda", "cpu", "numba", "cupy-nvrtc")
SECONDARY_DTYPES = ("float16", "bfloat16", "float64")
ROW_OPS = ("softmax", "log_softmax", "l2norm")
QUICK_SKIP = "compiler layer left out of --quick (compiling outlasts the quick budget); name it with --impl"


@dataclass(frozen=True)
class Budget:
    """Warm-up, then repetitions until `rule` stops; a call estimated over max_call_s is scaled down or
    skipped.  CPU: cooldown_s for the last rung's pool to park; interleave_s of round-robin after."""
    warmup_s: float
    rule: StopRule
    max_call_s: float
    cooldown_s: float = 0.0
    interleave_s: float = 0.0
    min_rounds: int = 5
    max_rounds: int = 25
    turn_warmup_s: float = 0.02    # round-robin: calls thrown away at the start of each turn (>= 1)
    turn_measure_s: float = 0.02   # then calls kept for this long (>= 1)
    quiesce_max_s: float = 0.3     # before a turn, wait (at most this) for other pools to park
    turn_long_call_s: float = 0.1  # a rung this slow keeps its first call (a hand-over is inside its noise)


BUDGETS = {
    ("cpu", False): Budget(0.15, StopRule(min_reps=5, max_reps=200, budget_s=0.8, target_rel_ci=0.01), max_call_s=2.0,
                           cooldown_s=0.2, interleave_s=6.0, min_rounds=9),
    ("cuda", False): Budget(0.1, StopRule(min_reps=10, max_reps=500, budget_s=0.5, target_rel_ci=0.005),
                            max_call_s=2.0),
    ("cpu", True): Budget(0.02, StopRule(min_reps=3, max_reps=25, budget_s=0.06, target_rel_ci=0.03), max_call_s=0.3,
                          cooldown_s=0.1),
    ("cuda", True): Budget(0.01, StopRule(min_reps=5, max_reps=50, budget_s=0.05, target_rel_ci=0.02), max_call_s=0.3),
}
SWEEP_MEASURE_S = {False: 0.25, True: 0.04}

# Sizes: one column per (device, quick) of COLUMNS
COLUMNS = (("cuda", False), ("cpu", False), ("cuda", True), ("cpu", True))
LADDER = {   # [(shape, dim)] per kind of op; the sums: whole, then along dim 1 of three and of two dims
    "matmul": [[((4096,) * 3, None)], [((2048,) * 3, None)], [((1024,) * 3, None)], [((256,) * 3, None)]],
    "rows": [[((4096, 32768), None)], [((2048, 8192), None)], [((1024, 4096), None)], [((256, 1024), None)]],
    "reduce": [[((1 << 28,), None), ((128, 4096, 4095), 1), ((16384, 4096), 1)],
               [((1 << 26,), None), ((16, 2048, 1023), 1), ((4096, 4096), 1)],
               [((1 << 24,), None), ((16, 1024, 1023), 1), ((1024, 4096), 1)],
               [((1 << 20,), None), ((8, 256, 255), 1), ((256, 1024), 1)]]}
SWEEP = {"reduce": {False: [10 ** e for e in range(2, 9)], True: [10 ** e for e in range(2, 7)]},
         "matmul": {False: [64, 128, 256, 512, 1024, 2048, 4096, 8192], True: [64, 128, 256]}}
SHAPES = {   # "A transposed": A passed as the transposed view of a contiguous (K, M); B likewise
    "irregular": [(2047, 2049, 2045), (1023, 1025, 1021), (127, 129, 131), (127, 129, 131)],
    "tall-skinny": [(65536, 128, 1024), (16384, 64, 256), (4096, 16, 64), (2048, 16, 64)],
    "large-K": [(256, 256, 262144), (128, 128, 65536), (32, 32, 8192), (32, 32, 4096)],
    "small-K": [(8192, 8192, 16), (2048, 2048, 16), (512, 512, 8), (256, 256, 8)],
    "batched": [(64, 512, 512, 512), (16, 256, 256, 256), (4, 64, 64, 64), (4, 64, 64, 64)],
    "B transposed": [(2048,) * 3, (1024,) * 3, (128,) * 3, (128,) * 3],
    "A transposed": [(2048,) * 3, (1024,) * 3, (128,) * 3, (128,) * 3],
    "GEMV": [(8192, 1, 8192), (4096, 1, 4096), (1024, 1, 1024), (512, 1, 512)]}
SHAPES_REDUCE = [(256, 1024, 1024), (64, 512, 512), (8, 128, 128), (8, 64, 64)]
SHAPES_ROWS = [[(262144, 128), (8192, 8192), (64, 1 << 20)], [(65536, 64), (4096, 1024), (16, 1 << 18)],
               [(4096, 32), (256, 1024), (4, 1 << 16)], [(4096, 32), (256, 1024), (4, 1 << 15)]]
CPU_GEMM = {False: [("float32", (n, n, n)) for n in (64, 128, 256, 512, 1024, 2048, 4096)]
            + [("float64", (2048, 2048, 2048)), ("float32", (8192, 64, 8192))],
            True: [("float32", (n, n, n)) for n in (64, 128, 256)] + [("float64", (256, 256, 256))]}
OVERHEAD = {"matmul": (16, 16, 16), "reduce": (1024,), "softmax": (4, 64)}


@dataclass
class Selection:
    """The run's filters (command-line flags); dtype None: float32, and a rung's own when it lacks float32."""
    ops: tuple = OPS
    impl_globs: tuple = ()           # empty: every rung
    dtype: Optional[str] = None
    devices: tuple = ("cpu", "cuda")
    sizes: dict = field(default_factory=dict)   # parse_sizes()
    quick: bool = False

    def impl_ok(self, name: str) -> bool:
        return not self.impl_globs or any(fnmatch.fnmatch(name, g) for g in self.impl_globs)

    def sizes_for(self, op: str) -> Optional[list]:   # bare --sizes are matmul's and reduce's
        return self.sizes.get(op, self.sizes.get("all") if op in ("matmul", "reduce") else None)


@dataclass
class Group:
    """One case and the rungs measured on it."""
    suite: str
    case: Case
    impls: list                       # Impl entries, ladder order
    references: list = field(default_factory=list)   # names of the library candidates for % of library
    preferred: tuple = ()             # glob patterns: the library rung proper, when present
    too_slow: str = "scale"           # after a probe: "scale" (measure smaller) or "skip"; "": no probe
    series: str = ""                  # sweep: history key for time estimates across sizes
    budget: Optional[Budget] = None
    skip: dict = field(default_factory=dict)   # impl name -> reason it is listed but not run
    door: str = ""                    # overhead suite: torch | tf | pybind | cupy (a native rung) or the backend


def parse_int(tok: str) -> int:
    """"4096", "1e6", "2^20", "2**20" -> int."""
    base, _, exp = tok.replace("**", "^").partition("^")
    try:
        return int(base) ** int(exp) if exp else int(float(base))
    except ValueError:
        raise ValueError(f"--sizes: cannot read {tok!r} as a size (examples: 4096, 1e6, 2^20)") from None


def parse_sizes(spec: Optional[str]) -> dict:
    """--sizes "1024,2048" (matmul N^3, sum lengths) or "matmul=512x512x4096;reduce=1e6,128x4096x4095:1;..."
    -> {op | "all": [(int or shape, dim or None)]}."""
    out: dict = {}
    for part in filter(None, re.split(r"[;\s]+", (spec or "").strip())):
        key, _, vals = part.rpartition("=")
        if key not in OPS + ("", "sum"):
            raise ValueError(f"--sizes: unknown op {key!r} (use one of {', '.join(OPS)})")
        sizes = out.setdefault({"": "all", "sum": "reduce"}.get(key, key), [])
        for tok, sep, d in (t.lower().partition(":") for t in vals.split(",") if t.strip()):
            try:
                dim = int(d) if sep else None
            except ValueError:
                raise ValueError(f"--sizes: cannot read the dim {d!r} of {tok}:{d} "
                                 "(example: 128x4096x4095:1)") from None
            dims = tuple(parse_int(t) for t in tok.split("x"))
            sizes.append((dims if "x" in tok else dims[0], dim))
    return out


def applicable(impl, case: Case) -> bool:
    """Does this rung implement this problem (op, variant, layout, dtype, precision)?  Else it is left out."""
    return (impl.device == case.device and case.dtype in impl.dtypes
            and impl.precision == case.precision   # TF32 rungs are measured beside TF32 rungs only
            and not (case.op == "reduce" and impl.variants and case.variant not in impl.variants)
            and impl.refusal(case_layout(case)) is None)   # the rung's own precondition (kb::refuses)


def case_layout(case: Case) -> str:
    """The layout class of a case (registry.core.layout_class): what a rung's table line may refuse."""
    if case.op == "matmul":
        return layout_class("matmul", (), batch_m_n=matmul_dims(case.shape)[:3])
    return layout_class(case.op, tuple(case.shape), case.dim)


def reference_candidates(op: str, device: str) -> tuple[list, tuple]:
    """(the library rungs, preferred name patterns): GPU the vendor layer (cuBLAS, CUB), else numpy, torch."""
    impls = list_impls(op, device)
    lib = [i for i in impls if i.layer == "vendor-library"]
    if device == "cuda" and lib:
        return lib, {"matmul": ("cublas*", "*cublas*"), "reduce": ("cub_*", "*cub*")}.get(op, ())
    fw = [i for i in impls if i.layer == "framework"]
    return [i for i in fw if i.backend in ("numpy", "torch")] or fw, ()


def _group(suite: str, case: Case, sel: Selection, budget: Budget, candidates=None, **kw) -> Optional[Group]:
    """The group of `case`: the applicable rungs --impl selects, the library rungs always."""
    impls = candidates if candidates is not None else list_impls(case.op, case.device)
    chosen = [i for i in impls if applicable(i, case) and sel.impl_ok(i.name)]
    if not chosen:
        return None
    refs, preferred = reference_candidates(case.op, case.device)
    refs = [r for r in refs if applicable(r, case)]
    chosen += [r for r in refs if all(r is not c for c in chosen)]
    skip = {i.name: QUICK_SKIP for i in chosen if i.layer == "compiler"} if sel.quick and not sel.impl_globs else {}
    order = {dev: layer_order(dev) for dev in ("cpu", "cuda")}
    chosen.sort(key=lambda i: order[i.device].index(i.layer) if i.layer in order[i.device] else 99)   # stable
    return Group(suite=suite, case=case, impls=chosen, references=[r.name for r in refs],
                 preferred=preferred, budget=budget, skip=skip, **kw)


def _dtype_groups(suite: str, case: Case, sel: Selection, budget: Budget) -> list:
    """The case at the selected dtype (float32 by default), fp32 matmul also at TF32 math; with no dtype
    asked for, at their own for the rungs lacking it (GPU matmul: bf16 first, else SECONDARY_DTYPES)."""
    every = list_impls(case.op, case.device)
    groups = [_group(suite, case, sel, budget)]
    if case.op == "matmul" and case.dtype == "float32" and not case.precision:
        groups.append(_group(suite, replace(case, precision="tf32"), sel, budget))
    order = ("bfloat16", "float16", "float64") if case.op == "matmul" and case.device == "cuda" else SECONDARY_DTYPES
    lacking = [i for i in every if case.dtype not in i.dtypes and sel.impl_ok(i.name)] if sel.dtype is None else []
    for dt in order:
        own = [i for i in lacking if next((d for d in order if d in i.dtypes), None) == dt]
        if case.op == "matmul" and any(i.native for i in own):   # + frameworks and compilers at that dtype
            own += [i for i in every if i.layer in ("framework", "compiler") and dt in i.dtypes and i not in own]
        if own:
            groups.append(_group(suite, replace(case, dtype=dt), sel, budget, candidates=own))
    return [g for g in groups if g]


def _shape(size, n: int) -> tuple:   # a size as a shape: an int N is N repeated n times
    return (size,) * n if isinstance(size, int) else tuple(size)


def _ladder(dev: str, sel: Selection) -> list:
    c, dt = COLUMNS.index((dev, sel.quick)), sel.dtype or "float32"
    return [Case(op, dev, dt, _shape(s, {"matmul": 3, "reduce": 1}.get(op, 2)),
                 variant="sum" if op == "reduce" else None, dim=d if op == "reduce" else None)
            for op in OPS if op in sel.ops for s, d in sel.sizes_for(op) or LADDER["rows" if op in ROW_OPS else op][c]]


def _shapes(dev: str, sel: Selection) -> list:
    c, dt = COLUMNS.index((dev, sel.quick)), sel.dtype or "float32"
    cases = [Case("matmul", dev, dt, shapes[c], trans_a=tag == "A transposed", trans_b=tag == "B transposed", tag=tag)
             for tag, shapes in SHAPES.items()] if "matmul" in sel.ops else []
    if "reduce" in sel.ops:
        cases += [Case("reduce", dev, dt, SHAPES_REDUCE[c], variant=v, dim=d, tag=tag)
                  for v, d, tag in (("sum", 2, "inner dim"), ("sum", 1, "middle dim"), ("sum", 0, "outer dim"),
                                    ("max", 2, "inner dim"), ("argmax", 2, "inner dim"))]
    return cases + [Case(op, dev, dt, rows) for op in ROW_OPS if op in sel.ops for rows in SHAPES_ROWS[c]]


def _sweep(dev: str, sel: Selection) -> list:
    """Size by size, the best native rung and every other non-compiler rung (a compilation per size)."""
    b = BUDGETS[(dev, sel.quick)]
    budget = replace(b, rule=replace(b.rule, budget_s=SWEEP_MEASURE_S[sel.quick]), warmup_s=min(b.warmup_s, 0.05),
                     interleave_s=min(b.interleave_s, 0.5))
    groups = []
    for op, name in (("reduce", "sum"), ("matmul", "matmul")):
        sizes = [s for s, _ in sel.sizes_for(op) or [(n, None) for n in SWEEP[op][sel.quick]] if isinstance(s, int)]
        for n in sizes if op in sel.ops else ():
            case = Case(op, dev, sel.dtype or "float32", _shape(n, 3 if op == "matmul" else 1),
                        variant="sum" if op == "reduce" else None, tag=f"sweep {name}")
            cands = [i for i in list_impls(op, dev) if applicable(i, case)]
            if not sel.impl_globs:
                native = [i for i in cands if i.native]
                cands = [i for i in cands if not i.native and i.layer != "compiler"] + native[-1:]
            groups.append(_group("sweep", case, sel, budget, cands, too_slow="", series=name))
    return groups


def _cpu_gemm(dev: str, sel: Selection) -> list:
    """The best native CPU matmul rung (rank 1 in its table) and the framework layer, size by size."""
    if dev != "cpu" or "matmul" not in sel.ops:
        return []
    cands = [i for i in list_impls("matmul", "cpu") if i.layer == "framework" or i.native and i.rank == 1]
    return [_group("cpu-gemm", Case("matmul", "cpu", dt, shape, tag="cpu-gemm"), sel, BUDGETS[("cpu", sel.quick)],
                   cands, too_slow="") for dt, shape in CPU_GEMM[sel.quick] if sel.dtype in (None, dt)]


def _overhead(dev: str, sel: Selection) -> list:
    """Each native rung's front doors (the first applicable rung) and each other (layer, backend) once."""
    items = []
    for op, shape in OVERHEAD.items():
        case = Case(op, dev, "float32", shape, variant="sum" if op == "reduce" else None, tag="tiny")
        cands = [i for i in list_impls(op, dev) if applicable(i, case) and sel.impl_ok(i.name)] if op in sel.ops else []
        native = [i for i in cands if i.native][:1]
        items += [Group("overhead", case, [i], too_slow="", door=door) for i in native
                  for door in ("torch", "tf", "pybind") + (("cupy",) if dev == "cuda" else ())]
        first: dict = {}
        for i in cands:
            first.setdefault((i.layer, i.backend), i)
        items += [Group("overhead", case, [i], too_slow="", door=i.backend or "numpy")
                  for i in first.values() if not i.native]
    return items


def plan(suites: list, sel: Selection, devices: list) -> tuple[list, list]:
    """(groups, the overhead suite's one-rung groups); `layers` reuses the ladder's groups."""
    groups: list = []
    if {"ladder", "layers"} & set(suites):
        groups += [g for dev in devices for case in _ladder(dev, sel)
                   for g in _dtype_groups("ladder", case, sel, BUDGETS[(dev, sel.quick)])]
    groups += [_group("shapes", case, sel, BUDGETS[(dev, sel.quick)], too_slow="skip")
               for dev in devices for case in _shapes(dev, sel)] if "shapes" in suites else []
    for suite, cases in (("sweep", _sweep), ("cpu-gemm", _cpu_gemm)):
        groups += [g for dev in devices for g in cases(dev, sel)] if suite in suites else []
    overhead = [item for dev in devices for item in _overhead(dev, sel)] if "overhead" in suites else []
    return [g for g in groups if g], overhead
