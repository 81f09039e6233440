// 06_vectorized: 05 plus 128-bit accesses.  Tiles are read from global memory as 16-byte vectors
// (4 fp32 / 8 fp16 or bf16) wherever the operand's rows are 16-byte aligned, the A tile is stored
// transposed, As[k][m], so both fragments are contiguous in smem and read as float4 (2 + 2 loads
// per 64 FMAs instead of 16).
// Limits: B fragment reads of a warp still collide on banks (2-way) and threads map to C row-
// major, not by warp; loads and FMAs alternate.  No fp64.  Smem: 8 KB; any arch.
#include "matmul_common.cuh"

namespace kb {
template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN), 2) matmul_06_vectorized_kernel(MatmulArgs p) {
  constexpr int THREADS = (BM / TM) * (BN / TN);
  static_assert(TM % 4 == 0 && TN % 4 == 0, "fragments are read as float4");
  __shared__ __align__(16) float As[BK][BM];  // (BK, BM): A tile, transposed
  __shared__ __align__(16) float Bs[BK][BN];  // (BK, BN)
  const int tid = threadIdx.x;
  const int trow = tid / (BN / TN), tcol = tid % (BN / TN);
  const kb_int64 col0 = blockIdx.x * (kb_int64)BN;
  const kb_int64 tiles_m = (p.m + BM - 1) / BM;
  // 16-byte vector loads where every row start is 16-byte aligned (checked here, per operand).
  const bool vec_a = rows_vec_ok<T>(p.a, p.lda, p.stride_a), vec_b = rows_vec_ok<T>(p.b, p.ldb, p.stride_b);
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> m = batch_pointers<T>(p, z);
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * BM;
      TileLoader<T, BK, BM, BM, THREADS> ta;  // A tile: x = rows of C, contiguous along x if A is transposed
      TileLoader<T, BK, BN, BN, THREADS> tb;  // B tile: x = columns of C, contiguous along x unless B is transposed
      ta.init(m.a, p.lda, p.trans_a, vec_a, row0, p.m, p.k);
      tb.init(m.b, p.ldb, !p.trans_b, vec_b, col0, p.n, p.k);
      float acc[TM][TN] = {};
      const bool interior = row0 + BM <= p.m && col0 + BN <= p.n;
      for (kb_int64 k0 = 0; k0 < p.k; k0 += BK) {
        const bool full = interior && k0 + BK <= p.k;  // no bounds checks needed in this tile
        ta.fetch(full, k0);
        tb.fetch(full, k0);
        ta.store(&As[0][0]);
        tb.store(&Bs[0][0]);
        ta.next();
        tb.next();
        __syncthreads();
#pragma unroll
        for (int q = 0; q < BK; ++q) {
          float a_frag[TM], b_frag[TN];
#pragma unroll
          for (int r = 0; r < TM; r += 4) {
            const float4 v = *reinterpret_cast<const float4*>(&As[q][trow * TM + r]);
            a_frag[r] = v.x; a_frag[r + 1] = v.y; a_frag[r + 2] = v.z; a_frag[r + 3] = v.w;
          }
#pragma unroll
          for (int c = 0; c < TN; c += 4) {
            const float4 v = *reinterpret_cast<const float4*>(&Bs[q][tcol * TN + c]);
            b_frag[c] = v.x; b_frag[c + 1] = v.y; b_frag[c + 2] = v.z; b_frag[c + 3] = v.w;
          }
#pragma unroll
          for (int r = 0; r < TM; ++r)
#pragma unroll
            for (int c = 0; c < TN; ++c) acc[r][c] += a_frag[r] * b_frag[c];
        }
        __syncthreads();
      }
#pragma unroll
      for (int r = 0; r < TM; ++r) {
        const kb_int64 row = row0 + trow * TM + r;
#pragma unroll
        for (int c = 0; c < TN; ++c) {
          const kb_int64 col = col0 + tcol * TN + c;
          if (row < p.m && col < p.n) m.c[row * p.ldc + col] = from_acc<T>(acc[r][c]);
        }
      }
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
static MatmulLaunch plan_06(const MatmulArgs& p) {
  MatmulLaunch l{};
  switch (p.dtype) {  // <T, BM, BN, BK, TM, TN>
    case DType::F32: l.kernel = KB_KERNEL_REF(kb::matmul_06_vectorized_kernel<float, 128, 128, 8, 8, 8>); break;
    case DType::F16: l.kernel = KB_KERNEL_REF(kb::matmul_06_vectorized_kernel<__half, 128, 128, 8, 8, 8>); break;
    case DType::BF16: l.kernel = KB_KERNEL_REF(kb::matmul_06_vectorized_kernel<__nv_bfloat16, 128, 128, 8, 8, 8>); break;
    default: break;
  }
  l.block = dim3((128 / 8) * (128 / 8));
  l.grid = matmul_grid(ceil_div(p.n, 128), ceil_div(p.m, 128), p.batch);
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_06_vectorized, plan_06)
}  // namespace kb
#endif
