// 07_warptile: threads are mapped to C by warp.  The (128, 128) block tile is split into
// 8 warp tiles of (64, 32); inside a warp, lane (tr, tc) = (lane / 4, lane % 4) owns a 2x2 grid
// of (4, 4) sub-tiles spaced (32, 16) apart, so each float4 fragment read from shared memory is
// conflict-free and broadcast across lanes.  BK = 16 halves the barriers per FLOP; As rows are
// padded by 4 floats so the transposing store has at most 2-way conflicts.
// Limits: loads and math still alternate — a K-tile is fetched, then waited for, then used
// (no overlap of memory and compute).  Smem: BK * (BM + 4 + BN) * 4 bytes = 16.6 KB.
#include "warptile.cuh"

namespace kb {
template <typename T, bool VEC>
__global__ void __launch_bounds__(kWarpThreads) matmul_07_warptile_kernel(MatmulArgs p) {
  __shared__ __align__(16) float As[kWarpBK][kWarpBM + kApad];  // (BK, BM + pad): A tile, transposed
  __shared__ __align__(16) float Bs[kWarpBK][kWarpBN];          // (BK, BN)
  const int tid = threadIdx.x;
  const kb_int64 row0 = blockIdx.y * (kb_int64)kWarpBM, col0 = blockIdx.x * (kb_int64)kWarpBN;
  const MatmulBatch<T> m = batch_pointers<T>(p, blockIdx.z);
  const bool interior = row0 + kWarpBM <= p.m && col0 + kWarpBN <= p.n;
  int m_base, n_base;
  warptile_coords(m_base, n_base);
  float acc[8][8] = {};
  for (kb_int64 k0 = 0; k0 < p.k; k0 += kWarpBK) {
    if (VEC && interior && k0 + kWarpBK <= p.k) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {                 // A: 128 x 16 = 512 float4, two per thread
        const int e = tid + h * kWarpThreads, ar = e / 4, ac = (e % 4) * 4;
        const float4 av = *reinterpret_cast<const float4*>(reinterpret_cast<const float*>(m.a) + (row0 + ar) * p.lda + k0 + ac);
        As[ac + 0][ar] = av.x; As[ac + 1][ar] = av.y; As[ac + 2][ar] = av.z; As[ac + 3][ar] = av.w;
        const int br = e / 32, bc = (e % 32) * 4;   // B: 16 x 128 = 512 float4, two per thread
        *reinterpret_cast<float4*>(&Bs[br][bc]) =
            *reinterpret_cast<const float4*>(reinterpret_cast<const float*>(m.b) + (k0 + br) * p.ldb + col0 + bc);
      }
    } else {
      for (int e = tid; e < kWarpBM * kWarpBK; e += kWarpThreads)
        As[e % kWarpBK][e / kWarpBK] = load_a(p, m.a, row0 + e / kWarpBK, k0 + e % kWarpBK);
      for (int e = tid; e < kWarpBK * kWarpBN; e += kWarpThreads)
        Bs[e / kWarpBN][e % kWarpBN] = load_b(p, m.b, k0 + e / kWarpBN, col0 + e % kWarpBN);
    }
    __syncthreads();
    warptile_mma(As, Bs, acc, m_base, n_base);
    __syncthreads();
  }
  warptile_store(p, m.c, acc, row0 + m_base, col0 + n_base);
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"
namespace kb {
LaunchConfig matmul_07_warptile_config(const MatmulArgs& p) {
  LaunchConfig c;
  c.kernel = std::string("kb::matmul_07_warptile_kernel<") + cuda_type_name(p.dtype) + ", " +
             (matmul_rows_16b_aligned(p) ? "true>" : "false>");
  c.grid[0] = (unsigned)ceil_div(p.n, kWarpBN); c.grid[1] = (unsigned)ceil_div(p.m, kWarpBM); c.grid[2] = (unsigned)p.batch;
  c.block[0] = kWarpThreads; c.block[1] = 1; c.block[2] = 1;
  c.shared_bytes = 0;
  return c;
}

void matmul_07_warptile(const MatmulArgs& p, void* stream) {
  KB_REQUIRE(p.dtype != DType::F64, "a: impl 'cuda_07_warptile' has no float64 path");
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  const LaunchConfig c = matmul_07_warptile_config(p);
  const dim3 grid(c.grid[0], c.grid[1], c.grid[2]);
  cudaStream_t s = as_stream(stream);
  if (matmul_rows_16b_aligned(p)) {
    matmul_07_warptile_kernel<float, true><<<grid, kWarpThreads, 0, s>>>(p);
  } else {
    switch (p.dtype) {
      case DType::F32: matmul_07_warptile_kernel<float, false><<<grid, kWarpThreads, 0, s>>>(p); break;
      case DType::F16: matmul_07_warptile_kernel<__half, false><<<grid, kWarpThreads, 0, s>>>(p); break;
      case DType::BF16: matmul_07_warptile_kernel<__nv_bfloat16, false><<<grid, kWarpThreads, 0, s>>>(p); break;
      default: break;
    }
  }
  KB_CUDA_CHECK_LAUNCH();
}
}  // namespace kb
#endif
