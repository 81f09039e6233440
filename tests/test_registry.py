"""The registry and the C++ kernel tables: one description per rung, every fact agreed.

A native rung's facts live in its C++ table line only (csrc/*/*/table.c*); the registry reads them
(kernelbench/registry/tables.py) and adds a description; the source path follows from the name.  These
tests check that
the two agree on every fact, through both ways the tables reach Python (the built module and the
facts-only JSON written at build time), and that the check fails when either side is edited alone.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import setup_py

import kernelbench as kb
from kernelbench import _frontdoors, registry
from kernelbench.registry import tables
from kernelbench.registry.core import LAYERS, LAYOUT_CLASSES, OPS, flag_refusals, layout_class

ROOT = Path(__file__).resolve().parent.parent
TABLE_OPS = {"matmul": "matmul", "reduce": "reduce", "softmax": "softmax", "log_softmax": "softmax",
             "l2norm": "l2norm"}


def module_tables():
    t = tables.from_module()
    if t is None:
        pytest.skip("pybind11 module not built (or built before tables_json)")
    return t


def file_tables():
    t = tables.from_file()
    if t is None:
        pytest.skip("kernelbench/_kb_tables.json not written (no build yet)")
    return t


def test_every_entry_is_complete_and_its_source_exists():
    impls = kb.list_impls()
    assert impls, "empty registry"
    for i in impls:
        assert i.op in OPS and i.layer in LAYERS and i.device in ("cpu", "cuda")
        assert i.adds and len(i.adds) < 200, i.name
        assert i.dtypes and i.front_doors, i.name
        assert (ROOT / i.source).exists(), f"{i.name}: source {i.source} missing"
        if not i.native:
            assert i.fn is not None and i.backend, f"{i.name}: Python-level rung without fn/backend"


def test_source_paths_follow_from_names():
    """No path is typed: csrc/<device>/<table folder or library>/<name less the device prefix>."""
    from kernelbench.registry.core import source_of
    assert source_of("matmul", "cuda", "cuda_05_blocktile_2d") == "csrc/cuda/matmul/05_blocktile_2d.cu"
    assert source_of("softmax", "cpu", "cpu_06_softmax") == "csrc/cpu/reduce/06_softmax.cpp"
    assert source_of("reduce", "cuda", "cub_device_reduce", ("inner_one", "vendor")) == \
        "csrc/cuda/library/cub_device_reduce.cu"
    for i in kb.list_impls():
        if i.native:
            assert (ROOT / i.source).is_file(), f"{i.name}: no file at {i.source} (rename the file or the rung)"


def test_native_means_present_in_a_cpp_table():
    t = tables.load()
    in_tables = {(k["op"], k["device"], k["name"]) for k in t["kernels"]}
    natives = {(TABLE_OPS[i.op], i.device, i.name) for i in kb.list_impls() if i.native}
    assert natives == in_tables
    cub = kb.get_impl("reduce", "cub_device_reduce")
    assert cub.native and cub.layer == "vendor-library" and cub.front_doors == ("torch", "tf", "pybind")


def test_no_description_without_a_table_line():
    assert registry.UNMATCHED_DESCRIPTIONS == []


def test_registry_agrees_with_the_module_tables_on_every_fact():
    assert tables.disagreements(module_tables(), kb.list_impls()) == []


def test_registry_agrees_with_the_build_time_json_on_every_fact():
    assert tables.disagreements(file_tables(), kb.list_impls()) == []


def test_the_build_time_json_is_the_module_tables():
    mod, file = module_tables(), file_tables()
    devices = ("cpu", "cuda") if mod["cuda_tables"] else ("cpu",)
    assert [k for k in mod["kernels"] if k["device"] in devices] == \
        [k for k in file["kernels"] if k["device"] in devices]


def test_torch_extension_has_the_same_tables():
    te = _frontdoors.torch_ext()
    pb = _frontdoors.pybind()
    if te is None or pb is None:
        pytest.skip("torch extension or pybind11 module not built")
    for op in ("matmul", "reduce", "softmax", "l2norm"):
        assert te.kernel_names(op, "cpu") == pb.kernel_names(op, "cpu")


# ---------------------------------------------------------------- the check fails on one-sided edits
def test_a_registry_fact_edited_alone_is_reported():
    impls = kb.list_impls()
    k = next(n for n, i in enumerate(impls) if i.name == "cuda_12_dim_inner")
    edited = list(impls)
    edited[k] = dataclasses.replace(impls[k], dtypes=("float32",), rank=7)
    got = tables.disagreements(tables.load(), edited)
    assert got == [
        "reduce/cuda/cuda_12_dim_inner: dtypes is ['float32'] in the registry but "
        "['float32', 'float64', 'float16', 'bfloat16'] in the C++ table",
        "reduce/cuda/cuda_12_dim_inner: rank is 7 in the registry but 3 in the C++ table"]


def test_a_table_line_without_description_or_registry_entry_is_reported():
    t = json.loads(json.dumps(tables.load()))
    extra = dict(next(k for k in t["kernels"] if k["name"] == "cuda_01_naive"), name="cuda_99_new")
    t["kernels"].append(extra)
    assert tables.disagreements(t, kb.list_impls()) == [
        "matmul/cuda/cuda_99_new: in the C++ table but not in the registry"]


def _setup_dump_tables():
    """setup.py's dump_tables."""
    return setup_py().dump_tables


