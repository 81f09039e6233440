"""One tolerance model: csrc/common/kb_tolerance.h states it, the C++ self-tests include it,
kernelbench/tolerance.py takes its constants from the build and writes its formulas; kernelbench/testing.py
and the benchmark use tolerance.py.  These tests compile the header and check that C++ and Python agree."""
from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kernelbench import testing
from kernelbench import tolerance as figures

ROOT = Path(__file__).resolve().parent.parent
DTYPES = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16"}
PROGRAM = r"""
#include <cstdio>
#include "common/kb_tolerance.h"
using namespace kb;
int main() {
  const DType ds[] = {DType::F32, DType::F64, DType::F16, DType::BF16};
  const double ns[] = {1, 7, 4096, 1e6};
  for (DType d : ds)
    for (double n : ns) {
      std::printf("%d %.17g accum %.17g\n", int(d), n, tol::accum_tol(d, n, 3.5, 0.25));
      std::printf("%d %.17g matmul %.17g\n", int(d), n, tol::matmul_tol(d, n, 3.5, 0.25, false));
      std::printf("%d %.17g tf32 %.17g\n", int(d), n, tol::matmul_tol(d, n, 3.5, 0.25, true));
      std::printf("%d %.17g softmax %.17g\n", int(d), n, tol::softmax_tol(d, n, 6.0, 0.125, false));
      std::printf("%d %.17g logsoftmax %.17g\n", int(d), n, tol::softmax_tol(d, n, 6.0, 2.5, true));
      std::printf("%d %.17g l2norm %.17g\n", int(d), n, tol::l2norm_tol(d, n, 9.0));
    }
  return 0;
}
"""


def _python(kind: str, dtype: str, n: float) -> float:
    if kind == "accum":
        return figures.accum_tol(dtype, n, 3.5, 0.25)
    if kind in ("matmul", "tf32"):
        return figures.matmul_tol_l2(dtype, n, 3.5, 0.25, "tf32" if kind == "tf32" else "")
    if kind == "softmax":
        return figures.softmax_tol(dtype, n, 6.0, 0.125, False)
    if kind == "logsoftmax":
        return figures.softmax_tol(dtype, n, 6.0, 2.5, True)
    return figures.l2norm_tol(dtype, n, 9.0)


@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "g++")) is None, reason="needs a C++ compiler")
def test_the_header_and_python_compute_the_same_tolerances(tmp_path):
    src = tmp_path / "tol.cpp"
    src.write_text(PROGRAM)
    exe = tmp_path / "tol"
    subprocess.run([os.environ.get("CXX", "g++"), "-std=c++17", f"-I{ROOT / 'csrc'}", str(src), "-o", str(exe)],
                   check=True)
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    by_int = {0: "float32", 1: "float64", 2: "float16", 3: "bfloat16"}
    checked = 0
    for line in filter(None, lines):
        d, n, kind, value = line.split()
        want = _python(kind, by_int[int(d)], float(n))
        assert math.isclose(float(value), want, rel_tol=1e-14), (line, want)
        checked += 1
    assert checked == 4 * 4 * 6


