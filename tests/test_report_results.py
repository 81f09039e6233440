"""The result file: schema round-trip, refusal of foreign or newer files, JSON-safe values."""
import json
import math

import pytest

from kernelbench.bench import results


def sample() -> dict:
    d = results.new_result(["ladder"], ["kernelbench", "run", "--quick"], True, {"ops": ["matmul"]})
    d["environment"] = {"cpu": {"model": "Test CPU"}, "versions": {"python": "3.11"}}
    d["peaks"] = {"cpu": {"device": "cpu", "name": "Test CPU", "flops": {"float32": 3.2e11}, "bandwidth": 1.9e10}}
    d["entries"] = [{"suite": "ladder", "key": "matmul/cpu/float32/8x8x8", "impl": "x", "status": "ok",
                     "median_s": 1.5e-6, "iqr_s": 1e-8, "rel_iqr": 0.0066, "shape": [8, 8, 8], "noisy": False,
                     "timing": {"samples": [1.5e-6, 1.6e-6]}}]
    return d


def test_round_trip(tmp_path):
    d = sample()
    path = results.write(tmp_path / "a.json", d)
    back = results.read(path)
    assert back.pop("_path") == str(path)
    assert back == json.loads(json.dumps(d))
    assert back["schema_version"] == results.SCHEMA_VERSION and back["kind"] == results.KIND
    for k in ("created", "host", "git", "environment", "peaks", "entries", "argv"):
        assert k in back


def test_non_finite_and_numpy_values_are_cleaned(tmp_path):
    import numpy as np
    d = sample()
    d["entries"][0]["err_ratio"] = math.inf
    d["entries"][0]["max_abs_err"] = float("nan")
    d["entries"][0]["n"] = np.int64(7)
    d["entries"][0]["shape"] = (8, 8, 8)
    back = results.read(results.write(tmp_path / "b.json", d))
    e = back["entries"][0]
    assert e["err_ratio"] is None and e["max_abs_err"] is None and e["n"] == 7 and e["shape"] == [8, 8, 8]


def test_folder_out_gets_a_default_name(tmp_path):
    p = results.write(tmp_path / "dir", sample())
    assert p.parent == tmp_path / "dir" and p.suffix == ".json"


def test_refuses_foreign_and_newer_files(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(results.ResultFileError):
        results.read(tmp_path / "x.json")
    d = sample()
    d["schema_version"] = results.SCHEMA_VERSION + 1
    (tmp_path / "y.json").write_text(json.dumps(d))
    with pytest.raises(results.ResultFileError, match="schema_version"):
        results.read(tmp_path / "y.json")
    (tmp_path / "z.json").write_text("{not json")
    with pytest.raises(results.ResultFileError):
        results.read(tmp_path / "z.json")


def test_git_info_and_environment_fallback(monkeypatch):
    g = results.git_info()
    assert set(g) == {"commit", "dirty"}
    import kernelbench
    monkeypatch.setattr(kernelbench, "info", None, raising=False)
    env = results.environment()                # never raises, whatever kernelbench.info is:
    import platform
    assert "AttributeError" in env["info_error"] and env["platform"] == platform.platform()
    assert env["versions"] == {"python": platform.python_version()}
