// exp(x) on AVX2 registers, for the softmax rung.  Range reduction x = n*ln2 + r (|r| <= ln2/2,
// ln2 split in two parts so n*ln2 is exact), a polynomial for e^r, and 2^n built in the exponent
// bits.  fp32: Cephes' degree-5 polynomial (~1-2 ulp); fp64: Taylor to degree 13 (~1 ulp).
// x below the smallest normal result's log gives 0 (denormal results flush to zero); NaN stays
// NaN; large x saturates near the largest finite value (softmax only needs x <= 0).
#pragma once
#include "avx2_vec.h"

namespace kb {
KB_AVX2_INLINE __m256 exp_avx2(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.3365402f), hi = _mm256_set1_ps(88.3762626f);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(lo, _mm256_min_ps(hi, x));  // x is the second operand: a NaN passes through
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);  // x - n*ln2 in two parts
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));  // e^r
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));  // e^r * 2^n
  return _mm256_andnot_ps(underflow, y);
}

KB_AVX2_INLINE __m256d exp_avx2(__m256d x) {
  const __m256d lo = _mm256_set1_pd(-708.39641853226408), hi = _mm256_set1_pd(709.4);
  const __m256d underflow = _mm256_cmp_pd(x, lo, _CMP_LT_OQ);
  x = _mm256_max_pd(lo, _mm256_min_pd(hi, x));
  const __m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93145751953125e-1), x);
  r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.42860682030941723212e-6), r);
  // e^r = sum r^k / k!, k = 0..13, Horner form
  static const double inv_fact[14] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
                                      1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800,
                                      1.0 / 479001600, 1.0 / 6227020800.0};
  __m256d p = _mm256_set1_pd(inv_fact[13]);
  for (int k = 12; k >= 0; --k) p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(inv_fact[k]));
  // 2^n: n in [-1022, 1023] -> biased exponent (n + 1023) << 52
  const __m256i ni = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(n));
  const __m256i e = _mm256_slli_epi64(_mm256_add_epi64(ni, _mm256_set1_epi64x(1023)), 52);
  const __m256d y = _mm256_mul_pd(p, _mm256_castsi256_pd(e));
  return _mm256_andnot_pd(underflow, y);
}
}  // namespace kb
