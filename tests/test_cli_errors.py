"""Every bad invocation of the command line: one line on stderr, a non-zero exit code, no traceback,
and nothing measured.  Table-driven: (argv, exit code, the exact error line)."""
import json
import os

import pytest

from kernelbench import cli


def _files(tmp):
    (tmp / "corrupt.json").write_text("{not json")
    (tmp / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp / "other.json").write_text(json.dumps({"hello": 1}))
    (tmp / "entries5.json").write_text(json.dumps({"kind": "kernelbench-results", "schema_version": 1, "entries": 5}))
    (tmp / "future.json").write_text(json.dumps({"kind": "kernelbench-results", "schema_version": 99}))
    (tmp / "badentry.json").write_text(json.dumps({"kind": "kernelbench-results", "schema_version": 1,
                                                   "entries": [{"suite": "ladder", "key": "k", "impl": "x",
                                                                "status": "ok", "median_s": "fast"}]}))
    (tmp / "ro").mkdir()
    os.chmod(tmp / "ro", 0o500)


CASES = [
    (["report", "{t}/missing.json"], "{t}/missing.json: no such file"),
    (["show", "{t}/missing.json"], "{t}/missing.json: no such file"),
    (["compare", "{t}/corrupt.json", "{t}/corrupt.json"], "{t}/corrupt.json: not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    (["show", "{t}/binary.json"], "{t}/binary.json: not a text file (not UTF-8)"),
    (["show", "{t}/other.json"], '{t}/other.json: not a kernelbench result file (no "kind": "kernelbench-results")'),
    (["show", "{t}/entries5.json"], '{t}/entries5.json: "entries" is 5, expected list'),
    (["show", "{t}/future.json"], "{t}/future.json: schema_version 99; this kernelbench reads 1 to 2 "
                                  "(a newer kernelbench wrote it: update kernelbench)"),
    (["show", "{t}/badentry.json"], "{t}/badentry.json: entry 0: \"median_s\" is 'fast', expected int or float or null"),
    (["show", "{t}"], "{t}: is a folder, not a result file"),
    (["tables", "{t}/missing.json", "--readme", "{t}/R.md"], "{t}/missing.json: no such file"),
    (["tables", "{t}/corrupt.json"], "tables: name the markdown files: --readme README.md and/or --docs docs"),
    (["list", "--op", "bogus"], "list --op: unknown op 'bogus' (one of l2norm, log_softmax, matmul, reduce, softmax)"),
    (["list", "--device", "gpu"], "list --device: expected cpu or cuda, got 'gpu'"),
    (["list", "--layer", "magic"], None),
    (["run", "--suite", ""], "--suite: empty (one of ladder, sweep, shapes, overhead, layers, cpu-gemm, all)"),
    (["run", "--suite", "nope"], "--suite: unknown suite 'nope' (one of ladder, sweep, shapes, overhead, layers, cpu-gemm, all)"),
    (["run", "--op", "conv"], "--op: unknown op 'conv' (one of matmul, reduce, softmax, log_softmax, l2norm)"),
    (["run", "--op", ""], "--op: empty"),
    (["run", "--device", "gpu"], "--device: expected cpu or cuda, got 'gpu'"),
    (["run", "--device", ""], "--device: empty (cpu or cuda)"),
    (["run", "--dtype", "int8"], "--dtype: expected float32, float64, float16 or bfloat16, got 'int8'"),
    (["run", "--sizes", "matmul=abc"], "--sizes: cannot read 'abc' as a size (examples: 4096, 1e6, 2^20)"),
    (["run", "--sizes", "1e400"], None),
    (["run", "--sizes", "0"], "--sizes: all: every size must be between 1 and 2^40, got 0"),
    (["run", "--out", "{t}/corrupt.json/r.json"], None),
    (["run", "--sizes", "matmul=1x2"], "--sizes: matmul: expected N, MxNxK or BxMxNxK, got 1x2"),
    (["run", "--sizes", "matmul=2x3x4x5x6"], "--sizes: matmul: expected N, MxNxK or BxMxNxK, got 2x3x4x5x6"),
    (["run", "--sizes", "reduce=10:5"], "--sizes: reduce: dim 5 out of range for a 1-d shape 10"),
    (["run", "--sizes", "reduce=1x2:x"], "--sizes: cannot read the dim 'x' of 1x2:x (example: 128x4096x4095:1)"),
    (["run", "--sizes", "softmax=4x8:1"], "--sizes: softmax: ':dim' is for reductions only, got 4x8:1"),
    (["run", "--impl", "zzz*"], "--impl: no rung matches 'zzz*' (`kernelbench list` shows the names)"),
    (["run", "--nope"], "unrecognized arguments: --nope"),
    (["frobnicate"], None),
    (["compare", "{t}/a.json"], None),
]


@pytest.mark.parametrize("argv, line", CASES, ids=[" ".join(c[0])[:40] for c in CASES])
def test_bad_invocation_is_one_line(tmp_path, capsys, argv, line, monkeypatch):
    _files(tmp_path)
    measured = []
    monkeypatch.setattr("kernelbench.bench.run.run", lambda *a, **k: measured.append(1) or (0, None))
    argv = [a.format(t=tmp_path) for a in argv]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kernelbench: error: "), err
    assert "Traceback" not in err + out
    if line is not None:
        assert lines[0] == "kernelbench: error: " + line.format(t=tmp_path)
    assert not measured     # nothing was measured before the error


def test_unwritable_out_is_refused_before_measuring(tmp_path, capsys, monkeypatch):
    if os.geteuid() == 0:
        target = "/proc/kb-cannot-write/r.json"      # root writes anywhere else
    else:
        (tmp_path / "ro").mkdir()
        os.chmod(tmp_path / "ro", 0o500)
        target = str(tmp_path / "ro" / "r.json")
    measured = []
    monkeypatch.setattr("kernelbench.bench.run.run", lambda *a, **k: measured.append(1) or (0, None))
    assert cli.main(["run", "--out", target]) == 2
    assert capsys.readouterr().err.startswith("kernelbench: error: --out: ")
    assert not measured


def test_version(capsys):
    import kernelbench
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"kernelbench {kernelbench.__version__}"


def test_run_exit_code_when_a_rung_errors(monkeypatch, tmp_path):
    """run exits 3 when a rung FAILED or raised (documented in kernelbench.cli)."""
    from kernelbench.bench import run as runmod
    seen = {}

    def fake_run(*a, **k):
        seen.update(k)
        return 3, None
    monkeypatch.setattr(runmod, "run", fake_run)
    assert cli.main(["run", "--quick", "--out", str(tmp_path / "r.json")]) == 3
    assert "strict" not in seen               # --strict is the default: the flag is only accepted
    assert cli.EXIT_RUNG_ERRORS == 3 and "3 `run` measured, but some rung FAILED" in cli.__doc__


def test_zero_and_missing_medians_are_not_timings(tmp_path, capsys):
    """A stored median of 0 (or null) is 'not timed': show, compare and report print no ZeroDivisionError."""
    entry = {"suite": "ladder", "key": "matmul/cpu/float32/8x8x8", "label": "matmul 8x8x8", "impl": "x",
             "device": "cpu", "dtype": "float32", "op": "matmul", "status": "ok", "median_s": 0, "metric": "tflops"}
    d = {"kind": "kernelbench-results", "schema_version": 1, "entries": [entry, {**entry, "impl": "y", "median_s": None}]}
    p = tmp_path / "zero.json"
    p.write_text(json.dumps(d))
    assert cli.main(["show", str(p)]) == 0
    assert cli.main(["compare", str(p), str(p)]) == 0
    out = capsys.readouterr().out
    assert "not timed: 2" in out


def test_strict_is_accepted_with_a_deprecation_note(monkeypatch, tmp_path, capsys):
    from kernelbench.bench import run as runmod
    monkeypatch.setattr(runmod, "run", lambda *a, **k: (0, None))
    assert cli.main(["run", "--quick", "--strict", "--out", str(tmp_path / "r.json")]) == 0
    assert "--strict is deprecated" in capsys.readouterr().err
    assert cli.main(["run", "--quick", "--out", str(tmp_path / "r.json")]) == 0
    assert "deprecated" not in capsys.readouterr().err
