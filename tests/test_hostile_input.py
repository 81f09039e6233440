"""Regression tests for issue 12 (hostile input): each reproducer, through every door, with the
exact shape / value / error message.  The rules are docs/semantics.md; the fuzzer that keeps
them is tests/test_fuzz.py."""
from __future__ import annotations

import numpy as np
import pytest

import kernelbench as kb
from conftest import door_skip_reason, to_door
from kernelbench.testing import to_float64

DOORS = ["pybind", "torch", "tf"]
CPU_MATMUL = [i.name for i in kb.list_impls(op="matmul", device="cpu") if i.native]
CPU_REDUCE = [i for i in kb.list_impls(op="reduce", device="cpu") if i.native]
AT_LEAST_1D = "x: expected at least a 1-D tensor, got a 0-D tensor"


def door(name):
    reason = door_skip_reason(name, "cpu")
    if reason:
        pytest.skip(reason)
    return name


def f32(shape, value=None):
    if value is None:
        return np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return np.full(shape, value, np.float32)


def zero_dim(d):
    """A 0-D float32 array of the door (conftest's to_door goes through ascontiguousarray: 1-D)."""
    if d == "torch":
        import torch
        return torch.tensor(2.0)
    if d == "tf":
        import tensorflow as tf
        return tf.constant(2.0)
    return np.array(2.0, np.float32)


def raises_exactly(exc_type, message, fn, *args, **kw):
    with pytest.raises(exc_type) as info:
        fn(*args, **kw)
    assert str(info.value) == message
    return info


# ------------------------------------------------------------------ 1. empty batch in matmul
EMPTY_BATCH = [((0, 3, 4), (4, 5), (0, 3, 5)), ((1, 3, 4), (0, 4, 5), (0, 3, 5)),
               ((0, 3, 4), (0, 4, 5), (0, 3, 5)), ((0, 3, 4), (1, 4, 5), (0, 3, 5)),
               ((4, 5), (0, 5, 2), (0, 4, 2))]


@pytest.mark.parametrize("d", DOORS)
@pytest.mark.parametrize("impl", CPU_MATMUL + [None])
@pytest.mark.parametrize("sa,sb,expect", EMPTY_BATCH)
def test_matmul_empty_batch_is_empty(d, impl, sa, sb, expect):
    door(d)
    c = kb.matmul(to_door(np.zeros(sa, np.float32), d, "cpu"), to_door(np.ones(sb, np.float32), d, "cpu"), impl=impl)
    assert tuple(c.shape) == expect


@pytest.mark.parametrize("impl", ["numba_njit_parallel", "numpy_cpu"])
def test_matmul_empty_batch_python_rungs(impl):
    entry = kb.get_impl("matmul", impl)
    if entry.unavailable_reason():
        pytest.skip(entry.unavailable_reason())
    for sa, sb, expect in EMPTY_BATCH:
        c = kb.matmul(np.zeros(sa, np.float32), np.ones(sb, np.float32), impl=impl)
        assert c.shape == expect and c.dtype == np.float32


def test_matmul_empty_batch_through_torch_op_and_autograd():
    torch = pytest.importorskip("torch")
    door("torch")
    for impl in CPU_MATMUL:
        assert torch.ops.kernelbench.matmul(torch.empty(0, 3, 4), torch.empty(4, 5), impl).shape == (0, 3, 5)
    a = torch.empty(0, 3, 4, requires_grad=True)
    b = torch.randn(4, 5, requires_grad=True)
    kb.matmul(a, b).sum().backward()
    assert a.grad.shape == (0, 3, 4)
    assert b.grad.tolist() == torch.zeros(4, 5).tolist()


@pytest.mark.parametrize("d", DOORS)
def test_matmul_k0_is_zeros(d):
    door(d)
    for sa, sb, expect in [((3, 0), (0, 5), (3, 5)), ((2, 3, 0), (0, 4), (2, 3, 4))]:
        c = kb.matmul(to_door(np.zeros(sa, np.float32), d, "cpu"), to_door(np.zeros(sb, np.float32), d, "cpu"))
        assert to_float64(c).tolist() == np.zeros(expect).tolist()


