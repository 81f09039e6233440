"""Every available Python-level rung, CPU and CUDA (Numba, Numba CUDA, CuPy/NVRTC, vendor libraries,
numpy, torch / TF eager, tf.function, XLA, torch.compile) against float64 references, called through
the public API (numpy inputs for CPU rungs, torch CUDA tensors for CUDA rungs; the API converts them
to the rung's backend).  Parametrized from the registry; a rung that cannot run here is skipped with
its own reason (on a machine without a GPU: every CUDA rung).

Compilers are slow to warm up: the torch.compile and XLA rungs get one tiny case per op.
"""
from __future__ import annotations

import numpy as np
import pytest

import kernelbench as kb
from kernelbench.registry.core import layout_class
from kernelbench.testing import check_matmul, check_reduce, check_rowwise

HEAVY = {"torch_compile_cpu", "tf_xla_cpu", "torch_compile_cuda", "tf_xla_cuda"}   # one tiny case per op
TRACED = {"tf_function_cpu", "tf_function_cuda"}                                   # one trace per shape

ENTRIES = [i for i in kb.list_impls() if not i.native]


def _on(entry, x):
    """The input as the public API takes it on the rung's device (numpy for CPU, torch for CUDA)."""
    if entry.device == "cpu":
        return x
    import torch
    return torch.from_numpy(np.ascontiguousarray(x)).cuda()


def _id(i) -> str:
    return f"{i.op}-{i.name}"


def _rng():
    return np.random.default_rng(1234)


def _require(entry):
    why = entry.unavailable_reason()
    if why:
        pytest.skip(why)


def _dtypes(entry):
    return [d for d in ("float32", "float64") if d in entry.dtypes][: 1 if entry.name in HEAVY | TRACED else 2]


@pytest.mark.parametrize("entry", [i for i in ENTRIES if i.op == "matmul"], ids=_id)
def test_matmul(entry):
    _require(entry)
    shapes = [((7, 3), (3, 5)), ((1, 1), (1, 1)), ((33, 65), (65, 17)), ((65, 9), (9, 33)),
              ((2, 5, 3), (2, 3, 4)), ((3, 4, 6), (1, 6, 2))]
    if entry.name in HEAVY:
        shapes = shapes[:1]
    elif entry.name in TRACED:
        shapes = shapes[:2]
    rng = _rng()
    for dtype in _dtypes(entry):
        for sa, sb in shapes:
            a = rng.standard_normal(sa).astype(dtype)
            b = rng.standard_normal(sb).astype(dtype)
            out = kb.matmul(_on(entry, a), _on(entry, b), impl=entry.name)
            check_matmul(out, a, np.broadcast_to(b, np.broadcast_shapes(b.shape, (a.shape[0],) + b.shape[1:]))
                         if a.ndim == 3 else b, dtype, precision=entry.precision)


def _reduce_cases(entry):
    cases = [((33,), None, False), ((1025,), None, True), ((1,), None, False), ((3, 7, 5), None, False),
             ((3, 7, 5), 1, False), ((3, 7, 5), 0, True), ((3, 7, 5), -1, True), ((4, 129), 1, False),
             ((129, 4), 0, False)]
    cases = [c for c in cases if entry.refusal(layout_class("reduce", c[0], c[1])) is None]
    if entry.name in HEAVY:
        return cases[:1]
    if entry.name in TRACED:
        return cases[:1] + [c for c in cases if c[1] is not None][:1]
    return cases


@pytest.mark.parametrize("entry", [i for i in ENTRIES if i.op == "reduce"], ids=_id)
def test_reduce(entry):
    _require(entry)
    rng = _rng()
    ops = entry.variants if entry.name not in HEAVY else entry.variants[:1]
    for dtype in _dtypes(entry):
        for shape, dim, keepdim in _reduce_cases(entry):
            x = rng.standard_normal(shape).astype(dtype)
            for op in ops:
                out = kb.reduce(_on(entry, x), op=op, dim=dim, keepdim=keepdim, impl=entry.name)
                check_reduce(out, x, op, dim, keepdim, dtype)


@pytest.mark.parametrize("entry", [i for i in ENTRIES if i.op == "reduce" and i.name not in HEAVY | TRACED],
                         ids=_id)
def test_reduce_ties_take_the_first_index(entry):
    _require(entry)
    x = np.array([[1, 3, 3, 0], [2, 5, 5, -1], [0, 0, 0, 0]], dtype=np.float32)
    for op in entry.variants:
        for dim in (None, 0, 1):
            if entry.refusal(layout_class("reduce", x.shape, dim)) is None and "float32" in entry.dtypes:
                check_reduce(kb.reduce(_on(entry, x), op=op, dim=dim, impl=entry.name), x, op, dim, False, "float32")


