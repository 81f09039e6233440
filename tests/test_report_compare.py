"""compare: per-entry ratios; only changes beyond the noise (IQR) are flagged."""
import copy

import pytest
from pathlib import Path

from kernelbench.bench import results
from kernelbench.report import compare

FIXTURE = Path(__file__).parent / "data" / "results_quick.json"


def entry(impl, t, rel_iqr=0.02, status="ok", key="matmul/cpu/float32/8x8x8"):
    return {"suite": "ladder", "key": key, "label": "m", "impl": impl, "device": "cpu", "status": status,
            "median_s": t if status == "ok" else None, "rel_iqr": rel_iqr}


def test_regression_beyond_noise_is_flagged():
    a = {"entries": [entry("x", 1.0), entry("y", 1.0), entry("z", 1.0, rel_iqr=0.3), entry("w", 1.0), entry("v", 1.0)]}
    b = {"entries": [entry("x", 1.5), entry("y", 1.03), entry("z", 1.2, rel_iqr=0.3), entry("w", 0.5),
                     entry("v", None, status="failed"), entry("u", 1.0)]}
    rows = {r["impl"]: r for r in compare.compare(a, b)}
    assert rows["x"]["verdict"] == "regression" and rows["x"]["ratio"] == 1.5
    assert rows["y"]["verdict"] == "same"           # 3 % is within the 5 % floor
    assert rows["z"]["verdict"] == "same"           # 20 % but the IQR is 30 %: noise
    assert rows["w"]["verdict"] == "improvement"
    assert rows["v"]["verdict"] == "broke"
    assert rows["u"]["verdict"] == "new"
    assert {r["impl"] for r in rows.values() if r["verdict"] in compare.REGRESSED} == {"x", "v"}


def test_compare_files_and_exit_code(tmp_path):
    a = results.read(FIXTURE)
    b = copy.deepcopy(a)
    for e in b["entries"]:
        if e.get("status") == "ok" and e["impl"] == "numpy_cpu":
            e["median_s"] *= 2
    pa, pb = results.write(tmp_path / "a.json", a), results.write(tmp_path / "b.json", b)
    from rich.console import Console
    con = Console(file=open(tmp_path / "log", "w"), width=200)
    assert compare.main(str(pa), str(pa), console=con, fail_on_regression=True) == 0
    assert compare.main(str(pa), str(pb), console=con) == 0
    assert compare.main(str(pa), str(pb), console=con, fail_on_regression=True) == 1
    assert "regression" in (tmp_path / "log").read_text()


# ------------------------------------------------------------------ statistics on stored samples
import random  # noqa: E402

from kernelbench.bench.measure import mann_whitney_p  # noqa: E402

DATA = Path(__file__).parent / "data"


def _run_of_same_commit(seed: int) -> dict:
    """A synthetic result file: 40 entries whose round-robin turn medians come from one fixed
    distribution per rung (lognormal noise ~8 %, and now and then a 10x stall in one turn) -- what
    two back-to-back runs of one commit on one machine look like."""
    rng = random.Random(seed)
    entries = []
    for i in range(40):
        true = 1e-5 * (1 + i)
        turns = [true * rng.lognormvariate(0, 0.08) * (10 if rng.random() < 0.08 else 1) for _ in range(9)]
        turns.sort()
        med = turns[4]
        q1, q3 = turns[2], turns[6]
        entries.append({"suite": "ladder", "key": f"matmul/cpu/float32/{i}", "label": f"m{i}", "impl": f"r{i}",
                        "device": "cpu", "status": "ok", "median_s": med, "rel_iqr": (q3 - q1) / med,
                        "figure": "round-robin", "timing": {"round_robin": {"turn_medians": turns}}})
    return {"kind": results.KIND, "schema_version": 1, "git": {"commit": "abc", "dirty": False},
            "environment": {"cpu": {"model": "AMD EPYC"}}, "threads": {"affinity": 2, "torch": 2},
            "entries": entries}


def test_two_runs_of_one_commit_compare_clean():
    a, b = _run_of_same_commit(1), _run_of_same_commit(2)
    rows = compare.compare(a, b)
    assert [r for r in rows if r["verdict"] != "same"] == []
    # the spread rule alone (ratio beyond max(IQR, 5 %)) calls 4 of these noise pairs changes
    spread_only = [r for r in rows if r["ratio"] > 1 + r["threshold"] or r["ratio"] < 1 / (1 + r["threshold"])]
    assert len(spread_only) == 4
    assert all(r["p"] is not None for r in rows)            # the rank test decided each


def test_real_slowdown_is_a_regression():
    a, b = _run_of_same_commit(1), _run_of_same_commit(1)
    e = b["entries"][3]
    e["timing"]["round_robin"]["turn_medians"] = [x * 1.5 for x in e["timing"]["round_robin"]["turn_medians"]]
    e["median_s"] *= 1.5
    rows = {r["impl"]: r for r in compare.compare(a, b)}
    assert rows["r3"]["verdict"] == "regression" and rows["r3"]["p"] < 0.01
    assert sum(r["verdict"] != "same" for r in rows.values()) == 1


def test_rank_test_known_values():
    assert mann_whitney_p([1, 2, 3, 4, 5, 6, 7, 8], [11, 12, 13, 14, 15, 16, 17, 18]) < 0.001
    assert mann_whitney_p([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert mann_whitney_p([1.0], [2.0, 3.0]) == 1.0          # too few samples: nothing concluded


def test_cross_machine_is_refused_or_labelled(tmp_path):
    a, b = _run_of_same_commit(1), _run_of_same_commit(1)
    b["environment"]["cpu"]["model"] = "Intel Xeon"
    b["git"]["commit"] = "def"
    for e in b["entries"]:
        e["median_s"] *= 2
        e["timing"]["round_robin"]["turn_medians"] = [x * 2 for x in e["timing"]["round_robin"]["turn_medians"]]
    pa, pb = results.write(tmp_path / "a.json", a), results.write(tmp_path / "b.json", b)
    assert ("CPU model", "AMD EPYC", "Intel Xeon") in compare.differences(a, b)
    assert ("commit", "abc", "def") in compare.differences(a, b)
    with pytest.raises(compare.CrossMachine, match="different machines \\(CPU model: 'AMD EPYC' vs 'Intel Xeon'"):
        compare.main(str(pa), str(pb))
    from rich.console import Console
    log = tmp_path / "log"
    con = Console(file=open(log, "w"), width=200)
    assert compare.main(str(pa), str(pb), console=con, cross_machine=True, fail_on_regression=True) == 0
    text = log.read_text()
    assert "regression (cross-machine)" in text and "differ in commit" in text


def test_only_positive_numbers_count_as_samples():
    """A hand-edited or hostile file: booleans, strings, zero and negative times are not samples."""
    from kernelbench.report.compare import samples
    assert samples({"timing": {"samples": [True, 2e-3, 0, -1.0, "1e-3", None, 3]}}) == [2e-3, 3.0]
    assert samples({"timing": {"round_robin": {"turn_medians": [False, 1e-3]}, "samples": [5.0]}}) == [1e-3]
