// 15_tf32_mma_sync: fp32 inputs on the tensor cores as TF32 -- A DIFFERENT PRECISION from the
// fp32 ladder (01-08): each input is rounded to 10 mantissa bits (cvt.rna.tf32.f32, relative error
// up to 2^-11), products are accumulated in fp32.  Compare it with cuBLAS with TF32 enabled, not
// with the fp32 rungs or fp32 cuBLAS; its error against fp64 grows like 2^-11 sqrt(K).
// Rung 11's structure for fp32 data: (128, 128) block tile, 8 warps of (64, 32) = 4 x 4 tiles of
// mma.sync.m16n8k8.tf32.  Fragments are read with 32-bit shared loads (ldmatrix moves 16-bit
// elements): tiles are stored K-contiguous with rows padded to 36 floats, so the 32 lanes' reads
// (row g, column t) fall in 32 different banks.  Inputs are rounded to tf32 once, on their way into
// shared memory.
//     A fragment (m16 x k8, tf32)      B fragment (k8 x n8)      C (m16 x n8): as rung 11
//     a0 row g,   col t                b0 row t,   col g
//     a1 row g+8, col t                b1 row t+4, col g
//     a2 row g,   col t+4
//     a3 row g+8, col t+4
// Limits: synchronous tile loads (load, wait, compute); transposed operands are transposed on
// their way into shared memory with scalar loads and 4-way conflicting stores.  fp32 only.
// Smem: 2 x 128 x 36 x 4 bytes = 36 KB static.  Needs sm_80 (tf32 mma.sync).
#include "tensor_core.cuh"

namespace kb {
template <int BM, int BN, int BK>
__global__ void __launch_bounds__(256) matmul_15_tf32_mma_sync_kernel(MatmulArgs p) {
  constexpr int THREADS = 256, MI = 4, NJ = 4, LDS = BK + 4;
  static_assert(BM == 128 && BN == 128 && BK % 8 == 0, "8 warps of (64, 32)");
  __shared__ __align__(16) float As[BM * LDS];  // (BM, BK + 4): A tile, K contiguous, tf32 values
  __shared__ __align__(16) float Bs[BN * LDS];  // (BN, BK + 4): B tile, K contiguous, tf32 values
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int wm = (warp / 4) * 64, wn = (warp % 4) * 32;
  const kb_int64 col0 = blockIdx.x * (kb_int64)BN, tiles_m = (p.m + BM - 1) / BM;
  const bool vec_a = !p.trans_a && rows_vec_ok<float>(p.a, p.lda, p.stride_a);
  const bool vec_b = p.trans_b && rows_vec_ok<float>(p.b, p.ldb, p.stride_b);
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<float> mb = batch_pointers<float>(p, z);
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * BM;
      float acc[MI][NJ][4] = {};
      for (kb_int64 k0 = 0; k0 < p.k; k0 += BK) {
        tc::load_kmajor_tile<float, BM, BK, LDS, THREADS, true>(As, mb.a, p.lda, !p.trans_a, vec_a, row0, k0, p.m, p.k);
        tc::load_kmajor_tile<float, BN, BK, LDS, THREADS, true>(Bs, mb.b, p.ldb, p.trans_b, vec_b, col0, k0, p.n, p.k);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk += 8) {
          tc::u32 a[MI][4], b[NJ][2];
#pragma unroll
          for (int i = 0; i < MI; ++i) {
            const float* r0 = As + (wm + 16 * i + g) * LDS + kk + t;
            a[i][0] = __float_as_uint(r0[0]);
            a[i][1] = __float_as_uint(r0[8 * LDS]);
            a[i][2] = __float_as_uint(r0[4]);
            a[i][3] = __float_as_uint(r0[8 * LDS + 4]);
          }
#pragma unroll
          for (int j = 0; j < NJ; ++j) {
            const float* r0 = Bs + (wn + 8 * j + g) * LDS + kk + t;
            b[j][0] = __float_as_uint(r0[0]);
            b[j][1] = __float_as_uint(r0[4]);
          }
#pragma unroll
          for (int i = 0; i < MI; ++i)
#pragma unroll
            for (int j = 0; j < NJ; ++j) tc::mma_m16n8k8_tf32(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();
      }
      tc::store_acc<float>(p, mb.c, acc, row0 + wm, col0 + wn);
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
// (128, 128, 32) tiles, 8 warps of (64, 32).
static MatmulLaunch plan_15(const MatmulArgs& p) {
  MatmulLaunch l{};
  l.kernel = KB_KERNEL_REF(kb::matmul_15_tf32_mma_sync_kernel<128, 128, 32>);
  l.block = dim3(256);
  l.grid = matmul_grid(ceil_div(p.n, 128), ceil_div(p.m, 128), p.batch);
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_15_tf32_mma_sync, plan_15)
}  // namespace kb
#endif
