"""Measured like nccl-tests: per size, a warm-up, then timed repetitions (each after a barrier);
each rank's median, and the size's time t = the max over ranks of the medians.

    algbw = S / t                    S: the buffer's bytes on each rank
    busbw = algbw * 2(n-1)/n         all-reduce (reduce-scatter, all-gather: algbw * (n-1)/n)

busbw is the rate each rank's link must carry for the bandwidth-optimal algorithm, so it can be
set against the hardware's: here the memcpy bandwidth of one rank while every rank copies (the
ceiling for shared-memory Gloo on one machine: every byte on the bus is at least one copy), and at
small sizes against the latency floor (one 8-byte message, half a ping-pong between ranks 0 and 1)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..bench.measure import WallClock, fixed, measure, summarize as measure_stats
from . import RUNGS, rung, supports
from .check import check_one

DEFAULT_MAX_BYTES = {"cpu": 256 << 20, "cuda": 4 << 30}   # nccl-tests' ranges
MIN_BYTES = 8


@dataclass(frozen=True)
class Budget:
    warmup_s: float = 0.05
    measure_s: float = 0.25
    min_reps: int = 5
    max_reps: int = 100
    max_warmup: int = 20


QUICK = Budget(warmup_s=0.01, measure_s=0.04, min_reps=3, max_reps=15, max_warmup=3)


def busbw_factor(collective: str, n: int) -> float:
    if n == 1:
        return 1.0
    return 2 * (n - 1) / n if collective == "all_reduce" else (n - 1) / n


def size_ladder(max_bytes: int, min_bytes: int = MIN_BYTES) -> list:
    out, s = [], min_bytes
    while s <= max_bytes:
        out.append(s)
        s *= 2
    return out


def _sync(w) -> None:
    if w.device.type == "cuda":
        torch.cuda.synchronize(w.device)


def _max_over_ranks(w, v: float) -> float:
    t = torch.tensor([v], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=w.ctrl)
    return float(t)


def memcpy_ceiling(w, nbytes: int = 64 << 20, reps: int = 5) -> float:
    """Bytes copied per second by one rank while every rank copies at once (min over ranks)."""
    src = torch.ones(nbytes // 4, dtype=torch.float32, device=w.device)
    dst = torch.empty_like(src)
    clock = WallClock(before=lambda: dist.barrier(group=w.ctrl))
    t = measure(lambda: dst.copy_(src), lambda: _sync(w), fixed(reps), clock).stats.median
    return nbytes / _max_over_ranks(w, t)


def p2p_latency(w, reps: int = 50) -> float:
    """One-way time of an 8-byte message: half the median ping-pong between ranks 0 and 1."""
    if w.size == 1:
        return 0.0
    buf = torch.zeros(2, dtype=torch.float32, device=w.device)

    def ping_pong() -> None:
        if w.rank == 0:
            dist.send(buf, 1, group=w.group)
            dist.recv(buf, 1, group=w.group)
        elif w.rank == 1:
            dist.recv(buf, 0, group=w.group)
            dist.send(buf, 0, group=w.group)
    dist.barrier(group=w.group)
    t = measure(ping_pong, lambda: _sync(w), fixed(reps), min_warmup=5, max_warmup=5).stats.median
    dist.barrier(group=w.group)
    return _max_over_ranks(w, t / 2 if w.rank == 0 else 0.0)


def time_rung(w, name: str, collective: str, op: str, dtype, nbytes: int, budget: Budget) -> dict:
    """Time one rung's collective at one size (S = nbytes: the whole buffer on each rank) on every
    rank, a barrier before each call; returns the agreed figures (the same on every rank)."""
    numel = nbytes // torch.tensor([], dtype=dtype).element_size()
    x = torch.zeros(numel, dtype=dtype, device=w.device)   # zeros: in-place sums stay finite
    mod = rung(name)
    fn = {"all_reduce": lambda: mod.all_reduce_(x, op, w), "reduce_scatter": lambda: mod.reduce_scatter_(x, op, w),
          "all_gather": lambda: mod.all_gather_(x, w)}[collective]

    def barrier() -> None:
        w.tick()
        dist.barrier(group=w.group)
    clock, sync = WallClock(before=barrier), lambda: _sync(w)
    with w.guard(f"{name} {collective} of {nbytes} B"):
        first = _max_over_ranks(w, measure(fn, sync, fixed(1), clock).seconds[0])
        t_est = max(first, 1e-6)
        # the same counts on every rank (from the agreed first call): a time-based stop would deadlock
        warm = min(budget.max_warmup, int(budget.warmup_s / t_est))
        reps = max(budget.min_reps, min(budget.max_reps, int(budget.measure_s / t_est)))
        samples = measure(fn, sync, fixed(reps), clock, min_warmup=warm, max_warmup=warm).seconds
        gathered = [None] * w.size
        dist.all_gather_object(gathered, samples, group=w.ctrl)
    st = [measure_stats(g) for g in gathered]
    slowest = max(range(w.size), key=lambda r: st[r].median)
    return {"stats": st[slowest], "samples": gathered[slowest], "slowest_rank": slowest, "first_call_s": first,
            "rank_medians_s": [s.median for s in st]}


def verify(w, name: str, collective: str, op: str, dtype) -> dict:
    """The rung's check before it is timed: sizes 1, 7 and one not divisible by the world size."""
    worst = {"status": "ok", "reason": "", "max_abs_err": 0.0, "err_ratio": 0.0}
    for numel in (1, 7, 1000 * w.size + 1):
        for integer in (False, True):
            r = check_one(w, name, op, dtype, numel, integer, seed=1, collective=collective)
            if r["status"] != "ok":
                return r
            worst["max_abs_err"] = max(worst["max_abs_err"], r["max_abs_err"])
            worst["err_ratio"] = max(worst["err_ratio"], r["err_ratio"])
    return worst


