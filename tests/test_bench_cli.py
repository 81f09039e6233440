"""The command line: list, report, compare, tables, info and argument errors (no measuring here;
the `run --quick` smoke test lives with the build)."""
from pathlib import Path

import pytest

from kernelbench import cli

FIXTURE = Path(__file__).parent / "data" / "results_quick.json"


def test_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "kernelbench registry" in out and "cpu_01_naive" in out


def test_report_compare_tables(tmp_path, capsys):
    from kernelbench.bench import results
    d = results.read(FIXTURE)
    d["entries"] = [e for e in d["entries"] if e.get("suite") == "overhead"]
    small = results.write(tmp_path / "small.json", d)
    assert cli.main(["report", str(small), "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "index.html").exists()
    assert cli.main(["compare", str(FIXTURE), str(FIXTURE)]) == 0
    md = tmp_path / "README.md"
    md.write_text("<!-- kb:table:ladder-reduce-cpu -->\n<!-- kb:end -->\n")
    assert cli.main(["tables", str(FIXTURE), "--readme", str(md)]) == 0
    assert "sum 2^20" in md.read_text()
    assert cli.main(["tables", str(FIXTURE), "--readme", str(md), "--check"]) == 0


def test_bad_arguments():
    """One line and exit code 2 (the full table of bad invocations: tests/test_cli_errors.py)."""
    for argv in (["run", "--suite", "nope"], ["run", "--op", "conv"], ["run", "--dtype", "int8"],
                 ["run", "--sizes", "matmul=abc"]):
        assert cli.main(argv) == 2, argv


def test_op_aliases():
    assert cli._ops(["sum"]) == ("reduce",)
    assert cli._ops(["softmax"]) == ("softmax", "log_softmax")
    assert cli._ops(["matmul,argmax"]) == ("matmul", "reduce")


def test_run_quick_smoke(tmp_path):
    """The real thing, small: `kernelbench run --quick --op reduce` writes a result file whose
    every entry has a status; a native rung that is built runs and passes."""
    from kernelbench import frontdoors
    from kernelbench.bench import results
    out = tmp_path / "smoke.json"
    code = cli.main(["run", "--quick", "--op", "reduce", "--device", "cpu", "--no-report", "--out", str(out)])
    assert code == 0
    data = results.read(out)
    entries = data["entries"]
    assert entries and all(e["status"] in ("ok", "skipped") for e in entries), \
        [(e["impl"], e["status"], e.get("reason")) for e in entries if e["status"] not in ("ok", "skipped")]
    assert all(e.get("reason") for e in entries if e["status"] == "skipped")       # a skip says why
    assert all(e["median_s"] > 0 and e["err_ratio"] is not None and e["err_ratio"] <= 1 for e in entries if e["status"] == "ok")
    assert data["peaks"]["cpu"]["flops"] and data["threads"]
    fd = frontdoors()
    if fd["torch"]["cpu"] or fd["pybind"]["cpu"]:
        native = [e for e in data["entries"] if e["native"]]
        assert native and all(e["status"] == "ok" for e in native), [(e["impl"], e["reason"]) for e in native]
