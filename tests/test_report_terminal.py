"""Terminal tables at 80 columns: no number is ever cut (no "…", every figure whole); columns that do
not fit are left out with a note, the sweep is split into several tables."""
import re
from pathlib import Path

import pytest
from rich.console import Console

from kernelbench import cli
from kernelbench.bench import analysis
from kernelbench.report import model, terminal as con
from kernelbench.report.model import fmt_time
from kernelbench.bench.results import read

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "results").rglob("*.json")) + [ROOT / "tests" / "data" / "results_quick.json"]


def _render(obj, width):
    c = Console(width=width, record=True, file=open("/dev/null", "w"))
    c.print(obj)
    return c.export_text()


@pytest.mark.parametrize("path", FILES, ids=[p.parent.name + "/" + p.name for p in FILES])
@pytest.mark.parametrize("width", [80, 100])
def test_no_number_is_cut(path, width):
    data = read(path)
    entries = data["entries"]
    analysis.apply_library_ratios(entries)
    for (suite, _), es in analysis.case_groups(entries).items():
        if suite in ("sweep", "overhead"):
            continue
        text = _render(con.render(model.case(es), width), width)
        assert "…" not in text
        assert max(len(ln) for ln in text.splitlines()) <= width
        for e in es:
            if analysis.ok(e):
                assert fmt_time(e["median_s"]) in text, (e["impl"], fmt_time(e["median_s"]))
    for series, dtype in analysis.sweep_series(entries):
        text = _render(con.render(model.sweep(entries, series, dtype), width), width)
        assert "…" not in text and max(len(ln) for ln in text.splitlines()) <= width
        for e in entries:
            if e.get("series") == series and analysis.ok(e):
                assert fmt_time(e["median_s"]) in text
    for t in (model.layers(entries), model.overhead(entries)):
        if t is not None:
            text = _render(con.render(t, width), width)
            assert "…" not in text and max(len(ln) for ln in text.splitlines()) <= width


def test_narrow_case_table_says_what_it_left_out():
    es = [e for e in read(FILES[-1])["entries"] if e["suite"] == "ladder"][:6]
    text = _render(con.render(model.case(es), 60), 60)
    assert re.search(r"columns left out to fit 60 columns: .*layer", text.replace("\n", " "))


def test_show_prints_every_table(capsys):
    assert cli.main(["show", str(FILES[-1]), "--width", "80"]) == 0
    out = capsys.readouterr().out
    assert "ladder · matmul" in out and "sweep · sum" in out and "overhead" in out
