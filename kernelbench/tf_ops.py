"""Python wrappers and registered gradients for the TensorFlow op library (csrc/tf/ops.cc)."""
from __future__ import annotations

_registered = False


def register_gradients() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    import tensorflow as tf

    from ._frontdoors import tf_ops

    @tf.RegisterGradient("KbMatmul")
    def _matmul_grad(op, grad):
        lib = tf_ops()
        a, b = op.inputs
        impl = op.get_attr("impl").decode()
        ga = lib.kb_matmul(grad, tf.linalg.matrix_transpose(b), impl=impl)
        gb = lib.kb_matmul(tf.linalg.matrix_transpose(a), grad, impl=impl)
        # Sum over the batch dims each input was broadcast along (a 2-D input, or a batch of 1
        # against a batch of n), as tf.matmul's own gradient does, then restore its shape.
        sa, sb = tf.shape(a, out_type=tf.int64)[:-2], tf.shape(b, out_type=tf.int64)[:-2]
        ra, rb = tf.raw_ops.BroadcastGradientArgs(s0=sa, s1=sb)
        ga = tf.reshape(tf.reduce_sum(ga, ra), tf.shape(a))
        gb = tf.reshape(tf.reduce_sum(gb, rb), tf.shape(b))
        return ga, gb

    @tf.RegisterGradient("KbReduce")
    def _reduce_grad(op, grad):
        x = op.inputs[0]
        kind = op.get_attr("op").decode()
        has_dim, dim, keepdim = op.get_attr("has_dim"), op.get_attr("dim"), op.get_attr("keepdim")
        shape = tf.shape(x)
        if has_dim:
            dim = dim % max(len(x.shape), 1)
            kept = tf.tensor_scatter_nd_update(shape, [[dim]], [1])
            count = tf.cast(shape[dim], grad.dtype)
        else:
            kept = tf.ones_like(shape)
            count = tf.cast(tf.size(x), grad.dtype)
        g = tf.reshape(grad, kept)
        if kind == "sum":
            return tf.broadcast_to(g, shape)
        if kind == "mean":
            return tf.broadcast_to(g, shape) / count
        # max / min: the gradient goes to the selected element (first index on ties).
        lib = tf_ops()
        idx = lib.kb_arg_reduce(x, op="argmax" if kind == "max" else "argmin", has_dim=has_dim,
                                dim=op.get_attr("dim"), keepdim=True, impl=op.get_attr("impl").decode())
        if has_dim:
            depth = shape[dim]
            mask = tf.one_hot(tf.squeeze(idx, dim), depth, axis=dim, dtype=grad.dtype)
        else:
            mask = tf.reshape(tf.one_hot(tf.reshape(idx, []), tf.size(x), dtype=grad.dtype), shape)
        return mask * g

    @tf.RegisterGradient("KbSoftmax")
    def _softmax_grad(op, grad):
        y = op.outputs[0]
        if op.get_attr("log"):
            return grad - tf.exp(y) * tf.reduce_sum(grad, -1, keepdims=True)
        return y * (grad - tf.reduce_sum(grad * y, -1, keepdims=True))

    @tf.RegisterGradient("KbL2Norm")
    def _l2norm_grad(op, grad):
        x, norm = op.inputs[0], op.outputs[0]
        safe = tf.where(norm == 0, tf.ones_like(norm), norm)
        return x * tf.expand_dims(grad / safe, -1)

    tf.no_gradient("KbArgReduce")
