"""The one measurement primitive: every timing in kernelbench is `measure(call, sync, rule, clock)`.

A clock times `n` back-to-back calls and one sync: `WallClock` (perf_counter; CPU work, or GPU work
on a stream we cannot see, e.g. TensorFlow) or `CudaEvents` (torch.cuda.Event pairs on the current
stream).  Either may write a >= 256 MB buffer before each sample to flush the GPU's L2.  `measure`
warms up, then takes samples until a `StopRule` says stop; the solo timing, the round-robin turns,
the per-call overhead, the peak probes and the probe estimate all call it.  Statistics are numpy's
and scipy's; the clock is an argument, so a fake one drives the tests.  Also here: how busy the other
threads of this process (`quiesce`) and the other processes of the machine (`MachineLoad`) are.
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

NOISE_THRESHOLD = 0.10   # a row whose IQR / median exceeds this is flagged as noisy
FLUSH_BYTES = 256 << 20


def noop() -> None:
    return None


# ------------------------------------------------------------------------------ statistics
def median_ci(samples: Sequence[float], z: float = 1.96) -> tuple[float, float]:
    """Distribution-free confidence interval of the median from order statistics: ranks
    n/2 -+ z*sqrt(n)/2 (normal approximation of the binomial); with few samples, the whole range."""
    xs = sorted(samples)
    n = len(xs)
    if n == 0:
        raise ValueError("median_ci of no samples")
    half = z * math.sqrt(n) / 2.0
    lo = max(0, int(math.floor(n / 2.0 - half)))
    hi = min(n - 1, int(math.ceil(n / 2.0 + half)) - 1)
    return xs[lo], xs[max(lo, hi)]


@dataclass(frozen=True)
class Stats:
    """Summary of repeated timings, in seconds."""
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

    @property
    def rel_iqr(self) -> float:
        return self.iqr / self.median if self.median > 0 else math.inf

    @property
    def rel_ci(self) -> float:
        """Half-width of the median's confidence interval, relative to the median."""
        return (self.ci_hi - self.ci_lo) / (2.0 * self.median) if self.median > 0 else math.inf

    @property
    def noisy(self) -> bool:
        return self.rel_iqr > NOISE_THRESHOLD

    def to_dict(self) -> dict:
        return {**asdict(self), "rel_iqr": self.rel_iqr}


def summarize(samples: Sequence[float]) -> Stats:
    if len(samples) == 0:
        raise ValueError("summarize: no samples")
    x = np.asarray(samples, dtype=float)
    q1, med, q3 = (float(v) for v in np.quantile(x, (0.25, 0.5, 0.75)))
    lo, hi = median_ci(x)
    return Stats(median=med, q1=q1, q3=q3, iqr=q3 - q1, min=float(x.min()), max=float(x.max()),
                 mean=float(x.mean()), n=len(x), ci_lo=float(lo), ci_hi=float(hi))


def median(samples: Sequence[float]) -> float:
    return float(np.median(samples))


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (scipy: normal approximation, tie and continuity
    corrections) that `a` and `b` come from one distribution; 1.0 with fewer than 2 samples a side."""
    if len(a) < 2 or len(b) < 2 or len(set(a) | set(b)) < 2:
        return 1.0
    from scipy.stats import mannwhitneyu
    return float(mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue)


@dataclass(frozen=True)
class StopRule:
    """When to stop sampling: at `max_reps`; once `budget_s` has elapsed with `min_reps` samples
    (or `hard_factor * budget_s` whatever the count); or once there are `min_reps` samples and the
    median's confidence interval is within `target_rel_ci` of it (None: never "stable")."""
    min_reps: int = 5
    max_reps: int = 200
    budget_s: float = 1.0
    target_rel_ci: Optional[float] = 0.01
    hard_factor: float = 3.0

    def check(self, samples: Sequence[float], elapsed_s: float) -> Optional[str]:
        n = len(samples)
        if n >= self.max_reps:
            return "max_reps"
        if n == 0:
            return None
        if elapsed_s >= self.budget_s and (n >= self.min_reps or elapsed_s >= self.hard_factor * self.budget_s):
            return "budget"
        if self.target_rel_ci is not None and n >= self.min_reps and summarize(samples).rel_ci <= self.target_rel_ci:
            return "stable"
        return None


