"""What a hand-over between CPU thread pools costs: the experiment behind the round-robin protocol of
`kernelbench run` (kernelbench/bench/run.py, Runner._interleave).

numpy (OpenBLAS pthreads), torch (its libgomp), our native rungs (OpenMP), Numba and TensorFlow
(Eigen) each keep worker threads that spin after a call so that the runtime's next call starts
fast.  On a 2-core machine a spinning worker of runtime A holds one core while runtime B's call
wants both.  This script times every runtime's matmul at n^3 alone, then each hand-over A -> B
after a pause of 0 .. 200 ms, with the CPU time the process's other threads burnt during B's call;
`--protocols` times the old round-robin (one call after a 50 ms pause) beside the one in use
(quiesce, calls thrown away, later calls kept).  Every timing goes through kernelbench.bench.measure.

    python scripts/handover_experiment.py [--n 64] [--gaps 0,1,10,50,200] [--json out.json]
    python scripts/handover_experiment.py --protocols [--rounds 15]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kernelbench.bench.measure import (fixed, measure, median, others_busy_ns, quiesce,  # noqa: E402
                                       thread_cpu_ns, timed, turn)


def callables(n: int) -> dict:
    """Zero-argument matmul calls of size n^3, one per runtime installed here."""
    import numpy as np
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    calls = {"numpy": lambda: np.matmul(a, b)}
    try:
        import torch
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        calls["torch"] = lambda: torch.matmul(ta, tb)
    except ImportError:
        pass
    try:
        import kernelbench as kb
        from kernelbench.registry import list_impls
        best = [i for i in list_impls(op="matmul", device="cpu") if i.native and i.rank == 1]
        if kb.frontdoors()["pybind"]["cpu"] and best:
            calls[f"ours ({best[0].name})"] = lambda: kb.matmul(a, b, impl=best[0].name)
    except Exception:  # noqa: BLE001 - not built here: left out
        pass
    try:
        import tensorflow as tf

        from kernelbench.rungs import frameworks
        tf_mm = frameworks.tensorflow("matmul", "eager", "cpu")
        xa, xb = tf.constant(a), tf.constant(b)
        calls["tf"] = lambda: tf_mm(xa, xb)
    except Exception:  # noqa: BLE001
        pass
    try:
        from kernelbench.registry import get_impl
        nb = get_impl("matmul", "numba_njit_parallel")
        if not nb.unavailable_reason():
            calls["numba"] = lambda: nb.fn(a, b)
    except Exception:  # noqa: BLE001
        pass
    return calls


def with_others(call) -> tuple:
    """(seconds of one call, CPU seconds the process's other threads ran meanwhile)."""
    s0 = thread_cpu_ns()
    _, t = timed(call)
    return t, others_busy_ns(s0, thread_cpu_ns()) / 1e9


def solo(calls: dict) -> dict:
    return {k: measure(c, rule=fixed(180), min_warmup=20).stats.median for k, c in calls.items()}


def experiment(n: int = 64, gaps_ms=(0, 1, 10, 50, 200), reps: int = 7, log=print) -> dict:
    calls = callables(n)
    names = list(calls)
    pools = {}
    for name in names:                # first use starts each runtime's pool: whose threads are whose
        before = set(thread_cpu_ns())
        measure(calls[name], rule=fixed(20))
        pools[name] = len(set(thread_cpu_ns()) - before)
        time.sleep(0.3)
    log(f"matmul {n}^3 on {os.cpu_count()} CPUs; worker threads started by each runtime: "
        + ", ".join(f"{k} {v}" for k, v in pools.items()))
    res = {"n": n, "pools": pools, "solo": solo(calls), "handover": [], "spin_after_call_s": {}}
    log("solo (back-to-back, median): " + ", ".join(f"{k} {v * 1e6:.0f} us" for k, v in res["solo"].items()))
    for name in names:   # how long does each runtime keep burning CPU after its last call?
        measure(calls[name], rule=fixed(2))
        res["spin_after_call_s"][name] = with_others(lambda: time.sleep(0.25))[1]
        quiesce(max_wait_s=1.0)
    log("CPU burnt by the other threads in the 250 ms after a call: "
        + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in res["spin_after_call_s"].items()))
    log(f"{'from':>14} -> {'to':<14} {'pause':>6} {'1st call':>10} {'2nd call':>10} {'others ran during 1st':>22}")
    for a in names:
        for b in (x for x in names if x != a):
            for gap in gaps_ms:
                firsts, seconds, busy = [], [], []
                for _ in range(reps):
                    quiesce(max_wait_s=1.0)
                    calls[b]()                       # B warm ...
                    quiesce(max_wait_s=1.0)          # ... and parked, as in a round-robin
                    calls[a]()
                    calls[a]()
                    time.sleep(gap / 1e3)
                    t1, o1 = with_others(calls[b])
                    firsts.append(t1)
                    busy.append(o1)
                    seconds.append(with_others(calls[b])[0])
                row = {"from": a, "to": b, "pause_ms": gap, "first_s": median(firsts), "second_s": median(seconds),
                       "others_cpu_s": median(busy), "solo_s": res["solo"][b]}
                res["handover"].append(row)
                log(f"{a:>14} -> {b:<14} {gap:>4}ms {row['first_s'] * 1e3:>8.3f}ms {row['second_s'] * 1e3:>8.3f}ms "
                    f"{row['others_cpu_s'] * 1e3:>18.3f}ms   (solo {res['solo'][b] * 1e3:.3f} ms)")
    return res


def protocols(n: int = 64, rounds: int = 15, log=print) -> dict:
    """Old (sleep 50 ms, time ONE call) and new (quiesce, throw calls away for 20 ms, keep the next
    20 ms) round-robin, alternated round by round; medians over rounds beside the solo median."""
    calls = callables(n)
    names = list(calls)
    base = solo(calls)
    old, new = {k: [] for k in names}, {k: [] for k in names}
    rng = random.Random(1)
    for _ in range(rounds):
        for k in rng.sample(names, len(names)):
            time.sleep(0.05)
            old[k].append(timed(calls[k])[1])
        for k in rng.sample(names, len(names)):
            quiesce(max_wait_s=0.3)
            new[k].append(turn(calls[k], lambda: None, 0.02, 0.02).stats.median)
    res = {"n": n, "rounds": rounds, "rows": []}
    log(f"matmul {n}^3, {rounds} rounds: median per call (x = / solo)")
    log(f"{'runtime':>14} {'solo':>10} {'old round-robin':>22} {'new round-robin':>22}")
    for k in names:
        o, w, s = median(old[k]), median(new[k]), base[k]
        res["rows"].append({"runtime": k, "solo_s": s, "old_s": o, "new_s": w})
        log(f"{k:>14} {s * 1e6:>8.1f}us {o * 1e6:>12.1f}us x{o / s:<7.1f} {w * 1e6:>12.1f}us x{w / s:<7.2f}")
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="what a hand-over between CPU thread pools costs")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--gaps", default="0,1,10,50,200", help="pauses between A's and B's calls, ms")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--protocols", action="store_true", help="old vs new round-robin protocol instead")
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    res = (protocols(args.n, args.rounds) if args.protocols else
           experiment(args.n, tuple(int(g) for g in args.gaps.split(",")), args.reps))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
