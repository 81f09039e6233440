"""The tolerance model in Python: csrc/common/kb_tolerance.h's constants and formulas, term for
term (tests/test_tolerance.py compiles the header and compares).  Every checker uses it: the
benchmark's correctness column (kernelbench/bench/cases.py), kernelbench.testing, the fuzzer.
"""
from __future__ import annotations

import math
from pathlib import Path

# The tolerance model is stated once, in csrc/common/kb_tolerance.h (the C++ self-tests include it).
# Its constants come from the compiled C++ (kb::tables_json(): the pybind11 module, else the
# kernelbench/_kb_tables.json that setup.py writes from the same function), never from parsing the
# header; the formulas below are the header's, term for term (tests/test_tolerance.py compiles the
# header and compares).
TABLES_JSON = Path(__file__).resolve().parent / "_kb_tables.json"


def _tolerance_constants() -> dict:
    """{kName: value} of kb_tolerance.h's constants, as the built C++ states them."""
    import json
    from . import _frontdoors
    mod = _frontdoors.pybind()
    tables = json.loads(mod.tables_json()) if mod is not None and hasattr(mod, "tables_json") else None
    if (tables is None or "tolerance" not in tables) and TABLES_JSON.exists():
        tables = json.loads(TABLES_JSON.read_text())
    if not tables or "tolerance" not in tables:
        raise ImportError("kernelbench's tolerance model comes from its C++ build, which is missing: build it with "
                          "`pip install -e . --no-build-isolation` (or `make build`)")
    return dict(tables["tolerance"])


_K = _tolerance_constants()
# Machine epsilon (spacing at 1.0) per dtype.
EPS = {"float64": _K["kEpsFloat64"], "float32": _K["kEpsFloat32"], "float16": _K["kEpsFloat16"],
       "bfloat16": _K["kEpsBfloat16"]}
C_TOL = _K["kAccFactor"]          # safety factor on the probabilistic error estimates below
C_OUT = _K["kOutFactor"]          # roundings of the stored result
TF32_ROUNDOFF = _K["kTF32Roundoff"]   # cvt.rna.tf32.f32: relative rounding error of a TF32 input
DENORM = {"float64": _K["kDenormFloat64"], "float32": _K["kDenormFloat32"], "float16": _K["kDenormFloat16"],
          "bfloat16": _K["kDenormBfloat16"]}   # smallest subnormal: the rounding error of an underflow


def sum_depth(summation, n: float, strided: bool = False) -> float:
    """How many roundings a term passes through in a sum of n terms computed in `summation` order
    (order along a row, ways, order along a strided dim), as kb_tolerance.h's sum_depth; () or None:
    sequential, the largest depth any order has."""
    order, ways, columns = tuple(summation) if summation else ("sequential", 1, "sequential")
    if strided:
        order, ways = columns, 1
    if n <= 1:
        return 1.0
    if order == "k-way":
        k = max(ways, 1)
        return math.ceil(n / k) + math.ceil(math.log2(k))
    if order == "tree":
        return math.ceil(math.log2(n)) + 1
    return float(n)


def ordered_sum_tol(dtype: str, summation, n: float, sum_abs, ref_abs, strided: bool = False):
    """kb_tolerance.h's sum_tol: a sum of n terms (sum |t_i| = sum_abs) in the rung's summation order."""
    order = (tuple(summation)[2] if strided else tuple(summation)[0]) if summation else "sequential"
    if order == "compensated":
        u = eps_acc(dtype) / 2
        return (2 * u + max(n, 1) * u * u) * sum_abs + C_OUT * (eps_out(dtype) * ref_abs + DENORM[dtype])
    return accum_tol(dtype, sum_depth(summation, n, strided), sum_abs, ref_abs)


def eps_acc(dtype: str) -> float:
    """Accumulation epsilon: 16-bit inputs are accumulated in fp32 (the project's contract)."""
    return EPS["float32"] if dtype in ("float16", "bfloat16") else EPS[dtype]


