// Warp tiling, shared by 07_warptile and 08_async_pipeline (NVRTC-compatible).
// The (BM, BN) block tile is split into (BM / 64) x (BN / 32) warp tiles of (64, 32).  Inside a
// warp, lane (lane / 4, lane % 4) owns a 2x2 grid of (4, 4) sub-tiles spaced (32, 16) apart:
// 8x8 results per thread.  Per K step a thread reads its fragments as 2 + 2 float4 from smem;
// the 8 lane rows of a warp read 32 consecutive floats of As (one wavefront), the 4 lane columns
// 16 consecutive floats of Bs (broadcast): no bank conflicts.
#pragma once
#include "matmul_common.cuh"

namespace kb {
template <int BM, int BN>
struct WarpTiling {
  static_assert(BM % 64 == 0 && BN % 32 == 0, "block tile = whole (64, 32) warp tiles");
  static constexpr int WARPS = (BM / 64) * (BN / 32);
  static constexpr int THREADS = 32 * WARPS;
  // __launch_bounds__ minimum blocks per SM: two 256-thread blocks (<= 128 registers a thread);
  // small blocks are used for small grids, where occupancy is not the limit: let them have more.
  static constexpr int MIN_BLOCKS = THREADS >= 256 ? 512 / THREADS : 2;

  // Offsets of this thread's first sub-tile inside the block tile (add {0, 32} / {0, 16}).
  __device__ __forceinline__ static void coords(int& m_base, int& n_base) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    m_base = (warp / (BN / 32)) * 64 + (lane / 4) * 4;
    n_base = (warp % (BN / 32)) * 32 + (lane % 4) * 4;
  }

  // acc += As^T Bs over one K tile.  As: (BK, LDA) K-major A tile, Bs: (BK, LDB) K-major B tile.
  template <int BK, int LDA, int LDB>
  __device__ __forceinline__ static void mma(const float* As, const float* Bs, float (&acc)[8][8], int m_base,
                                             int n_base) {
#pragma unroll
    for (int q = 0; q < BK; ++q) {
      float a[8], b[8];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float4 av = *reinterpret_cast<const float4*>(As + q * LDA + m_base + h * 32);
        a[h * 4 + 0] = av.x; a[h * 4 + 1] = av.y; a[h * 4 + 2] = av.z; a[h * 4 + 3] = av.w;
        const float4 bv = *reinterpret_cast<const float4*>(Bs + q * LDB + n_base + h * 16);
        b[h * 4 + 0] = bv.x; b[h * 4 + 1] = bv.y; b[h * 4 + 2] = bv.z; b[h * 4 + 3] = bv.w;
      }
#pragma unroll
      for (int r = 0; r < 8; ++r)
#pragma unroll
        for (int c = 0; c < 8; ++c) acc[r][c] += a[r] * b[c];
    }
  }

  // Write the thread's 2x2 grid of (4, 4) sub-tiles of C, bounds-checked.
  template <typename T>
  __device__ __forceinline__ static void store(const MatmulArgs& p, T* c, const float (&acc)[8][8], kb_int64 row_base,
                                               kb_int64 col_base) {
#pragma unroll
    for (int r = 0; r < 8; ++r) {
      const kb_int64 row = row_base + (r / 4) * 32 + (r % 4);
      if (row >= p.m) continue;
#pragma unroll
      for (int cc = 0; cc < 8; ++cc) {
        const kb_int64 col = col_base + (cc / 4) * 16 + (cc % 4);
        if (col < p.n) c[row * p.ldc + col] = from_acc<T>(acc[r][cc]);
      }
    }
  }
};
}  // namespace kb