# ------------------------------------------------------------------ 2. Kahan keeps inf
@pytest.mark.parametrize("d", DOORS)
def test_kahan_propagates_inf_like_a_plain_sum(d):
    door(d)
    kahan = "cpu_05_kahan"
    x = to_door(np.array([1, np.inf, 2], np.float32), d, "cpu")
    assert float(to_float64(kb.reduce(x, "sum", impl=kahan))) == np.inf
    assert float(to_float64(kb.reduce(x, "mean", impl=kahan))) == np.inf
    big = to_door(np.full(4, 3e38, np.float32), d, "cpu")
    assert float(to_float64(kb.reduce(big, "sum", impl=kahan))) == np.inf
    neg = to_door(np.array([-np.inf, 1.0], np.float32), d, "cpu")
    assert float(to_float64(kb.reduce(neg, "sum", impl=kahan))) == -np.inf
    both = to_door(np.array([np.inf, -np.inf, 1.0], np.float32), d, "cpu")
    assert np.isnan(float(to_float64(kb.reduce(both, "sum", impl=kahan))))
    # along dims: a long row (AVX2 body) and columns (inner > 1); inf in one row only
    rows = np.ones((3, 100), np.float32)
    rows[1, 57] = np.inf
    got = to_float64(kb.reduce(to_door(rows, d, "cpu"), "sum", dim=1, impl=kahan))
    assert got.tolist() == [100.0, np.inf, 100.0]
    got = to_float64(kb.reduce(to_door(rows.T.copy(), d, "cpu"), "sum", dim=0, impl=kahan))
    assert got.tolist() == [100.0, np.inf, 100.0]
    # a long whole-tensor sum spanning several chunks / threads
    long = np.ones(300_000, np.float32)
    long[200_000] = np.inf
    assert float(to_float64(kb.reduce(to_door(long, d, "cpu"), "sum", impl=kahan))) == np.inf


# ------------------------------------------------------------------ 3. TF batch broadcast
def test_tf_batch_broadcast_gradients_and_static_shape():
    tf = pytest.importorskip("tensorflow")
    door("tf")
    rng = np.random.default_rng(0)
    for sa, sb in [((1, 3, 4), (5, 4, 2)), ((5, 3, 4), (1, 4, 2)), ((3, 4), (5, 4, 2)), ((5, 3, 4), (4, 2))]:
        a, b = tf.constant(rng.standard_normal(sa)), tf.constant(rng.standard_normal(sb))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([a, b])
            ours = tf.reduce_sum(kb.matmul(a, b) ** 2)
            theirs = tf.reduce_sum(tf.matmul(a, b) ** 2)
        for x in (a, b):
            g = tape.gradient(ours, x)
            assert tuple(g.shape) == tuple(x.shape)
            np.testing.assert_allclose(g.numpy(), tape.gradient(theirs, x).numpy(), rtol=1e-10)
    f = tf.function(lambda x, y: kb.matmul(x, y))
    spec = tf.TensorSpec
    assert f.get_concrete_function(spec([1, 3, 4]), spec([5, 4, 2])).structured_outputs.shape.as_list() == [5, 3, 2]
    assert f.get_concrete_function(spec([5, 3, 4]), spec([1, 4, 2])).structured_outputs.shape.as_list() == [5, 3, 2]
    assert f.get_concrete_function(spec([None, 3, 4]), spec([5, 4, 2])).structured_outputs.shape.as_list() == [None, 3, 2]
    assert tuple(f(tf.ones((1, 3, 4)), tf.ones((5, 4, 2))).shape) == (5, 3, 2)


# ------------------------------------------------------------------ 4. 0-d inputs
@pytest.mark.parametrize("d", DOORS)
def test_zero_dim_inputs_are_refused_by_every_op(d):
    door(d)
    x = zero_dim(d)
    for call in (lambda: kb.softmax(x), lambda: kb.log_softmax(x), lambda: kb.l2norm(x),
                 lambda: kb.reduce(x, "sum"), lambda: kb.reduce(x, "max", dim=0),
                 lambda: kb.reduce(x, "argmax", keepdim=True), lambda: kb.reduce(x, "sum", dim=0, impl="cpu_05_kahan")):
        raises_exactly(ValueError, AT_LEAST_1D, call)
    raises_exactly(ValueError, "a: expected a 2-D (M, K) or 3-D (batch, M, K) tensor, got 0-D shape ()",
                   kb.matmul, x, x)


