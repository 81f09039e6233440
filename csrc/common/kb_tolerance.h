// THE tolerance model of kernelbench, stated once.  The C++ self-tests include this header;
// kernelbench/bench/figures.py reads the constants below (every `constexpr double kName = value;`
// line) and writes the same formulas in Python, and kernelbench/testing.py uses figures.py;
// tests/test_tolerance.py compiles this header and checks both agree on sample inputs.
//
// A result that sums n terms t_1..t_n (a dot product of length K, a reduction of length n) is
// accepted when
//
//     |got - ref64|  <=  kAccFactor * eps_acc(dtype) * sqrt(n) * l2  +  kOutFactor * (eps_out(dtype) * |ref64| + denorm)
//
//   ref64    the float64 result from the very inputs the kernel saw (already rounded to dtype)
//   l2       the 2-norm of the n summed terms, sqrt(sum t_i^2) -- the natural scale of the rounding
//            error of a sum (each partial sum s_k is rounded by ~eps * |s_k|, and |s_k| ~ sqrt(k) rms):
//            a sequential fp32 sum errs by ~0.3 * eps * sqrt(n) * l2; dropping or doubling 1 % of
//            the terms errs by ~0.1 * l2, far above the bound.  Any upper bound of l2 may be used:
//            the benchmark estimates it (matmul: sqrt(K) * rms(A) * rms(B)); the tests, which take
//            adversarial inputs, use sum |t_i| for l2 (a looser, always valid bound), and for |ref64|
//            too except in sums, whose checkers pass |ref64| itself (sum_tol below).
//   eps_acc  machine epsilon of the accumulator: fp32 for fp16/bf16 inputs (the project's contract),
//            else the dtype's own
//   eps_out  machine epsilon of the stored result (one rounding), plus its smallest subnormal
//            (denorm) for results that underflow (a tiny fp16 softmax probability): kOutFactor *
//            (eps_out * |ref64| + denorm) in every formula below, written "out" for short
// TF32 math on fp32 data (trait tf32) adds kAccFactor * 2 * kTF32Roundoff * l2 (both inputs of each
// product rounded to 10 mantissa bits: errors of <= 2 * 2^-11 |t_i| with random signs add up to ~l2).
// Softmax: exp(x - max) has a relative error ~ eps * |x - max| and the row sum ~ eps * sqrt(n):
//     softmax      kAccFactor * eps_acc * (sqrt(n) + 2 max|x| + 4) * |ref| + out + eps_acc / n
//     log-softmax  kAccFactor * eps_acc * (sqrt(n) + 2 max|x| + 4 + |ref|) + out
// L2 norm: a sum of n positive squares, then a square root:
//     l2norm       kAccFactor * eps_acc * (sqrt(n) + 4) * |ref| + out
// max / min / argmax / argmin: exact.
//
// Sums follow their algorithm.  The sqrt(n) of the formula is the probabilistic bound of Higham &
// Mary ("A new approach to probabilistic rounding error analysis", 2019): rounding errors of
// independent sign add up like a random walk, so a term that passes through `depth` roundings errs
// by ~ sqrt(depth) * u * |partial sum|.  What changes from rung to rung is the depth, which the
// rung's table line declares (its SumOrder; sum_depth below):
//     sequential   one accumulator                              depth n
//     k-way        k accumulators, then a tree over them        depth ceil(n / k) + log2 k
//     tree         pairwise / block tree                        depth log2 n
//     compensated  Kahan / Kahan-Babuska-Neumaier: |err| <= (2 u + n u^2) sum|t|, deterministic (Higham,
//                  Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 4.8; lanes merged with
//                  TwoSum keep it), plus the stored result's rounding
// with l2 taken as sum |t_i| in the checkers (valid for any data).  kAccFactor * eps =
// 8 u is the lambda of Higham & Mary: the bound fails with probability below 2 n exp(-32) per result.
// Sequential is the default of a table line: the largest depth any order of n terms can have.
#pragma once
#include <cmath>
#include "kb_types.h"

