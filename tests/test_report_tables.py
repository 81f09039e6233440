"""Markdown tables regenerated between <!-- kb:table:NAME --> ... <!-- kb:end --> markers."""
from pathlib import Path

import pytest

from kernelbench.report import tables

FIXTURE = Path(__file__).parent / "data" / "results_quick.json"

DOC = """# Title

Intro text stays.

<!-- kb:table:ladder-matmul-cpu -->
old hand-typed table
<!-- kb:end -->

Between.

<!-- kb:table:sweep-sum -->
<!-- kb:end -->

<!-- kb:table:layers-matmul-cuda -->
<!-- kb:end -->

<!-- kb:table:overhead-cpu -->
<!-- kb:end -->

<!-- kb:table:env -->
<!-- kb:end -->

<!-- kb:table:bogus-name -->
keep me
<!-- kb:end -->
"""


def test_regenerates_between_markers(tmp_path):
    md = tmp_path / "README.md"
    md.write_text(DOC)
    log = []
    assert tables.update_files([FIXTURE], [md], root=tmp_path, log=log.append) == 0
    text = md.read_text()
    assert "old hand-typed table" not in text and "Intro text stays." in text and "Between." in text
    assert "| rung | layer | what it adds | time | IQR | TFLOP/s |" in text
    assert "`numpy_cpu`" in text and "FAILED" in text
    assert "crossover (float32): GPU faster from 100,000 on" in text
    assert "handwritten-cuda" in text and "vendor-library" in text
    assert "keep me" in text and any("bogus" in line for line in log)
    assert "results_quick.json" in text                    # provenance of every table
    # idempotent; --check passes once regenerated and fails on a stale file
    assert tables.update_files([FIXTURE], [md], root=tmp_path, check=True, log=log.append) == 0
    md.write_text(DOC)
    assert tables.update_files([FIXTURE], [md], root=tmp_path, check=True, log=log.append) == 1
    assert md.read_text() == DOC                           # --check writes nothing


def test_parse_names():
    assert tables.parse_name("ladder-reduce-cuda-bfloat16") == {"kind": "ladder", "op": "reduce", "device": "cuda",
                                                                "dtype": "bfloat16", "series": None}
    assert tables.parse_name("sweep-matmul")["series"] == "matmul"
    with pytest.raises(ValueError):
        tables.parse_name("ladder-matmul")
    with pytest.raises(ValueError):
        tables.parse_name("nonsense-x")


def test_missing_measurements_say_so(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("<!-- kb:table:ladder-l2norm-cuda -->\n<!-- kb:end -->\n")
    tables.update_files([FIXTURE], [md], root=tmp_path, log=lambda *_: None)
    assert "No ladder measurements of l2norm on cuda" in md.read_text()
