"""The measurement primitive: median / IQR on known samples, the median's CI, the noise flag, the
stop rule and `measure` driven by a fake clock, the round-robin turn, the rank test; quiesce() and
MachineLoad (who else burns CPU)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import threading
import time

from kernelbench.bench import measure as m
from kernelbench.bench.measure import StopRule, summarize


def test_median_and_iqr_on_known_samples():
    s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert s.median == 3.0
    assert (s.q1, s.q3, s.iqr) == (2.0, 4.0, 2.0)
    assert (s.min, s.max, s.n) == (1.0, 5.0, 5)
    assert s.rel_iqr == pytest.approx(2.0 / 3.0)
    even = summarize([1.0, 2.0, 3.0, 4.0])
    assert even.median == 2.5
    assert even.q1 == pytest.approx(1.75) and even.q3 == pytest.approx(3.25)


def test_median_ci_contains_median_and_narrows():
    rng = np.random.default_rng(0)
    few = list(rng.normal(1.0, 0.1, 5))
    many = list(rng.normal(1.0, 0.1, 500))
    lo, hi = m.median_ci(few)
    assert lo <= m.median(few) <= hi
    assert (lo, hi) == (min(few), max(few))   # with 5 samples the interval is the whole range
    lo2, hi2 = m.median_ci(many)
    assert lo2 <= m.median(many) <= hi2
    assert hi2 - lo2 < (hi - lo) / 3


def test_noise_flag():
    assert not summarize([1.0, 1.01, 0.99, 1.0, 1.02]).noisy
    assert summarize([1.0, 1.5, 0.7, 1.0, 1.3]).noisy
    assert not summarize([0.9, 0.96, 1.0, 1.04, 1.1]).noisy         # IQR / median 0.08: under the threshold
    assert summarize([0.9, 0.94, 1.0, 1.06, 1.1]).noisy             # 0.12: over it (m.NOISE_THRESHOLD = 0.10)


def test_errors_on_empty():
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        m.median_ci([])


class FakeClock:
    """A clock that advances only when a fake repetition "runs"."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def run_fake(durations, rule):
    """`measure` with a fake clock: each call advances it by the next duration."""
    clock = FakeClock()
    it = iter(durations)

    def call():
        clock.t += next(it)
    res = m.measure(call, rule=rule, now=clock)
    return res.seconds, res.stop


def test_stop_rule_stops_when_the_median_is_stable():
    rule = StopRule(min_reps=5, max_reps=1000, budget_s=100.0, target_rel_ci=0.01)
    samples, why = run_fake([1.0] * 1000, rule)
    assert why == "stable" and len(samples) == 5


def test_stop_rule_keeps_going_while_noisy_then_stops_on_budget():
    rng = np.random.default_rng(1)
    noisy = list(rng.uniform(0.5, 1.5, 1000))
    rule = StopRule(min_reps=5, max_reps=1000, budget_s=20.0, target_rel_ci=0.001)
    samples, why = run_fake(noisy, rule)
    assert why == "budget"
    assert 15 <= len(samples) <= 45            # ~20 s of 1 s samples


def test_stop_rule_max_reps_and_slow_rungs():
    rule = StopRule(min_reps=5, max_reps=7, budget_s=1e9, target_rel_ci=0.0)
    samples, why = run_fake([1.0, 2.0] * 10, rule)
    assert why == "max_reps" and len(samples) == 7
    # one repetition is 2 s on a 1 s budget: stop after the hard cap (3 x budget), not after min_reps
    slow = StopRule(min_reps=5, max_reps=100, budget_s=1.0, target_rel_ci=0.01)
    samples, why = run_fake([2.0] * 10, slow)
    assert why == "budget" and len(samples) == 2


def test_warm_up_by_time_budget_with_fake_clock():
    clock = FakeClock()
    calls = []

    def call():
        calls.append(1)
        clock.t += 0.03
    res = m.measure(call, rule=m.fixed(1), warmup_s=0.1, now=clock)
    assert res.warmup_calls == 4 and len(calls) == 5 and res.warmup_s == pytest.approx(0.12)
    assert m.measure(call, rule=m.fixed(1), min_warmup=2, now=clock).warmup_calls == 2


