// 02_coalesced: threadIdx.x now walks along a row of C (the column index j), so a warp reads 32
// consecutive elements of B and writes 32 consecutive elements of C: one transaction each.
// Limits: still no reuse: every FMA reads A and B from global memory (L1/L2 absorb part of it);
// ~0.25 FLOP per byte loaded.  No smem; any arch.
#include "matmul_common.cuh"

namespace kb {
template <typename T>
__global__ void matmul_02_coalesced_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  const kb_int64 j = blockIdx.x * (kb_int64)blockDim.x + threadIdx.x;  // column of C: consecutive lanes
  if (j >= p.n) return;
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> m = batch_pointers<T>(p, z);
    for (kb_int64 i = blockIdx.y * (kb_int64)blockDim.y + threadIdx.y; i < p.m; i += (kb_int64)gridDim.y * blockDim.y) {
      AccT acc = 0;
      for (kb_int64 q = 0; q < p.k; ++q) acc += load_a(p, m.a, i, q) * load_b(p, m.b, q, j);
      m.c[i * p.ldc + j] = from_acc<T>(acc);
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
static MatmulLaunch plan_02(const MatmulArgs& p) {
  MatmulLaunch l{};
  switch (p.dtype) {
    case DType::F32: l.kernel = KB_KERNEL_REF(kb::matmul_02_coalesced_kernel<float>); break;
    case DType::F64: l.kernel = KB_KERNEL_REF(kb::matmul_02_coalesced_kernel<double>); break;
    case DType::F16: l.kernel = KB_KERNEL_REF(kb::matmul_02_coalesced_kernel<__half>); break;
    case DType::BF16: l.kernel = KB_KERNEL_REF(kb::matmul_02_coalesced_kernel<__nv_bfloat16>); break;
  }
  l.block = dim3(32, 8);
  l.grid = matmul_grid(ceil_div(p.n, 32), ceil_div(p.m, 8), p.batch);  // x: columns of C, y: rows
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_02_coalesced, plan_02)
}  // namespace kb
#endif
