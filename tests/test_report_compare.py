"""compare: per-entry ratios; only changes beyond the noise (IQR) are flagged."""
import copy
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
    assert {r["impl"] for r in compare.regressions(list(rows.values()))} == {"x", "v"}


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