@pytest.fixture
def edited_csrc(tmp_path):
    if shutil.which(os.environ.get("CXX", "g++")) is None or not (ROOT / "build/kb_native/libkb_cpu.a").exists():
        pytest.skip("needs g++ and a build (build/kb_native/libkb_cpu.a)")
    csrc = tmp_path / "csrc"
    shutil.copytree(ROOT / "csrc", csrc, ignore=shutil.ignore_patterns("*.o", "selftest_*"))
    return csrc


def test_a_table_line_edited_alone_is_reported(edited_csrc, tmp_path):
    """Edit one C++ line in a copy of csrc/, dump its tables the way the build does: the check sees
    every fact that moved (here: 13 no longer refuses inner == 1, and one dtype fewer)."""
    table = edited_csrc / "cuda" / "reduce" / "table.cu"
    src = table.read_text()
    line = next(ln for ln in src.splitlines() if '"cuda_13_dim_outer"' in ln)
    table.write_text(src.replace(line, line.replace("kAll, kOps, kInnerMany", "kF32 | kF64 | kF16, kOps, 0")))
    out = tmp_path / "tables.json"
    assert _setup_dump_tables()(csrc=edited_csrc, work=tmp_path, out=out)
    got = tables.disagreements(json.loads(out.read_text()), kb.list_impls())
    assert got == [
        "reduce/cuda/cuda_13_dim_outer: dtypes is ['float32', 'float64', 'float16', 'bfloat16'] in the registry "
        "but ['float32', 'float64', 'float16'] in the C++ table",
        "reduce/cuda/cuda_13_dim_outer: traits is ['inner_many'] in the registry but [] in the C++ table",
        "reduce/cuda/cuda_13_dim_outer: probes is {'columns': None, 'rows': 'reduces a non-innermost dim only "
        "(inner > 1)', 'whole': 'reduces a non-innermost dim only (inner > 1)'} in the registry but "
        "{'whole': None, 'rows': None, 'columns': None} in the C++ table"]


def test_the_unedited_copy_dumps_the_same_tables(edited_csrc, tmp_path):
    out = tmp_path / "tables.json"
    assert _setup_dump_tables()(csrc=edited_csrc, work=tmp_path, out=out)
    assert tables.disagreements(json.loads(out.read_text()), kb.list_impls()) == []


# ---------------------------------------------------------------- preconditions (kb::refuses)
def test_python_flag_semantics_are_kb_refuses():
    """flag_refusals (used for Python-level rungs) refuses exactly what kb::refuses refuses on the
    probes of every native rung (ignoring the message)."""
    for i in kb.list_impls():
        if not i.native:
            continue
        t = i.traits
        py = flag_refusals(i.op, "whole_only" in t, "dim_only" in t, "vector_only" in t, "inner_one" in t,
                           "inner_many" in t)
        assert {c: r is None for c, r in py.items()} == {c: r is None for c, r in dict(i.probes).items()}, i.name


