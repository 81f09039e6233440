// cpu_03_cache_blocked: 02's i-p-j loops tiled into (64 x 256) blocks of C and 128-deep slices of
// K: the (128 x 256) block of B being swept (128 KB fp32) stays in L2 while all 64 rows of the C
// block reuse it, and the 1 KB C row segment stays in L1.  Limits: one core; C is still loaded
// and stored on every p step (no register blocking) and the compiler emits SSE2 only, so the
// loop is bound by L1 load/store traffic, far from the FMA peak.  Any shape.
#include <algorithm>
#include "../../common/kb_error.h"
#include "matmul_cpu.h"

namespace kb {
template <typename T>
static void cache_blocked(const MatmulArgs& p) {
  constexpr kb_int64 BI = 64, BJ = 256, BK = 128;  // C block (BI, BJ); K slice BK
  for (kb_int64 bt = 0; bt < p.batch; ++bt) {
    const T* a = static_cast<const T*>(p.a) + bt * p.stride_a;
    const T* b = static_cast<const T*>(p.b) + bt * p.stride_b;
    T* c = static_cast<T*>(p.c) + bt * p.stride_c;
    for (kb_int64 i = 0; i < p.m; ++i) std::fill(c + i * p.ldc, c + i * p.ldc + p.n, T(0));
    for (kb_int64 i0 = 0; i0 < p.m; i0 += BI)
      for (kb_int64 j0 = 0; j0 < p.n; j0 += BJ) {
        const kb_int64 i1 = std::min(i0 + BI, p.m), j1 = std::min(j0 + BJ, p.n);
        for (kb_int64 q0 = 0; q0 < p.k; q0 += BK) {
          const kb_int64 q1 = std::min(q0 + BK, p.k);
          for (kb_int64 i = i0; i < i1; ++i) {
            T* crow = c + i * p.ldc;  // (1, BJ) segment, L1-resident across the q loop
            for (kb_int64 q = q0; q < q1; ++q) {
              const T aiq = a_at(p, a, i, q);
              if (p.trans_b)
                for (kb_int64 j = j0; j < j1; ++j) crow[j] += aiq * b[j * p.ldb + q];
              else
                for (kb_int64 j = j0; j < j1; ++j) crow[j] += aiq * b[q * p.ldb + j];
            }
          }
        }
      }
  }
}

void cpu_matmul_03_cache_blocked(const MatmulArgs& p, void*) {
  if (p.dtype == DType::F32) return cache_blocked<float>(p);
  if (p.dtype == DType::F64) return cache_blocked<double>(p);
  KB_THROW("cpu_03_cache_blocked: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
