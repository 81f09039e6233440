"""The registry and the C++ kernel tables list the same native rungs; every entry is complete."""
from __future__ import annotations

from pathlib import Path

import pytest

import kernelbench as kb
from kernelbench import _frontdoors
from kernelbench.registry.core import LAYERS, OPS

ROOT = Path(__file__).resolve().parent.parent
TABLE_OPS = {"matmul": "matmul", "reduce": "reduce", "softmax": "softmax", "log_softmax": "softmax",
             "l2norm": "l2norm"}


def test_every_entry_is_complete_and_its_source_exists():
    impls = kb.list_impls()
    assert impls, "empty registry"
    for i in impls:
        assert i.op in OPS and i.layer in LAYERS and i.device in ("cpu", "cuda")
        assert i.adds and len(i.adds) < 200, i.name
        assert i.dtypes and i.front_doors, i.name
        assert (ROOT / i.source).exists(), f"{i.name}: source {i.source} missing"
        if not i.native and i.layer != "vendor-library":
            assert i.fn is not None and i.backend, f"{i.name}: Python-level rung without fn/backend"


def test_native_rung_names_match_their_files():
    for i in kb.list_impls():
        if i.native:
            stem = Path(i.source).stem   # e.g. 05_blocktile_2d
            assert i.name.endswith(stem) or i.name.endswith("best"), f"{i.name} vs {i.source}"


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("op", sorted(TABLE_OPS))
def test_cpp_tables_and_registry_agree(op, device):
    pb = _frontdoors.pybind()
    if pb is None:
        pytest.skip("pybind11 module not built")
    if device == "cuda" and not pb.cuda_compiled():
        pytest.skip("built without CUDA")
    in_cpp = set(pb.kernel_names(TABLE_OPS[op], device))
    in_registry = {i.name for i in kb.list_impls(op=op, device=device)
                   if i.native or (i.layer == "vendor-library" and "torch" in i.front_doors and i.fn is None)}
    assert in_cpp == in_registry, f"only in C++: {in_cpp - in_registry}; only in the registry: {in_registry - in_cpp}"


def test_torch_extension_has_the_same_tables():
    te = _frontdoors.torch_ext()
    pb = _frontdoors.pybind()
    if te is None or pb is None:
        pytest.skip("torch extension or pybind11 module not built")
    for op in ("matmul", "reduce", "softmax", "l2norm"):
        assert te.kernel_names(op, "cpu") == pb.kernel_names(op, "cpu")


def test_list_impls_filters():
    assert all(i.op == "matmul" for i in kb.list_impls(op="matmul"))
    assert all(i.device == "cpu" for i in kb.list_impls(device="cpu"))
    assert {i.name for i in kb.list_impls(op="argmax")} <= {i.name for i in kb.list_impls(op="reduce")}
    with pytest.raises(ValueError, match="no matmul implementation named"):
        kb.get_impl("matmul", "does-not-exist")