def test_zero_dim_refused_for_numpy_scalars_and_python_rungs():
    raises_exactly(ValueError, AT_LEAST_1D, kb.reduce, np.float32(3))
    raises_exactly(ValueError, AT_LEAST_1D, kb.l2norm, np.array(-3.0))
    for impl in ("numpy_cpu", "numba_njit_parallel"):
        if kb.get_impl("reduce", impl).unavailable_reason():
            continue
        raises_exactly(ValueError, AT_LEAST_1D, kb.reduce, np.array(1.0, np.float32), "sum", keepdim=True, impl=impl)


def test_zero_dim_refused_by_torch_fake_and_tf_shape_functions():
    torch = pytest.importorskip("torch")
    door("torch")
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode():
        raises_exactly(ValueError, AT_LEAST_1D, torch.ops.kernelbench.softmax, torch.tensor(1.0), False, "cpu_06_softmax")
    tf = pytest.importorskip("tensorflow")
    door("tf")
    f = tf.function(lambda t: kb.reduce(t, "sum", dim=0))
    with pytest.raises(ValueError, match="x: expected at least a 1-D tensor, got a 0-D tensor"):
        f.get_concrete_function(tf.TensorSpec([], tf.float32))


# ------------------------------------------------------------------ 5. doors agree
@pytest.mark.parametrize("d", DOORS)
def test_doors_agree_on_edge_arguments(d):
    door(d)
    assert to_float64(kb.l2norm(to_door(np.zeros((5, 0), np.float32), d, "cpu"))).tolist() == [0.0] * 5
    x = to_door(f32((5, 3), 1.0), d, "cpu")
    assert to_float64(kb.reduce(x, "sum", dim=1, keepdim=1)).tolist() == [[3.0]] * 5
    assert to_float64(kb.reduce(x, "sum", dim=np.int64(0), keepdim=np.bool_(False))).tolist() == [5.0] * 3
    with pytest.raises(ValueError) as info:
        kb.reduce(x, impl="")
    assert str(info.value).startswith("impl: no reduce implementation named ''; known: cpu_01_scalar")
    raises_exactly(TypeError, "dim: expected an int or None, got bool", kb.reduce, x, "sum", dim=True)
    raises_exactly(TypeError, "keepdim: expected a bool, got 2", kb.reduce, x, "sum", dim=0, keepdim=2)
    raises_exactly(TypeError, "log: expected a bool, got 'yes'", kb.softmax, x, log="yes")
    raises_exactly(TypeError, "impl: expected a rung name (str) or None, got int", kb.matmul, x, x, impl=3)
    # an empty reduced dim: sum 0, mean NaN, max refused -- the same at every door
    e = to_door(np.zeros((2, 0, 3), np.float32), d, "cpu")
    assert to_float64(kb.reduce(e, "sum", dim=1)).tolist() == [[0.0] * 3] * 2
    assert np.isnan(to_float64(kb.reduce(e, "mean", dim=1))).all()
    raises_exactly(ValueError, "x: max of an empty dimension is undefined (shape (2, 0, 3)); torch raises here too",
                   kb.reduce, e, "max", dim=1)


# ------------------------------------------------------------------ 6. clear errors
@pytest.mark.parametrize("d", DOORS)
def test_errors_name_the_argument(d):
    door(d)
    a = to_door(f32((2, 2)), d, "cpu")
    raises_exactly(TypeError, "b: expected a torch / TensorFlow / numpy / cupy array, got list",
                   kb.matmul, a, [[1.0, 2.0], [3.0, 4.0]])
    raises_exactly(TypeError, "a: expected a torch / TensorFlow / numpy / cupy array, got float", kb.matmul, 1.0, a)
    raises_exactly(ValueError, "dim: expected a value in [-2, 1] for a 2-D tensor, got 9223372036854775808",
                   kb.reduce, a, "sum", dim=2**63)
    raises_exactly(ValueError, "dim: expected a value in [-2, 1] for a 2-D tensor, got -9223372036854775809",
                   kb.reduce, a, "sum", dim=-(2**63) - 1)
    raises_exactly(ValueError, "dim: expected a value in [-2, 1] for a 2-D tensor, got 9223372036854775807",
                   kb.reduce, a, "sum", dim=2**63 - 1)
    raises_exactly(TypeError, "dim: expected an int or None, got float", kb.reduce, a, "sum", dim=1.0)
    raises_exactly(ValueError, "op: expected one of sum, mean, max, min, argmax, argmin, got ['sum']",
                   kb.reduce, a, ["sum"])


