// 11_mma_sync: 10's tensor cores driven directly, with the register fragments of the PTX ISA
// instead of opaque WMMA fragments.  The (128, 128) block tile is split like rung 07 into 8 warp
// tiles of (64, 32) = 4 x 4 mma.sync.m16n8k16 tiles; per 16-deep K step a warp issues 4
// ldmatrix.x4 for A, 2 for B and 16 mma.sync, and the accumulators (64 fp32 per thread) go
// straight from registers to C.  Tiles stay in shared memory in the orientation they have in
// global memory (K- or M/N-contiguous: 16-byte loads for every layout), and ldmatrix / ldmatrix
// .trans builds the fragments either way.  BK = 64: 128-byte rows.
//     A fragment (m16 x k16)        B fragment (k16 x n8)        C (m16 x n8)
//     a0 a1 | a4 a5   rows g        b0 b1  rows 2t, 2t+1          c0 c1  row g
//     a2 a3 | a6 a7   rows g+8      b2 b3  rows 2t+8, 2t+9        c2 c3  row g+8
//     cols 2t, 2t+1 | +8            col g                         cols 2t, 2t+1
//   (g = lane / 4, t = lane % 4; each pair of 16-bit elements is one 32-bit register)
// Limits: the 8 row addresses of one ldmatrix phase are 128 bytes apart: all in the same banks,
// an 8-way shared-memory conflict on every fragment load; tiles are loaded synchronously (load,
// wait, compute).  fp16 / bf16 only.
// Smem: (128 x 64 + 64 x 128) x 2 bytes = 32 KB static.  Needs sm_80 (bf16 mma.sync, ldmatrix).
#include "tensor_core.cuh"

namespace kb {
template <typename T, int BM, int BN, int BK>
__global__ void __launch_bounds__(256) matmul_11_mma_sync_kernel(MatmulArgs p) {
  constexpr int THREADS = 256, MI = 4, NJ = 4;  // warp tile (64, 32) = 4 x 4 (m16, n8) tiles
  static_assert(BM == 128 && BN == 128 && BK == 64, "8 warps of (64, 32) and 128-byte tile rows");
  __shared__ __align__(128) T As[BM * BK];  // (BM, BK) K-contiguous, or (BK, BM) M-contiguous
  __shared__ __align__(128) T Bs[BK * BN];  // (BK, BN) N-contiguous, or (BN, BK) K-contiguous
  const int warp = threadIdx.x / 32, wm = (warp / 4) * 64, wn = (warp % 4) * 32;
  const bool a_kc = !p.trans_a, b_kc = p.trans_b;            // K-contiguous operands
  const int a_outer = a_kc ? BM : BK, b_outer = b_kc ? BN : BK;  // rows of the panel tiles
  const kb_int64 col0 = blockIdx.x * (kb_int64)BN, tiles_m = (p.m + BM - 1) / BM;
  const bool vec_a = rows_vec_ok<T>(p.a, p.lda, p.stride_a), vec_b = rows_vec_ok<T>(p.b, p.ldb, p.stride_b);
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> mb = batch_pointers<T>(p, z);
    // (o, i) views: A is (M, K) or (K, M), B is (N, K) or (K, N), i the contiguous index.
    const tc::GlobalView<T> ga{mb.a, p.lda, a_kc ? p.m : p.k, a_kc ? p.k : p.m, vec_a};
    const tc::GlobalView<T> gb{mb.b, p.ldb, b_kc ? p.n : p.k, b_kc ? p.k : p.n, vec_b};
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * BM;
      float acc[MI][NJ][4] = {};
      for (kb_int64 k0 = 0; k0 < p.k; k0 += BK) {
        if (a_kc) tc::load_panel_tile<T, BM, BK, THREADS, false>(As, ga, row0, k0);
        else tc::load_panel_tile<T, BK, BM, THREADS, false>(As, ga, k0, row0);
        if (b_kc) tc::load_panel_tile<T, BN, BK, THREADS, false>(Bs, gb, col0, k0);
        else tc::load_panel_tile<T, BK, BN, THREADS, false>(Bs, gb, k0, col0);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
          tc::u32 a[MI][4], b[NJ / 2][4];
#pragma unroll
          for (int i = 0; i < MI; ++i) tc::load_a_frag<false>(a[i], As, a_kc, a_outer, wm + 16 * i, kk);
#pragma unroll
          for (int j = 0; j < NJ / 2; ++j) tc::load_b_frag<false>(b[j], Bs, b_kc, b_outer, kk, wn + 16 * j);
#pragma unroll
          for (int i = 0; i < MI; ++i)
#pragma unroll
            for (int j = 0; j < NJ; ++j) {
              const tc::u32 bj[2] = {b[j / 2][2 * (j % 2)], b[j / 2][2 * (j % 2) + 1]};
              tc::mma_m16n8k16<T>(acc[i][j], a[i], bj, acc[i][j]);
            }
        }
        __syncthreads();
      }
      tc::store_acc<T>(p, mb.c, acc, row0 + wm, col0 + wn);
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
// (128, 128, 64) tiles, 8 warps of (64, 32).
static MatmulLaunch plan_11(const MatmulArgs& p) {
  MatmulLaunch l{};
  if (p.dtype == DType::F16) l.kernel = KB_KERNEL_REF(kb::matmul_11_mma_sync_kernel<__half, 128, 128, 64>);
  else l.kernel = KB_KERNEL_REF(kb::matmul_11_mma_sync_kernel<__nv_bfloat16, 128, 128, 64>);
  l.block = dim3(256);
  l.grid = matmul_grid(ceil_div(p.n, 128), ceil_div(p.m, 128), p.batch);
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_11_mma_sync, plan_11)
}  // namespace kb
#endif