def test_python_takes_the_constants_from_the_compiled_header():
    """tolerance.py parses no C++: its constants are what the compiled kb_tolerance.h prints (tables_json),
    and they are the header's own (compiled here on the spot)."""
    import json
    from kernelbench import _frontdoors
    k = figures._tolerance_constants()
    mod = _frontdoors.pybind()
    if mod is not None:
        assert json.loads(mod.tables_json())["tolerance"] == k
    assert (figures.C_TOL, figures.C_OUT, figures.TF32_ROUNDOFF) == (k["kAccFactor"], k["kOutFactor"], k["kTF32Roundoff"])
    assert figures.EPS == {"float64": 2.0**-52, "float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}
    assert figures.DENORM == {"float64": 2.0**-1074, "float32": 2.0**-149, "float16": 2.0**-24,
                              "bfloat16": 2.0**-133}


def test_an_underflowed_fp16_softmax_probability_is_within_tolerance():
    """exp(-30) / n underflows to 0 in fp16: the error is under the smallest subnormal, which the
    model allows (one rounding of an underflowing result)."""
    ref = math.exp(-30) / 64
    assert abs(0.0 - ref) <= figures.softmax_tol("float16", 64, 30.0, ref, False)
    assert not abs(1e-3 - ref) <= figures.softmax_tol("float16", 64, 30.0, ref, False)


# ---- sums follow their algorithm (kb_tolerance.h sum_depth / sum_tol; table lines declare the order)
ORDERS = {"sequential": ("sequential", 1, "sequential"), "k-way": ("k-way", 64, "sequential"),
          "tree": ("tree", 1, "tree"), "compensated": ("compensated", 1, "compensated")}
SUM_PROGRAM = r"""
#include <cstdio>
#include <initializer_list>
#include "common/kb_tolerance.h"
using namespace kb;
int main() {
  const tol::Summation orders[] = {{tol::SumOrder::Sequential, 1}, {tol::SumOrder::KWay, 64},
                                   {tol::SumOrder::Tree, 1}, {tol::SumOrder::Compensated, 1, tol::SumOrder::Compensated}};
  for (const auto& o : orders)
    for (double n : {1.0, 7.0, 4096.0, 1048579.0})
      std::printf("%s %.17g %.17g %.17g\n", tol::sum_order_name(o.order), n, tol::sum_depth(o, n),
                  tol::sum_tol(DType::F32, o, n, 5.0e5, 600.0));
  return 0;
}
"""


@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "g++")) is None, reason="needs a C++ compiler")
def test_header_and_python_agree_on_every_summation_order(tmp_path):
    src, exe = tmp_path / "sum.cpp", tmp_path / "sum"
    src.write_text(SUM_PROGRAM)
    subprocess.run([os.environ.get("CXX", "g++"), "-std=c++17", f"-I{ROOT / 'csrc'}", str(src), "-o", str(exe)],
                   check=True)
    rows = [ln.split() for ln in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()]
    assert len(rows) == 16
    for order, n, depth, bound in rows:
        s = ORDERS[order]
        if order != "compensated":
            assert float(depth) == figures.sum_depth(s, float(n))
        assert math.isclose(float(bound), figures.ordered_sum_tol("float32", s, float(n), 5.0e5, 600.0), rel_tol=1e-14)


def _uniform_sum_2_20(positive: bool):
    rng = np.random.default_rng(7)
    x = rng.uniform(0 if positive else -1, 1, 2**20 + 3).astype(np.float32)
    return x, float(np.sum(x.astype(np.float64)))


@pytest.mark.parametrize("positive", [False, True])
def test_a_sum_off_by_ten_thousand_fails_every_order(positive):
    """The bug the old r * eps * sum|x| check let through: an fp32 sum of 2^20 + 3 values off by 10,000.
    Every order's bound is far below it (sequential, the loosest: 8u sqrt(n) sum|x| ~ 250)."""
    from kernelbench import testing
    x, ref = _uniform_sum_2_20(positive)
    for order in ORDERS.values():
        for wrong in (ref + 1e4, 0.0, 1.5):
            with pytest.raises(AssertionError):
                testing.check_reduce(np.float32(wrong), x, "sum", None, False, "float32", order)
        testing.check_reduce(np.float32(ref), x, "sum", None, False, "float32", order)   # its fixed twin


def test_each_order_accepts_its_own_algorithm_and_the_tighter_ones_reject_a_sequential_sum():
    """An fp32 sequential sum of 2^20 positive values errs by far more than a compensated sum may:
    the bound follows the algorithm (so the ladder's accuracy rung is held to its promise)."""
    from kernelbench import testing
    x, ref = _uniform_sum_2_20(True)
    seq = float(np.cumsum(x, dtype=np.float32)[-1])   # one fp32 accumulator (np.sum would be pairwise)
    testing.check_reduce(np.float32(seq), x, "sum", None, False, "float32", ORDERS["sequential"])
    assert abs(seq - ref) > 1.0                  # it really did lose digits
    with pytest.raises(AssertionError):
        testing.check_reduce(np.float32(seq), x, "sum", None, False, "float32", ORDERS["compensated"])
    pairwise = float(np.sum(x))                  # numpy: pairwise (a tree) in fp32
    testing.check_reduce(np.float32(pairwise), x, "sum", None, False, "float32", ORDERS["tree"])


def test_the_cpu_table_declares_its_orders():
    from kernelbench.registry import get_impl
    assert get_impl("reduce", "cpu_01_scalar").summation == ("sequential", 1, "sequential")
    assert get_impl("reduce", "cpu_05_kahan").summation == ("compensated", 1, "compensated")
    assert get_impl("reduce", "cpu_04_avx2_openmp").summation[0] == "k-way"