def test_array_interface_objects_and_ragged_tensors():
    class Exported:   # any object exporting __array_interface__ is a numpy array to kb
        def __init__(self, arr):
            self._arr = arr
            self.__array_interface__ = arr.__array_interface__

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert kb.reduce(Exported(x), "sum", dim=1).tolist() == [3.0, 12.0]
    np.testing.assert_allclose(kb.matmul(Exported(x), Exported(x.T.copy())), x @ x.T)

    class Broken:
        __array_interface__ = {"shape": (2,), "typestr": "<f4"}   # no data pointer
    with pytest.raises(TypeError, match=r"^x: expected a numpy array, got Broken"):
        kb.reduce(Broken())
    tf = pytest.importorskip("tensorflow")
    door("tf")
    raises_exactly(ValueError, "x: expected a dense tf.Tensor, got RaggedTensor",
                   kb.reduce, tf.ragged.constant([[1.0, 2.0], [3.0]]))
    raises_exactly(ValueError, "x: expected a dense tf.Tensor, got SparseTensor",
                   kb.l2norm, tf.sparse.from_dense(tf.ones((2, 2))))


# ------------------------------------------------------------------ 7. Python-level rungs: same checks
def test_python_rungs_go_through_the_shared_checks():
    if kb.get_impl("matmul", "numpy_cpu").unavailable_reason():
        pytest.skip("numpy rung unavailable")
    v = f32((3,))
    raises_exactly(ValueError, "a: expected a 2-D (M, K) or 3-D (batch, M, K) tensor, got 1-D shape (3,)",
                   kb.matmul, v, v, impl="numpy_cpu")
    raises_exactly(ValueError, "a: expected a 2-D (M, K) or 3-D (batch, M, K) tensor, got 4-D shape (1, 2, 3, 3)",
                   kb.matmul, f32((1, 2, 3, 3)), f32((3, 3)), impl="numpy_cpu")
    raises_exactly(ValueError, "b: inner dimensions differ: a is (2, 3) (M, K) with K=3 but b is (4, 2) (K, N) with K=4",
                   kb.matmul, f32((2, 3)), f32((4, 2)), impl="numpy_cpu")
    raises_exactly(ValueError, "dim: expected a value in [-1, 0] for a 1-D tensor, got 3",
                   kb.reduce, v, "sum", dim=3, impl="numpy_cpu")
    raises_exactly(ValueError, "x: max of an empty tensor is undefined (shape (0,)); torch raises here too",
                   kb.reduce, f32((0,)), "max", impl="numpy_cpu")
    import ml_dtypes
    raises_exactly(ValueError, "x: impl 'numpy_cpu' supports float32, float64, float16, got bfloat16",
                   kb.reduce, np.ones(3, ml_dtypes.bfloat16), impl="numpy_cpu")
    # the same messages as a native rung gives for the same input
    for native_call, python_call in [
            (lambda: kb.reduce(v, "sum", dim=3, impl="cpu_01_scalar"), lambda: kb.reduce(v, "sum", dim=3, impl="numpy_cpu")),
            (lambda: kb.matmul(v, v, impl="cpu_01_naive"), lambda: kb.matmul(v, v, impl="numpy_cpu"))]:
        with pytest.raises(ValueError) as n:
            native_call()
        with pytest.raises(ValueError) as p:
            python_call()
        assert str(n.value) == str(p.value)
    # constant results without calling the rung: mean over an empty dim is NaN, of the input dtype
    m = kb.reduce(np.zeros((0, 3), np.float64), "mean", dim=0, impl="numpy_cpu")
    assert m.dtype == np.float64 and m.shape == (3,) and np.isnan(m).all()


def test_python_rungs_empty_index_results():
    """argmax over an empty result shape through a Python-level rung: an empty int64 array of the
    rung's backend, not a conversion error (found by the long fuzz profile)."""
    for impl in ("numpy_cpu", "tf_eager_cpu", "torch_eager_cpu"):
        entry = kb.get_impl("reduce", impl)
        if entry.unavailable_reason():
            continue
        out = kb.reduce(np.zeros((0, 0, 3), np.float32), "argmax", dim=0, impl=impl)
        assert tuple(out.shape) == (0, 3) and "int64" in str(out.dtype)
