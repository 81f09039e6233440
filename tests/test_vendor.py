"""The vendor-library layer (cuBLAS, cuBLASLt, CUB, cuDNN) on every op: listed everywhere with the
reason it cannot run, its cuDNN call arguments built right (checked without a GPU), and checked
against torch where a GPU is present."""
from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest

import kernelbench as kb
from kernelbench.registry.core import OPS
from kernelbench.rungs import vendor as vd


def _gpu() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


needs_gpu = pytest.mark.skipif(not _gpu(), reason="needs a CUDA GPU")


# ---------------------------------------------------------------- every op has a vendor rung, with a reason
@pytest.mark.parametrize("op", OPS)
def test_every_op_has_a_cuda_vendor_rung(op):
    names = {i.name for i in kb.list_impls(op=op, device="cuda", layer="vendor-library")}
    assert names, op
    if op in ("reduce",):
        assert {"cub_device_reduce", "cudnn_reduce"} <= names
    if op == "matmul":
        assert {"cublas_torch", "cublaslt_nvmath", "cudnn"} <= names
    if op in ("softmax", "log_softmax"):
        assert "cudnn_softmax" in names
    if op == "l2norm":
        assert "cudnn_l2norm" in names


@pytest.mark.skipif(_gpu(), reason="checks the reasons given without a GPU")
def test_vendor_rungs_say_why_they_cannot_run_here():
    got = vd.vendor_rungs_not_run(["cpu"], OPS)
    assert {op for op, _, _ in got} == set(OPS)
    for op, name, why in got:
        assert why, (op, name)
    reasons = {name: why for _, name, why in got}
    for name in ("cub_device_reduce", "cudnn_reduce", "cudnn_softmax", "cudnn_l2norm", "cublaslt_nvmath",
                 "cublas_torch"):
        assert "CUDA device" in reasons[name], (name, reasons[name])
    assert reasons["cudnn_softmax"].startswith("no CUDA device")
    assert "cuDNN library not found" in reasons["cudnn_softmax"] or vd.cudnn_search_dirs()


def test_cub_is_native_and_callable_by_name():
    """cub_device_reduce is a line of the C++ reduce table: reached through the native doors (the
    old registry sent it to a Python backend: "unknown backend None")."""
    cub = kb.get_impl("reduce", "cub_device_reduce")
    assert cub.native and cub.backend is None
    with pytest.raises(ValueError, match=r"^impl: 'cub_device_reduce' runs on cuda but x is on cpu$"):
        kb.reduce(np.ones(8, np.float32), impl="cub_device_reduce")


# ---------------------------------------------------------------- cuDNN call arguments (no GPU needed)
def test_reduce_args_along_a_middle_dim():
    a = vd.reduce_args((4, 5, 3), 1, "sum", "float32")
    assert (a["outer"], a["r"], a["inner"]) == (4, 5, 3)
    assert a["a_dims"] == (4, 5, 3, 1) and a["a_strides"] == (15, 3, 1, 1)
    assert a["c_dims"] == (4, 1, 3, 1) and a["c_strides"] == (3, 3, 1, 1)
    assert (a["data_type"], a["comp_type"], a["reduce_op"], a["indices"], a["nan"]) == (0, 0, 0, 0, 1)


def test_reduce_args_whole_tensor_and_arg_ops():
    a = vd.reduce_args((6, 7), None, "argmax", "float16")
    assert a["a_dims"] == (1, 42, 1, 1) and a["c_dims"] == (1, 1, 1, 1)
    assert (a["data_type"], a["comp_type"], a["reduce_op"], a["indices"]) == (2, 0, 3, 1)
    assert vd.reduce_args((6, 7), -1, "argmin", "float64")["reduce_op"] == 2
    m = vd.reduce_args((6, 7), 0, "mean", "float64")
    assert (m["data_type"], m["comp_type"], m["reduce_op"], m["a_dims"]) == (1, 1, 5, (1, 6, 7, 1))
    assert vd.reduce_args((3, 9), 1, "norm2", "float32")["reduce_op"] == 7


def test_reduce_args_refuse_what_cudnn_cannot_do():
    with pytest.raises(TypeError, match=r"^x: cuDNN reductions here take float32, float64, float16, got bfloat16$"):
        vd.reduce_args((4,), None, "sum", "bfloat16")
    with pytest.raises(ValueError, match=r"^x: cuDNN returns 32-bit indices; a dim of 4294967296 elements"):
        vd.reduce_args((2 ** 32,), 0, "argmax", "float32")


def test_reduce_out_shape_is_torchs():
    assert vd.reduce_out_shape((4, 5, 3), 1, False) == (4, 3)
    assert vd.reduce_out_shape((4, 5, 3), -1, True) == (4, 5, 1)
    assert vd.reduce_out_shape((4, 5), None, False) == ()
    assert vd.reduce_out_shape((4, 5), None, True) == (1, 1)


def test_softmax_args():
    s = vd.softmax_args((2, 3, 8), False, "float32")
    assert s["dims"] == (6, 8, 1, 1) and s["strides"] == (8, 1, 1, 1)
    assert (s["algo"], s["mode"]) == (vd.CUDNN_SOFTMAX_ACCURATE, vd.CUDNN_SOFTMAX_MODE_INSTANCE) == (1, 0)
    assert vd.softmax_args((5,), True, "float16")["algo"] == vd.CUDNN_SOFTMAX_LOG == 2
    assert vd.softmax_args((5,), True, "float16")["dims"] == (1, 5, 1, 1)
    with pytest.raises(ValueError, match="0-D"):
        vd.softmax_args((), False, "float32")
    assert vd.scale_type("float64") is ctypes.c_double and vd.scale_type("float16") is ctypes.c_float


