"""The result file: schema round-trip, refusal of foreign or newer files, JSON-safe values."""
import dataclasses
import json
import math

import pytest

from kernelbench.bench import results


def sample() -> results.Results:
    d = results.new_result(["ladder"], ["kernelbench", "run", "--quick"], True, {"ops": ["matmul"]})
    d["environment"] = {"cpu": {"model": "Test CPU"}, "versions": {"python": "3.11"}}
    d["peaks"] = {"cpu": {"device": "cpu", "name": "Test CPU", "flops": {"float32": 3.2e11}, "bandwidth": 1.9e10}}
    d["entries"] = [results.Entry(suite="ladder", key="matmul/cpu/float32/8x8x8", impl="x", status="ok", median_s=1.5e-6,
                                  iqr_s=1e-8, rel_iqr=0.0066, noisy=False, timing={"samples": [1.5e-6, 1.6e-6]},
                                  shape=[8, 8, 8])]
    return d


def test_round_trip(tmp_path):
    d = sample()
    path = results.write(tmp_path / "a.json", d)
    back = results.read(path)
    assert back.pop("_path") == str(path)
    assert isinstance(back["entries"][0], results.Entry) and back["entries"][0]["shape"] == [8, 8, 8]
    assert back == json.loads(json.dumps(d)) and list(back["entries"][0])[:3] == ["suite", "key", "impl"]
    assert back["schema_version"] == results.SCHEMA_VERSION and back["kind"] == results.KIND
    assert json.loads(path.read_text())["entries"][0]["shape"] == [8, 8, 8]   # other keys are stored flat
    assert results.Entry(suite="s", key="k", impl="i", pct_peak=None).get("pct_peak", 7) == 7   # null: the default


def test_non_finite_and_numpy_values_are_cleaned(tmp_path):
    import numpy as np
    d = sample()
    d["entries"][0].update(err_ratio=math.inf, max_abs_err=float("nan"), n=np.int64(7), shape=(8, 8, 8), _data=d)
    back = results.read(results.write(tmp_path / "b.json", d))["entries"][0]
    assert back["err_ratio"] is None and back["max_abs_err"] is None and back["n"] == 7 and back["shape"] == [8, 8, 8]
    assert "_data" not in back                 # a record's "_" keys are not written


def test_a_field_of_the_wrong_type_is_refused_by_name(tmp_path):
    d = sample()
    d["entries"][0]["n"] = "seven"
    (tmp_path / "n.json").write_text(json.dumps(d))
    with pytest.raises(results.ResultFileError, match=r"entry 0: \"n\" is 'seven', expected int or float or null"):
        results.read(tmp_path / "n.json")
    d["entries"][0]["n"] = True               # a bool is not a count
    (tmp_path / "n.json").write_text(json.dumps(d))
    with pytest.raises(results.ResultFileError, match="\"n\" is True"):
        results.read(tmp_path / "n.json")


def test_version_1_files_migrate_without_a_pct_of_peak_above_100(tmp_path):
    d = sample()
    d["schema_version"] = 1
    d["entries"][0].update(pct_peak=189.0, peak_label="L3 read 30 GB/s")
    d["entries"].append(dict(d["entries"][0], impl="y", pct_peak=87.5))
    (tmp_path / "v1.json").write_text(json.dumps(d))
    back = results.read(tmp_path / "v1.json")
    assert back["schema_version"] == 2
    assert back["entries"][0]["pct_peak"] is None and back["entries"][0]["pct_peak_over"] == 189.0
    assert back["entries"][1]["pct_peak"] == 87.5 and "pct_peak_over" not in back["entries"][1]
    assert results.over_peak_note(back["entries"]).startswith("no % of peak for 1 rung(s) that measured 189-189% of it")


def test_the_committed_result_files_load_typed():
    from pathlib import Path
    files = sorted(Path(__file__).resolve().parents[1].glob("results/*/*.json"))
    assert files
    for f in files:
        data = results.read(f)
        assert data["entries"] and all(isinstance(e, results.Entry) for e in data["entries"])
        assert all(e["pct_peak"] is None or e["pct_peak"] <= 100 for e in data["entries"]), f


def test_json_schema_names_every_field_and_the_version():
    sch = results.json_schema()
    assert sch["properties"]["schema_version"] == {"const": results.SCHEMA_VERSION}
    item = sch["properties"]["entries"]["items"]
    assert set(item["properties"]) == {f.name for f in dataclasses.fields(results.Entry.schema)} and item["required"] == ["suite", "key", "impl"]
    assert item["properties"]["median_s"]["type"] == ["integer", "null", "number"]


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
    with pytest.raises(results.ResultFileError, match=f"schema_version {results.SCHEMA_VERSION + 1}; .*newer"):
        results.read(tmp_path / "y.json")
    (tmp_path / "z.json").write_text("{not json")
    with pytest.raises(results.ResultFileError):
        results.read(tmp_path / "z.json")


def test_git_info_and_environment_fallback(monkeypatch):
    from kernelbench import info
    g = info.git()
    assert set(g) == {"commit", "dirty"} and len(g["commit"]) == 40 and isinstance(g["dirty"], bool)
    monkeypatch.setattr(results, "info", None)
    env = results.environment()                # never raises, whatever kernelbench.info is:
    import platform
    assert "AttributeError" in env["info_error"] and env["platform"] == platform.platform()
    assert env["versions"] == {"python": platform.python_version()}


def test_an_entry_without_its_identity_or_with_a_negative_time_is_refused(tmp_path):
    d = sample()
    del d["entries"][0]["impl"]
    (tmp_path / "i.json").write_text(json.dumps(d))
    with pytest.raises(results.ResultFileError, match="entry 0: \"impl\" missing"):
        results.read(tmp_path / "i.json")
    d = sample()
    d["entries"][0]["median_s"] = -1.0
    (tmp_path / "m.json").write_text(json.dumps(d))
    with pytest.raises(results.ResultFileError, match="\"median_s\" is -1.0, expected a number >= 0"):
        results.read(tmp_path / "m.json")
