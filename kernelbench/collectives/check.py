"""Correctness of every rung against a float64 reference: each rank's input is made from (seed,
rank), so every rank computes the reference of the whole world by itself.

Tolerance of a sum: n terms added in any order with n-1 roundings err by at most
(n-1) * u * sum_i |x_i| per element (u: the dtype's unit roundoff) -- we allow twice that.
max / min must be exact, and so must a sum of integer-valued inputs (small integers: every
partial sum is representable, bf16 included)."""
from __future__ import annotations

import torch

from . import RUNGS, all_gather, all_reduce, reduce_scatter, rung, supports
from .world import CollectiveFault, CollectiveMismatch

UNIT_ROUNDOFF = {torch.float32: 2.0 ** -24, torch.float64: 2.0 ** -53, torch.bfloat16: 2.0 ** -8}
SIZES = (0, 1, 7)          # + sizes not divisible by the world size, added per world (sizes())


def sizes(world_size: int) -> list:
    """Empty, 1, 7, and sizes not divisible by the world size (small and a few chunks' worth)."""
    return sorted(set(SIZES) | {4 * world_size + 1, 1000 * world_size + world_size // 2 + 1, 65537})


def make_input(numel: int, dtype, rank: int, seed: int, integer: bool) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * 1_000_003 + rank * 7919 + numel)
    if integer:
        x = torch.randint(-8, 9, (numel,), generator=g, dtype=torch.int64).double()
    else:
        x = torch.rand(numel, generator=g, dtype=torch.float64) * 2 - 1
    return x.to(dtype)


def reference(numel: int, dtype, op: str, size: int, seed: int, integer: bool):
    """(the op over every rank's input in float64, sum of |x| over the ranks)."""
    xs = torch.stack([make_input(numel, dtype, r, seed, integer).double() for r in range(size)])
    ref = {"sum": lambda: xs.sum(0), "max": lambda: xs.max(0).values, "min": lambda: xs.min(0).values}[op]()
    return ref, xs.abs().sum(0)


STATUS = ("ok", "failed", "error")


def _gather_reference(numel: int, dtype, size: int, seed: int, integer: bool, owned):
    """What an all-gather leaves on every rank: rank r's input at owned(numel, r, size)."""
    ref = torch.zeros(numel, dtype=torch.float64)
    for r in range(size):
        sl = owned(numel, r, size)
        ref[sl] = make_input(numel, dtype, r, seed, integer).double()[sl]
    return ref


def check_one(w, name: str, op: str, dtype, numel: int, integer: bool, seed: int = 0, run=None,
              agree: bool = True, collective: str = "all_reduce") -> dict:
    """Run one rung once and judge it on every rank; the verdict is agreed over the ranks (unless
    `agree` is False: run_checks agrees on all its cases at once).  `run(x, op)` replaces the rung
    (the checker's own tests).  reduce_scatter is judged on this rank's shard; all_gather starts
    from each rank's input at its own shard (zeros elsewhere) and must move the values exactly."""
    x = make_input(numel, dtype, w.rank, seed, integer).to(w.device)
    status, reason, err_ratio, max_err = "ok", "", 0.0, 0.0
    try:
        exact = integer or op != "sum" or w.size == 1
        if collective == "all_gather":
            own = rung(name).owned(numel, w.rank, w.size)
            mine = x.clone()
            x.zero_()
            x[own] = mine[own]
            got = all_gather(x, name, w).double().cpu()
            ref, abs_sum, exact = _gather_reference(numel, dtype, w.size, seed, integer, rung(name).owned), None, True
        else:
            if run is not None:
                out = run(x, op)
            else:
                out = (all_reduce if collective == "all_reduce" else reduce_scatter)(x, op, name, w)
            got = out.double().cpu()
            ref, abs_sum = reference(numel, dtype, op, w.size, seed, integer)
            if collective == "reduce_scatter":
                own = rung(name).owned(numel, w.rank, w.size)
                ref, abs_sum = ref[own], abs_sum[own]
        if got.shape != ref.shape:
            raise ValueError(f"returned {tuple(got.shape)} elements where {tuple(ref.shape)} were expected")
        if got.numel():
            err = (got - ref).abs()
            max_err = float(err.max())
            if exact:
                err_ratio = float("inf") if max_err > 0 else 0.0
            else:
                tol = 2 * (w.size - 1) * UNIT_ROUNDOFF[dtype] * abs_sum + 1e-300
                err_ratio = float((err / tol).max())
        if not err_ratio <= 1.0:
            status, reason = "failed", f"max error {max_err:.3g} ({'must be exact' if exact else f'{err_ratio:.3g} x tolerance'})"
    except (CollectiveFault, CollectiveMismatch):
        raise
    except Exception as exc:                       # a rung that raises is an error, the world goes on
        status, reason = "error", f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    r = {"rung": name, "collective": collective, "op": op, "dtype": str(dtype).replace("torch.", ""), "numel": numel,
         "integer": integer, "status": status, "reason": reason, "max_abs_err": max_err, "err_ratio": err_ratio}
    return agree_on(w, [r])[0] if agree else r


def agree_on(w, results: list) -> list:
    """Every rank's verdicts replaced by the worst over the ranks (one small all-reduce)."""
    mine = [STATUS.index(r["status"]) for r in results]
    worst = w.max_over_ranks(mine)
    for r, v, m in zip(results, worst, mine):
        if v != m:
            r["status"], r["reason"] = STATUS[v], f"{STATUS[v]} on another rank"
    return results


def run_checks(w, rungs=None, ops=("sum", "max", "min"), dtypes=(torch.float32, torch.float64, torch.bfloat16),
               numels=None, integer=(False, True)) -> list:
    out = []
    for name in rungs or RUNGS:
        for coll in (c for c in ("all_reduce", "reduce_scatter", "all_gather") if supports(name, c)):
            for op in ops if coll != "all_gather" else ops[:1]:
                for dt in dtypes:
                    for n in numels if numels is not None else sizes(w.size):
                        for integ in integer:
                            out.append(check_one(w, name, op, dt, n, integ, agree=False, collective=coll))
    return agree_on(w, out)
