"""Every native rung (csrc/cpu, csrc/cuda) through every front door, against fp64 references.

Parametrized from the registry: adding a rung to the registry adds it here."""
from __future__ import annotations

import re

import numpy as np
import pytest

import kernelbench as kb
import kernelbench.testing  # noqa: F401
from kernelbench.registry.core import REDUCE_OPS, layout_class
from kernelbench.testing import check_matmul, check_reduce, check_rowwise

from conftest import CPU_DOORS, CUDA_DOORS, door_skip_reason, make_array, to_door

MATMUL = [i for i in kb.list_impls(op="matmul") if i.native]
REDUCE = [i for i in kb.list_impls(op="reduce") if i.native]
SOFTMAX = [i for i in kb.list_impls(op="softmax") if i.native]
L2NORM = [i for i in kb.list_impls(op="l2norm") if i.native]


def doors_for(impl):
    return [(d, impl.device) for d in (CPU_DOORS if impl.device == "cpu" else CUDA_DOORS)]


def cases(impls):
    return [pytest.param(i, d, dev, id=f"{i.name}-{d}") for i in impls for d, dev in doors_for(i)]


def skip_unless_door(door, device):
    reason = door_skip_reason(door, device)
    if reason:
        pytest.skip(reason)


def matmul_refusal(impl, m, n):
    """What the rung's table line refuses for an M x N result (kb::refuses), else None."""
    return impl.refusal(layout_class("matmul", (), batch_m_n=(1, m, n)))


# (M, N, K): odd sizes, tile non-multiples, tall-skinny, K = 1, large K, vectors, empty.
SHAPES = [(1, 1, 1), (7, 7, 7), (127, 129, 65), (129, 127, 33), (1, 300, 17), (300, 1, 17), (65, 33, 1),
          (2000, 3, 5), (3, 7, 1500), (0, 5, 4), (5, 0, 4), (6, 5, 0)]
SHAPES_CUDA_EXTRA = [(1031, 1025, 67), (4096, 1, 4096), (1, 4096, 4096), (64, 64, 16384)]


@pytest.mark.parametrize("impl,door,device", cases(MATMUL))
def test_matmul_shapes(impl, door, device, rng):
    skip_unless_door(door, device)
    shapes = SHAPES + (SHAPES_CUDA_EXTRA if device == "cuda" else [(1031, 67, 1025)])
    for dtype in impl.dtypes:
        for m, n, k in shapes:
            if matmul_refusal(impl, m, n):
                continue
            # the CPU baselines (rank 0: never a default) take seconds on the largest fp64 case
            if impl.rank == 0 and device == "cpu" and m * n * k > 2e7 and dtype == "float64":
                continue
            a, b = make_array(rng, (m, k), dtype), make_array(rng, (k, n), dtype)
            out = kb.matmul(to_door(a, door, device), to_door(b, door, device), impl=impl.name)
            check_matmul(out, a, b, dtype, precision=impl.precision)


@pytest.mark.parametrize("impl,door,device", cases(MATMUL))
@pytest.mark.parametrize("trans_a,trans_b", [(False, True), (True, False), (True, True)])
def test_matmul_transposed_and_batched(impl, door, device, trans_a, trans_b, rng):
    """Transposes arrive as column-major strides (torch, numpy) or as a copy (TF)."""
    skip_unless_door(door, device)
    if impl.refusal("matrix"):
        pytest.skip(impl.refusal("matrix"))
    dtype = impl.dtypes[0]
    for batch, m, n, k in [(None, 33, 17, 65), (3, 7, 129, 9), (2, 128, 64, 32)]:
        sa = (k, m) if trans_a else (m, k)
        sb = (n, k) if trans_b else (k, n)
        if batch:
            sa, sb = (batch, *sa), (batch, *sb)
        a_store, b_store = make_array(rng, sa, dtype), make_array(rng, sb, dtype)
        a = np.swapaxes(a_store, -1, -2) if trans_a else a_store
        b = np.swapaxes(b_store, -1, -2) if trans_b else b_store
        if door == "torch":
            ta = to_door(a_store, door, device).transpose(-1, -2) if trans_a else to_door(a, door, device)
            tb = to_door(b_store, door, device).transpose(-1, -2) if trans_b else to_door(b, door, device)
        else:
            ta, tb = to_door(np.ascontiguousarray(a), door, device), to_door(np.ascontiguousarray(b), door, device)
            if door == "pybind":
                ta, tb = a, b   # numpy views with transposed strides
        check_matmul(kb.matmul(ta, tb, impl=impl.name), a, b, dtype, precision=impl.precision)


