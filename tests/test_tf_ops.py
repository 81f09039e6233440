"""TensorFlow front door: shape functions, tf.function, registered gradients vs tf's own."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import kernelbench as kb  # noqa: E402
from kernelbench import _frontdoors  # noqa: E402

pytestmark = pytest.mark.skipif(_frontdoors.tf_ops() is None, reason="TensorFlow op library not built")


def best(op):
    names = [i.name for i in kb.list_impls(op=op, device="cpu") if i.native]
    return names[-1] if names else None


def test_shape_inference_inside_tf_function():
    lib = _frontdoors.tf_ops()
    impl = best("matmul")

    @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.float32), tf.TensorSpec([5, 3], tf.float32)])
    def f(a, b):
        c = lib.kb_matmul(a, b, impl=impl)
        assert c.shape.as_list() == [None, 3]
        r = lib.kb_reduce(c, op="sum", has_dim=True, dim=1, keepdim=True, impl=best("reduce"))
        assert r.shape.as_list() == [None, 1]
        return r

    a, b = np.random.randn(4, 5).astype(np.float32), np.random.randn(5, 3).astype(np.float32)
    np.testing.assert_allclose(f(a, b).numpy(), (a @ b).sum(1, keepdims=True), rtol=1e-5, atol=1e-5)


def test_matmul_gradient_matches_tf():
    impl = best("matmul")
    a = tf.constant(np.random.randn(2, 6, 4))
    b = tf.constant(np.random.randn(4, 3))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a, b])
        ours = tf.reduce_sum(kb.matmul(a, b, impl=impl) ** 2)
        theirs = tf.reduce_sum(tf.matmul(a, tf.broadcast_to(b, [2, 4, 3])) ** 2)
    for x in (a, b):
        np.testing.assert_allclose(tape.gradient(ours, x).numpy(), tape.gradient(theirs, x).numpy(), rtol=1e-10)


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
def test_reduce_gradients(op):
    entry = next(i for i in kb.list_impls(op="reduce", device="cpu") if i.native and op in i.variants
                 and not i.full_only)
    x = tf.constant(np.random.randn(3, 5, 4))
    for dim in (None, 1):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = kb.reduce(x, op, dim=dim, impl=entry.name)
        grad = tape.gradient(y, x).numpy()
        ref_fn = {"sum": np.ones_like, "mean": lambda v: np.ones_like(v) / (v.size if dim is None else v.shape[dim])}
        if op in ref_fn:
            np.testing.assert_allclose(grad, ref_fn[op](x.numpy()))
        else:
            xv = x.numpy()
            sel = (np.argmax if op == "max" else np.argmin)(xv if dim is None else xv, axis=dim)
            expect = np.zeros_like(xv)
            if dim is None:
                expect.flat[sel] = 1
            else:
                np.put_along_axis(expect, np.expand_dims(sel, dim), 1, axis=dim)
            np.testing.assert_array_equal(grad, expect)


def test_softmax_and_l2norm_gradients():
    sm, l2 = best("softmax"), best("l2norm")
    if sm is None or l2 is None:
        pytest.skip("no CPU softmax / l2norm rung registered yet")
    x = tf.constant(np.random.randn(4, 9))
    for log in (False, True):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            ours = tf.reduce_sum(kb.softmax(x, log=log, impl=sm) * tf.range(9, dtype=tf.float64))
            ref = tf.nn.log_softmax(x) if log else tf.nn.softmax(x)
            theirs = tf.reduce_sum(ref * tf.range(9, dtype=tf.float64))
        np.testing.assert_allclose(tape.gradient(ours, x).numpy(), tape.gradient(theirs, x).numpy(), atol=1e-10)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours, theirs = tf.reduce_sum(kb.l2norm(x, impl=l2)), tf.reduce_sum(tf.norm(x, axis=-1))
    np.testing.assert_allclose(tape.gradient(ours, x).numpy(), tape.gradient(theirs, x).numpy(), atol=1e-10)


def test_xla_limit_is_a_clear_error_and_plain_tf_function_works():
    """Our ops have no XLA kernels: tf.function(jit_compile=True) raises the documented message;
    tf.function without jit_compile runs them (README, docs/semantics.md)."""
    from kernelbench.api import XLA_LIMIT
    a, b = tf.ones((3, 4)), tf.ones((4, 2))
    xla = tf.function(lambda x, y: kb.matmul(x, y), jit_compile=True)
    with pytest.raises(NotImplementedError, match="kernelbench ops have no XLA kernels"):
        xla(a, b)
    assert "tf.function without jit_compile" in XLA_LIMIT
    plain = tf.function(lambda x, y: kb.reduce(kb.matmul(x, y), "sum", dim=1))
    np.testing.assert_allclose(plain(a, b).numpy(), [8.0, 8.0, 8.0])


def test_tf_errors_are_value_errors_with_the_shared_message():
    raises = pytest.raises(ValueError)
    with raises as info:
        kb.matmul(tf.ones((3, 4)), tf.ones((5, 2)))
    assert str(info.value) == "b: inner dimensions differ: a is (3, 4) (M, K) with K=4 but b is (5, 2) (K, N) with K=5"


def test_python_level_rung_on_symbolic_shapes_inside_tf_function():
    """The shared shape check needs static shapes; with a None dim the framework rung checks at run time."""
    f = tf.function(lambda x: kb.reduce(x, "sum", dim=1, impl="tf_eager_cpu"),
                    input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    np.testing.assert_array_equal(f(tf.ones((4, 3))).numpy(), [3.0] * 4)


def test_subnormal_results_survive_the_tf_door():
    """TF's threads flush subnormals to zero; our kernels run in IEEE mode there too (kb_fpmode.h).
    Each product 2^-70 * 2^-63 = 2^-133 (~9.2e-41) is subnormal in fp32; 4 of them sum to 2^-131."""
    a = np.full((3, 4), 2.0**-70, np.float32)
    b = np.full((4, 5), 2.0**-63, np.float32)
    expect = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    assert (expect != 0).all()  # the reference itself is subnormal, not zero
    lib = _frontdoors.tf_ops()
    for impl in [i.name for i in kb.list_impls(op="matmul", device="cpu") if i.native]:
        got = lib.kb_matmul(tf.constant(a), tf.constant(b), impl=impl).numpy()
        np.testing.assert_array_equal(got, expect, err_msg=impl)
