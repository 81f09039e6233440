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
//            adversarial inputs, use sum |t_i| for both l2 and |ref64| (a looser, always valid bound).
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
