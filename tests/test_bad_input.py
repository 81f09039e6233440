"""Bad input at every front door: a clear exception naming the argument; nothing crashes."""
from __future__ import annotations

import numpy as np
import pytest

import kernelbench as kb
from conftest import door_skip_reason, to_door

MM = next(i.name for i in kb.list_impls(op="matmul", device="cpu") if i.native)
RED = next(i.name for i in kb.list_impls(op="reduce", device="cpu") if i.native and not i.full_only)
DOORS = ["torch", "tf", "pybind"]


def arr(shape, dtype=np.float32):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def call(door, fn):
    reason = door_skip_reason(door, "cpu")
    if reason:
        pytest.skip(reason)
    return fn


ERRORS = (ValueError, TypeError, RuntimeError)


def tf_errors():
    try:
        import tensorflow as tf
        return ERRORS + (tf.errors.InvalidArgumentError,)
    except ImportError:
        return ERRORS


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("case,match", [
    ("inner", r"b: inner dimensions differ"),
    ("rank", r"a: expected a 2-D"),
    ("dtype", r"(b|a).*(float32|expected the dtype|floating)"),
    ("int", r"a: expected a floating-point"),
    ("batch", r"b: batch sizes differ"),
    ("impl", r"impl: no .*'nope'"),
])
def test_matmul_bad_input(door, case, match):
    call(door, None)
    a, b = arr((4, 5)), arr((5, 3))
    if case == "inner":
        b = arr((4, 3))
    elif case == "rank":
        a = arr((2, 2, 4, 5))
    elif case == "dtype":
        b = arr((5, 3), np.float64)
    elif case == "int":
        a, b = arr((4, 5)).astype(np.int32), arr((5, 3)).astype(np.int32)
    elif case == "batch":
        a, b = arr((2, 4, 5)), arr((3, 5, 3))
    impl = "nope" if case == "impl" else MM
    errors = tf_errors() if door == "tf" else ERRORS
    with pytest.raises(errors, match=match):
        kb.matmul(to_door(a, door, "cpu"), to_door(b, door, "cpu"), impl=impl)


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("case,match", [
    ("dim", r"dim: expected a value in \[-2, 1\]"),
    ("op", r"op: expected one of"),
    ("empty-max", r"max of an empty"),
])
def test_reduce_bad_input(door, case, match):
    call(door, None)
    x = arr((3, 4))
    kw = {"op": "sum", "dim": None}
    if case == "dim":
        kw["dim"] = 2
    elif case == "op":
        kw["op"] = "median"
    elif case == "empty-max":
        x, kw["op"] = arr((0,)), "max"
    errors = tf_errors() if door == "tf" else ERRORS
    with pytest.raises(errors, match=match):
        kb.reduce(to_door(x, door, "cpu"), kw["op"], dim=kw["dim"], impl=RED)


def test_mixed_array_types_and_devices():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="b: expected a torch array"):
        kb.matmul(torch.ones(2, 2), np.ones((2, 2), np.float32))
    cuda_names = [i.name for i in kb.list_impls(op="matmul", device="cuda") if i.native]
    if cuda_names:
        with pytest.raises(ValueError, match=r"runs on cuda but a is on cpu"):
            kb.matmul(torch.ones(2, 2), torch.ones(2, 2), impl=cuda_names[0])
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="b: expected a tensor on the device of a"):
            torch.ops.kernelbench.matmul(torch.ones(2, 2, device="cuda"), torch.ones(2, 2), cuda_names[0])


def test_sparse_and_unknown_types_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="a: expected a dense"):
        kb.matmul(torch.eye(3).to_sparse(), torch.ones(3, 3), impl=MM)
    with pytest.raises(TypeError, match="expected a torch / TensorFlow / numpy / cupy array"):
        kb.matmul([[1.0]], [[1.0]])


def test_cuda_rung_without_gpu_is_a_clear_error():
    from kernelbench import _frontdoors
    pb = _frontdoors.pybind()
    cuda_names = [i.name for i in kb.list_impls(op="matmul", device="cuda") if i.native]
    if pb is None or not pb.cuda_compiled() or pb.cuda_device_count() > 0 or not cuda_names:
        pytest.skip("needs a CUDA-built pybind11 module on a machine without a GPU")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        pb.matmul(arr((2, 2)), arr((2, 2)), cuda_names[0])
