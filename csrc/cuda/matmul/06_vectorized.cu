// 06_vectorized: 05 plus 128-bit accesses.  In interior blocks of fp32 problems whose rows are
// 16-byte aligned, each thread loads A and B with one float4 each per K-tile (1/4 of the load
// instructions), and every thread reads its A and B fragments from shared memory as float4.
// Limits: the float4 global path needs non-transposed fp32 with lda, ldb % 4 == 0 (others take
// 05's scalar loads); threads still map to C row-major, not by warp.  Smem as 05.
#include "matmul_common.cuh"

namespace kb {
template <typename T, int BM, int BN, int BK, int TM, int TN, bool VEC>
__global__ void __launch_bounds__((BM / TM) * (BN / TN)) matmul_06_vectorized_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;  // float for fp32/fp16/bf16 (fp64 is not offered by this rung)
  constexpr int THREADS = (BM / TM) * (BN / TN);
  static_assert(BM * BK == 4 * THREADS && BK * BN == 4 * THREADS, "one float4 of A and of B per thread");
  __shared__ __align__(16) AccT As[BK][BM];  // (BK, BM): A tile, transposed
  __shared__ __align__(16) AccT Bs[BK][BN];  // (BK, BN)
  const int tid = threadIdx.x;
  const int trow = tid / (BN / TN), tcol = tid % (BN / TN);
  const kb_int64 row0 = blockIdx.y * (kb_int64)BM, col0 = blockIdx.x * (kb_int64)BN;
  const MatmulBatch<T> m = batch_pointers<T>(p, blockIdx.z);
  const bool interior = row0 + BM <= p.m && col0 + BN <= p.n;
  AccT acc[TM][TN] = {};
  for (kb_int64 k0 = 0; k0 < p.k; k0 += BK) {
    if (VEC && interior && k0 + BK <= p.k) {
      const int ar = tid / (BK / 4), ac = (tid % (BK / 4)) * 4;       // A: row ar, columns ac..ac+3
      const float4 av = *reinterpret_cast<const float4*>(reinterpret_cast<const float*>(m.a) + (row0 + ar) * p.lda + k0 + ac);
      As[ac + 0][ar] = av.x; As[ac + 1][ar] = av.y; As[ac + 2][ar] = av.z; As[ac + 3][ar] = av.w;
      const int br = tid / (BN / 4), bc = (tid % (BN / 4)) * 4;       // B: row br, columns bc..bc+3
      *reinterpret_cast<float4*>(&Bs[br][bc]) =
          *reinterpret_cast<const float4*>(reinterpret_cast<const float*>(m.b) + (k0 + br) * p.ldb + col0 + bc);
    } else {
      for (int e = tid; e < BM * BK; e += THREADS) As[e % BK][e / BK] = load_a(p, m.a, row0 + e / BK, k0 + e % BK);
      for (int e = tid; e < BK * BN; e += THREADS) Bs[e / BN][e % BN] = load_b(p, m.b, k0 + e / BN, col0 + e % BN);
    }
    __syncthreads();
#pragma unroll
    for (int q = 0; q < BK; ++q) {
      AccT a_frag[TM], b_frag[TN];
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
}  // namespace kb

#ifndef __CUDACC_RTC__
#include <cstdint>
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"
namespace kb {
// float4 global loads are legal when rows of A and B start on 16-byte boundaries.
bool matmul_rows_16b_aligned(const MatmulArgs& p) {
  const auto aligned = [](const void* ptr) { return reinterpret_cast<std::uintptr_t>(ptr) % 16 == 0; };
  return p.dtype == DType::F32 && !p.trans_a && !p.trans_b && p.lda % 4 == 0 && p.ldb % 4 == 0 &&
         p.stride_a % 4 == 0 && p.stride_b % 4 == 0 && aligned(p.a) && aligned(p.b);
}

LaunchConfig matmul_06_vectorized_config(const MatmulArgs& p) {
  const bool vec = matmul_rows_16b_aligned(p);
  LaunchConfig c;
  c.kernel = std::string("kb::matmul_06_vectorized_kernel<") + cuda_type_name(p.dtype) + ", 128, 128, 8, 8, 8, " +
             (vec ? "true>" : "false>");
  c.grid[0] = (unsigned)ceil_div(p.n, 128); c.grid[1] = (unsigned)ceil_div(p.m, 128); c.grid[2] = (unsigned)p.batch;
  c.block[0] = 256; c.block[1] = 1; c.block[2] = 1;
  c.shared_bytes = 0;
  return c;
}

void matmul_06_vectorized(const MatmulArgs& p, void* stream) {
  KB_REQUIRE(p.dtype != DType::F64, "a: impl 'cuda_06_vectorized' has no float64 path");
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  const LaunchConfig c = matmul_06_vectorized_config(p);
  const dim3 grid(c.grid[0], c.grid[1], c.grid[2]);
  cudaStream_t s = as_stream(stream);
  if (matmul_rows_16b_aligned(p)) {
    matmul_06_vectorized_kernel<float, 128, 128, 8, 8, 8, true><<<grid, 256, 0, s>>>(p);
  } else {
    switch (p.dtype) {
      case DType::F32: matmul_06_vectorized_kernel<float, 128, 128, 8, 8, 8, false><<<grid, 256, 0, s>>>(p); break;
      case DType::F16: matmul_06_vectorized_kernel<__half, 128, 128, 8, 8, 8, false><<<grid, 256, 0, s>>>(p); break;
      case DType::BF16: matmul_06_vectorized_kernel<__nv_bfloat16, 128, 128, 8, 8, 8, false><<<grid, 256, 0, s>>>(p); break;
      default: break;
    }
  }
  KB_CUDA_CHECK_LAUNCH();
}
}  // namespace kb
#endif
