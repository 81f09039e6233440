"""One tolerance model: csrc/common/kb_tolerance.h states it, the C++ self-tests include it,
kernelbench/bench/figures.py reads its constants and writes its formulas, kernelbench/testing.py
uses figures.py.  These tests compile the header and check that C++ and Python agree."""
from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kernelbench import testing
from kernelbench.bench import figures

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


def test_python_reads_the_constants_from_the_header(tmp_path):
    text = figures.TOLERANCE_HEADER.read_text()
    edited = tmp_path / "kb_tolerance.h"
    edited.write_text(text.replace("constexpr double kAccFactor = 4.0;", "constexpr double kAccFactor = 5.5;"))
    assert figures._tolerance_constants(edited)["kAccFactor"] == 5.5
    k = figures._tolerance_constants()
    assert (figures.C_TOL, figures.C_OUT, figures.TF32_ROUNDOFF) == (k["kAccFactor"], k["kOutFactor"], k["kTF32Roundoff"])
    assert figures.EPS == {"float64": 2.0**-52, "float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}
    assert figures.DENORM == {"float64": 2.0**-1074, "float32": 2.0**-149, "float16": 2.0**-24,
                              "bfloat16": 2.0**-133}


def test_the_tests_use_the_same_formula():
    """testing.py's per-unit scale is the model with sum |terms| for the 2-norm and |ref| -- the
    8u sqrt(n) + 2u it always was, now from the header's constants."""
    for d in DTYPES:
        u_acc = figures.eps_acc(d) / 2
        assert math.isclose(testing.error_scale(d, 1000), 8 * u_acc * math.sqrt(1000) + 2 * figures.EPS[d] / 2)
        assert math.isclose(figures.accum_tol(d, 1000, 1.0, 1.0) - figures.DENORM[d], testing.error_scale(d, 1000))
    # the bench's matmul estimate is the same formula with l2 = sqrt(K) rms(A) rms(B)
    assert math.isclose(figures.matmul_tol("float32", 4096, 2.0, 0.5, 3.0),
                        figures.accum_tol("float32", 4096, math.sqrt(4096) * 2.0 * 0.5, 3.0))


def test_an_underflowed_fp16_softmax_probability_is_within_tolerance():
    """exp(-30) / n underflows to 0 in fp16: the error is under the smallest subnormal, which the
    model allows (one rounding of an underflowing result)."""
    ref = math.exp(-30) / 64
    assert abs(0.0 - ref) <= figures.softmax_tol("float16", 64, 30.0, ref, False)
    assert not abs(1e-3 - ref) <= figures.softmax_tol("float16", 64, 30.0, ref, False)
