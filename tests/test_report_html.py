"""The report from a stored result file (tests/data/results_quick.json: CPU entries from a real
--quick run, CUDA entries synthetic): the HTML page and the PNG plots it links."""
import re
from pathlib import Path

import pytest

from kernelbench.bench import analysis, results
from kernelbench.report import plots
from kernelbench.report.html import build_report

FIXTURE = Path(__file__).parent / "data" / "results_quick.json"


def test_fixture_is_a_valid_result_file():
    d = results.read(FIXTURE)
    assert d["entries"] and {e["device"] for e in d["entries"]} == {"cpu", "cuda"}
    assert {e["status"] for e in d["entries"]} >= {"ok", "failed", "error", "skipped"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep")
    return build_report([FIXTURE], out), out


def small_fixture(tmp_path, keep=lambda e: e.get("suite") == "sweep"):
    """The fixture cut down to a few entries (one plot): plotting is what costs time."""
    d = results.read(FIXTURE)
    d["entries"] = [e for e in d["entries"] if keep(e)]
    return results.write(tmp_path / "small.json", d)


def test_report_page_and_plots(report):
    page, out = report
    html = page.read_text()
    names = sorted(p.name for p in out.glob("*.png"))
    for prefix in ("ladder_matmul_cpu", "ladder_matmul_cuda", "sweep_sum", "bound_roofline_matmul_",
                   "bound_roofline_reduce_"):
        assert any(n.startswith(prefix) for n in names), (prefix, names)
    links = re.findall(r'<img alt="[^"]+" src="([^"]+\.png)">', html)
    assert sorted(links) == names                          # every plot linked once, none embedded
    assert "base64" not in html
    src = re.findall(r'<a href="([^"]+)">cpu_01_naive</a>', html)
    assert src and (out / src[0]).resolve() == (Path(__file__).resolve().parents[1] / "csrc/cpu/matmul/01_naive.cpp")
    assert "FAILED" in html and "crossover" in html.lower() or "GPU faster" in html
    assert "100,000" in html                               # the synthetic crossover
    assert "<h3>overhead · per-call cost at tiny sizes</h3>" in html   # the overhead table (no chart)
    assert "<h3>layers · the best rung of each layer, per case</h3>" in html   # the layers table (no chart)
    assert "<script" not in html                           # nothing external to load


def test_two_files_side_by_side(tmp_path):
    small = small_fixture(tmp_path)
    page = build_report([small, small], tmp_path / "two")
    assert page.read_text().count("<h2>small.json</h2>") == 2
    assert any((tmp_path / "two").rglob("*.png"))


def test_every_suite_of_cases_gets_its_tables(tmp_path):
    d = results.read(FIXTURE)     # a suite the page names nowhere (cpu-gemm), shown case by case like the ladder
    d["entries"] = [dict(e, suite="cpu-gemm") for e in d["entries"] if e["suite"] == "shapes"]
    page = build_report([results.write(tmp_path / "g.json", d)], tmp_path / "g").read_text()
    assert "<h2>cpu-gemm</h2>" in page and "<h3>layers · the best rung of each layer, per case of cpu-gemm</h3>" in page
    assert page.count("<h3>cpu-gemm · ") == len({e["key"] for e in d["entries"]})


def test_crossover_and_layers_from_the_fixture():
    d = results.read(FIXTURE)
    cx = analysis.crossovers(d["entries"])
    assert cx[0]["series"] == "sum" and cx[0]["crossover_size"] == 100_000
    per = analysis.best_per_layer(d["entries"])
    cuda = [v for k, v in per.items() if "/cuda/" in k][0]
    assert list(cuda) == ["handwritten-cuda", "vendor-library"]


def test_each_plot_returns_none_without_data(tmp_path):
    assert plots.ladder_bars([], tmp_path) is None
    assert plots.sweep_plot([], "sum", "float32", tmp_path) is None
