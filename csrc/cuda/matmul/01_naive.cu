// 01_naive: one thread per C element; threadIdx.x walks down a column of C (the row index i).
// Adds: the baseline, correct for any shape, transpose, dtype and batch, and nothing else.
// Limits: a warp reads A rows K apart and B/C one element per thread per row (uncoalesced), and
// nothing is reused: every FMA reads A and B from global memory.  No smem; any arch.
#include "matmul_common.cuh"

namespace kb {
template <typename T>
__global__ void matmul_01_naive_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  const kb_int64 i = blockIdx.x * (kb_int64)blockDim.x + threadIdx.x;  // row of C
  if (i >= p.m) return;
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> m = batch_pointers<T>(p, z);
    for (kb_int64 j = blockIdx.y * (kb_int64)blockDim.y + threadIdx.y; j < p.n; j += (kb_int64)gridDim.y * blockDim.y) {
      AccT acc = 0;
      for (kb_int64 q = 0; q < p.k; ++q) {
        const T av = p.trans_a ? m.a[q * p.lda + i] : m.a[i * p.lda + q];
        const T bv = p.trans_b ? m.b[j * p.ldb + q] : m.b[q * p.ldb + j];
        acc += to_float(av) * to_float(bv);
      }
      m.c[i * p.ldc + j] = from_acc<T>(acc);
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
static MatmulLaunch plan_01(const MatmulArgs& p) {
  MatmulLaunch l{};
  switch (p.dtype) {
    case DType::F32: l.kernel = KB_KERNEL_REF(kb::matmul_01_naive_kernel<float>); break;
    case DType::F64: l.kernel = KB_KERNEL_REF(kb::matmul_01_naive_kernel<double>); break;
    case DType::F16: l.kernel = KB_KERNEL_REF(kb::matmul_01_naive_kernel<__half>); break;
    case DType::BF16: l.kernel = KB_KERNEL_REF(kb::matmul_01_naive_kernel<__nv_bfloat16>); break;
  }
  l.block = dim3(16, 16);
  l.grid = matmul_grid(ceil_div(p.m, 16), ceil_div(p.n, 16), p.batch);  // x: rows of C, y: columns
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_01_naive, plan_01)
}  // namespace kb
#endif