def eps_out(dtype: str) -> float:
    """Rounding of the stored result."""
    return EPS.get(dtype, 0.0)


def accum_tol(dtype: str, n: int, l2, ref_abs):
    """THE formula (kb::tol::accum_tol): a result summing n terms whose 2-norm is (at most) l2:
    C_TOL * eps_acc * sqrt(n) * l2 + out_tol (C_OUT * (eps_out * |ref| + denorm))."""
    return C_TOL * eps_acc(dtype) * math.sqrt(max(n, 1)) * l2 + out_tol(dtype, ref_abs)


def out_tol(dtype: str, ref_abs):
    """One rounding of the stored result (kb::tol::out_tol), underflow included."""
    return C_OUT * (eps_out(dtype) * ref_abs + DENORM.get(dtype, 0.0))


def matmul_tol(dtype: str, k: int, rms_a: float, rms_b: float, ref_abs, precision: str = "") -> object:
    """accum_tol with the 2-norm of a dot product's K terms estimated as sqrt(K) * rms(A) * rms(B):
    |C - C64| <= C_TOL * eps_acc * K * rms(A) * rms(B)  +  eps_out * |C64|.

    With zero-mean random inputs the partial sums of a K-term dot product stay ~sqrt(k) * rms(ab),
    so the accumulated rounding error is ~(eps / 2) * rms(A) rms(B) * K / sqrt(2) -- i.e.
    ~sqrt(K) * eps relative to |C| ~ sqrt(K) * rms(A) rms(B).  The bound sits ~10x above that:
    wide enough for any fp32 summation order, tight enough to catch a wrong element, a dropped
    k-block or TF32 inputs (error ~2^-11 per product)."""
    return matmul_tol_l2(dtype, k, math.sqrt(max(k, 1)) * rms_a * rms_b, ref_abs, precision)


def matmul_tol_l2(dtype: str, k: int, l2, ref_abs, precision: str = ""):
    """kb::tol::matmul_tol: accum_tol, plus C_TOL * 2 * 2^-11 * l2 for TF32 math (both inputs of each
    product rounded to TF32: errors of <= 2^-10 |t_i| with random signs add up to ~l2)."""
    tol = accum_tol(dtype, k, l2, ref_abs)
    if precision == "tf32":
        tol = tol + C_TOL * 2.0 * TF32_ROUNDOFF * l2
    return tol


def sum_tol(dtype: str, n: int, l2: object, ref_abs: object) -> object:
    """Sum of n terms: accum_tol with l2 = ||x||_2 along the reduced dim, the natural scale of a sum
    of zero-mean terms; a sequential fp32 sum errs by ~0.2 * eps * sqrt(n) * ||x||_2, while dropping
    or doubling even 1 % of the terms errs by ~0.1 * ||x||_2 -- the tolerance sits well between."""
    return accum_tol(dtype, n, l2, ref_abs)


def softmax_tol(dtype: str, n: int, max_abs_x: float, ref_abs: object, log: bool) -> object:
    """Relative error of exp(x - max) ~ eps * |x - max|, of the row sum ~ eps * sqrt(n)."""
    k = math.sqrt(max(n, 1)) + 2.0 * max_abs_x + 4.0
    if log:
        return C_TOL * eps_acc(dtype) * (k + ref_abs) + out_tol(dtype, ref_abs)
    return C_TOL * eps_acc(dtype) * k * ref_abs + out_tol(dtype, ref_abs) + eps_acc(dtype) / max(n, 1)


def l2norm_tol(dtype: str, n: int, ref_abs: object) -> object:
    """Sum of n positive squares (error ~ eps * sqrt(n) relative), then a square root."""
    return C_TOL * eps_acc(dtype) * (math.sqrt(max(n, 1)) + 4.0) * ref_abs + out_tol(dtype, ref_abs)


def err_ratio(err: float, tol: float) -> float:
    if tol > 0:
        return err / tol
    return 0.0 if err == 0 else math.inf
