"""Registry data model: `Impl` entries, registration and look-up."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Callable, Optional

# Abstraction layers, lowest first (the order of the ladder).
LAYERS = (
    "handwritten-cuda",   # our CUDA C++ (csrc/cuda), through torch / TF / pybind11
    "numba",              # our Numba kernels (kernelbench/numba_kernels)
    "cupy-nvrtc",         # our CUDA source, compiled at run time by NVRTC through CuPy
    "vendor-library",     # cuBLAS, CUB, cuDNN
    "framework",          # torch / TF eager, numpy
    "compiler",           # torch.compile, tf.function, XLA
    "cpu",                # our CPU C++ (csrc/cpu)
)
OPS = ("matmul", "reduce", "softmax", "log_softmax", "l2norm")
REDUCE_OPS = ("sum", "mean", "max", "min", "argmax", "argmin")
NATIVE_FRONT_DOORS = ("torch", "tf", "pybind")


@dataclass(frozen=True)
class Impl:
    name: str                 # unique per op; identical in file, launcher, C++ table and CLI
    op: str                   # one of OPS
    layer: str                # one of LAYERS
    device: str               # "cpu" or "cuda"
    dtypes: tuple             # numpy-style names: "float32", "float64", "float16", "bfloat16"
    front_doors: tuple        # native: ("torch", "tf", "pybind"); python rungs: their backend
    adds: str                 # one line: what this rung adds over the previous one
    source: str               # repo-relative path of the file that holds it
    variants: tuple = ()      # reduce: which of REDUCE_OPS it supports
    full_only: bool = False   # reduce: whole-tensor reductions only
    dim_only: bool = False    # reduce: reductions along one dim only
    vector_only: bool = False  # matmul: matrix-vector shapes only (M == 1 or N == 1), i.e. GEMV
    # Native rungs: facts read from the C++ kernel table line (csrc/*/*/table.c*, via tables.py).
    table: Optional[bool] = None   # True: present in a C++ kernel table (None: decided by the layer)
    traits: tuple = ()        # C++ traits: whole_only, dim_only, inner_one, inner_many, vector_only, vendor, tf32
    min_arch: int = 0         # minimum compute capability (10*major+minor; 90 = sm_90a); 0: any
    rank: int = 0             # order tried by impl=None (1 first); 0: never a default
    nvrtc: bool = False       # has a launch configuration the CuPy/NVRTC twin repeats
    probes: tuple = ()        # ((layout class, refusal or None), ...): kb::refuses() on one problem per class
    summation: tuple = ()     # reduce: (order along a row, ways, order along a strided dim), kb_tolerance.h
    # Python-level rungs (numba, cupy, frameworks): how to run them.
    #   backend: array type the callable takes ("torch", "tf", "numpy", "cupy", "numba")
    #   fn(*arrays, **kw) -> array, on arrays already on `device` in that backend.
    backend: Optional[str] = None
    fn: Optional[Callable] = field(default=None, compare=False, repr=False)
    available: Optional[Callable[[], Optional[str]]] = field(default=None, compare=False, repr=False)
    note: str = ""            # e.g. "cuDNN through a 1x1 convolution (no cudnn frontend installed)"

    @property
    def native(self) -> bool:
        """Present in a C++ kernel table: compiled into our extensions, reachable by name through
        every front door (vendor rungs behind our launcher contract, like CUB, included)."""
        if self.table is not None:
            return self.table
        return self.layer in ("handwritten-cuda", "cpu")

    @property
    def precision(self) -> str:
        """"tf32": fp32 data, TF32 math (the "tf32" trait) -- measured and checked only beside rungs of
        that precision; "" for every rung that computes in its dtype."""
        return "tf32" if "tf32" in self.traits else ""

    def refusal(self, layout: str) -> Optional[str]:
        """Why this rung refuses a problem of this layout class (see `layout_class`), else None.
        Native rungs answer with what kb::refuses() said on the class's probe problem (the C++ check
        itself); Python-level rungs with their flags (`flag_refusals`)."""
        table = dict(self.probes) if self.probes else flag_refusals(self.op, self.full_only, self.dim_only,
                                                                   self.vector_only)
        return table.get(layout)

    def unavailable_reason(self) -> Optional[str]:
        """None when this rung can run here, else a one-line reason (for 'skipped')."""
        if self.available is not None:
            return self.available()
        return None


# Layout classes: one representative problem each is checked by kb::refuses() (kb_tables.cpp).
LAYOUT_CLASSES = {"matmul": ("matrix", "vector"), "reduce": ("whole", "rows", "columns"),
                  "softmax": ("rows",), "log_softmax": ("rows",), "l2norm": ("rows",)}


def layout_class(op: str, shape: tuple, dim: Optional[int] = None, batch_m_n: Optional[tuple] = None) -> str:
    """The layout class of a problem.  matmul: "vector" when M == 1 or N == 1, else "matrix"
    (pass batch_m_n=(batch, M, N)); reduce: "whole" when outer == inner == 1 (dim=None, or a dim
    with nothing around it), "rows" when the reduced dim is innermost (inner == 1), else "columns";
    row-wise ops: "rows"."""
    if op == "matmul":
        _, m, n = batch_m_n
        return "vector" if min(m, n) == 1 else "matrix"
    if op in ("reduce",) + REDUCE_OPS:
        if dim is None:
            return "whole"
        nd = max(len(shape), 1)
        d = dim + nd if dim < 0 else dim
        outer = inner = 1
        for i, s in enumerate(shape):
            outer *= s if i < d else 1
            inner *= s if i > d else 1
        if outer == 1 and inner == 1:
            return "whole"
        return "rows" if inner == 1 else "columns"
    return "rows"


def flag_refusals(op: str, full_only: bool = False, dim_only: bool = False, vector_only: bool = False,
                  inner_one: bool = False, inner_many: bool = False) -> dict:
    """{layout class: refusal or None} from layout flags, for Python-level rungs.  The meaning of
    each flag is kb::refuses()'s; tests/test_registry.py checks this function agrees with the C++
    probes of every native rung."""
    out = {c: None for c in LAYOUT_CLASSES.get(op, ("rows",))}
    if op == "matmul" and vector_only:
        out["matrix"] = "takes matrix-vector shapes only (M == 1 or N == 1)"
    if op == "reduce":
        if full_only:
            out["rows"] = out["columns"] = "reduces whole tensors only (outer == inner == 1)"
        if dim_only:
            out["whole"] = "reduces along a dim only (not outer == inner == 1)"
        if inner_one:
            out["columns"] = out["columns"] or "reduces the innermost dim only (inner == 1)"
        if inner_many:
            for c in ("whole", "rows"):
                out[c] = out[c] or "reduces a non-innermost dim only (inner > 1)"
    return out


_REGISTRY: list[Impl] = []
_BY_NAME: dict = {}   # (op, name) -> Impl: get_impl runs on every call of a front door


def register(impl: Impl) -> Impl:
    assert impl.op in OPS, impl.op
    assert impl.layer in LAYERS, impl.layer
    assert impl.device in ("cpu", "cuda"), impl.device
    if any(i.name == impl.name and i.op == impl.op for i in _REGISTRY):
        raise ValueError(f"duplicate registry entry {impl.op}/{impl.name}")
    _REGISTRY.append(impl)
    _BY_NAME[(impl.op, impl.name)] = impl
    return impl


# One-line descriptions of the native rungs, keyed by (op, name): the only fact about a native rung
# kept in Python (everything else is its C++ table line; its source path follows from its name).
_DESCRIPTIONS: dict = {}


def describe(op: str, name: str, adds: str) -> None:
    """The prose of a native rung: what it adds, in one line."""
    if (op, name) in _DESCRIPTIONS:
        raise ValueError(f"duplicate description {op}/{name}")
    _DESCRIPTIONS[(op, name)] = adds


def source_of(table_op: str, device: str, name: str, traits: tuple = ()) -> str:
    """A native rung's file, from its table line: csrc/<device>/<folder>/<name less "<device>_">.<cu|cpp>,
    the folder being its table's (matmul; reduce for the reduce, softmax and l2norm tables) or
    library/ for a vendor line (e.g. cuda_NN_x -> csrc/cuda/matmul/NN_x.cu)."""
    folder = "library" if "vendor" in traits else ("matmul" if table_op == "matmul" else "reduce")
    stem = name[len(device) + 1:] if name.startswith(device + "_") else name
    return f"csrc/{device}/{folder}/{stem}.{'cu' if device == 'cuda' else 'cpp'}"


NO_DESCRIPTION = "(no description: add a describe() line in kernelbench/registry/)"


def _summation(line: Optional[dict]) -> tuple:
    return (line["order"], line["ways"], line["columns"]) if line else ()


def _native_reason(device: str, min_arch: int, built: bool) -> Optional[str]:
    if device == "cpu":
        return None
    if not built:
        return "this build has no CUDA kernels (nvcc was not found at build time)"
    try:
        import torch
    except ImportError:
        return "no CUDA device (torch is not installed to look for one)"
    if not torch.cuda.is_available():
        return "no CUDA device"
    major, minor = torch.cuda.get_device_capability()
    if min_arch == 90 and (major, minor) != (9, 0):   # sm_90a code (wgmma, TMA) runs on sm_90 only
        return f"needs {arch_name(min_arch)} (this GPU is sm_{major}{minor})"
    if min_arch and 10 * major + minor < min_arch:
        return f"needs {arch_name(min_arch)} (this GPU is sm_{major}{minor})"
    return None


def arch_name(min_arch: int) -> str:
    """80 -> "sm_80"; 90 -> "sm_90a" (our sm_90 code uses the arch-specific wgmma/TMA features)."""
    return f"sm_{min_arch}" + ("a" if min_arch == 90 else "")


def register_tables(tables: dict) -> list:
    """Register one entry per C++ kernel table line (softmax lines serve softmax and log_softmax),
    with the description from describe().  Returns the descriptions that have no table line."""
    import functools
    cuda_built = bool(tables.get("cuda_built"))
    for k in tables.get("kernels", ()):
        ops = ("softmax", "log_softmax") if k["op"] == "softmax" else (k["op"],)
        traits = tuple(k["traits"])
        layer = "vendor-library" if "vendor" in traits else ("cpu" if k["device"] == "cpu" else "handwritten-cuda")
        for op in ops:
            register(Impl(
                name=k["name"], op=op, layer=layer, device=k["device"], dtypes=tuple(k["dtypes"]),
                front_doors=NATIVE_FRONT_DOORS, adds=_DESCRIPTIONS.get((op, k["name"]), NO_DESCRIPTION),
                source=source_of(k["op"], k["device"], k["name"], traits), variants=tuple(k["variants"]),
                full_only="whole_only" in traits, dim_only="dim_only" in traits,
                vector_only="vector_only" in traits, table=True, traits=traits, min_arch=k["min_arch"],
                rank=k["rank"], nvrtc=k["nvrtc"], probes=tuple(sorted(k["probes"].items())),
                summation=_summation(k.get("summation")),
                available=functools.partial(_native_reason, k["device"], k["min_arch"],
                                            k["device"] == "cpu" or cuda_built)))
    registered = {(i.op, i.name) for i in _REGISTRY if i.native}
    return sorted(key for key in _DESCRIPTIONS if key not in registered)


def list_impls(op: Optional[str] = None, device: Optional[str] = None, layer: Optional[str] = None,
               name: Optional[str] = None) -> list[Impl]:
    """Registry entries filtered by op, device, layer and a glob on the name."""
    out = []
    for i in _REGISTRY:
        if op is not None and i.op != op and not (op in REDUCE_OPS and i.op == "reduce" and op in i.variants):
            continue
        if device is not None and i.device != device:
            continue
        if layer is not None and i.layer != layer:
            continue
        if name is not None and not fnmatch.fnmatch(i.name, name):
            continue
        out.append(i)
    return out


def get_impl(op: str, name: str) -> Impl:
    base = "reduce" if op in REDUCE_OPS else op
    found = _BY_NAME.get((base, name))
    if found is not None:
        return found
    known = ", ".join(i.name for i in _REGISTRY if i.op == base)
    raise ValueError(f"impl: no {base} implementation named {name!r}; known: {known}")