namespace kb {
namespace tol {

constexpr double kAccFactor = 4.0;                    // safety factor on the probabilistic estimates
constexpr double kOutFactor = 1.0;                    // roundings of the stored result
constexpr double kEpsFloat64 = 2.220446049250313e-16;  // machine epsilon (spacing at 1.0), 2^-52
constexpr double kEpsFloat32 = 1.1920928955078125e-07; // 2^-23
constexpr double kEpsFloat16 = 0.0009765625;           // 2^-10
constexpr double kEpsBfloat16 = 0.0078125;             // 2^-7
constexpr double kTF32Roundoff = 0.00048828125;        // 2^-11: cvt.rna.tf32.f32 relative error
constexpr double kDenormFloat64 = 4.9406564584124654e-324;  // smallest subnormal, 2^-1074
constexpr double kDenormFloat32 = 1.401298464324817e-45;    // 2^-149
constexpr double kDenormFloat16 = 5.960464477539063e-08;    // 2^-24
constexpr double kDenormBfloat16 = 9.183549615799121e-41;   // 2^-133

inline double eps_of(DType d) {
  switch (d) {
    case DType::F64: return kEpsFloat64;
    case DType::F32: return kEpsFloat32;
    case DType::F16: return kEpsFloat16;
    case DType::BF16: return kEpsBfloat16;
  }
  return kEpsFloat32;
}
inline double eps_acc(DType d) { return d == DType::F64 ? kEpsFloat64 : kEpsFloat32; }
inline double eps_out(DType d) { return eps_of(d); }
inline double denorm_out(DType d) {
  switch (d) {
    case DType::F64: return kDenormFloat64;
    case DType::F32: return kDenormFloat32;
    case DType::F16: return kDenormFloat16;
    case DType::BF16: return kDenormBfloat16;
  }
  return kDenormFloat32;
}
// One rounding of the stored result.
inline double out_tol(DType d, double ref_abs) { return kOutFactor * (eps_out(d) * ref_abs + denorm_out(d)); }

// The one formula: a sum of n terms whose 2-norm is (at most) l2.
inline double accum_tol(DType d, double n, double l2, double ref_abs) {
  return kAccFactor * eps_acc(d) * std::sqrt(n > 1 ? n : 1) * l2 + out_tol(d, ref_abs);
}
// The summation order of a reduction rung (declared on its table line, kb_tables.h).
enum class SumOrder : int { Sequential = 0, KWay = 1, Tree = 2, Compensated = 3 };
struct Summation {
  SumOrder order = SumOrder::Sequential;    // along a contiguous reduced dim (whole tensors, inner == 1)
  int ways = 1;                             // KWay: the number of independent accumulators
  SumOrder columns = SumOrder::Sequential;  // along a strided dim (inner > 1): often one accumulator a column
  Summation for_layout(bool strided) const { return strided ? Summation{columns, 1, columns} : *this; }
};
inline const char* sum_order_name(SumOrder o) {
  switch (o) {
    case SumOrder::Sequential: return "sequential";
    case SumOrder::KWay: return "k-way";
    case SumOrder::Tree: return "tree";
    case SumOrder::Compensated: return "compensated";
  }
  return "sequential";
}
// How many roundings a term passes through on its way into the result (n terms).
inline double sum_depth(Summation s, double n) {
  if (n <= 1) return 1;
  switch (s.order) {
    case SumOrder::Sequential: return n;
    case SumOrder::KWay: {
      const double k = s.ways > 1 ? s.ways : 1;
      return std::ceil(n / k) + std::ceil(std::log2(k));
    }
    case SumOrder::Tree: return std::ceil(std::log2(n)) + 1;
    case SumOrder::Compensated: return n;  // (not used by sum_tol: its bound is deterministic)
  }
  return n;
}
// A sum (or the numerator of a mean) of n terms with sum |t_i| = sum_abs, computed in `order`.
inline double sum_tol(DType d, Summation s, double n, double sum_abs, double ref_abs) {
  if (s.order == SumOrder::Compensated) {
    const double u = eps_acc(d) / 2;
    return (2 * u + (n > 1 ? n : 1) * u * u) * sum_abs + out_tol(d, ref_abs);
  }
  return accum_tol(d, sum_depth(s, n), sum_abs, ref_abs);
}

inline double matmul_tol(DType d, double k, double l2, double ref_abs, bool tf32 = false) {
  const double t = accum_tol(d, k, l2, ref_abs);
  return tf32 ? t + kAccFactor * 2.0 * kTF32Roundoff * l2 : t;
}
inline double softmax_tol(DType d, double n, double max_abs_x, double ref_abs, bool log) {
  const double k = std::sqrt(n > 1 ? n : 1) + 2.0 * max_abs_x + 4.0;
  if (log) return kAccFactor * eps_acc(d) * (k + ref_abs) + out_tol(d, ref_abs);
  return kAccFactor * eps_acc(d) * k * ref_abs + out_tol(d, ref_abs) + eps_acc(d) / (n > 1 ? n : 1);
}
inline double l2norm_tol(DType d, double n, double ref_abs) {
  return kAccFactor * eps_acc(d) * (std::sqrt(n > 1 ? n : 1) + 4.0) * ref_abs + out_tol(d, ref_abs);
}

}  // namespace tol
}  // namespace kb
