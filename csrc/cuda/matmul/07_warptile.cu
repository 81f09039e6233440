// 07_warptile: threads are mapped to C by warp.  The block tile is split into (64, 32) warp tiles;
// inside a warp, lane (lane / 4, lane % 4) owns a 2x2 grid of (4, 4) sub-tiles spaced (32, 16)
// apart, so every float4 fragment read is conflict-free (and broadcast).  BK = 16 halves the
// barriers per FMA; smem rows are padded by 4 floats so the transposing A store conflicts at most
// 2-way.  Two configurations: (128, 128) blocks of 256 threads, (64, 64) blocks of 64 threads.
// Limits: loads and math still alternate: a K tile is fetched, waited for, then used.  No fp64.
// Smem: BK * (BM + 4 + BN + 4) * 4 bytes = 16.9 KB (128x128); any arch.
#include "warptile.cuh"

namespace kb {
template <typename T, int BM, int BN, int BK>
__global__ void __launch_bounds__(WarpTiling<BM, BN>::THREADS, WarpTiling<BM, BN>::MIN_BLOCKS)
    matmul_07_warptile_kernel(MatmulArgs p) {
  typedef WarpTiling<BM, BN> W;
  constexpr int LDA = BM + 4, LDB = BN + 4;
  __shared__ __align__(16) float As[BK * LDA];  // (BK, BM + 4): A tile, transposed
  __shared__ __align__(16) float Bs[BK * LDB];  // (BK, BN + 4)
  int m_base, n_base;
  W::coords(m_base, n_base);
  const kb_int64 col0 = blockIdx.x * (kb_int64)BN;
  const kb_int64 tiles_m = (p.m + BM - 1) / BM;
  const bool vec_a = rows_vec_ok<T>(p.a, p.lda, p.stride_a), vec_b = rows_vec_ok<T>(p.b, p.ldb, p.stride_b);
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> m = batch_pointers<T>(p, z);
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * BM;
      TileLoader<T, BK, BM, LDA, W::THREADS> ta;
      TileLoader<T, BK, BN, LDB, W::THREADS> tb;
      ta.init(m.a, p.lda, p.trans_a, vec_a, row0, p.m, p.k);
      tb.init(m.b, p.ldb, !p.trans_b, vec_b, col0, p.n, p.k);
      float acc[8][8] = {};
      const bool interior = row0 + BM <= p.m && col0 + BN <= p.n;
      for (kb_int64 k0 = 0; k0 < p.k; k0 += BK) {
        const bool full = interior && k0 + BK <= p.k;  // no bounds checks needed in this tile
        ta.fetch(full, k0);
        tb.fetch(full, k0);
        ta.store(As);
        tb.store(Bs);
        ta.next();
        tb.next();
        __syncthreads();
        W::template mma<BK, LDA, LDB>(As, Bs, acc, m_base, n_base);
        __syncthreads();
      }
      W::store(p, m.c, acc, row0 + m_base, col0 + n_base);
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
// (128, 128) blocks when there are enough of them to fill the GPU, else (64, 64) blocks.
static MatmulLaunch plan_07(const MatmulArgs& p) {
  const bool big = matmul_fills_gpu(p, 128, 128);
  MatmulLaunch l{};
  switch (p.dtype) {  // <T, BM, BN, BK>
    case DType::F32:
      l.kernel = big ? KB_KERNEL_REF(kb::matmul_07_warptile_kernel<float, 128, 128, 16>)
                     : KB_KERNEL_REF(kb::matmul_07_warptile_kernel<float, 64, 64, 16>);
      break;
    case DType::F16:
      l.kernel = big ? KB_KERNEL_REF(kb::matmul_07_warptile_kernel<__half, 128, 128, 16>)
                     : KB_KERNEL_REF(kb::matmul_07_warptile_kernel<__half, 64, 64, 16>);
      break;
    case DType::BF16:
      l.kernel = big ? KB_KERNEL_REF(kb::matmul_07_warptile_kernel<__nv_bfloat16, 128, 128, 16>)
                     : KB_KERNEL_REF(kb::matmul_07_warptile_kernel<__nv_bfloat16, 64, 64, 16>);
      break;
    default: break;
  }
  const int bm = big ? 128 : 64, bn = bm;
  l.block = dim3(big ? WarpTiling<128, 128>::THREADS : WarpTiling<64, 64>::THREADS);
  l.grid = matmul_grid(ceil_div(p.n, bn), ceil_div(p.m, bm), p.batch);
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_07_warptile, plan_07)
}  // namespace kb
#endif
