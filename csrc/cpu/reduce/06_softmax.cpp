// cpu_06_softmax: softmax and log-softmax over the last dim.  Pass 1 reads the row once with the
// online rule per AVX2 lane -- for each block of 4 vectors, m' = max(m, block max),
// s = s * e^(m - m') + sum e^(x - m') -- then merges the lanes; pass 2 writes e^(x - m) / s or
// (x - m) - log s.  exp is a vectorized polynomial (avx2_exp.h); OpenMP splits the rows.
// Limits: 2 reads + 1 write per element; one row is never split across threads; without AVX2 a
// scalar three-pass loop runs.  Preconditions: none (a row of -inf gives NaN, as in torch).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include "../../common/kb_error.h"
#include "../cpu_isa.h"
#include "avx2_exp.h"
#include "reduce_cpu.h"

namespace kb {
namespace {
// Running maxima start at the lowest finite value, not -inf, so that e^(m - m') and e^(x - m')
// never see -inf - (-inf); a row of -inf then ends with s = 0 and 0 / 0 = NaN, like torch.
template <typename T>
struct Online {
  T m = std::numeric_limits<T>::lowest(), s = 0;
  void add(T x) {  // one element (a NaN x makes s NaN)
    if (x > m) { s *= std::exp(m - x); m = x; }
    s += std::exp(x - m);
  }
  void merge(T m2, T s2) {
    const T mm = std::max(m, m2);
    s = s * std::exp(m - mm) + s2 * std::exp(m2 - mm);
    m = mm;
  }
};

template <typename T>
void softmax_row_scalar(const T* x, T* y, kb_int64 n, bool log) {
  Online<double> st;  // one running sum for the whole row: keep it in fp64
  for (kb_int64 j = 0; j < n; ++j) st.add(x[j]);
  const T m = T(st.m);
  if (log) {
    const T ls = T(std::log(st.s));
    for (kb_int64 j = 0; j < n; ++j) y[j] = (x[j] - m) - ls;
  } else {
    const T inv = T(1 / st.s);
    for (kb_int64 j = 0; j < n; ++j) y[j] = std::exp(x[j] - m) * inv;
  }
}

template <typename T>
KB_AVX2 void softmax_row_avx2(const T* x, T* y, kb_int64 n, bool log) {
  using R = Avx2<T>;
  using V = typename R::V;
  constexpr int W = R::W, U = 4;  // blocks of U vectors share one rescale
  V m = R::set1(std::numeric_limits<T>::lowest()), s = R::zero();
  kb_int64 j = 0;
  for (; j + U * W <= n; j += U * W) {
    V v[U];
    V bm = R::loadu(x + j);
    v[0] = bm;
    for (int u = 1; u < U; ++u) { v[u] = R::loadu(x + j + u * W); bm = R::max(v[u], bm); }  // NaN: ignored here,
    const V mn = R::max(bm, m);                                                             // caught by s below
    s = R::mul(s, exp_avx2(R::sub(m, mn)));
    for (int u = 0; u < U; ++u) s = R::add(s, exp_avx2(R::sub(v[u], mn)));
    m = mn;
  }
  alignas(32) T lm[W], ls[W];
  R::storeu(lm, m);
  R::storeu(ls, s);
  Online<T> st;
  for (int l = 0; l < W; ++l) st.merge(lm[l], ls[l]);
  for (; j < n; ++j) st.add(x[j]);
  // pass 2
  const V vm = R::set1(st.m);
  kb_int64 k = 0;
  if (log) {
    const T lsum = std::log(st.s);
    const V vl = R::set1(lsum);
    for (; k + W <= n; k += W) R::storeu(y + k, R::sub(R::sub(R::loadu(x + k), vm), vl));
    for (; k < n; ++k) y[k] = (x[k] - st.m) - lsum;
  } else {
    const T inv = T(1) / st.s;
    const V vi = R::set1(inv);
    for (; k + W <= n; k += W) R::storeu(y + k, R::mul(exp_avx2(R::sub(R::loadu(x + k), vm)), vi));
    for (; k < n; ++k) y[k] = std::exp(x[k] - st.m) * inv;
  }
}

template <typename T>
void softmax(const RowwiseArgs& p) {
  const T* x = static_cast<const T*>(p.x);
  T* y = static_cast<T*>(p.y);
  const bool avx2 = cpu_isa() >= CpuIsa::Avx2;
  const bool par = double(p.rows) * double(p.cols) >= 32768 && p.rows > 1;
#pragma omp parallel for schedule(static) if (par)
  for (kb_int64 r = 0; r < p.rows; ++r) {
    if (avx2) softmax_row_avx2(x + r * p.cols, y + r * p.cols, p.cols, p.log);
    else softmax_row_scalar(x + r * p.cols, y + r * p.cols, p.cols, p.log);
  }
}
}  // namespace

void cpu_reduce_06_softmax(const RowwiseArgs& p, void*) {
  if (p.cols == 0) return;
  if (p.dtype == DType::F32) return softmax<float>(p);
  if (p.dtype == DType::F64) return softmax<double>(p);
  KB_THROW("cpu_06_softmax: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
