// cpu_03_avx2: 02 with AVX2 intrinsics.  Each accumulator is now a 256-bit register (8 fp32 / 4
// fp64 lanes): 8 of them for sums, 4 (+ 4 index registers) for max/min/arg, i.e. 32-64 elements
// in flight; a scalar head reaches 32-byte alignment and a scalar tail finishes.  Max/min keep NaN
// sticky with a blend; arg ops blend the index register on "greater, or first NaN".  Along a dim,
// the contiguous inner columns are swept 8 (4) at a time.  Run-time dispatch: target("avx2,fma")
// functions, called only when the CPU has AVX2+FMA, else 02's code.
// Limits: one core, and one core cannot draw the socket's DRAM bandwidth; fp32 sums in fp32.
// Preconditions: none (misaligned starts take the scalar head; r == 0 only for sum / mean).
#include <algorithm>
#include <cstdint>
#include <vector>
#include "../../common/kb_error.h"
#include "../cpu_isa.h"
#include "avx2_vec.h"
#include "reduce_cpu.h"

namespace kb {
namespace {
constexpr kb_int64 kMaxPass = kb_int64(1) << 30;  // int32 index lanes: at most 2^30 elements per pass

inline bool aligned32(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 32 == 0; }

template <typename T>
KB_AVX2 T sum_avx2(const T* x, kb_int64 n) {
  using R = Avx2<T>;
  using V = typename R::V;
  constexpr int W = R::W, K = 8;  // 8 registers x W lanes of partial sums
  kb_int64 i = 0;
  T head = 0, tail = 0;
  for (; i < n && !aligned32(x + i); ++i) head += x[i];
  V acc[K];
  for (int k = 0; k < K; ++k) acc[k] = R::zero();
  for (; i + K * W <= n; i += K * W)
    for (int k = 0; k < K; ++k) acc[k] = R::add(acc[k], R::load(x + i + k * W));
  for (; i + W <= n; i += W) acc[0] = R::add(acc[0], R::load(x + i));
  for (; i < n; ++i) tail += x[i];
  // 8 registers -> 1 -> W lanes -> 1, always in the same tree: the result depends only on the data
  for (int s = K / 2; s > 0; s /= 2)
    for (int k = 0; k < s; ++k) acc[k] = R::add(acc[k], acc[k + s]);
  alignas(32) T lane[W];
  R::storeu(lane, acc[0]);
  for (int s = W / 2; s > 0; s /= 2)
    for (int k = 0; k < s; ++k) lane[k] += lane[k + s];
  return head + lane[0] + tail;
}

// Max / Min value (no index).  NaN is sticky: max(v, acc) returns acc when either is NaN, and the
// blend puts a NaN v in; once acc is NaN it stays NaN.
template <typename T, bool MAX>
KB_AVX2 T extreme_avx2(const T* x, kb_int64 n) {
  using R = Avx2<T>;
  using V = typename R::V;
  constexpr int W = R::W, K = 4;
  const ReduceOp op = MAX ? ReduceOp::Max : ReduceOp::Min;
  Partial<T> res{x[0], 0};
  kb_int64 i = 1;
  for (; i < n && !aligned32(x + i); ++i) res = combine(op, res, Partial<T>{x[i], 0});
  if (i + K * W <= n) {
    V acc[K];
    for (int k = 0; k < K; ++k) acc[k] = R::set1(x[0]);
    for (; i + K * W <= n; i += K * W)
      for (int k = 0; k < K; ++k) {
        const V v = R::load(x + i + k * W);
        acc[k] = R::blend(MAX ? R::max(v, acc[k]) : R::min(v, acc[k]), v, R::isnan(v));
      }
    alignas(32) T lane[K * W];
    for (int k = 0; k < K; ++k) R::storeu(lane + k * W, acc[k]);
    for (int l = 0; l < K * W; ++l) res = combine(op, res, Partial<T>{lane[l], 0});
  }
  for (; i < n; ++i) res = combine(op, res, Partial<T>{x[i], 0});
  return res.value;
}

// ArgMax / ArgMin over n < 2^31 elements: K pairs of (best value, its index) registers.  Inside one
// lane indices only grow, so "strictly better, or the first NaN" keeps the first of equal values;
// the lanes are merged with the full rule (value, then index).
template <typename T, bool MAX>
KB_AVX2 Partial<T> arg_avx2(const T* x, kb_int64 n) {
  using R = Avx2<T>;
  using V = typename R::V;
  using I = typename R::I;
  constexpr int W = R::W, K = 4;
  const ReduceOp op = MAX ? ReduceOp::ArgMax : ReduceOp::ArgMin;
  Partial<T> res{x[0], 0};
  kb_int64 i = 1;
  for (; i < n && !aligned32(x + i); ++i) res = combine(op, res, Partial<T>{x[i], i});
  if (i + K * W <= n) {
    V best[K];
    I at[K], cur[K];
    const I step = R::iset1(K * W);
    for (int k = 0; k < K; ++k) {
      best[k] = R::load(x + i + k * W);
      at[k] = R::iota(i + k * W);
      cur[k] = R::iadd(at[k], step);
    }
    for (i += K * W; i + K * W <= n; i += K * W)
      for (int k = 0; k < K; ++k) {
        const V v = R::load(x + i + k * W);
        const V better = R::or_(MAX ? R::gt(v, best[k]) : R::lt(v, best[k]), R::andnot(R::isnan(best[k]), R::isnan(v)));
        best[k] = R::blend(best[k], v, better);
        at[k] = R::iblend(at[k], cur[k], better);
        cur[k] = R::iadd(cur[k], step);
      }
    alignas(32) T lane[K * W];
    alignas(32) typename R::Idx lane_at[K * W];
    for (int k = 0; k < K; ++k) {
      R::storeu(lane + k * W, best[k]);
      R::istoreu(lane_at + k * W, at[k]);
    }
    for (int l = 0; l < K * W; ++l) res = combine(op, res, Partial<T>{lane[l], kb_int64(lane_at[l])});
  }
  for (; i < n; ++i) res = combine(op, res, Partial<T>{x[i], i});
  return res;
}

template <typename T>
KB_AVX2 Partial<T> contiguous_avx2(const T* x, kb_int64 n, ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: return {sum_avx2(x, n), 0};
    case ReduceOp::Max: return {extreme_avx2<T, true>(x, n), 0};
    case ReduceOp::Min: return {extreme_avx2<T, false>(x, n), 0};
    default: break;
  }
  Partial<T> res{x[0], 0};
  for (kb_int64 s = 0; s < n; s += kMaxPass) {  // index lanes are int32 for fp32
    const kb_int64 len = std::min(kMaxPass, n - s);
    Partial<T> part = op == ReduceOp::ArgMax ? arg_avx2<T, true>(x + s, len) : arg_avx2<T, false>(x + s, len);
    part.index += s;
    res = combine(op, res, part);
  }
  return res;
}

// Columns: vals[0, ncols) (and an index buffer) are the accumulators; each row of the block is one
// unit-stride pass that updates W columns per instruction.  ncols <= kMaxColumns.
constexpr kb_int64 kMaxColumns = 4096;

template <typename T>
KB_AVX2 void columns_avx2(const T* x, kb_int64 r, kb_int64 stride, kb_int64 ncols, ReduceOp op, T* vals,
                          kb_int64* idx) {
  using R = Avx2<T>;
  using V = typename R::V;
  using I = typename R::I;
  constexpr int W = R::W;
  const kb_int64 nv = ncols / W * W;  // columns [nv, ncols) take the scalar path
  if (is_sum(op)) {
    std::fill(vals, vals + ncols, T(0));
    for (kb_int64 q = 0; q < r; ++q) {
      const T* row = x + q * stride;
      for (kb_int64 j = 0; j < nv; j += W) R::storeu(vals + j, R::add(R::loadu(vals + j), R::loadu(row + j)));
      for (kb_int64 j = nv; j < ncols; ++j) vals[j] += row[j];
    }
    return;
  }
  const bool want_max = wants_max(op);
  std::copy(x, x + ncols, vals);
  if (!is_arg(op)) {
    for (kb_int64 q = 1; q < r; ++q) {
      const T* row = x + q * stride;
      for (kb_int64 j = 0; j < nv; j += W) {
        const V v = R::loadu(row + j), acc = R::loadu(vals + j);
        R::storeu(vals + j, R::blend(want_max ? R::max(v, acc) : R::min(v, acc), v, R::isnan(v)));
      }
      for (kb_int64 j = nv; j < ncols; ++j)
        if (replaces(row[j], vals[j], want_max)) vals[j] = row[j];
    }
    return;
  }
  alignas(32) typename R::Idx at[kMaxColumns];  // row index of vals[j]; int32 lanes for fp32
  std::fill(at, at + ncols, typename R::Idx(0));
  for (kb_int64 q = 1; q < r; ++q) {
    const T* row = x + q * stride;
    const I qv = R::iset1(q);
    for (kb_int64 j = 0; j < nv; j += W) {
      const V v = R::loadu(row + j), best = R::loadu(vals + j);
      const V better = R::or_(want_max ? R::gt(v, best) : R::lt(v, best), R::andnot(R::isnan(best), R::isnan(v)));
      R::storeu(vals + j, R::blend(best, v, better));
      R::istoreu(at + j, R::iblend(R::iloadu(at + j), qv, better));
    }
    for (kb_int64 j = nv; j < ncols; ++j)
      if (replaces(row[j], vals[j], want_max)) { vals[j] = row[j]; at[j] = typename R::Idx(q); }
  }
  for (kb_int64 j = 0; j < ncols; ++j) idx[j] = at[j];
}
}  // namespace

