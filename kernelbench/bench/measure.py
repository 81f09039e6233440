"""The one measurement primitive: every timing in kernelbench is `measure(call, sync, rule, clock)`, a
clock timing n calls and one sync (`WallClock`, or `CudaEvents`), either after flushing the GPU's L2 if
asked.  Also here: the statistics, and who else is busy (quiesce, MachineLoad)."""
from __future__ import annotations

import functools
import math
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

NOISE_THRESHOLD = 0.10   # a row whose IQR / median exceeds this is flagged as noisy
FLUSH_BYTES = 256 << 20


def noop() -> None:
    return None


def median_ci(samples: Sequence[float], z: float = 1.96) -> tuple[float, float]:
    """Distribution-free confidence interval of the median: the order statistics of ranks
    n/2 -+ z sqrt(n)/2 (normal approximation of the binomial); few samples: the whole range."""
    xs = sorted(samples)
    if not xs:
        raise ValueError("no samples")
    n, half = len(xs), z * math.sqrt(len(xs)) / 2.0
    lo = max(0, math.floor(n / 2.0 - half))
    return xs[lo], xs[max(lo, min(n - 1, math.ceil(n / 2.0 + half) - 1))]


@dataclass(frozen=True)
class Stats:
    """Summary of repeated timings, in seconds; rel_iqr is IQR / median, rel_ci the half-width of the
    median's confidence interval / median; noisy: rel_iqr above NOISE_THRESHOLD."""
    median: float
    q1: float
    q3: float
    iqr: float
    min: float
    max: float
    mean: float
    n: int
    ci_lo: float
    ci_hi: float
    rel_iqr: float
    rel_ci: float
    noisy: bool

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("rel_ci", "noisy")}


def summarize(samples: Sequence[float]) -> Stats:
    lo, hi = (float(v) for v in median_ci(samples))      # (ValueError without samples)
    x = np.asarray(samples, dtype=float)
    q1, med, q3 = (float(v) for v in np.quantile(x, (0.25, 0.5, 0.75)))
    rel_iqr, rel_ci = ((q3 - q1) / med, (hi - lo) / (2.0 * med)) if med > 0 else (math.inf, math.inf)
    return Stats(med, q1, q3, q3 - q1, float(x.min()), float(x.max()), float(x.mean()), len(x), lo, hi,
                 rel_iqr, rel_ci, rel_iqr > NOISE_THRESHOLD)


