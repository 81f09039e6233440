"""A benchmark case (op, shape, dtype, device), its seeded random inputs, its fp64 reference and
the check of a rung's output against it.

Inputs are uniform random (never zeros), seeded from the case key, so every rung of a case sees
the same data and every run the same structure.  With torch installed they are made by torch on
the case's device (and the reference is computed there, in fp64); without it, by numpy.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Optional

import numpy as np

from . import figures
from .. import tolerance


class Skip(Exception):
    """The case or the rung cannot run here; the message is the reason."""


@dataclass(frozen=True)
class Case:
    op: str                         # matmul | reduce | softmax | log_softmax | l2norm
    device: str                     # cpu | cuda
    dtype: str
    shape: tuple                    # matmul: (M, N, K) or (batch, M, N, K); others: the input's shape
    variant: Optional[str] = None   # reduce: sum | mean | max | min | argmax | argmin
    dim: Optional[int] = None       # reduce: None = every element
    keepdim: bool = False
    trans_a: bool = False           # matmul: A passed as the transposed view of a contiguous (K, M)
    trans_b: bool = False           # matmul: B passed as the transposed view of a contiguous (N, K)
    tag: str = ""                   # shapes suite: "tall-skinny", ...; sweep: the series
    note: str = ""                  # e.g. "measured at 512^3: too slow at 2048^3"
    precision: str = ""             # matmul: "tf32" = fp32 data, TF32 math: only rungs of that precision

    # ---------------------------------------------------------------- names
    @property
    def opname(self) -> str:
        return f"reduce.{self.variant}" if self.op == "reduce" else self.op

    @property
    def shape_str(self) -> str:
        if self.op == "matmul":
            b, m, n, k = figures.matmul_dims(self.shape)
            s = f"{m}x{n}x{k}"
            if len(self.shape) == 4:
                s = f"{b}x[{s}]"
            return s + ("" if not (self.trans_a or self.trans_b) else
                        "/" + ("At" if self.trans_a else "") + ("Bt" if self.trans_b else ""))
        return "x".join(str(d) for d in self.shape)

    @property
    def key(self) -> str:
        """Stable identity of the problem (for compare, tables and merging result files)."""
        k = f"{self.opname}/{self.device}/{self.dtype}/{self.shape_str}"
        if self.precision:
            k += f"/{self.precision}"
        if self.op == "reduce":
            k += f"/dim={self.dim}" + ("/keepdim" if self.keepdim else "")
        return k

    @property
    def label(self) -> str:
        """Short human label: "matmul 2048x2048x2048", "sum 2^26", "sum dim=1 of (32, 2048, 1023)"."""
        if self.op == "matmul":
            b, m, n, k = figures.matmul_dims(self.shape)
            s = f"matmul {m}x{n}x{k}" + (f" x{b} batch" if len(self.shape) == 4 else "")
            if self.precision:
                s += f" ({self.precision.upper()} math)"
            if self.trans_a or self.trans_b:
                s += " (" + " ".join(x for x, t in (("A^T", self.trans_a), ("B^T", self.trans_b)) if t) + ")"
        elif self.op == "reduce":
            n = self.numel
            if self.dim is None and len(self.shape) == 1:
                p = math.log2(n) if n else 0
                size = f"2^{int(p)}" if n and p == int(p) else f"{n:,}"
                s = f"{self.variant} {size}"
            elif self.dim is None:
                s = f"{self.variant} {tuple(self.shape)}"
            else:
                s = f"{self.variant} dim={self.dim} of {tuple(self.shape)}"
        else:
            s = f"{self.op} rows of {tuple(self.shape)}"
        if self.tag:
            s += f" — {self.tag}"
        return s

    @property
    def numel(self) -> int:
        return int(math.prod(self.shape)) if self.op != "matmul" else 0

    # ---------------------------------------------------------------- figures
    @property
    def flops(self) -> float:
        return figures.flop_count(self.op, self.shape, self.dim, self.variant)

    @property
    def nbytes(self) -> float:
        return figures.byte_count(self.op, self.shape, self.dtype, self.dim, self.variant)

    @property
    def metric(self) -> str:
        return figures.primary_metric(self.op, self.shape)

    @property
    def seed(self) -> int:
        return zlib.crc32(self.key.encode()) & 0x7FFFFFFF

    def scaled(self, factor: int, note: str = "") -> "Case":
        """The same problem with fewer elements: matmul dims / factor, else the largest kept dim /
        factor^3 (the work of a matmul shrinks like factor^3)."""
        dims = list(self.shape)
        if self.op == "matmul":
            dims[len(dims) - 3:] = [max(1, d // factor) for d in dims[len(dims) - 3:]]   # not the batch
        else:
            i = max([j for j in range(len(dims)) if j != self.dim] or [0], key=lambda j: dims[j])
            dims[i] = max(1, dims[i] // factor ** 3)
        return replace(self, shape=tuple(dims), note=note)

    def to_dict(self) -> dict:
        d = {**asdict(self), "shape": list(self.shape)}
        if not self.precision:
            del d["precision"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Case":
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d and f.name != "shape"},
                   shape=tuple(d["shape"]))


# --------------------------------------------------------------------------------------- inputs
def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _uniform(shape, dtype: str, device: str, seed: int, lo: float, hi: float):
    """Uniform [lo, hi) in `dtype`: torch on the device when torch is importable, else numpy."""
    torch = _torch()
    if torch is not None:
        g = torch.Generator(device=device)
        g.manual_seed(seed)
        gen_dtype = torch.float64 if dtype == "float64" else torch.float32
        x = torch.rand(tuple(shape), generator=g, device=device, dtype=gen_dtype)
        x.mul_(hi - lo).add_(lo)
        if dtype not in ("float64", "float32"):
            x = x.to(getattr(torch, dtype))
        return x
    if device != "cpu":
        raise Skip("torch is needed to make inputs on a GPU")
    if dtype == "bfloat16":
        raise Skip("bfloat16 inputs need torch")
    rng = np.random.default_rng(seed)
    x = rng.random(tuple(shape), dtype=np.float64 if dtype == "float64" else np.float32)
    x *= hi - lo
    x += lo
    return x.astype(dtype, copy=False)


def _t(x):
    """Transpose the last two dims (a view)."""
    return x.transpose(-1, -2) if is_torch(x) else x.swapaxes(-1, -2)


def make_inputs(case: Case) -> list:
    """The master inputs of a case (torch tensors on its device, or numpy arrays)."""
    s = case.seed
    if case.op == "matmul":
        b, m, n, k = figures.matmul_dims(case.shape)
        lead = (b,) if len(case.shape) == 4 else ()
        a = _t(_uniform(lead + (k, m), case.dtype, case.device, s, -1, 1)) if case.trans_a else \
            _uniform(lead + (m, k), case.dtype, case.device, s, -1, 1)
        bb = _t(_uniform(lead + (n, k), case.dtype, case.device, s + 1, -1, 1)) if case.trans_b else \
            _uniform(lead + (k, n), case.dtype, case.device, s + 1, -1, 1)
        return [a, bb]
    if case.op in ("softmax", "log_softmax"):
        return [_uniform(case.shape, case.dtype, case.device, s, -4, 4)]
    return [_uniform(case.shape, case.dtype, case.device, s, -1, 1)]


# ------------------------------------------------------------------------------------ reference
@dataclass
class Reference:
    value: Any               # fp64 result (for argmax/argmin: the max/min values)
    tol: Any                 # elementwise or scalar tolerance (same namespace)
    scale: dict              # the scalars the tolerance was built from (recorded in the result)


def _xp(x):
    """The array namespace of x: torch or numpy (both have sqrt, exp, log, abs, isnan)."""
    return __import__("torch") if is_torch(x) else np


def _f64(x):
    if is_torch(x):
        import torch
        return x.to(torch.float64)
    return np.asarray(x, dtype=np.float64)


def reduce64(x, how: str, dim=None, keepdim: bool = False):
    """sum | amax | amin | argmax | argmin of x (numpy or torch, on its device) along dim (None: all)."""
    if is_torch(x):
        import torch
        if dim is None:
            r = getattr(torch, how)(x)
            return r.reshape([1] * x.ndim) if keepdim else r
        return getattr(torch, how)(x, dim=dim, keepdim=keepdim)
    return np.asarray(getattr(np, {"amax": "max", "amin": "min"}.get(how, how))(x, axis=dim, keepdims=keepdim))


def fp64_result(op: str, inputs: list, variant: Optional[str] = None, dim=None, keepdim: bool = False):
    """THE reference: the op computed in float64 from the very values the kernel saw (numpy or torch,
    on their device) -- the benchmark's check and kernelbench.testing both compare against it.
    reduce argmax / argmin: the indices (first of ties)."""
    x = _f64(inputs[0])
    xp = _xp(x)
    if op == "matmul":
        return x @ _f64(inputs[1])
    if op == "reduce":
        if variant in ("sum", "mean"):
            s = reduce64(x, "sum", dim, keepdim)
            n = int(math.prod(x.shape)) if dim is None else x.shape[dim]
            return s / n if variant == "mean" else s
        return reduce64(x, {"max": "amax", "min": "amin"}.get(variant, variant), dim, keepdim)
    if op in ("softmax", "log_softmax"):
        z = x - reduce64(x, "amax", -1, True)
        out = z - xp.log(reduce64(xp.exp(z), "sum", -1, True))
        return out if op == "log_softmax" else xp.exp(out)
    if op == "l2norm":
        return xp.sqrt(reduce64(x * x, "sum", -1))
    raise ValueError(f"op: unknown {op!r}")


def _scalar(x) -> float:
    return float(x.item() if hasattr(x, "item") else x)


def reference(case: Case, inputs: list) -> Reference:
    """fp64 result of the case and the tolerance each output element is allowed."""
    dt, x = case.dtype, inputs[0]
    xp = _xp(x)
    if case.op == "matmul":
        c = fp64_result("matmul", inputs)
        k = figures.matmul_dims(case.shape)[3]
        ra, rb = (_scalar(xp.sqrt(reduce64(_f64(t) ** 2, "sum") / max(1, math.prod(t.shape)))) for t in inputs)
        return Reference(c, tolerance.matmul_tol(dt, k, ra, rb, abs(c), precision=case.precision),
                         {"k": k, "rms_a": ra, "rms_b": rb})
    if case.op == "reduce":
        v, dim = case.variant, case.dim
        n = case.numel if dim is None else case.shape[dim]
        if v in ("sum", "mean"):
            s = fp64_result("reduce", inputs, v, dim, case.keepdim and dim is not None)
            l2 = xp.sqrt(reduce64(_f64(x) ** 2, "sum", dim, case.keepdim and dim is not None))
            return Reference(s, tolerance.sum_tol(dt, n, l2 / n if v == "mean" else l2, abs(s)), {"n": n})
        m = fp64_result("reduce", inputs, {"argmax": "max", "argmin": "min"}.get(v, v), dim,
                        case.keepdim and v in ("max", "min"))
        return Reference(m, 0.0 * abs(m), {"n": n, "exact": True})
    n = case.shape[-1]
    out = fp64_result(case.op, inputs)
    if case.op in ("softmax", "log_softmax"):
        max_abs = _scalar(abs(_f64(x)).max())
        return Reference(out, tolerance.softmax_tol(dt, n, max_abs, abs(out), case.op == "log_softmax"),
                         {"n": n, "max_abs_x": max_abs})
    return Reference(out, tolerance.l2norm_tol(dt, n, abs(out)), {"n": n})


# ---------------------------------------------------------------------------------------- check
@dataclass
class Check:
    ok: bool
    max_abs_err: Optional[float]
    err_ratio: Optional[float]       # max over elements of |err| / tol (<= 1 passes)
    reason: str = ""


def _numel(x) -> int:
    return int(math.prod(x.shape)) if hasattr(x, "shape") else 1


def _gather(x, idx, dim):
    """x[idx] along dim (idx holds indices into that dim), or into the flattened x (dim None)."""
    if dim is None:
        flat = idx.reshape(-1)
        return x.reshape(-1)[flat.to(__import__("torch").int64) if is_torch(x) else flat.astype("int64")].reshape(idx.shape)
    if is_torch(x):
        import torch
        return torch.gather(x, dim, idx.to(torch.int64).unsqueeze(dim)).squeeze(dim)
    return np.take_along_axis(x, np.expand_dims(np.asarray(idx).astype(np.int64), dim), axis=dim).squeeze(dim)


def check(case: Case, inputs: list, ref: Reference, out) -> Check:
    """Compare a rung's output (already in the namespace and on the device of the inputs) with
    the reference.  A wrong shape, a NaN where the reference has none, or any element beyond its
    tolerance fails."""
    want, got_shape = tuple(ref.value.shape), tuple(out.shape)
    if case.op == "reduce" and case.variant in ("argmax", "argmin"):
        kept = want[:case.dim] + (1,) + want[case.dim:] if case.keepdim and case.dim is not None else want
        if got_shape not in (want, kept):
            return Check(False, None, None, f"output shape {got_shape}, expected {want}")
        o = out.reshape(want)
        n_idx = case.numel if case.dim is None else case.shape[case.dim]
        lo, hi = (_scalar(o.min()), _scalar(o.max())) if _numel(o) else (0, 0)
        if lo < 0 or hi >= n_idx:
            return Check(False, None, None, f"index out of range [{lo}, {hi}] for length {n_idx}")
        got = _f64(_gather(inputs[0], o, case.dim))
        err = _scalar(abs(got - ref.value).max()) if _numel(got) else 0.0
        return Check(err == 0.0, err, 0.0 if err == 0 else math.inf,
                     "" if err == 0 else "the selected element is not the extremum")
    if got_shape != want:
        return Check(False, None, None, f"output shape {got_shape}, expected {want}")
    if _numel(out) == 0:
        return Check(True, 0.0, 0.0)
    diff = abs(_f64(out) - ref.value)
    if bool(_xp(diff).isnan(diff).any()):
        return Check(False, math.nan, math.inf, "NaN in the output")
    err, tol = _scalar(diff.max()), ref.tol
    if hasattr(tol, "shape") and tuple(tol.shape) == tuple(diff.shape):
        ratio = _scalar((diff / (tol.clamp_min(1e-300) if is_torch(tol) else np.maximum(tol, 1e-300))).max())
    else:
        ratio = tolerance.err_ratio(err, _scalar(tol))
    ok = ratio <= 1.0 or err == 0.0
    return Check(ok, err, ratio, "" if ok else f"max error {err:.3g} is {ratio:.3g}x the tolerance")