@pytest.mark.parametrize("impl,door,device", cases(MATMUL))
def test_matmul_broadcast_batch_and_noncontiguous(impl, door, device, rng):
    skip_unless_door(door, device)
    if impl.refusal("matrix") or door == "tf":
        pytest.skip(impl.refusal("matrix") or "TF tensors are always dense")
    dtype = impl.dtypes[0]
    a = make_array(rng, (4, 9, 13), dtype)
    b = make_array(rng, (13, 6), dtype)        # 2-D b broadcast over a's batch
    check_matmul(kb.matmul(to_door(a, door, device), to_door(b, door, device), impl=impl.name), a, b, dtype,
                 precision=impl.precision)
    big = make_array(rng, (20, 30), dtype)
    a2, b2 = big[::2, 1:14], big[3:16, ::5]   # strided slices: neither row- nor column-major
    ta = to_door(big, door, device)[::2, 1:14] if door == "torch" else a2
    tb = to_door(big, door, device)[3:16, ::5] if door == "torch" else b2
    check_matmul(kb.matmul(ta, tb, impl=impl.name), a2, b2, dtype, precision=impl.precision)


REDUCE_SIZES = [0, 1, 31, 32, 33, 1023, 1025, 2**20 + 3]


def reduce_ok(impl, op, full):
    return op in impl.variants and not (full and impl.refusal("whole"))


@pytest.mark.parametrize("impl,door,device", cases(REDUCE))
def test_reduce_full(impl, door, device, rng):
    skip_unless_door(door, device)
    for dtype in impl.dtypes:
        for n in REDUCE_SIZES:
            if door != "torch" and n > 2**16:
                continue
            x = make_array(rng, (n,), dtype)
            for op in REDUCE_OPS:
                if not reduce_ok(impl, op, True) or (n == 0 and op not in ("sum", "mean")):
                    continue
                out = kb.reduce(to_door(x, door, device), op, impl=impl.name)
                check_reduce(out, x, op, None, False, dtype, impl.summation)
        # A slice that starts one element in: misaligned for 16-byte vector loads.
        base = make_array(rng, (4099,), dtype)
        for op in ("sum", "max", "argmin"):
            if reduce_ok(impl, op, True) and door != "tf":
                t = to_door(base, door, device)[1:]
                check_reduce(kb.reduce(t, op, impl=impl.name), base[1:], op, None, False, dtype, impl.summation)


@pytest.mark.parametrize("impl,door,device",
                         cases([i for i in REDUCE if not (i.refusal("rows") and i.refusal("columns"))]))
def test_reduce_every_dim(impl, door, device, rng):
    """Every dim of every shape the rung's table line accepts; the others raise its refusal."""
    skip_unless_door(door, device)
    for dtype in impl.dtypes[:2]:
        for shape in [(37,), (4, 5), (3, 1, 7), (2, 3, 4, 5), (6, 0, 3)]:
            x = make_array(rng, shape, dtype)
            for dim in range(-len(shape), len(shape)):
                why = impl.refusal(layout_class("reduce", shape, dim))
                if why:
                    with pytest.raises(ValueError, match=f"^impl: '{impl.name}' {re.escape(why)}; got "):
                        kb.reduce(to_door(x, door, device), "sum", dim=dim, impl=impl.name)
                    continue
                for op in impl.variants:
                    if x.shape[dim] == 0 and op not in ("sum", "mean"):
                        continue
                    keepdim = dim % 2 == 0
                    out = kb.reduce(to_door(x, door, device), op, dim=dim, keepdim=keepdim, impl=impl.name)
                    check_reduce(out, x, op, dim, keepdim, dtype, impl.summation)


@pytest.mark.parametrize("impl,door,device", cases(REDUCE))
def test_reduce_ties_and_nan(impl, door, device):
    """argmax/argmin take the first of equal values; NaN wins like in torch."""
    skip_unless_door(door, device)
    x = np.array([1.0, 5.0, 2.0, 5.0, -3.0, -3.0], dtype=np.float32)
    xn = np.array([1.0, np.nan, 7.0, np.nan], dtype=np.float32)
    for op, expect, expect_nan in [("argmax", 1, 1), ("argmin", 4, 1), ("max", 5.0, np.nan), ("min", -3.0, np.nan)]:
        if not reduce_ok(impl, op, True) or "float32" not in impl.dtypes:
            continue
        got = np.asarray(kb.testing.to_float64(kb.reduce(to_door(x, door, device), op, impl=impl.name)))
        assert got == expect, (op, got)
        got = np.asarray(kb.testing.to_float64(kb.reduce(to_door(xn, door, device), op, impl=impl.name)))
        assert (np.isnan(got) and np.isnan(expect_nan)) or got == expect_nan, (op, got)