def median(samples: Sequence[float]) -> float:
    return float(np.median(samples))


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of scipy's Mann-Whitney U test (asymptotic) that `a` and `b` come from one
    distribution; 1.0 with fewer than 2 samples a side."""
    if len(a) < 2 or len(b) < 2 or len(set(a) | set(b)) < 2:
        return 1.0
    from scipy.stats import mannwhitneyu
    return float(mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue)


@dataclass(frozen=True)
class StopRule:
    """Stop at `max_reps`; or once `budget_s` has passed with `min_reps` samples (or
    `hard_factor * budget_s` whatever the count); or with `min_reps` samples whose median's CI is
    within `target_rel_ci` of it (None: never)."""
    min_reps: int = 5
    max_reps: int = 200
    budget_s: float = 1.0
    target_rel_ci: Optional[float] = 0.01
    hard_factor: float = 3.0

    def check(self, samples: Sequence[float], elapsed_s: float) -> Optional[str]:
        n = len(samples)
        if n >= self.max_reps:
            return "max_reps"
        if n and elapsed_s >= self.budget_s and (n >= self.min_reps or elapsed_s >= self.hard_factor * self.budget_s):
            return "budget"
        stable = self.target_rel_ci is not None and n >= max(1, self.min_reps)
        return "stable" if stable and summarize(samples).rel_ci <= self.target_rel_ci else None


def fixed(n: int) -> StopRule:
    """Exactly `n` samples."""
    return StopRule(min_reps=n, max_reps=n, budget_s=math.inf, target_rel_ci=None)


@functools.cache
def flush_buffer(device: int):
    """The buffer written before each GPU sample: max(256 MB, 4 x L2) of int32 on CUDA device `device`."""
    import torch
    l2 = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0) or 0
    return torch.empty(max(FLUSH_BYTES, 4 * int(l2)) // 4, dtype=torch.int32, device=f"cuda:{device}")


release_flush_buffers = flush_buffer.cache_clear


class WallClock:
    """perf_counter around n calls and one sync (sync first, so earlier work is not counted);
    `before` (e.g. a barrier of ranks) runs before each sample, outside the timed region."""

    def __init__(self, flush: bool = False, name: str = "perf_counter", now: Callable[[], float] = time.perf_counter,
                 before: Optional[Callable[[], None]] = None):
        self.now, self.name, self.buf, self.before = now, name, None, before
        if flush:
            try:
                import torch
                self.buf = flush_buffer(torch.cuda.current_device())
            except Exception:  # noqa: BLE001 - no torch / GPU here: time without the flush, and say so
                pass

    def time(self, call: Callable[[], object], sync: Callable[[], None], n: int = 1) -> float:
        if self.buf is not None:
            self.buf.zero_()
            sys.modules["torch"].cuda.synchronize()
        if self.before is not None:
            self.before()
        sync()
        t0 = self.now()
        for _ in range(n):
            call()
        sync()
        return (self.now() - t0) / n


class CudaEvents(WallClock):
    """torch.cuda.Event pairs on the current stream around n calls, per call (after the flush: no host sync)."""

    def __init__(self, flush: bool = True):
        super().__init__(flush, "cuda_events")

    def time(self, call: Callable[[], object], sync: Callable[[], None], n: int = 1) -> float:
        if self.buf is not None:
            self.buf.zero_()
        start, end = (sys.modules["torch"].cuda.Event(enable_timing=True) for _ in range(2))
        start.record()
        for _ in range(n):
            call()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / n


@dataclass
class Samples:
    """What `measure` saw: the kept samples (seconds per call), why it stopped, the warm-up."""
    seconds: list
    stop: str
    clock: str
    l2_flush: bool
    warmup_calls: int
    warmup_s: float
    first_s: Optional[float] = None      # the very first call (warm-up or kept)

    @property
    def stats(self) -> Stats:
        return summarize(self.seconds)

    def to_dict(self) -> dict:
        return {"timer": self.clock, "stop": self.stop, "warmup_reps": self.warmup_calls, "warmup_s": self.warmup_s,
                "l2_flush": self.l2_flush, **self.stats.to_dict(), "samples": list(self.seconds)}


def measure(call: Callable[[], object], sync: Callable[[], None] = noop, rule: StopRule = StopRule(),
            clock=None, warmup_s: float = 0.0, min_warmup: int = 0, max_warmup: int = 10_000,
            calls_per_sample: int = 1, now: Callable[[], float] = time.perf_counter) -> Samples:
    """Call (and sync) for `warmup_s` (at least `min_warmup` times), then take samples of
    `calls_per_sample` calls each with `clock` (default: the wall clock) until `rule` stops."""
    clock = clock if clock is not None else WallClock(now=now)
    wall = WallClock(now=now, before=clock.before)   # warm-up: no flush, same barrier
    warm: list = []
    start = now()
    while len(warm) < min_warmup or (now() - start < warmup_s and len(warm) < max_warmup):
        warm.append(wall.time(call, sync))
    t_warm, samples, start = now() - start, [], now()
    while not samples or not (reason := rule.check(samples, now() - start)):
        samples.append(float(clock.time(call, sync, calls_per_sample)))
    return Samples(samples, reason, clock.name, clock.buf is not None, len(warm), t_warm, (warm or samples)[0])


def timed(call: Callable[[], object], sync: Callable[[], None] = noop,
          now: Callable[[], float] = time.perf_counter) -> tuple:
    """(the call's result, seconds of the call and the sync): one call whose output is kept."""
    t0 = now()
    out = call()
    sync()
    return out, now() - t0


def turn(call: Callable[[], object], sync: Callable[[], None], warmup_s: float, measure_s: float,
         max_calls: int = 2000, keep_first: bool = False, now: Callable[[], float] = time.perf_counter) -> Samples:
    """One rung's turn in a round-robin round: the first calls after another runtime ran pay the
    hand-over (its workers woken, the other's still spinning), so calls are thrown away for
    `warmup_s` (at least one) and those of the next `measure_s` (at least one) kept.  `keep_first`
    (a rung so slow that a hand-over is inside one call's noise): the first call is the turn."""
    if keep_first:
        return measure(call, sync, fixed(1), now=now)
    rule = StopRule(min_reps=1, max_reps=max_calls, budget_s=measure_s, target_rel_ci=None, hard_factor=1.0)
    return measure(call, sync, rule, warmup_s=warmup_s, min_warmup=1, max_warmup=max_calls, now=now)


def thread_cpu_ns() -> dict:
    """{thread id: CPU nanoseconds} of this process's threads (/proc/self/task/*/schedstat: ns, where
    psutil's per-thread times have 10 ms ticks); {} where unavailable."""
    out = {}
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else ():
        try:
            out[int(tid)] = int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


def others_busy_ns(before: dict, after: dict, me: Optional[int] = None) -> int:
    """CPU nanoseconds the threads other than `me` (the caller) ran between two snapshots."""
    me = threading.get_native_id() if me is None else me
    return sum(max(0, t - before.get(tid, 0)) for tid, t in after.items() if tid != me)


def quiesce(max_wait_s: float = 0.3, window_s: float = 0.002, busy_frac: float = 0.05,
            now: Callable[[], float] = time.perf_counter) -> dict:
    """Wait until the other threads of this process (numpy, torch, OpenMP, TF pools spin after a
    call) ran less than `busy_frac` of a core over one `window_s`, at most `max_wait_s`.
    {"waited_s", "settled": True | False | None (no /proc: slept one window)}."""
    me, start, snap = threading.get_native_id(), now(), thread_cpu_ns()
    while True:
        time.sleep(window_s)
        if not snap:
            return {"waited_s": now() - start, "settled": None}
        nxt = thread_cpu_ns()
        busy, snap = others_busy_ns(snap, nxt, me), nxt
        if busy < busy_frac * window_s * 1e9 or now() - start >= max_wait_s:
            return {"waited_s": now() - start, "settled": busy < busy_frac * window_s * 1e9}


class MachineLoad:
    """Cores' worth of CPU the *other* processes used between start() and stop() (psutil: the
    machine's busy time minus this process's).  A figure measured meanwhile is suspect."""

    @staticmethod
    def _others_busy() -> float:
        import psutil
        t, own = psutil.cpu_times(), psutil.Process().cpu_times()
        idle = t.idle + sum(getattr(t, k, 0.0) for k in ("iowait", "guest", "guest_nice"))
        return sum(t) - idle - own.user - own.system

    def start(self) -> "MachineLoad":
        self.t0, self.busy0 = time.perf_counter(), self._others_busy()
        return self

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def stop(self) -> Optional[float]:
        busy, wall = self._others_busy(), self.elapsed()
        return max(0.0, (busy - self.busy0) / wall) if wall > 0.05 else None


def thread_info() -> dict:
    """How many threads CPU work may use (recorded with every CPU timing)."""
    info = {"os_cpu_count": os.cpu_count(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS"),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
    for name in ("torch", "numba"):      # the thread pools of the frameworks imported
        try:
            info[name] = sys.modules[name].get_num_threads()
        except Exception:  # noqa: BLE001 - not imported, or numba without a threading layer yet
            pass
    return info