def test_layout_preconditions_of_the_dim_rungs():
    """The defects of issue 9: 12 refuses inner > 1, 13 refuses inner == 1, 01-11 refuse dims, CUB
    refuses inner > 1 -- stated in the tables, so nothing selects them for such cases."""
    def probes(name):
        return dict(kb.get_impl("reduce", name).probes)
    assert probes("cuda_12_dim_inner") == {"whole": None, "rows": None,
                                           "columns": "reduces the innermost dim only (inner == 1)"}
    assert probes("cuda_13_dim_outer") == {"whole": "reduces a non-innermost dim only (inner > 1)",
                                           "rows": "reduces a non-innermost dim only (inner > 1)", "columns": None}
    assert probes("cub_device_reduce")["columns"] == "reduces the innermost dim only (inner == 1)"
    whole = "reduces whole tensors only (outer == inner == 1): pass dim=None or choose a dim rung"
    whole_only = [i.name for i in kb.list_impls(op="reduce", device="cuda") if "whole_only" in i.traits]
    assert len(whole_only) >= 2   # the whole-tensor ladder: from the table, not from a range of numbers
    for name in whole_only:
        assert probes(name) == {"whole": None, "rows": whole, "columns": whole}, name
    assert dict(kb.get_impl("matmul", "cuda_09_gemv").probes) == {
        "vector": None, "matrix": "takes matrix-vector shapes only (M == 1 or N == 1)"}


def test_layout_classes():
    assert layout_class("reduce", (4, 5), None) == "whole"
    assert layout_class("reduce", (7,), 0) == "whole"
    assert layout_class("reduce", (1, 7, 1), 1) == "whole"
    assert layout_class("reduce", (4, 5), 1) == "rows"
    assert layout_class("reduce", (4, 5), -1) == "rows"
    assert layout_class("reduce", (4, 5, 3), 1) == "columns"
    assert layout_class("reduce", (4, 5), 0) == "columns"
    assert layout_class("matmul", (), batch_m_n=(1, 1, 8)) == "vector"
    assert layout_class("matmul", (), batch_m_n=(2, 8, 1)) == "vector"
    assert layout_class("matmul", (), batch_m_n=(1, 8, 8)) == "matrix"
    assert set(LAYOUT_CLASSES["reduce"]) == set(dict(kb.get_impl("reduce", "cuda_best").probes))


# ---------------------------------------------------------------- what is derived from the tables
def test_default_ranking_comes_from_the_tables():
    """impl=None tries the ranked lines (rank > 0, unique per op and device) in rank order and takes
    the first that accepts the case: checked on every dtype and layout class, names from the tables."""
    from kernelbench import api
    for op in ("matmul", "reduce"):
        for device in ("cpu", "cuda"):
            ours = [i for i in kb.list_impls(op=op, device=device) if i.native and i.op == op]
            ranks = [i.rank for i in ours if i.rank]
            assert len(ranks) >= 2 and len(set(ranks)) == len(ranks), (op, device, ranks)
            order = api._preferred(op, device)
            assert [kb.get_impl(op, n).rank for n in order] == sorted(ranks)
            for dtype in {d for i in ours for d in i.dtypes}:
                for layout in LAYOUT_CLASSES[op]:
                    takes = [n for n in order if dtype in kb.get_impl(op, n).dtypes
                             and kb.get_impl(op, n).refusal(layout) is None]
                    if takes:
                        assert api._default_impl(op, device, dtype, None, layout) == takes[0]


def test_cupy_nvrtc_rungs_are_the_native_rungs_with_a_launch_config():
    from kernelbench.rungs import cupy_nvrtc as nv
    with_config = [i for i in kb.list_impls(device="cuda") if i.native and i.nvrtc]
    assert {f"cupy_nvrtc_{i.name[len('cuda_'):]}" for i in with_config} == \
        {i.name for i in kb.list_impls(layer="cupy-nvrtc")}
    assert "cuda_09_gemv" in nv.rungs("matmul") and "cuda_best" not in nv.rungs("matmul")
    assert nv.rungs("reduce") == ("cuda_11_single_pass",)
    twin = kb.get_impl("matmul", "cupy_nvrtc_09_gemv")
    assert twin.probes == kb.get_impl("matmul", "cuda_09_gemv").probes and twin.vector_only


def test_list_impls_filters():
    assert all(i.op == "matmul" for i in kb.list_impls(op="matmul"))
    assert all(i.device == "cpu" for i in kb.list_impls(device="cpu"))
    assert {i.name for i in kb.list_impls(op="argmax")} <= {i.name for i in kb.list_impls(op="reduce")}
    with pytest.raises(ValueError, match="no matmul implementation named"):
        kb.get_impl("matmul", "does-not-exist")


