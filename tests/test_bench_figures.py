"""FLOP and byte counts per op, throughput and % of peak, datasheet GPU peaks, tolerances and
the check of a rung's output (which must be able to fail)."""
import math
import types

import numpy as np
import pytest

from kernelbench import tolerance
from kernelbench.bench import cases, peaks
from kernelbench.bench.cases import Case


def test_matmul_counts():
    def mm(shape, dtype="float32"):
        return Case("matmul", "cpu", dtype, shape)
    assert mm((4096, 4096, 4096)).flops == 2 * 4096 ** 3
    assert mm((8, 64, 32, 16)).flops == 2 * 8 * 64 * 32 * 16
    # bytes: (MK + KN + MN) * itemsize * batch
    assert mm((64, 32, 16)).nbytes == (64 * 16 + 16 * 32 + 64 * 32) * 4
    assert mm((2, 64, 32, 16), "float16").nbytes == (64 * 16 + 16 * 32 + 64 * 32) * 2 * 2
    assert mm((512, 512, 512)).metric == "tflops"
    assert mm((4096, 1, 4096)).metric == "gbps"      # GEMV is memory-bound


def test_reduction_counts():
    def red(shape, dtype="float32", dim=None, variant="sum", op="reduce"):
        return Case(op, "cpu", dtype, shape, variant=variant if op == "reduce" else None, dim=dim)
    n = 1 << 28
    assert red((n,)).nbytes == n * 4 + 4
    assert red((n,), variant="argmax").nbytes == n * 4 + 8
    shape = (128, 4096, 4095)
    numel = 128 * 4096 * 4095
    assert red(shape, dim=1).nbytes == numel * 4 + 128 * 4095 * 4
    assert red(shape, "bfloat16", 2, "max").nbytes == numel * 2 + 128 * 4096 * 2
    assert red(shape, dim=1).flops == numel
    assert red((4096, 32768), op="softmax").nbytes == 2 * 4096 * 32768 * 4
    assert red((8, 16), "float16", op="log_softmax").nbytes == 2 * 8 * 16 * 2
    assert red((8, 16), op="softmax").flops == 5 * 8 * 16 and red((8, 16), op="l2norm").flops == 2 * 8 * 16
    assert red((4096, 1000), op="l2norm").nbytes == 4096 * 1000 * 4 + 4096 * 4
    assert red((n,)).metric == "gbps"


def test_throughput_and_percent_of_peak():
    from kernelbench.bench.run import fill_figures
    case = Case("matmul", "cuda", "float32", (4096, 4096, 4096))
    gpu = {"cuda": {"flops": {"float32": 67e12}, "flops_source": "x", "bandwidth": 3.35e12, "bandwidth_source": "y"}}
    e = {"median_s": 0.005}
    fill_figures(e, case, gpu)
    assert e["tflops"] == pytest.approx(2 * 4096 ** 3 / 0.005 / 1e12) == pytest.approx(e["value"])
    assert e["gbps"] == pytest.approx(3 * 4096 ** 2 * 4 / 0.005 / 1e9)
    assert e["pct_peak"] == pytest.approx(100 * e["tflops"] / 67) and e["peak_label"] == "x"
    gemv = {"median_s": 0.005}
    fill_figures(gemv, Case("matmul", "cuda", "float32", (4096, 1, 4096)), gpu)   # a GEMV is bandwidth-bound
    assert gemv["pct_peak"] == pytest.approx(100 * gemv["gbps"] / 3350) and gemv["peak_label"] == "y"
    for t, pk in ((None, gpu), (0.005, {})):          # no time, or no peak: no figure
        e = {"median_s": t}
        fill_figures(e, case, pk)
        assert e["pct_peak"] is None and (t is not None or e["tflops"] is None)


@pytest.mark.parametrize("name,mem,entry,bw", [
    ("NVIDIA H100 80GB HBM3", 80e9, "H100 SXM5", 3.35e12),
    ("NVIDIA H100 PCIe", 80e9, "H100 PCIe", 2.0e12),
    ("NVIDIA H200", 141e9, "H200 SXM", 4.8e12),
    ("NVIDIA A100-SXM4-80GB", 80e9, "A100 SXM4 80GB", 2.039e12),
    ("NVIDIA A100-SXM4-40GB", 40e9, "A100 SXM4 40GB", 1.555e12),
    ("NVIDIA A100-PCIE-40GB", 40e9, "A100 PCIe 40GB", 1.555e12),
    ("NVIDIA L4", 24e9, "L4", 0.3e12),
    ("NVIDIA GeForce RTX 4090", 24e9, "GeForce RTX 4090", 1.008e12),
    ("NVIDIA L40S", 48e9, "L40S", 0.864e12),
])
def test_datasheet_lookup(name, mem, entry, bw):
    spec = peaks.lookup_gpu(name, mem)
    assert spec is not None and spec.name == entry and spec.bandwidth == pytest.approx(bw)


