// cpu_05_kahan: the accuracy rung.  04's threads and fixed chunks, but every accumulator is a
// compensated pair (s, c): TwoSum gives the exact rounding error of each s + x (Knuth, the branch-
// free form of Kahan-Babuska-Neumaier) and c collects it; s + c is the result, and partials merge
// with TwoSum too.  The error of an fp32 sum no longer grows with n: ~eps*|sum| + n*eps^2*sum|x|
// instead of ~n*eps*sum|x|, still accumulating in fp32.  Sum and mean only.
// Limits: 6 adds per element instead of 1 (still under DRAM bandwidth with AVX2); along a dim r is
// not split across threads.  inf/NaN propagate as in a plain sum (value() below).
// Preconditions: no -ffast-math (it would cancel the compensation).
#if defined(__FAST_MATH__)
#error "05_kahan.cpp must not be compiled with -ffast-math: it would optimize the compensation away"
#endif
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include "../../common/kb_error.h"
#include "../cpu_isa.h"
#include "avx2_vec.h"
#include "reduce_cpu.h"

namespace kb {
namespace {
constexpr kb_int64 kChunk = kb_int64(1) << 16;  // as 04: fixed pieces, combined in index order
constexpr kb_int64 kColumns = 1024;
constexpr double kParallelBytes = 1 << 18;

template <typename T>
struct Comp {  // a compensated sum: the value is s + c
  T s, c;
};

// s + x = t + e exactly (no assumption on |s| vs |x|).
template <typename T>
inline void two_sum(T s, T x, T& t, T& e) {
  t = s + x;
  const T z = t - s;
  e = (s - (t - z)) + (x - z);
}

template <typename T>
inline void add(Comp<T>& a, T x) {
  T t, e;
  two_sum(a.s, x, t, e);
  a.s = t;
  a.c += e;
}

template <typename T>
inline Comp<T> merge(Comp<T> a, Comp<T> b) {
  T t, e;
  two_sum(a.s, b.s, t, e);
  return {t, a.c + b.c + e};
}

// The value of a compensated sum.  Once s is inf or NaN it stays so (inf + finite = inf) and the
// compensation of that step is inf - inf = NaN: the sum is s itself, as a plain loop would give.
// While s is finite every error term is finite, so c is too.
template <typename T>
inline T value(T s, T c) {
  return std::isfinite(s) ? s + c : s;
}

template <typename T>
Comp<T> kahan_scalar(const T* x, kb_int64 n) {
  Comp<T> a{0, 0};
  for (kb_int64 i = 0; i < n; ++i) add(a, x[i]);
  return a;
}

template <typename T>
KB_AVX2 Comp<T> kahan_avx2(const T* x, kb_int64 n) {
  using R = Avx2<T>;
  using V = typename R::V;
  constexpr int W = R::W, K = 4;  // 4 (s, c) register pairs + temporaries fill the 16 ymm registers
  Comp<T> head{0, 0}, tail{0, 0};
  kb_int64 i = 0;
  for (; i < n && reinterpret_cast<std::uintptr_t>(x + i) % 32 != 0; ++i) add(head, x[i]);
  V s[K], c[K];
  for (int k = 0; k < K; ++k) s[k] = c[k] = R::zero();
  for (; i + K * W <= n; i += K * W)
    for (int k = 0; k < K; ++k) {
      const V v = R::load(x + i + k * W);
      const V t = R::add(s[k], v), z = R::sub(t, s[k]);
      c[k] = R::add(c[k], R::add(R::sub(s[k], R::sub(t, z)), R::sub(v, z)));  // exact error of s + v
      s[k] = t;
    }
  for (; i < n; ++i) add(tail, x[i]);
  alignas(32) T ls[K * W], lc[K * W];
  for (int k = 0; k < K; ++k) {
    R::storeu(ls + k * W, s[k]);
    R::storeu(lc + k * W, c[k]);
  }
  Comp<T> res = head;
  for (int l = 0; l < K * W; ++l) res = merge(res, Comp<T>{ls[l], lc[l]});
  return merge(res, tail);
}

template <typename T>
Comp<T> kahan_contiguous(const T* x, kb_int64 n) {
  return cpu_isa() >= CpuIsa::Avx2 ? kahan_avx2(x, n) : kahan_scalar(x, n);
}

// Columns: s[j], c[j] over the r rows of an (r x ncols) block with row stride `stride`.
template <typename T>
void kahan_columns_scalar(const T* x, kb_int64 r, kb_int64 stride, kb_int64 j0, kb_int64 ncols, T* s, T* c) {
  for (kb_int64 q = 0; q < r; ++q)
    for (kb_int64 j = j0; j < ncols; ++j) {
      Comp<T> a{s[j], c[j]};
      add(a, x[q * stride + j]);
      s[j] = a.s;
      c[j] = a.c;
    }
}

template <typename T>
KB_AVX2 void kahan_columns_avx2(const T* x, kb_int64 r, kb_int64 stride, kb_int64 ncols, T* s, T* c) {
  using R = Avx2<T>;
  using V = typename R::V;
  constexpr int W = R::W;
  const kb_int64 nv = ncols / W * W;
  for (kb_int64 q = 0; q < r; ++q) {
    const T* row = x + q * stride;
    for (kb_int64 j = 0; j < nv; j += W) {
      const V v = R::loadu(row + j), sj = R::loadu(s + j);
      const V t = R::add(sj, v), z = R::sub(t, sj);
      R::storeu(c + j, R::add(R::loadu(c + j), R::add(R::sub(sj, R::sub(t, z)), R::sub(v, z))));
      R::storeu(s + j, t);
    }
  }
  kahan_columns_scalar(x, r, stride, nv, ncols, s, c);
}

template <typename T>
void kahan(const ReduceArgs& p) {
  if (p.outer * p.inner == 0) return;
  const T* x = static_cast<const T*>(p.x);
  const T denom = p.op == ReduceOp::Mean ? static_cast<T>(p.r) : T(1);  // r == 0: 0 / 0 = NaN
  const bool par = double(p.outer) * double(p.r) * double(p.inner) * sizeof(T) >= kParallelBytes;
  T* out = static_cast<T*>(p.out);
  if (p.inner == 1) {
    const kb_int64 chunks = std::max<kb_int64>(1, (p.r + kChunk - 1) / kChunk);
    std::vector<Comp<T>> part(static_cast<size_t>(p.outer * chunks));
#pragma omp parallel if (par)
    {
#pragma omp for schedule(static)
      for (kb_int64 it = 0; it < p.outer * chunks; ++it) {
        const kb_int64 o = it / chunks, ch = it % chunks;
        part[it] = kahan_contiguous(x + o * p.r + ch * kChunk, std::min(kChunk, p.r - ch * kChunk));
      }
#pragma omp for schedule(static)
      for (kb_int64 o = 0; o < p.outer; ++o) {
        Comp<T> res = part[o * chunks];
        for (kb_int64 ch = 1; ch < chunks; ++ch) res = merge(res, part[o * chunks + ch]);
        out[o] = value(res.s, res.c) / denom;
      }
    }
    return;
  }
  const kb_int64 blocks = (p.inner + kColumns - 1) / kColumns;
#pragma omp parallel if (par)
  {
    std::vector<T> s(kColumns), c(kColumns);
#pragma omp for schedule(static)
    for (kb_int64 it = 0; it < p.outer * blocks; ++it) {
      const kb_int64 o = it / blocks, j0 = (it % blocks) * kColumns, nc = std::min(kColumns, p.inner - j0);
      std::fill(s.begin(), s.end(), T(0));
      std::fill(c.begin(), c.end(), T(0));
      const T* blk = x + o * p.r * p.inner + j0;
      if (cpu_isa() >= CpuIsa::Avx2) kahan_columns_avx2(blk, p.r, p.inner, nc, s.data(), c.data());
      else kahan_columns_scalar(blk, p.r, p.inner, kb_int64(0), nc, s.data(), c.data());
      for (kb_int64 j = 0; j < nc; ++j) out[o * p.inner + j0 + j] = value(s[j], c[j]) / denom;
    }
  }
}
}  // namespace

void cpu_reduce_05_kahan(const ReduceArgs& p, void*) {
  KB_REQUIRE(is_sum(p.op), "cpu_05_kahan: implements sum and mean only, got " << reduce_op_name(p.op));
  if (p.dtype == DType::F32) return kahan<float>(p);
  if (p.dtype == DType::F64) return kahan<double>(p);
  KB_THROW("cpu_05_kahan: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
