"""Global switches a measurement needs (TF32 in torch and TensorFlow, Dynamo's recompile limits) are
set only inside context managers and put back afterwards -- also when the body raises."""
import pytest

from kernelbench.rungs import frameworks as fw

torch = pytest.importorskip("torch")


def _torch_flags():
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32


def test_torch_tf32_restored_after_a_rung_and_after_an_error():
    old = _torch_flags()
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        with fw.torch_fp32_strict():
            assert _torch_flags() == (False, False)
        assert _torch_flags() == (True, True)
        with pytest.raises(RuntimeError, match="boom"):
            with fw.torch_fp32_strict():
                raise RuntimeError("boom")
        assert _torch_flags() == (True, True)
        a = torch.ones(4, 4)
        assert fw.torch_eager("matmul")(a, a)[0, 0].item() == 4.0
        assert _torch_flags() == (True, True)     # the rung used as a library left them as they were
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def test_dynamo_limits_restored():
    import torch._dynamo as dynamo
    knob = "recompile_limit" if hasattr(dynamo.config, "recompile_limit") else "cache_size_limit"
    before = getattr(dynamo.config, knob)
    with fw.dynamo_recompile_limits():
        assert getattr(dynamo.config, knob) == max(before, fw.DYNAMO_LIMITS[knob])
    assert getattr(dynamo.config, knob) == before


def test_tf_tf32_restored():
    tf = pytest.importorskip("tensorflow")
    exp = tf.config.experimental
    old = exp.tensor_float_32_execution_enabled()
    try:
        exp.enable_tensor_float_32_execution(True)
        with fw.tf_fp32_strict():
            assert exp.tensor_float_32_execution_enabled() is False
        assert exp.tensor_float_32_execution_enabled() is True
        x = tf.ones((3, 3))
        assert float(fw.tensorflow("matmul", "eager", "cpu")(x, x)[0, 0]) == 3.0
        assert exp.tensor_float_32_execution_enabled() is True
    finally:
        exp.enable_tensor_float_32_execution(old)


def test_measurement_state_sets_and_restores_everything():
    old = _torch_flags()
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        with fw.measurement_state():
            assert _torch_flags() == (False, False)
        assert _torch_flags()[0] is True
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