# ---------------------------------------------------------------- generated docs tables
def _make_tables():
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_tables", ROOT / "docs" / "make_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_docs_rung_tables_are_current():
    mt = _make_tables()
    mds = [ROOT / "docs" / "matmul.md", ROOT / "docs" / "reduce.md"]
    assert sum(len(mt.RUNGS.findall(m.read_text())) for m in mds) == 8
    assert mt.update_rung_tables(mds, check=True) == 0, "run: python docs/make_tables.py"


def test_a_stale_docs_rung_table_fails_the_check(tmp_path):
    """A row edited by hand (here: 13's precondition) is caught by `make_tables.py --check`."""
    mt = _make_tables()
    md = tmp_path / "reduce.md"
    text = (ROOT / "docs" / "reduce.md").read_text()
    assert "non-innermost dim (inner > 1)" in text
    md.write_text(text.replace("non-innermost dim (inner > 1)", "any layout", 1))
    assert mt.update_rung_tables([md], check=True) == 1
    assert mt.update_rung_tables([md], check=False) == 0 and md.read_text() == text


def test_docs_limits_come_from_the_source_header(tmp_path):
    mt = _make_tables()
    f = tmp_path / "x.cu"
    f.write_text("// 99_x: adds a thing.\n// Limits: one thing; a one-\n// dimensional reuse.  Smem: 4 KB.\n#include <x>\n"
                 "// Limits: not the header\n")
    assert mt.source_limits(f) == "one thing; a one-dimensional reuse."
    f.write_text("// no limits here\nint x;\n")
    assert mt.source_limits(f) == "-"


# ---------------------------------------------------------------- the benchmark never picks a refused rung
def test_no_suite_selects_a_rung_for_a_case_its_line_refuses():
    """Every group of every suite, on both devices: each rung takes the case's dtype and op and
    its table line (or flags) accepts the case's layout (issue 9: 12/13 were planned on layouts
    they refuse, and GEMV on matrices)."""
    from kernelbench.bench.suites import Selection, case_layout, plan
    groups, _ = plan(["ladder", "shapes", "sweep"], Selection(), ["cpu", "cuda"])
    seen = {}
    for g in groups:
        layout = case_layout(g.case)
        for i in g.impls:
            assert g.case.dtype in i.dtypes, (i.name, g.case.key)
            assert i.refusal(layout) is None, (i.name, g.case.key, i.refusal(layout))
            seen.setdefault(i.name, set()).add(layout)
    # every rung with a layout trait is planned, on the layout its trait names (from the tables)
    only = {"inner_many": {"columns"}, "vector_only": {"vector"}, "whole_only": {"whole"}}
    for i in kb.list_impls(device="cuda"):
        if not i.native:
            continue
        for trait, layouts in only.items():
            if trait in i.traits:
                assert seen[i.name] == layouts, (i.name, seen.get(i.name))
        if "inner_one" in i.traits:
            assert "rows" in seen[i.name] and seen[i.name] <= {"whole", "rows"}, i.name


def test_tables_come_from_the_json_when_no_module_is_built(monkeypatch):
    file = file_tables()
    monkeypatch.setattr(tables, "from_module", lambda: None)
    tables.load.cache_clear()
    try:
        got = tables.load()
        assert got["source"] == "file" and got["kernels"] == file["kernels"] and got["cuda_built"] is False
    finally:
        tables.load.cache_clear()


def test_a_module_without_cuda_gets_the_cuda_lines_from_the_json(monkeypatch):
    file = file_tables()
    cpu_only = {"schema": 1, "facts_only": False, "cuda_tables": False,
                "kernels": [k for k in file["kernels"] if k["device"] == "cpu"]}
    monkeypatch.setattr(tables, "from_module", lambda: cpu_only)
    tables.load.cache_clear()
    try:
        got = tables.load()
        assert got["source"] == "module+file" and got["cuda_built"] is False
        assert [k["name"] for k in got["kernels"]] == [k["name"] for k in file["kernels"]]
    finally:
        tables.load.cache_clear()
    from kernelbench.registry.core import _native_reason
    assert _native_reason("cuda", 0, False) == "this build has no CUDA kernels (nvcc was not found at build time)"