@pytest.mark.parametrize("impl,door,device", cases(SOFTMAX + L2NORM))
def test_rowwise(impl, door, device, rng):
    skip_unless_door(door, device)
    for dtype in impl.dtypes:
        for shape in [(1, 1), (7, 1000), (3, 33), (2, 3, 129), (64, 4097)]:
            x = make_array(rng, shape, dtype) * 4
            if impl.op == "l2norm":
                check_rowwise(kb.l2norm(to_door(x, door, device), impl=impl.name), x, "l2norm", dtype)
            else:
                for log in (False, True):
                    out = kb.softmax(to_door(x, door, device), log=log, impl=impl.name)
                    check_rowwise(out, x, "log_softmax" if log else "softmax", dtype)


@pytest.mark.parametrize("impl,door,device", cases([i for i in REDUCE + MATMUL if any(r for _, r in i.probes)]))
def test_refused_layouts_raise_the_table_reason(impl, door, device, rng):
    """A layout a rung's table line refuses is a ValueError through every door, before any launch
    (issue 9: cuda_12/13 and 01-11 on the wrong layouts, cuda_09_gemv on matrices)."""
    skip_unless_door(door, device)
    dtype = impl.dtypes[0]
    for layout, why in impl.probes:
        if why is None:
            continue
        if impl.op == "matmul":
            a, b = make_array(rng, (4, 3), dtype), make_array(rng, (3, 5), dtype)
            call = lambda: kb.matmul(to_door(a, door, device), to_door(b, door, device), impl=impl.name)  # noqa: E731
        else:
            shape, dim = {"whole": ((9,), None), "rows": ((4, 9), 1), "columns": ((4, 9, 3), 1)}[layout]
            x = make_array(rng, shape, dtype)
            call = lambda: kb.reduce(to_door(x, door, device), impl.variants[0], dim=dim, impl=impl.name)  # noqa: E731
        with pytest.raises(ValueError, match=f"^impl: '{impl.name}' {re.escape(why)}; got "):
            call()


@pytest.mark.parametrize("impl,door,device", cases(SOFTMAX))
def test_softmax_of_a_row_holding_inf_is_nan(impl, door, device):
    """torch: a row with +inf is all NaN (inf - inf); a row of -inf is NaN (0 / 0); other rows are
    untouched.  (cuda_14 gave [nan, 0, ...] for one +inf: issue 9.)"""
    skip_unless_door(door, device)
    inf = np.inf
    for cols in (5, 40, 1500):
        x = np.tile(np.linspace(-2, 2, cols, dtype=np.float32), (5, 1))
        x[0, 1] = inf
        x[1, cols - 1] = inf
        x[2, :] = -inf
        x[3, 0] = x[3, 2] = inf
        for log in (False, True):
            got = np.asarray(kb.testing.to_float64(kb.softmax(to_door(x, door, device), log=log, impl=impl.name)))
            assert np.isnan(got[:4]).all(), (cols, log, got[:4, :4])
            assert np.isfinite(got[4]).all(), (cols, log)


def test_compensated_sum_beats_the_naive_one_on_an_adversarial_input():
    """1.0 followed by 2^20 values of 1e-8 (fp32): each small value is under half an ulp of the
    running total, so a plain fp32 loop never moves off 1.0; the compensated rung keeps them."""
    pytest.importorskip("kernelbench._pybind")
    x = np.full(1 << 20, 1e-8, dtype=np.float32)
    x[0] = 1.0
    exact = float(np.sum(x.astype(np.float64)))                      # 1.0104857...
    naive = float(np.asarray(kb.reduce(x, "sum", impl="cpu_01_scalar")))
    kahan = float(np.asarray(kb.reduce(x, "sum", impl="cpu_05_kahan")))
    assert abs(naive - exact) > 1e-3                                  # the naive sum lost ~1 %
    assert abs(kahan - exact) <= 2 * np.finfo(np.float32).eps * exact  # within an ulp or two
    assert abs(kahan - exact) < abs(naive - exact) / 1000