# ---------------------------------------------------------------- loading cuDNN (fake libraries)
class _FakeLib:
    def __init__(self, symbols):
        for s in symbols:
            setattr(self, s, lambda *a: 0)


def test_cudnn_symbols_are_looked_up_across_the_split_libraries():
    graph = ("cudnnCreate", "cudnnSetStream", "cudnnGetErrorString")
    libs = {"graph": _FakeLib(graph), "ops": _FakeLib(s for s in vd._SYMBOLS if s not in graph)}
    lib = vd.CudnnLib(["graph", "ops"], loader=libs.__getitem__)
    assert lib.cudnnCreate is libs["graph"].cudnnCreate or callable(lib.cudnnCreate)
    assert callable(lib.cudnnReduceTensor) and callable(lib.cudnnSoftmaxForward)


def test_a_cudnn_without_the_legacy_api_is_named():
    libs = {"graph": _FakeLib(s for s in vd._SYMBOLS if s not in ("cudnnReduceTensor", "cudnnSoftmaxForward"))}
    with pytest.raises(OSError, match=r"^the cuDNN found has no cudnnReduceTensor, cudnnSoftmaxForward "
                                      r"\(legacy API removed\?\)$"):
        vd.CudnnLib(["graph"], loader=libs.__getitem__)


def test_a_missing_cudnn_is_named():
    def loader(path):
        raise OSError(f"{path}: cannot open shared object file: No such file or directory")
    with pytest.raises(OSError, match=r"^cuDNN library not found \(libcudnn_graph.so.9: cannot open shared object file"):
        vd.CudnnLib(["libcudnn_graph.so.9"], loader=loader)


def test_cudnn_library_files_prefers_the_wheels_split_libraries(tmp_path):
    for f in ("libcudnn.so.9", "libcudnn_ops.so.9", "libcudnn_graph.so.9", "libcudnn_cnn.so.9"):
        (tmp_path / f).write_bytes(b"")
    got = vd.cudnn_library_files([str(tmp_path)])
    assert [os.path.basename(p) for p in got] == ["libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn.so.9"]
    assert vd.cudnn_library_files([]) == ["libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn.so.9"]


def test_nvmath_compute_type_is_ieee():
    assert vd.nvmath_compute_type("float32") == "COMPUTE_32F"
    assert vd.nvmath_compute_type("float64") == "COMPUTE_64F"
    assert vd.nvmath_compute_type("bfloat16") == "COMPUTE_32F"


# ---------------------------------------------------------------- on a GPU: against torch
def _skip_unless(entry_name, op):
    why = kb.get_impl(op, entry_name).unavailable_reason()
    if why:
        pytest.skip(why)


@needs_gpu
@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, 1, 2, -1])
def test_cudnn_reduce_matches_torch(op, dim):
    import torch
    _skip_unless("cudnn_reduce", "reduce")
    x = torch.randn(5, 7, 9, device="cuda")
    got = kb.reduce(x, op, dim=dim, impl="cudnn_reduce")
    fn = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin,
          "argmax": torch.argmax, "argmin": torch.argmin}[op]
    want = fn(x) if dim is None else fn(x, dim=dim)
    assert got.shape == want.shape
    if op.startswith("arg"):
        assert torch.equal(got, want)
    else:
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@needs_gpu
@pytest.mark.parametrize("log", [False, True])
def test_cudnn_softmax_matches_torch(log):
    import torch
    _skip_unless("cudnn_softmax", "softmax")
    x = torch.randn(33, 257, device="cuda")
    got = kb.softmax(x, log=log, impl="cudnn_softmax")
    want = torch.log_softmax(x, -1) if log else torch.softmax(x, -1)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@needs_gpu
def test_cudnn_l2norm_matches_torch():
    import torch
    _skip_unless("cudnn_l2norm", "l2norm")
    x = torch.randn(17, 300, device="cuda")
    torch.testing.assert_close(kb.l2norm(x, impl="cudnn_l2norm"), torch.linalg.vector_norm(x, dim=-1))


@needs_gpu
def test_cublaslt_matches_torch():
    import torch
    _skip_unless("cublaslt_nvmath", "matmul")
    a, b = torch.randn(64, 48, device="cuda"), torch.randn(48, 40, device="cuda")
    torch.testing.assert_close(kb.matmul(a, b, impl="cublaslt_nvmath"), a @ b, rtol=1e-4, atol=1e-4)


@needs_gpu
@pytest.mark.parametrize("dim", [None, 1])
def test_cub_through_the_torch_door(dim):
    import torch
    _skip_unless("cub_device_reduce", "reduce")
    x = torch.randn(64, 1000, device="cuda")
    want = x.sum() if dim is None else x.sum(dim)
    torch.testing.assert_close(kb.reduce(x, "sum", dim=dim, impl="cub_device_reduce"), want, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match=r"^impl: 'cub_device_reduce' reduces the innermost dim only"):
        kb.reduce(x, "sum", dim=0, impl="cub_device_reduce")
