// cpu_02_loop_order: 01's three loops reordered i-p-j.  The inner loop now runs along a row of B
// and of C (unit stride): every cache line is used fully and the compiler vectorizes it (SSE2).
// Limits: one core; no blocking, so for large N, K the B rows stream from L3/DRAM again for every
// row of C; with transposed B the inner loop strides by ldb and the gain is lost.  Any shape.
#include "../../common/kb_error.h"
#include "matmul_cpu.h"

namespace kb {
template <typename T>
static void loop_order(const MatmulArgs& p) {
  for (kb_int64 bt = 0; bt < p.batch; ++bt) {
    const T* a = static_cast<const T*>(p.a) + bt * p.stride_a;
    const T* b = static_cast<const T*>(p.b) + bt * p.stride_b;
    T* c = static_cast<T*>(p.c) + bt * p.stride_c;
    for (kb_int64 i = 0; i < p.m; ++i) {
      T* crow = c + i * p.ldc;  // (1, N): accumulated over all of K
      for (kb_int64 j = 0; j < p.n; ++j) crow[j] = 0;
      for (kb_int64 q = 0; q < p.k; ++q) {
        const T aiq = a_at(p, a, i, q);
        if (p.trans_b)
          for (kb_int64 j = 0; j < p.n; ++j) crow[j] += aiq * b[j * p.ldb + q];
        else
          for (kb_int64 j = 0; j < p.n; ++j) crow[j] += aiq * b[q * p.ldb + j];
      }
    }
  }
}

void cpu_matmul_02_loop_order(const MatmulArgs& p, void*) {
  if (p.dtype == DType::F32) return loop_order<float>(p);
  if (p.dtype == DType::F64) return loop_order<double>(p);
  KB_THROW("cpu_02_loop_order: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