def fixed(n: int) -> StopRule:
    """Exactly `n` samples."""
    return StopRule(min_reps=n, max_reps=n, budget_s=math.inf, target_rel_ci=None)


# ------------------------------------------------------------------------------ clocks
_FLUSH_BUFFERS: dict = {}


def flush_buffer(device="cuda"):
    """The buffer written before each GPU sample: max(256 MB, 4 x L2), int32, on `device`."""
    import torch
    dev = torch.device(device)
    idx = dev.index if dev.index is not None else torch.cuda.current_device()
    if idx not in _FLUSH_BUFFERS:
        l2 = getattr(torch.cuda.get_device_properties(idx), "L2_cache_size", 0) or 0
        _FLUSH_BUFFERS[idx] = torch.empty(max(FLUSH_BYTES, 4 * int(l2)) // 4, dtype=torch.int32, device=f"cuda:{idx}")
    return _FLUSH_BUFFERS[idx]


def release_flush_buffers() -> None:
    _FLUSH_BUFFERS.clear()


class _Clock:
    buf = None

    @property
    def l2_flush(self) -> bool:
        return self.buf is not None


class WallClock(_Clock):
    """perf_counter around n calls and one sync (sync first, so earlier work is not counted)."""

    def __init__(self, flush: bool = False, name: str = "perf_counter", now: Callable[[], float] = time.perf_counter,
                 before: Optional[Callable[[], None]] = None):
        self.now, self.name, self.buf, self.before = now, name, None, before   # before: e.g. a barrier of ranks
        if flush:
            try:
                self.buf = flush_buffer()
            except Exception:  # no torch / GPU here: time without the flush, and say so
                self.buf = None

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


class CudaEvents(_Clock):
    """torch.cuda.Event pairs on the current stream around n calls, per call."""
    name = "cuda_events"

    def __init__(self, flush: bool = True):
        import torch
        self.torch = torch
        self.buf = flush_buffer() if flush else None

    def time(self, call: Callable[[], object], sync: Callable[[], None], n: int = 1) -> float:
        torch = self.torch
        if self.buf is not None:
            self.buf.zero_()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(n):
            call()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / n


# ------------------------------------------------------------------------------ the primitive
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
    calls_per_sample: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def stats(self) -> Stats:
        return summarize(self.seconds)

    def to_dict(self, keep_samples: bool = True) -> dict:
        d = {"timer": self.clock, "stop": self.stop, "warmup_reps": self.warmup_calls, "warmup_s": self.warmup_s,
             "l2_flush": self.l2_flush, **self.stats.to_dict()}
        if keep_samples:
            d["samples"] = list(self.seconds)
        return d


def measure(call: Callable[[], object], sync: Callable[[], None] = noop, rule: StopRule = StopRule(),
            clock=None, warmup_s: float = 0.0, min_warmup: int = 0, max_warmup: int = 10_000,
            calls_per_sample: int = 1, now: Callable[[], float] = time.perf_counter) -> Samples:
    """Call (and sync) for `warmup_s` (at least `min_warmup` times), then take samples of
    `calls_per_sample` calls each with `clock` (default: the wall clock) until `rule` stops."""
    clock = clock if clock is not None else WallClock(now=now)
    wall = WallClock(now=now, before=getattr(clock, "before", None))   # warm-up: no flush, same barrier
    first = None
    start = now()
    n_warm = 0
    while n_warm < min_warmup or (now() - start < warmup_s and n_warm < max_warmup):
        t = wall.time(call, sync)
        first = t if first is None else first
        n_warm += 1
    t_warm = now() - start
    samples: list = []
    start = now()
    while True:
        samples.append(float(clock.time(call, sync, calls_per_sample)))
        reason = rule.check(samples, now() - start)
        if reason:
            break
    return Samples(samples, reason, clock.name, clock.l2_flush, n_warm, t_warm,
                   first if first is not None else samples[0], calls_per_sample)


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
    hand-over (its parked workers woken, the other's still spinning), so calls are thrown away for
    `warmup_s` (at least one) and the calls of the next `measure_s` (at least one) kept.  With
    `keep_first` (a rung so slow that a hand-over is inside one call's noise) the first call is the turn."""
    if keep_first:
        return measure(call, sync, fixed(1), now=now)
    rule = StopRule(min_reps=1, max_reps=max_calls, budget_s=measure_s, target_rel_ci=None, hard_factor=1.0)
    return measure(call, sync, rule, warmup_s=warmup_s, min_warmup=1, max_warmup=max_calls, now=now)


# ------------------------------------------------------------------------------ who else is busy
_TASKS = "/proc/self/task"


def thread_cpu_ns() -> dict:
    """{thread id: CPU nanoseconds} of this process's threads (/proc/self/task/*/schedstat: ns, where
    psutil's per-thread times have 10 ms ticks); {} where unavailable."""
    out = {}
    try:
        tids = os.listdir(_TASKS)
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"{_TASKS}/{tid}/schedstat") as f:
                out[int(tid)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


def others_busy_ns(before: dict, after: dict, me: Optional[int] = None) -> int:
    """CPU nanoseconds the threads other than `me` (the caller) ran between two snapshots."""
    me = threading.get_native_id() if me is None else me
    return sum(max(0, t - before.get(tid, 0)) for tid, t in after.items() if tid != me)


def quiesce(max_wait_s: float = 0.3, window_s: float = 0.002, busy_frac: float = 0.05,
            now: Callable[[], float] = time.perf_counter) -> dict:
    """Wait until the other threads of this process ran less than `busy_frac` of a core over one
    `window_s` (the thread pools of numpy, torch, OpenMP, TF spin after a call); give up after
    `max_wait_s`.  {"waited_s", "settled": True | False | None (no /proc: slept one window)}."""
    me = threading.get_native_id()
    start = now()
    snap = thread_cpu_ns()
    if not snap:
        time.sleep(window_s)
        return {"waited_s": now() - start, "settled": None}
    while True:
        time.sleep(window_s)
        nxt = thread_cpu_ns()
        busy, snap = others_busy_ns(snap, nxt, me), nxt
        if busy < busy_frac * window_s * 1e9:
            return {"waited_s": now() - start, "settled": True}
        if now() - start >= max_wait_s:
            return {"waited_s": now() - start, "settled": False}


class MachineLoad:
    """Cores' worth of CPU the *other* processes used between start() and stop(): the machine's busy
    time minus this process's (psutil).  A figure measured meanwhile is suspect: a two-thread team
    then shares one core, and a spinning barrier waits for the scheduler tick."""

    @staticmethod
    def _busy_own() -> tuple:
        import psutil
        t = psutil.cpu_times()
        busy = sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)
        own = psutil.Process().cpu_times()
        return busy, own.user + own.system

    def start(self) -> "MachineLoad":
        self.t0 = time.perf_counter()
        self.busy0, self.own0 = self._busy_own()
        return self

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def stop(self) -> Optional[float]:
        busy, own = self._busy_own()
        wall = self.elapsed()
        if wall <= 0.05:
            return None
        return max(0.0, ((busy - self.busy0) - (own - self.own0)) / wall)


def thread_info() -> dict:
    """How many threads CPU work may use (recorded with every CPU timing)."""
    info = {"os_cpu_count": os.cpu_count(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS"),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None}
    if "torch" in sys.modules:
        info["torch"] = sys.modules["torch"].get_num_threads()
    if "numba" in sys.modules:
        try:
            info["numba"] = sys.modules["numba"].get_num_threads()
        except Exception:  # noqa: BLE001 - numba without a threading layer yet
            pass
    return info
