// 02_coalesced: threadIdx.x now walks along a row of C (the column index j), so a warp reads
// 32 consecutive elements of B and writes 32 consecutive elements of C (one transaction each).
// Limits: still no reuse — every multiply-add reads A and B from global memory (L1/L2 absorb
// some of it); arithmetic intensity stays ~0.25 FLOP/byte.
#include "matmul_common.cuh"

namespace kb {
template <typename T>
__global__ void matmul_02_coalesced_kernel(MatmulArgs p) {
  const kb_int64 j = blockIdx.x * (kb_int64)blockDim.x + threadIdx.x;  // column of C: consecutive lanes
  const kb_int64 i = blockIdx.y * (kb_int64)blockDim.y + threadIdx.y;  // row of C
  if (i >= p.m || j >= p.n) return;
  const MatmulBatch<T> m = batch_pointers<T>(p, blockIdx.z);
  typename Acc<T>::type acc = 0;
  for (kb_int64 q = 0; q < p.k; ++q) acc += load_a(p, m.a, i, q) * load_b(p, m.b, q, j);
  m.c[i * p.ldc + j] = from_acc<T>(acc);
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"
namespace kb {
void matmul_02_coalesced(const MatmulArgs& p, void* stream) {
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  const dim3 block(32, 8);
  const dim3 grid(ceil_div(p.n, 32), ceil_div(p.m, 8), p.batch);
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    matmul_02_coalesced_kernel<scalar_t><<<grid, block, 0, as_stream(stream)>>>(p);
  });
  KB_CUDA_CHECK_LAUNCH();
}
}  // namespace kb
#endif
