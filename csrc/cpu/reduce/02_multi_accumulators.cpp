// cpu_02_multi_accumulators: 01 with K = 8 independent accumulators (element i goes to lane i % 8)
// combined at the end, so 8 adds (or compares) are in flight instead of one; along a dim the
// (outer, r, inner) block is swept row by row, each of the contiguous inner columns being its own
// accumulator (01 walked down each column with stride inner, a cache line per element).
// Limits: scalar code (the compiler may pair lanes into SSE2, never AVX2); one core; fp32 sums
// still accumulate in fp32.  Preconditions: none (any dim; r == 0 only for sum / mean).
#include <algorithm>
#include <vector>
#include "../../common/kb_error.h"
#include "reduce_cpu.h"

namespace kb {
template <typename T>
Partial<T> multi_acc_contiguous(const T* x, kb_int64 n, ReduceOp op) {
  constexpr int K = 8;
  kb_int64 i = 0;
  if (is_sum(op)) {
    T acc[K] = {};
    for (; i + K <= n; i += K)
      for (int k = 0; k < K; ++k) acc[k] += x[i + k];  // 8 independent dependency chains
    for (int k = 0; i < n; ++i, ++k) acc[k] += x[i];
    const T s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    return {s, 0};
  }
  const bool want_max = wants_max(op);
  Partial<T> res{x[0], 0};
  if (n >= K) {
    T best[K];
    kb_int64 at[K];
    for (int k = 0; k < K; ++k) { best[k] = x[k]; at[k] = k; }
    for (i = K; i + K <= n; i += K)
      for (int k = 0; k < K; ++k)
        if (replaces(x[i + k], best[k], want_max)) { best[k] = x[i + k]; at[k] = i + k; }
    for (int k = 0; k < K; ++k) res = combine(op, res, Partial<T>{best[k], at[k]});
  }
  for (; i < n; ++i) res = combine(op, res, Partial<T>{x[i], i});
  return res;
}

template <typename T>
void multi_acc_columns(const T* x, kb_int64 r, kb_int64 stride, kb_int64 ncols, ReduceOp op, T* vals, kb_int64* idx) {
  if (is_sum(op)) {
    std::fill(vals, vals + ncols, T(0));
    for (kb_int64 q = 0; q < r; ++q) {
      const T* row = x + q * stride;
      for (kb_int64 j = 0; j < ncols; ++j) vals[j] += row[j];  // ncols independent accumulators
    }
    return;
  }
  const bool want_max = wants_max(op);
  std::copy(x, x + ncols, vals);
  if (idx) std::fill(idx, idx + ncols, kb_int64(0));
  for (kb_int64 q = 1; q < r; ++q) {
    const T* row = x + q * stride;
    for (kb_int64 j = 0; j < ncols; ++j)
      if (replaces(row[j], vals[j], want_max)) {
        vals[j] = row[j];
        if (idx) idx[j] = q;
      }
  }
}

template Partial<float> multi_acc_contiguous(const float*, kb_int64, ReduceOp);
template Partial<double> multi_acc_contiguous(const double*, kb_int64, ReduceOp);
template void multi_acc_columns(const float*, kb_int64, kb_int64, kb_int64, ReduceOp, float*, kb_int64*);
template void multi_acc_columns(const double*, kb_int64, kb_int64, kb_int64, ReduceOp, double*, kb_int64*);

template <typename T>
static void multi_accumulators(const ReduceArgs& p) {
  const T* x = static_cast<const T*>(p.x);
  constexpr kb_int64 CB = 2048;  // columns per block: the accumulators stay in L1
  std::vector<T> vals(static_cast<size_t>(std::min(CB, p.inner)));
  std::vector<kb_int64> idx(is_arg(p.op) ? vals.size() : 0);
  for (kb_int64 o = 0; o < p.outer; ++o) {
    const T* block = x + o * p.r * p.inner;
    if (p.inner == 1) {
      store_result(p, o, multi_acc_contiguous(block, p.r, p.op));
      continue;
    }
    for (kb_int64 j0 = 0; j0 < p.inner; j0 += CB) {
      const kb_int64 nc = std::min(CB, p.inner - j0);
      multi_acc_columns(block + j0, p.r, p.inner, nc, p.op, vals.data(), idx.empty() ? nullptr : idx.data());
      for (kb_int64 j = 0; j < nc; ++j)
        store_result(p, o * p.inner + j0 + j, Partial<T>{vals[j], idx.empty() ? 0 : idx[j]});
    }
  }
}

void cpu_reduce_02_multi_accumulators(const ReduceArgs& p, void*) {
  if (p.dtype == DType::F32) return multi_accumulators<float>(p);
  if (p.dtype == DType::F64) return multi_accumulators<double>(p);
  KB_THROW("cpu_02_multi_accumulators: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
