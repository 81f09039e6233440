// 03_smem_tiles: a block stages a (TILE, TILE) tile of A and of B in shared memory and every
// thread reads TILE values of each from there: each global element is loaded once per block
// instead of once per thread, a TILE-fold cut in global traffic.
// Limits: one result per thread, so every FMA needs two shared-memory loads: shared-memory
// bandwidth, not arithmetic, is the ceiling.  Smem: 2 * TILE * (TILE + 1) * sizeof(acc); any arch.
#include "matmul_common.cuh"

namespace kb {
template <typename T, int TILE>
__global__ void __launch_bounds__(TILE * TILE) matmul_03_smem_tiles_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  __shared__ AccT As[TILE][TILE + 1];  // (TILE rows of C, TILE of K); +1 column: conflict-free column writes
  __shared__ AccT Bs[TILE][TILE + 1];  // (TILE of K, TILE columns of C)
  const int tx = threadIdx.x, ty = threadIdx.y;
  const kb_int64 col0 = blockIdx.x * (kb_int64)TILE;
  const kb_int64 tiles_m = (p.m + TILE - 1) / TILE;
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> m = batch_pointers<T>(p, z);
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * TILE;
      AccT acc = 0;
      for (kb_int64 k0 = 0; k0 < p.k; k0 += TILE) {
        // Consecutive tx read consecutive addresses whichever way A and B are stored.
        if (!p.trans_a) As[ty][tx] = load_a(p, m.a, row0 + ty, k0 + tx);
        else As[tx][ty] = load_a(p, m.a, row0 + tx, k0 + ty);
        if (!p.trans_b) Bs[ty][tx] = load_b(p, m.b, k0 + ty, col0 + tx);
        else Bs[tx][ty] = load_b(p, m.b, k0 + tx, col0 + ty);
        __syncthreads();
#pragma unroll
        for (int q = 0; q < TILE; ++q) acc += As[ty][q] * Bs[q][tx];
        __syncthreads();
      }
      const kb_int64 row = row0 + ty, col = col0 + tx;
      if (row < p.m && col < p.n) m.c[row * p.ldc + col] = from_acc<T>(acc);
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
static MatmulLaunch plan_03(const MatmulArgs& p) {
  MatmulLaunch l{};
  switch (p.dtype) {
    case DType::F32: l.kernel = KB_KERNEL_REF(kb::matmul_03_smem_tiles_kernel<float, 32>); break;
    case DType::F64: l.kernel = KB_KERNEL_REF(kb::matmul_03_smem_tiles_kernel<double, 32>); break;
    case DType::F16: l.kernel = KB_KERNEL_REF(kb::matmul_03_smem_tiles_kernel<__half, 32>); break;
    case DType::BF16: l.kernel = KB_KERNEL_REF(kb::matmul_03_smem_tiles_kernel<__nv_bfloat16, 32>); break;
  }
  l.block = dim3(32, 32);
  l.grid = matmul_grid(ceil_div(p.n, 32), ceil_div(p.m, 32), p.batch);
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_03_smem_tiles, plan_03)
}  // namespace kb
#endif
