// cpu_01_naive: the textbook triple loop i-j-p, one dot product per C element.
// Adds: the baseline — any shape, transpose and batch, fp32 and fp64.
// Limits: the inner loop strides down a column of B (one cache line per multiply-add), no SIMD.
#include "../../common/kb_error.h"
#include "matmul_cpu.h"

namespace kb {
template <typename T>
static void naive(const MatmulArgs& p) {
  for (kb_int64 bt = 0; bt < p.batch; ++bt) {
    const T* a = static_cast<const T*>(p.a) + bt * p.stride_a;
    const T* b = static_cast<const T*>(p.b) + bt * p.stride_b;
    T* c = static_cast<T*>(p.c) + bt * p.stride_c;
    for (kb_int64 i = 0; i < p.m; ++i)
      for (kb_int64 j = 0; j < p.n; ++j) {
        T acc = 0;
        for (kb_int64 q = 0; q < p.k; ++q) acc += a_at(p, a, i, q) * b_at(p, b, q, j);
        c[i * p.ldc + j] = acc;
      }
  }
}

void cpu_matmul_01_naive(const MatmulArgs& p, void*) {
  if (p.dtype == DType::F32) return naive<float>(p);
  if (p.dtype == DType::F64) return naive<double>(p);
  KB_THROW("cpu_01_naive: unsupported dtype");
}
}  // namespace kb