def test_datasheet_fp32_peaks_and_unknown_gpu():
    assert peaks.lookup_gpu("NVIDIA H100 80GB HBM3").flops["float32"] == pytest.approx(67e12)
    assert peaks.lookup_gpu("NVIDIA H100 PCIe").flops["float32"] == pytest.approx(51.2e12)
    assert peaks.lookup_gpu("NVIDIA A100-SXM4-80GB", 80e9).flops["float32"] == pytest.approx(19.5e12)
    assert peaks.lookup_gpu("NVIDIA L4").flops["float32"] == pytest.approx(30.3e12)
    assert peaks.lookup_gpu("Some Future GPU") is None


def test_a_gpu_without_a_datasheet_entry_gets_no_peak(monkeypatch):
    torch = pytest.importorskip("torch")
    props = types.SimpleNamespace(name="Some Future GPU", total_memory=1 << 34, multi_processor_count=1, major=12, minor=0)
    monkeypatch.setattr(peaks, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: props)
    p = peaks.gpu_peaks()
    assert p["flops"] == {} and p["bandwidth"] is None
    assert peaks.peak_for(p, "float32") == (None, "no % of peak: no datasheet entry for Some Future GPU")
    assert peaks.bandwidth_for(p, 1 << 30)[:2] == (None, "no % of peak: no datasheet entry for Some Future GPU")


def test_peak_for_uses_dtype():
    d = {"flops": {"float32": 67e12, "float64": 34e12}, "bandwidth": 3.35e12, "flops_source": "x"}
    assert peaks.peak_for(d, "float32") == (67e12, "x") and peaks.peak_for(d, "float64") == (34e12, "x")
    assert peaks.peak_for(None, "float32") == (None, "")


# ------------------------------------------------------------------------------------ the check
def _check(case, out_fn):
    inputs = cases.make_inputs(case)
    ref = cases.reference(case, inputs)
    return cases.check(case, inputs, ref, out_fn(inputs))


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else x


def test_inputs_are_seeded_random_never_zero():
    c = Case("reduce", "cpu", "float32", (1000,), variant="sum")
    a, b = cases.make_inputs(c)[0], cases.make_inputs(c)[0]
    assert np.array_equal(_np(a), _np(b))
    assert np.count_nonzero(_np(a)) > 990 and float(np.abs(_np(a)).max()) <= 1.0


