// cpu_01_scalar: one accumulator, one element per step, in index order.
// Adds: the baseline for every op and any dim (sum, mean, max, min, argmax, argmin).
// Limits: each add waits for the previous one (a 4-cycle dependency chain), no SIMD;
// the rounding error of the running sum grows ~ n * eps in the worst case.
#include <cmath>
#include <limits>
#include "../../common/kb_error.h"
#include "reduce_cpu.h"

namespace kb {
template <typename T>
static void scalar_reduce(const ReduceArgs& p) {
  using Acc = T;  // fp32 sums in fp32: the point of this rung is the plain loop
  const T* x = static_cast<const T*>(p.x);
  for (kb_int64 o = 0; o < p.outer; ++o)
    for (kb_int64 in = 0; in < p.inner; ++in) {
      const T* row = x + o * p.r * p.inner + in;
      const kb_int64 out_i = o * p.inner + in;
      if (p.op == ReduceOp::Sum || p.op == ReduceOp::Mean) {
        Acc acc = 0;
        for (kb_int64 q = 0; q < p.r; ++q) acc += row[q * p.inner];
        if (p.op == ReduceOp::Mean) acc = acc / static_cast<Acc>(p.r);
        static_cast<T*>(p.out)[out_i] = acc;
        continue;
      }
      const bool want_max = p.op == ReduceOp::Max || p.op == ReduceOp::ArgMax;
      kb_int64 best_i = 0;
      T best = row[0];
      for (kb_int64 q = 1; q < p.r && !std::isnan(best); ++q) {
        const T v = row[q * p.inner];
        if (std::isnan(v) || (want_max ? v > best : v < best)) { best = v; best_i = q; }
      }
      if (p.op == ReduceOp::Max || p.op == ReduceOp::Min) static_cast<T*>(p.out)[out_i] = best;
      else static_cast<kb_int64*>(p.out)[out_i] = best_i;
    }
}

void cpu_reduce_01_scalar(const ReduceArgs& p, void*) {
  if (p.dtype == DType::F32) return scalar_reduce<float>(p);
  if (p.dtype == DType::F64) return scalar_reduce<double>(p);
  KB_THROW("cpu_01_scalar: unsupported dtype");
}
}  // namespace kb
