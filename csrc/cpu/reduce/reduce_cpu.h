// CPU reduction rungs (launchers: the CUDA contract, stream ignored, declared by their table lines,
// csrc/common/kb_table_line.h) and the pieces the rungs share: a partial result, torch's rule for
// which candidate wins, and how a result is stored.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include "../../common/kb_tables.h"
#include "../../common/kb_types.h"

namespace kb {

// The result of reducing part of a row: the sum (Sum, Mean) or the winning value and its index
// (Max, Min, ArgMax, ArgMin; the index is relative to the start of the part).
template <typename T>
struct Partial {
  T value;
  kb_int64 index;
};

inline bool is_sum(ReduceOp op) { return op == ReduceOp::Sum || op == ReduceOp::Mean; }
inline bool is_arg(ReduceOp op) { return op == ReduceOp::ArgMax || op == ReduceOp::ArgMin; }
inline bool wants_max(ReduceOp op) { return op == ReduceOp::Max || op == ReduceOp::ArgMax; }

// torch's rule: NaN beats every number (the first NaN wins); otherwise the larger (smaller) value;
// on ties the smaller index.  Used whenever candidates from different lanes or chunks meet.
template <typename T>
inline bool beats(T v, kb_int64 i, T best, kb_int64 best_i, bool want_max) {
  const bool vn = std::isnan(v), bn = std::isnan(best);
  if (vn || bn) return vn && (!bn || i < best_i);
  if (v != best) return want_max ? v > best : v < best;
  return i < best_i;
}

// Scanning forward (indices increasing), does v replace the running best?  Strict comparison keeps
// the first of equal values; a NaN replaces a number, and once the best is NaN it stays.
template <typename T>
inline bool replaces(T v, T best, bool want_max) {
  return (want_max ? v > best : v < best) || (std::isnan(v) && !std::isnan(best));
}

// b follows a in index order (b.index already offset to a's origin).
template <typename T>
inline Partial<T> combine(ReduceOp op, Partial<T> a, Partial<T> b) {
  if (is_sum(op)) return {T(a.value + b.value), 0};
  return beats(b.value, b.index, a.value, a.index, wants_max(op)) ? b : a;
}

// Write the final result of one output element (Mean divides by r: 0 / 0 = NaN for r == 0).
template <typename T>
inline void store_result(const ReduceArgs& p, kb_int64 out_i, Partial<T> res) {
  if (is_arg(p.op)) static_cast<kb_int64*>(p.out)[out_i] = res.index;
  else if (p.op == ReduceOp::Mean) static_cast<T*>(p.out)[out_i] = res.value / static_cast<T>(p.r);
  else static_cast<T*>(p.out)[out_i] = res.value;
}

// Rung 02's portable pieces (03 falls back to them on CPUs without AVX2).
//   contiguous: reduce x[0, n) (n >= 1 unless the op is a sum).
//   columns:    x is (r x ncols) with row stride `stride`; vals[j] = sum / best of column j and,
//               for arg ops, idx[j] = its row.  idx may be null for the other ops.
template <typename T> Partial<T> multi_acc_contiguous(const T* x, kb_int64 n, ReduceOp op);
template <typename T>
void multi_acc_columns(const T* x, kb_int64 r, kb_int64 stride, kb_int64 ncols, ReduceOp op, T* vals, kb_int64* idx);

// Rung 03's AVX2 pieces, same contracts (04 adds only the threads around them).
template <typename T> Partial<T> avx2_contiguous(const T* x, kb_int64 n, ReduceOp op);
template <typename T>
void avx2_columns(const T* x, kb_int64 r, kb_int64 stride, kb_int64 ncols, ReduceOp op, T* vals, kb_int64* idx);
}  // namespace kb
