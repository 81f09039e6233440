"""A benchmark case (op, shape, dtype, device): its FLOP and byte counts and rates, its seeded random
inputs (torch tensors on its device when torch is installed, else numpy arrays: both take the same
calls), THE fp64 reference (computed where the inputs are) and the check of a rung's output against it.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, NamedTuple, Optional

import numpy as np

from .. import tolerance


class Skip(Exception):
    """The case or the rung cannot run here; the message is the reason."""


def matmul_dims(shape) -> tuple[int, int, int, int]:
    """(batch, M, N, K) from a matmul case shape (M, N, K) or (batch, M, N, K)."""
    if len(shape) not in (3, 4):
        raise ValueError(f"matmul shape: expected (M, N, K) or (batch, M, N, K), got {shape}")
    return tuple(shape) if len(shape) == 4 else (1, *shape)


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

    @property
    def shape_str(self) -> str:
        if self.op != "matmul":
            return "x".join(map(str, self.shape))
        b, m, n, k = matmul_dims(self.shape)
        s = f"{b}x[{m}x{n}x{k}]" if len(self.shape) == 4 else f"{m}x{n}x{k}"
        return s + ("/" + "At" * self.trans_a + "Bt" * self.trans_b if self.trans_a or self.trans_b else "")

    @property
    def key(self) -> str:
        """Stable identity of the problem (compare, tables, merging result files)."""
        op = f"reduce.{self.variant}" if self.op == "reduce" else self.op
        key = "/".join(filter(None, (op, self.device, self.dtype, self.shape_str, self.precision)))
        return key + (f"/dim={self.dim}" + "/keepdim" * self.keepdim if self.op == "reduce" else "")

    @property
    def label(self) -> str:
        """Short human label: "matmul 2048x2048x2048", "sum 2^26", "sum dim=1 of (32, 2048, 1023)"."""
        if self.op == "matmul":
            b, m, n, k = matmul_dims(self.shape)
            s = f"matmul {m}x{n}x{k}" + (f" x{b} batch" if len(self.shape) == 4 else "")
            s += f" ({self.precision.upper()} math)" if self.precision else ""
            s += {(1, 0): " (A^T)", (0, 1): " (B^T)", (1, 1): " (A^T B^T)"}.get((self.trans_a, self.trans_b), "")
        elif self.op == "reduce" and self.dim is None and len(self.shape) == 1:
            n = self.shape[0]
            s = f"{self.variant} " + (f"2^{n.bit_length() - 1}" if n and n & (n - 1) == 0 else f"{n:,}")
        elif self.op == "reduce":
            s = f"{self.variant}" + (f" dim={self.dim} of" if self.dim is not None else "") + f" {tuple(self.shape)}"
        else:
            s = f"{self.op} rows of {tuple(self.shape)}"
        return s + (f" — {self.tag}" if self.tag else "")

    @property
    def flops(self) -> float:
        """Floating-point operations of one call (an FMA counts 2; softmax 5 per element: max,
        subtract, exp, add, scale; l2norm 2: a multiply-add)."""
        if self.op == "matmul":
            return 2.0 * math.prod(self.shape)
        return float(math.prod(self.shape)) * {"reduce": 1, "softmax": 5, "log_softmax": 5, "l2norm": 2}[self.op]

    @property
    def nbytes(self) -> float:
        """Ideal bytes of one call: every operand read once, every output written once (a rung that
        reads A twice gets no credit for it)."""
        s, n = 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize, math.prod(self.shape)
        if self.op == "matmul":
            b, m, n, k = matmul_dims(self.shape)
            return float((m * k + k * n + m * n) * s * b)
        if self.op == "reduce":
            out = 1 if self.dim is None else n // self.shape[self.dim] if self.shape[self.dim] else 0
            return float(n * s + out * (8 if self.variant in ("argmax", "argmin") else s))
        return float(2 * n * s if self.op != "l2norm" else n * s + (n // self.shape[-1] if self.shape[-1] else 0) * s)

    @property
    def metric(self) -> str:
        """"tflops" for matmul, "gbps" for the memory-bound ops and GEMV (M or N of 1)."""
        return "gbps" if self.op != "matmul" or 1 in matmul_dims(self.shape)[1:3] else "tflops"

    def scaled(self, factor: int, note: str = "") -> "Case":
        """The same problem with fewer elements: matmul dims / factor (not the batch), else the
        largest kept dim / factor^3 (the work of a matmul shrinks like factor^3)."""
        dims = list(self.shape)
        if self.op == "matmul":
            dims[-3:] = [max(1, d // factor) for d in dims[-3:]]
        else:
            i = max([j for j in range(len(dims)) if j != self.dim] or [0], key=lambda j: dims[j])
            dims[i] = max(1, dims[i] // factor ** 3)
        return replace(self, shape=tuple(dims), note=note)

    def to_dict(self) -> dict:   # no "precision" key unless TF32: an fp32 case is stored as before TF32 rungs
        d = {**asdict(self), "shape": list(self.shape)}
        return d if self.precision else {k: v for k, v in d.items() if k != "precision"}

    @classmethod
    def from_dict(cls, d: dict) -> "Case":
        return cls(**{**{f.name: d[f.name] for f in fields(cls) if f.name in d}, "shape": tuple(d["shape"])})


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _xp(x):
    """The array namespace of x: torch or numpy (the calls below take the same arguments in both)."""
    return _torch() if is_torch(x) else np


def _uniform(shape, dtype: str, device: str, seed: int, lo: float, hi: float):
    """Uniform [lo, hi) in `dtype` from numpy's generator: a torch tensor on the device when torch is
    importable, else the numpy array."""
    x = np.random.default_rng(seed).random(tuple(shape), np.float64 if dtype == "float64" else np.float32)
    x *= hi - lo       # in place: a GPU ladder's largest input is 8.6 GB on the host before its copy
    x += lo
    if (torch := _torch()) is not None:
        return torch.from_numpy(x).to(device=device, dtype=getattr(torch, dtype))
    if device != "cpu" or dtype == "bfloat16":
        raise Skip(f"torch is needed to make {dtype} inputs on {device}")
    return x.astype(dtype, copy=False)


def make_inputs(case: Case) -> list:
    """The master inputs of a case (torch tensors on its device, or numpy arrays); a transposed
    operand is the swapped view of a contiguous one."""
    seed = zlib.crc32(case.key.encode()) & 0x7FFFFFFF       # every rung of a case, every run: the same data

    def u(shape, offset: int, half: float = 1.0):
        return _uniform(shape, case.dtype, case.device, seed + offset, -half, half)
    if case.op != "matmul":
        return [u(case.shape, 0, 4.0 if case.op in ("softmax", "log_softmax") else 1.0)]
    b, m, n, k = matmul_dims(case.shape)
    lead = (b,) if len(case.shape) == 4 else ()
    a = u(lead + (k, m), 0).swapaxes(-1, -2) if case.trans_a else u(lead + (m, k), 0)
    return [a, u(lead + (n, k), 1).swapaxes(-1, -2) if case.trans_b else u(lead + (k, n), 1)]


def _f64(x):
    return x.double() if is_torch(x) else np.asarray(x, dtype=np.float64)


def fp64_result(op: str, inputs: list, variant: Optional[str] = None, dim=None, keepdim: bool = False):
    """THE reference: the op in float64 from the very values the kernel saw (numpy or torch, on
    their device); the benchmark's check and kernelbench.testing both use it.  argmax / argmin:
    the indices (first of ties)."""
    x = _f64(inputs[0])
    xp = _xp(x)
    if op == "matmul":
        return x @ _f64(inputs[1])
    if op == "reduce":
        fn = {"sum": "sum", "mean": "sum", "max": "amax", "min": "amin"}.get(variant, variant)
        r = getattr(xp, fn)(x, axis=dim, keepdims=keepdim)
        return r / (math.prod(x.shape) if dim is None else x.shape[dim]) if variant == "mean" else r
    if op in ("softmax", "log_softmax"):
        z = x - xp.amax(x, axis=-1, keepdims=True)
        out = z - xp.log(xp.sum(xp.exp(z), axis=-1, keepdims=True))
        return out if op == "log_softmax" else xp.exp(out)
    if op == "l2norm":
        return xp.sqrt(xp.sum(x * x, axis=-1))
    raise ValueError(f"op: unknown {op!r}")


class Reference(NamedTuple):
    value: Any               # fp64 result (argmax / argmin: the max / min values)
    tol: Any                 # the tolerance of each element (same shape and namespace)


def reference(case: Case, inputs: list) -> Reference:
    """fp64 result of the case and the tolerance each output element is allowed (argmax / argmin: the
    extremum, exactly)."""
    dt, x, v, n = case.dtype, _f64(inputs[0]), case.variant, case.shape[-1]
    xp, keep = _xp(x), case.keepdim and v not in ("argmax", "argmin")
    out = fp64_result(case.op, inputs, v and v.removeprefix("arg"), case.dim, keep)
    if case.op == "matmul":
        rms = [float(xp.sqrt(xp.sum(_f64(t) ** 2) / max(1, math.prod(t.shape)))) for t in inputs]
        return Reference(out, tolerance.matmul_tol(dt, n, *rms, abs(out), precision=case.precision))
    if case.op == "l2norm":
        return Reference(out, tolerance.l2norm_tol(dt, n, abs(out)))
    if case.op != "reduce":
        return Reference(out, tolerance.softmax_tol(dt, n, float(abs(x).max()), abs(out), case.op == "log_softmax"))
    if v in ("sum", "mean"):
        n = math.prod(case.shape) if case.dim is None else case.shape[case.dim]
        l2 = xp.sqrt(xp.sum(x * x, axis=case.dim, keepdims=keep))
        return Reference(out, tolerance.sum_tol(dt, n, l2 / n if v == "mean" else l2, abs(out)))
    return Reference(out, 0.0 * abs(out))


@dataclass
class Check:
    ok: bool
    max_abs_err: Optional[float]
    err_ratio: Optional[float]       # max over elements of |err| / tol (<= 1 passes)
    reason: str = ""


def _picked(x, idx, dim):
    """The elements of x that argmax / argmin indices `idx` along `dim` (None: of the flat x) name."""
    idx = idx.long() if is_torch(idx) else np.asarray(idx).astype(np.int64)
    if dim is None:
        return x.reshape(-1)[idx.reshape(-1)].reshape(idx.shape)
    take = _torch().take_along_dim if is_torch(x) else np.take_along_axis
    return take(_xp(x).moveaxis(x, dim, -1), idx[..., None], -1)[..., 0]


def check(case: Case, inputs: list, ref: Reference, out) -> Check:
    """Compare a rung's output (already in the namespace and on the device of the inputs) with the
    reference: a wrong shape, a NaN where the reference has none or any element beyond its
    tolerance fails; argmax / argmin must pick an extremum."""
    want, got = tuple(ref.value.shape), tuple(out.shape)
    arg = case.op == "reduce" and case.variant in ("argmax", "argmin")
    kept = ((1,) * len(case.shape) if case.dim is None else want[:case.dim] + (1,) + want[case.dim:]) \
        if arg and case.keepdim else want
    if got not in (want, kept):
        return Check(False, None, None, f"output shape {got}, expected {want}")
    if math.prod(want) == 0:
        return Check(True, 0.0, 0.0)
    if arg:   # compare the values the indices pick
        out, n = out.reshape(want), math.prod(case.shape) if case.dim is None else case.shape[case.dim]
        lo, hi = float(out.min()), float(out.max())
        if lo < 0 or hi >= n:
            return Check(False, None, None, f"index out of range [{lo}, {hi}] for length {n}")
        out = _picked(inputs[0], out, case.dim)
    diff = abs(_f64(out) - ref.value)
    if bool(_xp(diff).isnan(diff).any()):
        return Check(False, math.nan, math.inf, "NaN in the output")
    err, ratio = float(diff.max()), float((diff / (ref.tol + 1e-300)).max())    # tolerance 0: any error fails
    ratio = math.inf if arg and err else ratio     # an index picks the extremum or not: no degree of wrong
    ok = ratio <= 1.0 or err == 0.0
    why = "the selected element is not the extremum" if arg else f"max error {err:.3g} is {ratio:.3g}x the tolerance"
    return Check(ok, err, ratio, "" if ok else why)
