"""Thread pools of several CPU runtimes in one process: who is burning CPU, waiting for them to park,
and the experiment that shows what a hand-over costs.

numpy (OpenBLAS pthreads), torch (OpenMP, its bundled libgomp), our native rungs (OpenMP), Numba
(its threading layer) and TensorFlow (Eigen's pool) each keep worker threads.  After a call those
workers do not sleep at once: they spin (OpenBLAS ~2^28 cycles, libgomp GOMP_SPINCOUNT, Eigen a few
thousand polls) so that the *next* call of the same runtime starts fast.  On a 2-core machine a
spinning worker of runtime A holds one of the two cores while runtime B's call wants both.

`python -m kernelbench.bench.handover` measures it: every runtime's matmul at 64^3 alone, then each
hand-over A -> B after a pause of 0 .. 200 ms, with the CPU time the other threads of the process
burnt during B's call (from /proc/self/task/*/schedstat).  `--protocols` times the old round-robin
(one call after a 50 ms pause) and the new one (quiesce, warm-up calls thrown away, later calls
kept) side by side.  `quiesce()` is what the round-robin timer
uses to start each turn only once the other pools are idle.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Callable, Optional

from .stats import median

_TASKS = "/proc/self/task"


def thread_cpu_ns() -> dict:
    """{thread id: nanoseconds it has run on a CPU} for every thread of this process ({} where
    /proc/<pid>/task/*/schedstat is unavailable)."""
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
    """Wait until the other threads of this process are idle: over one `window_s` they ran less than
    `busy_frac` of one core.  Gives up after `max_wait_s` (returns waited_s and whether it settled).
    Without /proc it just sleeps one window."""
    me = threading.get_native_id()
    start = now()
    snap = thread_cpu_ns()
    if not snap:
        time.sleep(window_s)
        return {"waited_s": now() - start, "settled": None}
    while True:
        time.sleep(window_s)
        nxt = thread_cpu_ns()
        busy = others_busy_ns(snap, nxt, me)
        snap = nxt
        if busy < busy_frac * window_s * 1e9:
            return {"waited_s": now() - start, "settled": True}
        if now() - start >= max_wait_s:
            return {"waited_s": now() - start, "settled": False}


class MachineLoad:
    """How much CPU the *other* processes of the machine used between start() and stop(): the
    machine's busy time (/proc/stat) minus this process's own (os.times), in cores.  A figure
    measured while other processes kept a core busy is not a kernel's figure: a two-thread team
    then shares one core, and a spinning barrier waits for the 4 ms scheduler tick."""

    def __init__(self):
        self.t0 = self.busy0 = self.own0 = None

    @staticmethod
    def _busy_s() -> Optional[float]:
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = v[3] + (v[4] if len(v) > 4 else 0)
        return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_s() -> float:
        t = os.times()
        return t.user + t.system

    def start(self) -> "MachineLoad":
        self.t0, self.busy0, self.own0 = time.perf_counter(), self._busy_s(), self._own_s()
        return self

    def stop(self) -> Optional[float]:
        """Cores' worth of CPU the other processes used meanwhile (0.0 .. n_cpus), None if unknown."""
        busy = self._busy_s()
        wall = time.perf_counter() - self.t0
        if busy is None or self.busy0 is None or wall <= 0.05:
            return None
        others = (busy - self.busy0) - (self._own_s() - self.own0)
        return max(0.0, others / wall)


# ------------------------------------------------------------------------------ the experiment
def _callables(n: int) -> dict:
    """Zero-argument matmul calls of size n^3, one per runtime that is installed here."""
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    calls = {"numpy": lambda: np.matmul(a, b)}
    try:
        import torch
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        calls["torch"] = lambda: torch.matmul(ta, tb)
    except ImportError:
        pass
    try:
        import kernelbench as kb
        if kb.frontdoors()["pybind"]["cpu"]:
            calls["ours (cpu_04)"] = lambda: kb.matmul(a, b, impl="cpu_04_avx2_packed")
    except Exception:  # noqa: BLE001 - not built here: leave it out of the experiment
        pass
    try:
        from ..rungs import frameworks
        tf_mm = frameworks.tensorflow("matmul", "eager", "cpu")
        import tensorflow as tf
        xa, xb = tf.constant(a), tf.constant(b)
        calls["tf"] = lambda: tf_mm(xa, xb)
    except Exception:  # noqa: BLE001
        pass
    try:
        from ..registry import get_impl
        nb = get_impl("matmul", "numba_njit_parallel")
        if not nb.unavailable_reason():
            calls["numba"] = lambda: nb.fn(a, b)
    except Exception:  # noqa: BLE001
        pass
    return calls


def _timed(call) -> tuple[float, float]:
    """(seconds, CPU seconds the other threads ran meanwhile) of one call."""
    me = threading.get_native_id()
    s0 = thread_cpu_ns()
    t0 = time.perf_counter()
    call()
    t = time.perf_counter() - t0
    return t, others_busy_ns(s0, thread_cpu_ns(), me) / 1e9


def experiment(n: int = 64, gaps_ms=(0, 1, 10, 50, 200), reps: int = 7, log=print) -> dict:
    """Solo times, then every hand-over A -> B after each pause; medians over `reps` repetitions."""
    calls = _callables(n)
    names = list(calls)
    threads_before = set(thread_cpu_ns())
    pools = {}
    for name in names:                # first use starts each runtime's pool: whose threads are whose
        before = set(thread_cpu_ns())
        for _ in range(20):
            calls[name]()
        pools[name] = sorted(set(thread_cpu_ns()) - before)
        time.sleep(0.3)
    log(f"matmul {n}^3 on {os.cpu_count()} CPUs; worker threads started by each runtime: "
        + ", ".join(f"{k} {len(v)}" for k, v in pools.items()))
    res = {"n": n, "pools": {k: len(v) for k, v in pools.items()}, "threads_at_start": len(threads_before),
           "solo": {}, "handover": []}
    for name in names:
        ts = []
        for _ in range(200):
            ts.append(_timed(calls[name])[0])
        res["solo"][name] = median(ts[20:])
    log("solo (back-to-back, median): " + ", ".join(f"{k} {v * 1e6:.0f} us" for k, v in res["solo"].items()))

    # how long does each runtime keep burning CPU after its last call?
    spin = {}
    for name in names:
        calls[name]()
        calls[name]()
        me = threading.get_native_id()
        s0 = thread_cpu_ns()
        t0 = time.perf_counter()
        time.sleep(0.25)
        spin[name] = others_busy_ns(s0, thread_cpu_ns(), me) / 1e9
        settle = quiesce(max_wait_s=1.0)
        _ = t0
    res["spin_after_call_s"] = spin
    log("CPU burnt by the process's other threads in the 250 ms after a call: "
        + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in spin.items()))

    log(f"{'from':>14} -> {'to':<14} {'pause':>6} {'1st call':>10} {'2nd call':>10} {'others ran during 1st':>22}")
    for a in names:
        for b in names:
            if a == b:
                continue
            for gap in gaps_ms:
                firsts, seconds, busy = [], [], []
                for _ in range(reps):
                    quiesce(max_wait_s=1.0)
                    calls[b]()                       # B warm...
                    quiesce(max_wait_s=1.0)          # ...and parked, like in a round-robin
                    calls[a]()
                    calls[a]()
                    if gap:
                        time.sleep(gap / 1e3)
                    t1, o1 = _timed(calls[b])
                    t2, _ = _timed(calls[b])
                    firsts.append(t1)
                    seconds.append(t2)
                    busy.append(o1)
                row = {"from": a, "to": b, "pause_ms": gap, "first_s": median(firsts), "second_s": median(seconds),
                       "others_cpu_s": median(busy), "solo_s": res["solo"][b]}
                res["handover"].append(row)
                log(f"{a:>14} -> {b:<14} {gap:>4}ms {row['first_s'] * 1e3:>8.3f}ms {row['second_s'] * 1e3:>8.3f}ms "
                    f"{row['others_cpu_s'] * 1e3:>18.3f}ms   (solo {res['solo'][b] * 1e3:.3f} ms)")
    return res


def protocols(n: int = 64, rounds: int = 15, log=print) -> dict:
    """The old and the new round-robin protocol side by side, on every runtime's matmul at n^3:
      old: sleep 50 ms, then time ONE call (each sample is a hand-over);
      new: quiesce (other pools idle), throw calls away for 20 ms, keep the calls of the next 20 ms.
    Alternated round by round (both see the same machine).  Medians over rounds, and the solo
    median (back-to-back calls) for reference."""
    from .timer import turn
    calls = _callables(n)
    names = list(calls)
    for c in calls.values():
        for _ in range(20):
            c()
    solo = {}
    for k, c in calls.items():
        ts = []
        for _ in range(200):
            t0 = time.perf_counter()
            c()
            ts.append(time.perf_counter() - t0)
        solo[k] = median(ts[20:])
    old = {k: [] for k in names}
    new = {k: [] for k in names}
    import random
    rng = random.Random(1)
    for _ in range(rounds):
        for k in rng.sample(names, len(names)):
            time.sleep(0.05)
            t0 = time.perf_counter()
            calls[k]()
            old[k].append(time.perf_counter() - t0)
        for k in rng.sample(names, len(names)):
            quiesce(max_wait_s=0.3)
            new[k].append(median(turn(calls[k], lambda: None, 0.02, 0.02)["kept"]))
    res = {"n": n, "rounds": rounds, "rows": []}
    log(f"matmul {n}^3, {rounds} rounds: median per call (x = / solo)")
    log(f"{'runtime':>14} {'solo':>10} {'old round-robin':>22} {'new round-robin':>22}")
    for k in names:
        o, w = median(old[k]), median(new[k])
        res["rows"].append({"runtime": k, "solo_s": solo[k], "old_s": o, "new_s": w})
        log(f"{k:>14} {solo[k] * 1e6:>8.1f}us {o * 1e6:>12.1f}us x{o / solo[k]:<7.1f} {w * 1e6:>12.1f}us x{w / solo[k]:<7.2f}")
    return res


def main(argv=None) -> int:
    import argparse
    import json
    p = argparse.ArgumentParser(prog="python -m kernelbench.bench.handover",
                                description="what a hand-over between CPU thread pools costs")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--gaps", default="0,1,10,50,200", help="pauses between A's and B's calls, ms")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--protocols", action="store_true", help="old vs new round-robin protocol instead")
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.protocols:
        res = protocols(args.n, args.rounds)
    else:
        res = experiment(args.n, tuple(int(g) for g in args.gaps.split(",")), args.reps)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