def test_measure_on_cpu_returns_statistics():
    t = m.measure(lambda: sum(range(1000)), rule=StopRule(min_reps=3, max_reps=10, budget_s=0.05))
    assert 3 <= t.stats.n <= 10 and t.clock == "perf_counter" and not t.l2_flush
    assert t.stats.min <= t.stats.median <= t.stats.max
    d = t.to_dict()
    assert d["n"] == t.stats.n and "samples" in d and "rel_iqr" in d


def test_calls_per_sample_divides_by_the_count():
    """The overhead's form: n back-to-back calls then one sync, per call."""
    clock = FakeClock()
    syncs = []

    def call():
        clock.t += 1e-5
    res = m.measure(call, lambda: syncs.append(1), m.fixed(3), calls_per_sample=100, now=clock)
    assert res.seconds == pytest.approx([1e-5] * 3) and len(syncs) == 2 * 3


def test_turn_keeps_only_the_calls_after_the_warm_up():
    """A fake clock: the first call of a turn costs 5 ms (the hand-over), the rest 10 us."""
    clock = [0.0]
    costs = iter([5e-3] + [1e-5] * 10_000)

    def call():
        clock[0] += next(costs)
    t = m.turn(call, lambda: None, warmup_s=1e-4, measure_s=2e-4, now=lambda: clock[0])
    assert t.first_s == pytest.approx(5e-3) and t.warmup_calls == 1     # 5 ms already exceeds the warm-up
    assert all(x == pytest.approx(1e-5) for x in t.seconds) and 20 <= len(t.seconds) <= 22


def test_turn_of_a_slow_rung_keeps_its_first_call():
    clock = [0.0]

    def call():
        clock[0] += 0.5
    t = m.turn(call, lambda: None, warmup_s=0.02, measure_s=0.02, now=lambda: clock[0], keep_first=True)
    assert t.warmup_calls == 0 and t.seconds == [0.5]


def test_thread_info_records_threads():
    info = m.thread_info()
    assert info["os_cpu_count"] >= 1 and "OMP_NUM_THREADS" in info


# ------------------------------------------------------------------------ who else is busy
needs_proc = pytest.mark.skipif(not m.thread_cpu_ns(), reason="no /proc/self/task here")


def _spinner(seconds):
    def spin():
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
    t = threading.Thread(target=spin)
    t.start()
    return t


@needs_proc
def test_thread_cpu_counts_a_spinning_thread():
    me = threading.get_native_id()
    before = m.thread_cpu_ns()
    t = _spinner(0.3)
    time.sleep(0.15)                       # the spinner runs (this thread sleeps: no GIL contention)
    busy = m.others_busy_ns(before, m.thread_cpu_ns(), me)   # while it is still alive
    t.join()
    assert busy > 5e6                     # >= 5 ms of CPU (a loaded machine gives it less than 150)


@needs_proc
def test_quiesce_waits_for_the_spinner_and_gives_up_at_its_limit():
    # windows of 10-20 ms: on a loaded machine the spinner still gets > 5 % of each
    t = _spinner(0.4)
    q = m.quiesce(max_wait_s=0.05, window_s=0.01)
    assert q["settled"] is False and q["waited_s"] >= 0.05
    q = m.quiesce(max_wait_s=3.0, window_s=0.02)
    t.join()
    assert q["settled"] is True and q["waited_s"] >= 0.05     # it waited for the spinner, then settled
    assert m.quiesce(max_wait_s=1.0)["settled"] is True        # nothing spinning now


def test_machine_load_counts_another_process_busy_core():
    """A child process that spins for 0.4 s is 'another process': the load includes at least the CPU
    time the child really got (its rusage), and never exceeds the machine's cores."""
    import os
    import resource
    import subprocess
    import sys
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = m.MachineLoad().start()
    subprocess.run([sys.executable, "-c", "import time\nt=time.perf_counter()+0.4\nwhile time.perf_counter()<t: pass"],
                   check=True)
    wall = time.perf_counter() - load.t0
    v = load.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cores = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / wall
    assert v is not None and child_cores - 0.05 <= v <= os.cpu_count() + 0.05, (v, child_cores)
