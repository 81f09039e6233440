"""Pure statistics for the timer: quantiles, median and IQR, a confidence interval of the median,
the noise flag and the stopping rule.  No clocks, no devices: everything here is unit-tested on
known samples (tests/test_bench_stats.py)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional, Sequence

NOISE_THRESHOLD = 0.10   # a row whose IQR / median exceeds this is flagged as noisy


def quantile(samples: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default method), 0 <= q <= 1."""
    if not samples:
        raise ValueError("quantile of no samples")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q: expected 0 <= q <= 1, got {q}")
    xs = sorted(samples)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(samples: Sequence[float]) -> float:
    return quantile(samples, 0.5)


def median_ci(samples: Sequence[float], z: float = 1.96) -> tuple[float, float]:
    """Distribution-free confidence interval of the median from order statistics:
    ranks n/2 -+ z*sqrt(n)/2 (normal approximation of the binomial).  With few samples the interval
    is the whole range."""
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
        return is_noisy(self)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rel_iqr"] = self.rel_iqr
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Stats":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def summarize(samples: Sequence[float]) -> Stats:
    if not samples:
        raise ValueError("summarize: no samples")
    q1, med, q3 = quantile(samples, 0.25), quantile(samples, 0.5), quantile(samples, 0.75)
    lo, hi = median_ci(samples)
    return Stats(median=med, q1=q1, q3=q3, iqr=q3 - q1, min=min(samples), max=max(samples),
                 mean=sum(samples) / len(samples), n=len(samples), ci_lo=lo, ci_hi=hi)


def is_noisy(stats: Stats, threshold: float = NOISE_THRESHOLD) -> bool:
    """True when the spread is large compared with the median (IQR / median > threshold)."""
    return stats.rel_iqr > threshold


@dataclass(frozen=True)
class StopRule:
    """When to stop repeating a measurement.

    Stop at `max_reps`; once `budget_s` of measuring has elapsed with at least `min_reps` samples;
    once `hard_factor * budget_s` has elapsed whatever the count (slow rungs); or once there are
    `min_reps` samples and the median's confidence interval is within `target_rel_ci` of it."""
    min_reps: int = 5
    max_reps: int = 200
    budget_s: float = 1.0
    target_rel_ci: float = 0.01
    hard_factor: float = 3.0

    def check(self, samples: Sequence[float], elapsed_s: float) -> Optional[str]:
        n = len(samples)
        if n >= self.max_reps:
            return "max_reps"
        if n == 0:
            return None
        if elapsed_s >= self.budget_s and (n >= self.min_reps or elapsed_s >= self.hard_factor * self.budget_s):
            return "budget"
        if n >= self.min_reps and summarize(samples).rel_ci <= self.target_rel_ci:
            return "stable"
        return None


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U (Wilcoxon rank-sum) test that samples `a` and `b` come
    from the same distribution: normal approximation with the tie correction and a continuity
    correction.  Distribution-free, so one stalled repetition does not make a regression.  Returns
    1.0 when either side has fewer than 2 samples (nothing can be concluded)."""
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return 1.0
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        r = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[k] = r
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    r1 = sum(r for r, (_, side) in zip(ranks, pooled) if side == 0)
    u = r1 - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2.0) - 0.5) / math.sqrt(var)
    return max(0.0, min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0))))