def test_numba_njit_parallel_nan_and_empty():
    entry = kb.get_impl("reduce", "numba_njit_parallel")
    _require(entry)
    x = np.array([[1, 3, 3, 0], [2, np.nan, 5, np.nan], [0, 0, 0, 0]], dtype=np.float32)
    for op in ("max", "min", "argmax", "argmin"):
        for dim in (None, 0, 1):
            check_reduce(entry.fn(x, op=op, dim=dim), x, op, dim, False, "float32")
    e = np.zeros((3, 0), dtype=np.float32)
    assert entry.fn(e, op="sum", dim=1).tolist() == [0, 0, 0]
    assert np.isnan(entry.fn(e, op="mean", dim=1)).all()
    with pytest.raises(ValueError):
        entry.fn(e, op="max", dim=1)
    # a long whole-tensor reduction takes the split-r path
    big = _rng().standard_normal(100_003).astype(np.float32)
    for op in entry.variants:
        check_reduce(entry.fn(big, op=op), big, op, None, False, "float32")


@pytest.mark.parametrize("entry", [i for i in ENTRIES if i.op in ("softmax", "log_softmax", "l2norm")], ids=_id)
def test_rowwise(entry):
    _require(entry)
    call = {"softmax": kb.softmax, "log_softmax": kb.log_softmax, "l2norm": kb.l2norm}[entry.op]
    shapes = [(7, 33), (1, 1), (3, 4, 129)]
    if entry.name in HEAVY:
        shapes = shapes[:1]
    rng = _rng()
    for dtype in _dtypes(entry):
        for shape in shapes:
            x = (rng.standard_normal(shape) * 4).astype(dtype)
            check_rowwise(call(_on(entry, x), impl=entry.name), x, entry.op, dtype)


def test_cuda_python_rungs_are_collected():
    """The Numba CUDA, CuPy/NVRTC and vendor rungs are parametrized here (issue 9: they were
    filtered out by device="cpu" and so never ran on a GPU)."""
    layers = {(i.layer, i.device) for i in ENTRIES}
    assert {("numba", "cuda"), ("cupy-nvrtc", "cuda"), ("vendor-library", "cuda")} <= layers


def test_import_kernelbench_imports_no_framework():
    import subprocess
    import sys
    code = ("import sys, kernelbench as kb; kb.list_impls(); "
            "bad = [m for m in ('torch', 'tensorflow', 'numba', 'cupy') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_numba_launches_go_to_torchs_current_stream(monkeypatch):
    """Numba rungs launch on torch's current stream when torch has CUDA up (issue 9: they used the
    default stream, so CUDA-event timing on torch's stream and torch's ordering were wrong)."""
    pytest.importorskip("numba")
    import sys
    import types

    from numba import cuda

    from kernelbench.numba_kernels import _common
    fake_torch = types.SimpleNamespace(cuda=types.SimpleNamespace(
        is_available=lambda: True, is_initialized=lambda: True,
        current_stream=lambda: types.SimpleNamespace(cuda_stream=0x1234)))
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    monkeypatch.setattr(_common, "simulator", lambda: False)
    monkeypatch.setattr(cuda, "external_stream", lambda ptr: ("external", ptr))
    assert _common.stream() == ("external", 0x1234)
    monkeypatch.setattr(fake_torch.cuda, "is_initialized", lambda: False)
    assert _common.stream() == 0


def test_every_numba_launch_names_its_stream():
    """kernel[grid, block](...) would launch on the default stream: every launch in the Numba
    modules passes _common.stream()."""
    import re
    from pathlib import Path
    root = Path(kb.__file__).parent / "numba_kernels"
    launches = []
    for f in ("matmul.py", "reduce.py"):
        launches += re.findall(r"\w\[[^\[\]\n]+\]\((?!\))", (root / f).read_text())
    assert launches and all(l.endswith("_common.stream()](") for l in launches), launches


def test_cupy_nvrtc_workspaces_are_per_stream():
    """Two streams running the single-pass rung at once must not share its block counter (issue 9)."""
    from kernelbench.rungs import cupy_nvrtc as nv
    made = []
    zeros = lambda n: made.append(n) or memoryview(bytearray(n))  # noqa: E731  (has .nbytes)
    a = nv.workspace("cuda_11_single_pass", 512, 0, 111, zeros)
    b = nv.workspace("cuda_11_single_pass", 512, 0, 222, zeros)
    assert a is not b and made == [512, 512]
    assert nv.workspace("cuda_11_single_pass", 300, 0, 111, zeros) is a      # reused on its stream
    assert nv.workspace("cuda_11_single_pass", 1024, 0, 111, zeros) is not a  # grown
    assert nv.workspace("cuda_11_single_pass", 0, 0, 111, zeros) is None
    nv._WORKSPACES.clear()
