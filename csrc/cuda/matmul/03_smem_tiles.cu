// 03_smem_tiles: a block stages a (TILE, TILE) tile of A and of B in shared memory, then every
// thread reads TILE values of each from there: each global element is loaded once per block
// instead of once per thread, a TILE-fold cut in global traffic.
// Limits: one result per thread, so each FMA needs two shared-memory loads — shared-memory
// bandwidth, not arithmetic, is now the ceiling.  Smem: 2 * TILE * TILE * sizeof(acc).
#include "matmul_common.cuh"

namespace kb {
template <typename T, int TILE>
__global__ void matmul_03_smem_tiles_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  __shared__ AccT As[TILE][TILE];  // (TILE rows of C, TILE of K)
  __shared__ AccT Bs[TILE][TILE];  // (TILE of K, TILE columns of C)
  const int tx = threadIdx.x, ty = threadIdx.y;
  const kb_int64 row = blockIdx.y * (kb_int64)TILE + ty;
  const kb_int64 col = blockIdx.x * (kb_int64)TILE + tx;
  const MatmulBatch<T> m = batch_pointers<T>(p, blockIdx.z);
  AccT acc = 0;
  for (kb_int64 k0 = 0; k0 < p.k; k0 += TILE) {
    As[ty][tx] = load_a(p, m.a, row, k0 + tx);
    Bs[ty][tx] = load_b(p, m.b, k0 + ty, col);
    __syncthreads();
#pragma unroll
    for (int q = 0; q < TILE; ++q) acc += As[ty][q] * Bs[q][tx];
    __syncthreads();
  }
  if (row < p.m && col < p.n) m.c[row * p.ldc + col] = from_acc<T>(acc);
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"
namespace kb {
void matmul_03_smem_tiles(const MatmulArgs& p, void* stream) {
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  constexpr int TILE = 32;
  const dim3 block(TILE, TILE);
  const dim3 grid(ceil_div(p.n, TILE), ceil_div(p.m, TILE), p.batch);
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    matmul_03_smem_tiles_kernel<scalar_t, TILE><<<grid, block, 0, as_stream(stream)>>>(p);
  });
  KB_CUDA_CHECK_LAUNCH();
}
}  // namespace kb
#endif
