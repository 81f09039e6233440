"""Timer statistics: quantiles, median / IQR on known samples, the median's CI, the noise flag and
the stop rule driven by a fake clock."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelbench.bench import stats, timer
from kernelbench.bench.stats import StopRule, summarize


def test_median_and_iqr_on_known_samples():
    s = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert s.median == 3.0
    assert (s.q1, s.q3, s.iqr) == (2.0, 4.0, 2.0)
    assert (s.min, s.max, s.n) == (1.0, 5.0, 5)
    assert s.rel_iqr == pytest.approx(2.0 / 3.0)
    even = summarize([1.0, 2.0, 3.0, 4.0])
    assert even.median == 2.5
    assert even.q1 == pytest.approx(1.75) and even.q3 == pytest.approx(3.25)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=1e-9, max_value=1e3, allow_nan=False), min_size=1, max_size=60),
       st.floats(min_value=0, max_value=1))
def test_quantile_matches_numpy(xs, q):
    assert stats.quantile(xs, q) == pytest.approx(float(np.quantile(xs, q)), rel=1e-12, abs=1e-15)


def test_median_ci_contains_median_and_narrows():
    rng = np.random.default_rng(0)
    few = list(rng.normal(1.0, 0.1, 5))
    many = list(rng.normal(1.0, 0.1, 500))
    lo, hi = stats.median_ci(few)
    assert lo <= stats.median(few) <= hi
    assert (lo, hi) == (min(few), max(few))   # with 5 samples the interval is the whole range
    lo2, hi2 = stats.median_ci(many)
    assert lo2 <= stats.median(many) <= hi2
    assert hi2 - lo2 < (hi - lo) / 3


def test_noise_flag():
    assert not summarize([1.0, 1.01, 0.99, 1.0, 1.02]).noisy
    assert summarize([1.0, 1.5, 0.7, 1.0, 1.3]).noisy
    assert stats.is_noisy(summarize([1.0, 1.05, 0.95, 1.0]), threshold=0.02)
    assert not stats.is_noisy(summarize([1.0, 1.05, 0.95, 1.0]), threshold=0.05)


def test_errors_on_empty():
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        stats.quantile([1.0], 1.5)


class FakeClock:
    """A clock that advances only when a fake repetition "runs"."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def run_fake(durations, rule):
    clock = FakeClock()
    it = iter(durations)

    def rep():
        d = next(it)
        clock.t += d
        return d
    return timer.repeat(rep, rule, now=clock)


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
    n, elapsed = timer.warm_up(call, lambda: None, budget_s=0.1, now=clock)
    assert n == 4 and len(calls) == 4 and elapsed == pytest.approx(0.12)
    n, _ = timer.warm_up(call, lambda: None, budget_s=0.0, min_calls=2, now=clock)
    assert n == 2


def test_measure_on_cpu_returns_statistics():
    t = timer.measure(lambda: sum(range(1000)), timer.CpuTimer(), StopRule(min_reps=3, max_reps=10, budget_s=0.05),
                      warmup_s=0.0)
    assert 3 <= t.stats.n <= 10 and t.timer == "perf_counter" and not t.l2_flush
    assert t.stats.min <= t.stats.median <= t.stats.max
    d = t.to_dict()
    assert d["n"] == t.stats.n and "samples" in d and "rel_iqr" in d


def test_host_overhead_with_fake_clock():
    clock = FakeClock()

    def call():
        clock.t += 1e-5
    res = timer.host_overhead(call, lambda: None, calls_per_round=100, rounds=3, device_time=lambda n: 4e-6, now=clock)
    assert res["wall_s"] == pytest.approx(1e-5)
    assert res["device_s"] == pytest.approx(4e-6)
    assert res["overhead_s"] == pytest.approx(6e-6)


def test_thread_info_records_threads():
    info = timer.thread_info()
    assert info["os_cpu_count"] >= 1 and "OMP_NUM_THREADS" in info
