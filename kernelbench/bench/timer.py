"""The timer: time-budgeted warm-up, repetitions until the median is stable, median and IQR.

Three clocks, one loop:
  CpuTimer       time.perf_counter around each call (CPU work is synchronous).
  CudaEventTimer torch.cuda.Event pairs recorded on the current stream around each repetition,
                 with the L2 cache flushed (a >= 256 MB buffer written) before every repetition.
                 Covers native rungs (torch current stream) and torch / CuPy / Numba rungs, which
                 all run on the default stream unless told otherwise.
  WallSyncTimer  for GPU work on a stream we cannot see (TensorFlow): L2 flush, device sync,
                 perf_counter, call, sync.  Recorded as such in the result ("wall_sync").
The stop rule and the statistics are pure (stats.py); `repeat` takes the clock as an argument so a
fake clock can drive it in the tests.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from .stats import Stats, StopRule, summarize

FLUSH_BYTES = 256 << 20


@dataclass
class Timing:
    stats: Stats
    timer: str                   # "perf_counter" | "cuda_events" | "wall_sync"
    stop: str                    # why the repetitions stopped: stable | budget | max_reps
    warmup_reps: int
    warmup_s: float
    l2_flush: bool
    samples: list = field(default_factory=list)

    def to_dict(self, keep_samples: bool = True) -> dict:
        d = {"timer": self.timer, "stop": self.stop, "warmup_reps": self.warmup_reps,
             "warmup_s": self.warmup_s, "l2_flush": self.l2_flush, **self.stats.to_dict()}
        if keep_samples:
            d["samples"] = list(self.samples)
        return d


def repeat(run_rep: Callable[[], float], rule: StopRule,
           now: Callable[[], float] = time.perf_counter) -> tuple[list, str]:
    """Call `run_rep` (which returns one repetition's duration in seconds) until `rule` says stop."""
    samples: list[float] = []
    start = now()
    while True:
        samples.append(float(run_rep()))
        reason = rule.check(samples, now() - start)
        if reason:
            return samples, reason


def warm_up(call: Callable[[], object], sync: Callable[[], None], budget_s: float,
            min_calls: int = 1, max_calls: int = 10_000,
            now: Callable[[], float] = time.perf_counter) -> tuple[int, float]:
    """Call until `budget_s` has elapsed (at least `min_calls` times).  Returns (calls, seconds)."""
    start = now()
    n = 0
    while n < min_calls or (now() - start < budget_s and n < max_calls):
        call()
        sync()
        n += 1
    return n, now() - start


class CpuTimer:
    name = "perf_counter"
    l2_flush = False

    def __init__(self, now: Callable[[], float] = time.perf_counter):
        self.now = now

    def sync(self) -> None:
        return None

    def rep(self, call: Callable[[], object]) -> float:
        t0 = self.now()
        call()
        return self.now() - t0


_FLUSH_BUFFERS: dict = {}


def flush_buffer(device):
    """The buffer written before each GPU repetition: max(256 MB, 4 x L2), int32, on `device`."""
    import torch
    dev = torch.device(device)
    key = (dev.type, dev.index if dev.index is not None else torch.cuda.current_device())
    if key not in _FLUSH_BUFFERS:
        l2 = getattr(torch.cuda.get_device_properties(key[1]), "L2_cache_size", 0) or 0
        nbytes = max(FLUSH_BYTES, 4 * int(l2))
        _FLUSH_BUFFERS[key] = torch.empty(nbytes // 4, dtype=torch.int32, device=f"cuda:{key[1]}")
    return _FLUSH_BUFFERS[key]


def release_flush_buffers() -> None:
    _FLUSH_BUFFERS.clear()


class CudaEventTimer:
    """CUDA events on torch's current stream around each repetition; L2 flushed before each."""
    name = "cuda_events"

    def __init__(self, device="cuda", flush: bool = True):
        import torch
        self.torch = torch
        self.l2_flush = flush
        self.buf = flush_buffer(device) if flush else None

    def sync(self) -> None:
        self.torch.cuda.synchronize()

    def rep(self, call: Callable[[], object]) -> float:
        torch = self.torch
        if self.buf is not None:
            self.buf.zero_()
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3


class WallSyncTimer:
    """GPU work whose stream we cannot record events on (TensorFlow): flush, sync, wall clock, sync."""
    name = "wall_sync"

    def __init__(self, device_sync: Callable[[], None], device="cuda", flush: bool = True,
                 now: Callable[[], float] = time.perf_counter):
        self.device_sync = device_sync
        self.now = now
        self.l2_flush = flush
        self.buf = None
        if flush:
            try:
                self.buf = flush_buffer(device)
            except Exception:  # no torch on this box: time without the flush, and say so
                self.l2_flush = False

    def sync(self) -> None:
        self.device_sync()

    def rep(self, call: Callable[[], object]) -> float:
        if self.buf is not None:
            self.buf.zero_()
            import torch
            torch.cuda.synchronize()
        self.device_sync()
        t0 = self.now()
        call()
        self.device_sync()
        return self.now() - t0


def measure(call: Callable[[], object], timer, rule: StopRule, warmup_s: float,
            min_warmup: int = 1) -> Timing:
    """Warm up for `warmup_s`, then repeat with `timer` until `rule` stops; return the statistics."""
    n_warm, t_warm = warm_up(call, timer.sync, warmup_s, min_calls=min_warmup)
    samples, stop = repeat(lambda: timer.rep(call), rule)
    return Timing(stats=summarize(samples), timer=timer.name, stop=stop, warmup_reps=n_warm,
                  warmup_s=t_warm, l2_flush=timer.l2_flush, samples=samples)


def turn(call: Callable[[], object], sync: Callable[[], None], warmup_s: float, measure_s: float,
         max_calls: int = 2000, now: Callable[[], float] = time.perf_counter, keep_first: bool = False) -> dict:
    """One rung's turn in a round-robin round.  The first calls after another runtime ran pay the
    hand-over (this runtime's parked workers woken, the previous one's still spinning on the other
    core): they are made and thrown away -- at least one, for `warmup_s` -- and only the calls
    after them, for `measure_s` (at least one), are kept.  With `keep_first` (rungs so slow that a
    hand-over is inside the noise of one call) the first call is kept and nothing is thrown away.
    Returns {"first_s": the first call, "warmup_calls": n, "kept": [seconds, ...]}."""
    def one() -> float:
        t0 = now()
        call()
        sync()
        return now() - t0
    start = now()
    first = one()
    if keep_first:    # a slow rung (see Budget.turn_long_call_s): its first call is the turn
        return {"first_s": first, "warmup_calls": 0, "kept": [first]}
    n_warm = 1
    while now() - start < warmup_s and n_warm < max_calls:
        one()
        n_warm += 1
    kept = [one()]
    start = now()
    while now() - start < measure_s and len(kept) < max_calls:
        kept.append(one())
    return {"first_s": first, "warmup_calls": n_warm, "kept": kept}


def host_overhead(call: Callable[[], object], sync: Callable[[], None], calls_per_round: int,
                  rounds: int, device_time: Optional[Callable[[int], float]] = None,
                  now: Callable[[], float] = time.perf_counter) -> dict:
    """Per-call cost for tiny inputs: wall time of `calls_per_round` back-to-back calls (then one
    sync) divided by the count, median over `rounds`; and, on a GPU, the device time per call from
    events around the same loop (`device_time(n)` -> seconds per call).  overhead = wall - device."""
    call()
    sync()
    walls = []
    for _ in range(rounds):
        sync()
        t0 = now()
        for _ in range(calls_per_round):
            call()
        sync()
        walls.append((now() - t0) / calls_per_round)
    wall = summarize(walls)
    out = {"wall_s": wall.median, "wall_iqr_s": wall.iqr, "calls": calls_per_round * rounds}
    if device_time is not None:
        devs = [device_time(calls_per_round) for _ in range(rounds)]
        dev = summarize(devs)
        out["device_s"] = dev.median
        out["overhead_s"] = max(0.0, wall.median - dev.median)
    else:
        out["device_s"] = None
        out["overhead_s"] = None
    return out


def cuda_loop_time(call: Callable[[], object]) -> Callable[[int], float]:
    """device_time(n): CUDA events around n back-to-back calls, seconds per call."""
    import torch

    def device_time(n: int) -> float:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(n):
            call()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / n
    return device_time


def thread_info() -> dict:
    """How many threads CPU work may use (recorded with every CPU timing)."""
    info = {"os_cpu_count": os.cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS")}
    try:
        info["affinity"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        info["affinity"] = None
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.get_num_threads()
    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            info["numba"] = numba.get_num_threads()
        except Exception:
            pass
    return info
