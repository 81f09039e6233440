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
    # Python-level rungs (numba, cupy, frameworks): how to run them.
    #   backend: array type the callable takes ("torch", "tf", "numpy", "cupy", "numba")
    #   fn(*arrays, **kw) -> array, on arrays already on `device` in that backend.
    backend: Optional[str] = None
    fn: Optional[Callable] = field(default=None, compare=False, repr=False)
    available: Optional[Callable[[], Optional[str]]] = field(default=None, compare=False, repr=False)
    note: str = ""            # e.g. "cuDNN through a 1x1 convolution (no cudnn frontend installed)"

    @property
    def native(self) -> bool:
        """Compiled into our extensions and reachable by name through every front door."""
        return self.layer in ("handwritten-cuda", "cpu")

    def unavailable_reason(self) -> Optional[str]:
        """None when this rung can run here, else a one-line reason (for 'skipped')."""
        if self.available is not None:
            return self.available()
        return None


_REGISTRY: list[Impl] = []


def register(impl: Impl) -> Impl:
    assert impl.op in OPS, impl.op
    assert impl.layer in LAYERS, impl.layer
    assert impl.device in ("cpu", "cuda"), impl.device
    if any(i.name == impl.name and i.op == impl.op for i in _REGISTRY):
        raise ValueError(f"duplicate registry entry {impl.op}/{impl.name}")
    _REGISTRY.append(impl)
    return impl


def native(name, op, device, dtypes, adds, source, **kw) -> Impl:
    """Register a rung compiled into the extensions (csrc/), reachable by every front door."""
    layer = "handwritten-cuda" if device == "cuda" else "cpu"
    return register(Impl(name=name, op=op, layer=layer, device=device, dtypes=tuple(dtypes),
                         front_doors=NATIVE_FRONT_DOORS, adds=adds, source=source, **kw))


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
    for i in _REGISTRY:
        if i.op == base and i.name == name:
            return i
    known = ", ".join(i.name for i in _REGISTRY if i.op == base)
    raise ValueError(f"impl: no {base} implementation named {name!r}; known: {known}")