template <typename T>
Partial<T> avx2_contiguous(const T* x, kb_int64 n, ReduceOp op) {
  if (cpu_isa() < CpuIsa::Avx2) return multi_acc_contiguous(x, n, op);
  return contiguous_avx2(x, n, op);
}

template <typename T>
void avx2_columns(const T* x, kb_int64 r, kb_int64 stride, kb_int64 ncols, ReduceOp op, T* vals, kb_int64* idx) {
  if (cpu_isa() < CpuIsa::Avx2 || ncols > kMaxColumns || r > kMaxPass)
    return multi_acc_columns(x, r, stride, ncols, op, vals, idx);
  columns_avx2(x, r, stride, ncols, op, vals, idx);
}

template Partial<float> avx2_contiguous(const float*, kb_int64, ReduceOp);
template Partial<double> avx2_contiguous(const double*, kb_int64, ReduceOp);
template void avx2_columns(const float*, kb_int64, kb_int64, kb_int64, ReduceOp, float*, kb_int64*);
template void avx2_columns(const double*, kb_int64, kb_int64, kb_int64, ReduceOp, double*, kb_int64*);

template <typename T>
static void avx2_reduce(const ReduceArgs& p) {
  const T* x = static_cast<const T*>(p.x);
  constexpr kb_int64 CB = 1024;  // columns per block: vals + indices stay in L1
  std::vector<T> vals(static_cast<size_t>(std::min(CB, p.inner)));
  std::vector<kb_int64> idx(is_arg(p.op) ? vals.size() : 0);
  for (kb_int64 o = 0; o < p.outer; ++o) {
    const T* block = x + o * p.r * p.inner;
    if (p.inner == 1) {
      store_result(p, o, avx2_contiguous(block, p.r, p.op));
      continue;
    }
    for (kb_int64 j0 = 0; j0 < p.inner; j0 += CB) {
      const kb_int64 nc = std::min(CB, p.inner - j0);
      avx2_columns(block + j0, p.r, p.inner, nc, p.op, vals.data(), idx.empty() ? nullptr : idx.data());
      for (kb_int64 j = 0; j < nc; ++j)
        store_result(p, o * p.inner + j0 + j, Partial<T>{vals[j], idx.empty() ? 0 : idx[j]});
    }
  }
}

void cpu_reduce_03_avx2(const ReduceArgs& p, void*) {
  if (p.dtype == DType::F32) return avx2_reduce<float>(p);
  if (p.dtype == DType::F64) return avx2_reduce<double>(p);
  KB_THROW("cpu_03_avx2: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