def sweep(w, rungs: list, op: str, dtype, sizes: list, budget: Budget, log=print,
          collectives=("all_reduce",)) -> tuple:
    """(facts, entries): every rung verified, then timed at every size, per collective (the rungs
    that have it)."""
    dt = str(dtype).replace("torch.", "")
    facts = {"world_size": w.size, "backend": w.backend, "device": w.device.type, "op": op, "dtype": dt,
             "reduce_rung": w.reduce_rung or "the default CUDA rung"}
    with w.guard("the memcpy and latency probes"):
        facts["ceiling_Bps"] = memcpy_ceiling(w)
        facts["p2p_latency_s"] = p2p_latency(w)
    if w.rank == 0:
        log(f"world {w.size} x {w.backend} on {w.device.type}: memcpy ceiling {facts['ceiling_Bps'] / 1e9:.3g} GB/s "
            f"per rank, one-way 8 B latency {facts['p2p_latency_s'] * 1e6:.3g} µs")
    entries = []
    for coll in collectives:
        names = [n for n in rungs if supports(n, coll)]
        checks = {name: verify(w, name, coll, op, dtype) for name in names}
        for nbytes in sizes:
            w.sync(f"the barrier before {coll} of {nbytes} B")
            for name in names:
                e = new_entry(w, name, coll, op, dt, nbytes, facts)
                c = checks[name]
                e.update(max_abs_err=c["max_abs_err"], err_ratio=c["err_ratio"])
                if c["status"] != "ok":
                    e.update(status=c["status"], reason=c["reason"])
                else:
                    e.update(figures(time_rung(w, name, coll, op, dtype, nbytes, budget), coll, w.size, nbytes, facts))
                entries.append(e)
            if w.rank == 0 and names:
                best = max((e for e in entries[-len(names):] if e["status"] == "ok"), key=lambda e: e["busbw_gbps"],
                           default=None)
                log(f"  {coll} {nbytes:>11,} B  " + (f"best busbw {best['busbw_gbps']:.3g} GB/s ({best['impl']})"
                                                      if best else ""))
    return facts, entries


def new_entry(w, name: str, coll: str, op: str, dt: str, nbytes: int, facts: dict) -> dict:
    mod = rung(name)
    op = None if coll == "all_gather" else op          # an all-gather reduces nothing
    key = f"{coll}{'.' + op if op else ''}/{w.device.type}/{dt}/{nbytes}B/world={w.size}"
    library = [n for n in RUNGS if ("library_all_reduce" if coll == "all_reduce" else "library_rs_ag") in n]
    return {"suite": "collectives", "key": key, "label": f"{coll} {op or ''} {nbytes:,} B x {w.size} ranks",
            "case": {"op": coll, "device": w.device.type, "dtype": dt, "shape": [nbytes], "variant": op,
                     "tag": f"world={w.size}", "note": None},
            "op": coll, "variant": op, "dtype": dt, "device": w.device.type, "series": coll,
            "size": nbytes, "bytes": nbytes, "world_size": w.size, "backend": w.backend,
            "impl": name, "layer": "collectives-library" if "library" in name else "collectives",
            "native": False, "adds": mod.ADDS, "source": mod.SOURCE,
            "role": "reference" if name in library else "rung",
            "library_candidates": library, "library_preferred": [],
            "status": "ok", "reason": "", "metric": "gbps", "figure": "solo",
            "ceiling_gbps": facts["ceiling_Bps"] / 1e9, "floor_s": facts["p2p_latency_s"]}


def figures(timing: dict, coll: str, n: int, nbytes: int, facts: dict) -> dict:
    st = timing["stats"]
    algbw = nbytes / st.median / 1e9
    busbw = algbw * busbw_factor(coll, n)
    return {"median_s": st.median, "q1_s": st.q1, "q3_s": st.q3, "iqr_s": st.iqr, "n": st.n,
            "rel_iqr": st.rel_iqr, "noisy": st.noisy, "first_call_s": timing["first_call_s"],
            "algbw_gbps": algbw, "busbw_gbps": busbw, "gbps": busbw, "value": busbw,
            "pct_ceiling": 100 * busbw * 1e9 / facts["ceiling_Bps"] if facts["ceiling_Bps"] else None,
            "timing": {"timer": "perf_counter", "stop": "budget", "samples": [float(f"{s:.4g}") for s in timing["samples"]],
                       "slowest_rank": timing["slowest_rank"], "rank_medians_s": timing["rank_medians_s"],
                       "method": "barrier, then one call; median per rank; max over ranks"}}
