// 10_wmma: the first tensor-core rung.  The (64, 64) block tile is computed by 4 warps, each
// owning a (32, 32) warp tile = 2x2 WMMA accumulator fragments of 16x16; per 16-deep K step a warp
// loads 2 A and 2 B fragments from shared memory (nvcuda::wmma::load_matrix_sync) and issues 4
// mma_sync -- 16x16x16 multiply-adds per instruction instead of one FMA per thread and cycle.
// fp16/bf16 inputs, fp32 accumulators; the result goes through shared memory (store_matrix_sync)
// so the bounds-checked, converting stores to C coalesce.
// Limits: the fragment layout is opaque, so every operand makes a round trip shared -> fragment
// -> tensor core with no control over bank conflicts; tiles are loaded synchronously (load, wait,
// compute, like rung 07); 64x64 tiles re-read A and B often.  fp16 / bf16 only.
// Smem: BM * (BK + 8) * 2 + BN * (BK + 8) * 2 = 10 KB for tiles, reused as a (64, 68) fp32 staging
// tile for C (17 KB); static.  Needs sm_80 (bf16 WMMA; fp16 WMMA has existed since sm_70).
#include "tensor_core.cuh"

namespace kb {
namespace wmma = nvcuda::wmma;

template <typename T, int BM, int BN, int BK>
__global__ void __launch_bounds__(128) matmul_10_wmma_kernel(MatmulArgs p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800 && !defined(KB_SIM)
  (void)p;
  KB_ARCH_TRAP();  // bf16 WMMA needs sm_80 (so does the table line): an sm_75 build compiles, and traps
#else
  constexpr int THREADS = 128, LDS = BK + 8, LDC = BN + 4;  // +8 halves / +4 floats: row starts off the same banks
  constexpr int TILE_BYTES = (BM + BN) * LDS * int(sizeof(T)), C_BYTES = BM * LDC * int(sizeof(float));
  __shared__ __align__(128) unsigned char smem[TILE_BYTES > C_BYTES ? TILE_BYTES : C_BYTES];
  T* As = reinterpret_cast<T*>(smem);        // (BM, BK + 8): A tile, K contiguous (row_major matrix_a)
  T* Bs = As + BM * LDS;                     // (BN, BK + 8): B tile, K contiguous (col_major matrix_b)
  float* Cs = reinterpret_cast<float*>(smem);  // (BM, BN + 4): the block's C tile, after the K loop
  const int warp = threadIdx.x / 32, wm = (warp / 2) * 32, wn = (warp % 2) * 32;
  const kb_int64 col0 = blockIdx.x * (kb_int64)BN, tiles_m = (p.m + BM - 1) / BM;
  const bool vec_a = !p.trans_a && rows_vec_ok<T>(p.a, p.lda, p.stride_a);
  const bool vec_b = p.trans_b && rows_vec_ok<T>(p.b, p.ldb, p.stride_b);
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> mb = batch_pointers<T>(p, z);
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * BM;
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.f);
      for (kb_int64 k0 = 0; k0 < p.k; k0 += BK) {
        tc::load_kmajor_tile<T, BM, BK, LDS, THREADS>(As, mb.a, p.lda, !p.trans_a, vec_a, row0, k0, p.m, p.k);
        tc::load_kmajor_tile<T, BN, BK, LDS, THREADS>(Bs, mb.b, p.ldb, p.trans_b, vec_b, col0, k0, p.n, p.k);
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
          wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa[2];
          wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb[2];
#pragma unroll
          for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], As + (wm + 16 * i) * LDS + kk, LDS);
#pragma unroll
          for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], Bs + (wn + 16 * j) * LDS + kk, LDS);
#pragma unroll
          for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        __syncthreads();
      }
      // C tile through shared memory: fragments are opaque, so this is the only way to know where
      // each value belongs; the converting stores below then coalesce along rows of C.
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
          wmma::store_matrix_sync(Cs + (wm + 16 * i) * LDC + wn + 16 * j, acc[i][j], LDC, wmma::mem_row_major);
      __syncthreads();
      for (int e = threadIdx.x; e < BM * BN; e += THREADS) {
        const int r = e / BN, c = e % BN;
        if (row0 + r < p.m && col0 + c < p.n) mb.c[(row0 + r) * p.ldc + col0 + c] = from_acc<T>(Cs[r * LDC + c]);
      }
      __syncthreads();  // Cs aliases the tiles of the next tile row
    }
  }
#endif
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
// (64, 64) tiles, BK 32, 4 warps.
static MatmulLaunch plan_10(const MatmulArgs& p) {
  MatmulLaunch l{};
  if (p.dtype == DType::F16) l.kernel = KB_KERNEL_REF(kb::matmul_10_wmma_kernel<__half, 64, 64, 32>);
  else l.kernel = KB_KERNEL_REF(kb::matmul_10_wmma_kernel<__nv_bfloat16, 64, 64, 32>);
  l.block = dim3(128);
  l.grid = matmul_grid(ceil_div(p.n, 64), ceil_div(p.m, 64), p.batch);
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_10_wmma, plan_10)
}  // namespace kb
#endif