def test_sequential_fp32_sum_passes_and_wrong_sums_fail():
    n = 1 << 20
    c = Case("reduce", "cpu", "float32", (n,), variant="sum")

    def sequential(inputs):
        x = _np(inputs[0])
        return np.float32(np.cumsum(x, dtype=np.float32)[-1])       # naive fp32 accumulation
    res = _check(c, lambda i: _as(i, sequential(i)))
    assert res.ok and res.err_ratio < 1
    # drop 1% of the terms: must fail
    res = _check(c, lambda i: _as(i, np.float32(_np(i[0])[: n - n // 100].sum(dtype=np.float64))))
    assert not res.ok and res.err_ratio > 1
    # 0-d vs 1-element output shape: a wrong shape fails
    res = _check(c, lambda i: _as(i, np.array([_np(i[0]).sum()], dtype=np.float32)))
    assert not res.ok and "shape" in res.reason


def _as(inputs, arr):
    """Put a numpy result in the namespace of the inputs (torch when torch made them)."""
    x = inputs[0]
    if cases.is_torch(x):
        import torch
        return torch.as_tensor(np.asarray(arr))
    return np.asarray(arr)


def test_matmul_tolerance_scales_with_k_and_catches_errors():
    c = Case("matmul", "cpu", "float32", (64, 48, 4096))
    ok = _check(c, lambda i: _as(i, (_np(i[0]).astype(np.float32) @ _np(i[1]).astype(np.float32))))
    assert ok.ok
    bad = _check(c, lambda i: _as(i, _np(i[0]) @ _np(i[1]) + np.float32(1e-2)))
    assert not bad.ok
    # one wrong element is enough
    def one_wrong(i):
        out = (_np(i[0]) @ _np(i[1])).copy()
        out[3, 5] += 0.5
        return _as(i, out)
    assert not _check(c, one_wrong).ok


def test_argmax_and_max_are_exact():
    c = Case("reduce", "cpu", "float32", (16, 33), variant="argmax", dim=1)
    good = _check(c, lambda i: _as(i, np.argmax(_np(i[0]), axis=1)))
    assert good.ok and good.max_abs_err == 0
    bad = _check(c, lambda i: _as(i, np.argmin(_np(i[0]), axis=1)))
    assert not bad.ok and bad.err_ratio == math.inf and "extremum" in bad.reason
    for dim, kept in ((1, (16, 1)), (None, (1, 1))):    # keepdim: the doors keep every reduced dim as 1
        k = Case("reduce", "cpu", "float32", (16, 33), variant="argmax", dim=dim, keepdim=True)
        assert _check(k, lambda i: _as(i, np.argmax(_np(i[0]), axis=dim).reshape(kept))).ok
        assert not _check(k, lambda i: _as(i, np.zeros(kept, np.int64))).ok
    out_of_range = _check(c, lambda i: _as(i, np.full(16, 40)))
    assert not out_of_range.ok and "range" in out_of_range.reason
    m = Case("reduce", "cpu", "float32", (16, 33), variant="max", dim=0)
    assert _check(m, lambda i: _as(i, _np(i[0]).max(axis=0))).ok
    assert not _check(m, lambda i: _as(i, _np(i[0]).max(axis=0) * np.float32(1.0001))).ok


def test_softmax_l2norm_checks():
    c = Case("softmax", "cpu", "float32", (8, 300))

    def sm(i):
        x = _np(i[0])
        e = np.exp(x - x.max(-1, keepdims=True))
        return _as(i, (e / e.sum(-1, keepdims=True)).astype(np.float32))
    assert _check(c, sm).ok
    assert not _check(c, lambda i: _as(i, np.full((8, 300), 1 / 300, np.float32))).ok
    ls = Case("log_softmax", "cpu", "float32", (8, 300))

    def lsm(i):
        x = _np(i[0]).astype(np.float64)
        z = x - x.max(-1, keepdims=True)
        return _as(i, (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(np.float32))
    assert _check(ls, lsm).ok
    l2 = Case("l2norm", "cpu", "float32", (8, 300))
    assert _check(l2, lambda i: _as(i, np.linalg.norm(_np(i[0]), axis=-1).astype(np.float32))).ok
    assert not _check(l2, lambda i: _as(i, np.abs(_np(i[0])).sum(-1))).ok


def test_nan_fails():
    c = Case("l2norm", "cpu", "float32", (4, 10))
    res = _check(c, lambda i: _as(i, np.full(4, np.nan, np.float32)))
    assert not res.ok and "NaN" in res.reason


def test_case_names_and_scaling():
    c = Case("matmul", "cpu", "float32", (2048, 2048, 2048))
    assert c.key == "matmul/cpu/float32/2048x2048x2048"
    s = c.scaled(4)
    assert s.shape == (512, 512, 512) and c.flops / s.flops == 64
    r = Case("reduce", "cuda", "float32", (128, 4096, 4095), variant="sum", dim=1)
    assert r.key == "reduce.sum/cuda/float32/128x4096x4095/dim=1"
    assert r.label == "sum dim=1 of (128, 4096, 4095)"
    assert Case("reduce", "cpu", "float32", (1 << 26,), variant="sum").label == "sum 2^26"
    assert Case.from_dict(r.to_dict()) == r
    t = Case("matmul", "cpu", "float32", (64, 64, 64), trans_b=True)
    a, b = cases.make_inputs(t)
    assert tuple(b.shape) == (64, 64) and not (b.is_contiguous() if hasattr(b, "is_contiguous") else b.flags.c_contiguous)


def test_error_ratio_edge_cases():
    assert tolerance.err_ratio(0.0, 0.0) == 0.0
    assert math.isinf(tolerance.err_ratio(1.0, 0.0))
    assert tolerance.err_ratio(1.0, 4.0) == 0.25


def test_matmul_tolerance_rejects_tf32_like_inputs():
    """Rounding the inputs to a 10-bit mantissa (TF32) must be caught at K = 4096."""
    c = Case("matmul", "cpu", "float32", (64, 64, 4096))

    def tf32(x):
        x = np.ascontiguousarray(_np(x), dtype=np.float32)
        bits = x.view(np.uint32) & np.uint32(0xFFFFE000)
        return bits.view(np.float32)
    assert not _check(c, lambda i: _as(i, tf32(i[0]) @ tf32(i[1]))).ok
