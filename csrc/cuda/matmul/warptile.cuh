// Warp tiling shared by 07_warptile and 08_async_pipeline (NVRTC-compatible):
// block tile (128, 128), BK = 16, 256 threads = 2 x 4 warps of (64, 32); lane (lane / 4, lane % 4)
// owns a 2x2 grid of (4, 4) sub-tiles spaced (32, 16) apart.
#pragma once
#include "matmul_common.cuh"

namespace kb {
constexpr int kWarpBM = 128, kWarpBN = 128, kWarpBK = 16, kWarpThreads = 256, kApad = 4;

// Accumulate one K-tile held in shared memory into acc (shared by 07 and 08).
__device__ __forceinline__ void warptile_mma(const float (*As)[kWarpBM + kApad], const float (*Bs)[kWarpBN],
                                             float (&acc)[8][8], int m_base, int n_base) {
#pragma unroll
  for (int q = 0; q < kWarpBK; ++q) {
    float a_frag[8], b_frag[8];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float4 av = *reinterpret_cast<const float4*>(&As[q][m_base + h * 32]);
      a_frag[h * 4 + 0] = av.x; a_frag[h * 4 + 1] = av.y; a_frag[h * 4 + 2] = av.z; a_frag[h * 4 + 3] = av.w;
      const float4 bv = *reinterpret_cast<const float4*>(&Bs[q][n_base + h * 16]);
      b_frag[h * 4 + 0] = bv.x; b_frag[h * 4 + 1] = bv.y; b_frag[h * 4 + 2] = bv.z; b_frag[h * 4 + 3] = bv.w;
    }
#pragma unroll
    for (int r = 0; r < 8; ++r)
#pragma unroll
      for (int c = 0; c < 8; ++c) acc[r][c] += a_frag[r] * b_frag[c];
  }
}

// Write the thread's 2x2 grid of (4, 4) sub-tiles, bounds-checked.
template <typename T>
__device__ __forceinline__ void warptile_store(const MatmulArgs& p, T* c, const float (&acc)[8][8],
                                               kb_int64 row_base, kb_int64 col_base) {
#pragma unroll
  for (int r = 0; r < 8; ++r) {
    const kb_int64 row = row_base + (r / 4) * 32 + (r % 4);
#pragma unroll
    for (int cc = 0; cc < 8; ++cc) {
      const kb_int64 col = col_base + (cc / 4) * 16 + (cc % 4);
      if (row < p.m && col < p.n) c[row * p.ldc + col] = from_acc<T>(acc[r][cc]);
    }
  }
}

__device__ __forceinline__ void warptile_coords(int& m_base, int& n_base) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm = warp / 4, wn = warp % 4;          // 2 x 4 warps, each (64, 32)
  m_base = wm * 64 + (lane / 4) * 4;              // + {0, 32}
  n_base = wn * 32 + (lane % 4) * 4;              // + {0, 16}
}

}  // namespace kb
