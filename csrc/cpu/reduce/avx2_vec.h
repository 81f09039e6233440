// One AVX2 register of T and the operations the reduction rungs need, as always-inline functions
// compiled for "avx2,fma" only: callable from functions marked KB_AVX2, never from portable code.
// Idx is the lane type of the matching index register (int32 for 8 fp32 lanes, int64 for 4 fp64).
#pragma once
#include <immintrin.h>
#include <cstdint>
#include "../../common/kb_types.h"

#define KB_AVX2 __attribute__((target("avx2,fma")))
#define KB_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

namespace kb {
template <typename T> struct Avx2;

template <> struct Avx2<float> {
  using V = __m256;
  using I = __m256i;
  using Idx = std::int32_t;
  static constexpr int W = 8;
  KB_AVX2_INLINE static V load(const float* p) { return _mm256_load_ps(p); }  // 32-byte aligned
  KB_AVX2_INLINE static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  KB_AVX2_INLINE static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  KB_AVX2_INLINE static V set1(float v) { return _mm256_set1_ps(v); }
  KB_AVX2_INLINE static V zero() { return _mm256_setzero_ps(); }
  KB_AVX2_INLINE static V add(V a, V b) { return _mm256_add_ps(a, b); }
  KB_AVX2_INLINE static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  KB_AVX2_INLINE static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  KB_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  KB_AVX2_INLINE static V max(V a, V b) { return _mm256_max_ps(a, b); }  // b when either is NaN
  KB_AVX2_INLINE static V min(V a, V b) { return _mm256_min_ps(a, b); }  // b when either is NaN
  KB_AVX2_INLINE static V isnan(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  KB_AVX2_INLINE static V gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  KB_AVX2_INLINE static V lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  KB_AVX2_INLINE static V or_(V a, V b) { return _mm256_or_ps(a, b); }
  KB_AVX2_INLINE static V andnot(V a, V b) { return _mm256_andnot_ps(a, b); }  // ~a & b
  KB_AVX2_INLINE static V blend(V a, V b, V m) { return _mm256_blendv_ps(a, b, m); }  // m ? b : a
  KB_AVX2_INLINE static I iota(kb_int64 base) {  // base, base+1, ... (base + 7 < 2^31)
    return _mm256_add_epi32(_mm256_set1_epi32(Idx(base)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  KB_AVX2_INLINE static I iset1(kb_int64 v) { return _mm256_set1_epi32(Idx(v)); }
  KB_AVX2_INLINE static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  KB_AVX2_INLINE static I iblend(I a, I b, V m) {
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), m));
  }
  KB_AVX2_INLINE static I iloadu(const Idx* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  KB_AVX2_INLINE static void istoreu(Idx* p, I v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
};

template <> struct Avx2<double> {
  using V = __m256d;
  using I = __m256i;
  using Idx = std::int64_t;
  static constexpr int W = 4;
  KB_AVX2_INLINE static V load(const double* p) { return _mm256_load_pd(p); }
  KB_AVX2_INLINE static V loadu(const double* p) { return _mm256_loadu_pd(p); }
  KB_AVX2_INLINE static void storeu(double* p, V v) { _mm256_storeu_pd(p, v); }
  KB_AVX2_INLINE static V set1(double v) { return _mm256_set1_pd(v); }
  KB_AVX2_INLINE static V zero() { return _mm256_setzero_pd(); }
  KB_AVX2_INLINE static V add(V a, V b) { return _mm256_add_pd(a, b); }
  KB_AVX2_INLINE static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  KB_AVX2_INLINE static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  KB_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  KB_AVX2_INLINE static V max(V a, V b) { return _mm256_max_pd(a, b); }
  KB_AVX2_INLINE static V min(V a, V b) { return _mm256_min_pd(a, b); }
  KB_AVX2_INLINE static V isnan(V a) { return _mm256_cmp_pd(a, a, _CMP_UNORD_Q); }
  KB_AVX2_INLINE static V gt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  KB_AVX2_INLINE static V lt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  KB_AVX2_INLINE static V or_(V a, V b) { return _mm256_or_pd(a, b); }
  KB_AVX2_INLINE static V andnot(V a, V b) { return _mm256_andnot_pd(a, b); }
  KB_AVX2_INLINE static V blend(V a, V b, V m) { return _mm256_blendv_pd(a, b, m); }
  KB_AVX2_INLINE static I iota(kb_int64 base) {
    return _mm256_add_epi64(_mm256_set1_epi64x(base), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  KB_AVX2_INLINE static I iset1(kb_int64 v) { return _mm256_set1_epi64x(v); }
  KB_AVX2_INLINE static I iadd(I a, I b) { return _mm256_add_epi64(a, b); }
  KB_AVX2_INLINE static I iblend(I a, I b, V m) {
    return _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(a), _mm256_castsi256_pd(b), m));
  }
  KB_AVX2_INLINE static I iloadu(const Idx* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  KB_AVX2_INLINE static void istoreu(Idx* p, I v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
};
}  // namespace kb
