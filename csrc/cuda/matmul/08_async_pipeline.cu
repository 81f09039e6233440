// 08_async_pipeline: 07's warp tiling fed by a 3-stage cp.async pipeline (sm_80+).  Tiles for
// K-steps t+1 and t+2 are in flight (global -> shared, bypassing registers) while the warps
// compute on tile t, so memory latency hides behind the FMAs.  A is transposed on the way in by
// 4-byte copies; B uses 16-byte copies where aligned; out-of-range elements are zero-filled.
// Limits: fp32 SIMT FMAs are the ceiling now (~67 TFLOP/s on H100 SXM); tensor cores are the
// next ladder.  Smem: 3 * 16 * (132 + 128) * 4 = 49,920 bytes (dynamic, opt-in above 48 KB).
#include "warptile.cuh"

namespace kb {
constexpr int kStages = 3, kAsyncBM = kWarpBM, kAsyncBN = kWarpBN, kAsyncBK = kWarpBK, kAsyncThreads = kWarpThreads,
              kAsyncApad = kApad;
constexpr int kStageFloats = kAsyncBK * (kAsyncBM + kAsyncApad) + kAsyncBK * kAsyncBN;

__device__ __forceinline__ void cp_async_4(float* smem, const float* gmem, bool in_range) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(gmem), "r"(in_range ? 4 : 0));
}
__device__ __forceinline__ void cp_async_16(float* smem, const float* gmem) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// Issue the copies of K-tile `k0` into one stage.  Out-of-range elements read nothing, write 0.
template <bool VEC>
__device__ __forceinline__ void load_tile_async(const MatmulArgs& p, const float* a, const float* b, float* stage,
                                                kb_int64 row0, kb_int64 col0, kb_int64 k0) {
  float (*As)[kAsyncBM + kAsyncApad] = reinterpret_cast<float (*)[kAsyncBM + kAsyncApad]>(stage);
  float (*Bs)[kAsyncBN] = reinterpret_cast<float (*)[kAsyncBN]>(stage + kAsyncBK * (kAsyncBM + kAsyncApad));
  for (int e = threadIdx.x; e < kAsyncBM * kAsyncBK; e += kAsyncThreads) {
    const int r = e / kAsyncBK, q = e % kAsyncBK;      // consecutive threads: consecutive k of one row
    const kb_int64 i = row0 + r, kk = k0 + q;
    const bool ok = i < p.m && kk < p.k;
    cp_async_4(&As[q][r], ok ? a + (p.trans_a ? kk * p.lda + i : i * p.lda + kk) : a, ok);
  }
  if (VEC && k0 + kAsyncBK <= p.k && col0 + kAsyncBN <= p.n) {
    for (int e = threadIdx.x; e < kAsyncBK * kAsyncBN / 4; e += kAsyncThreads) {
      const int q = e / (kAsyncBN / 4), c = (e % (kAsyncBN / 4)) * 4;
      cp_async_16(&Bs[q][c], b + (k0 + q) * p.ldb + col0 + c);
    }
  } else {
    for (int e = threadIdx.x; e < kAsyncBK * kAsyncBN; e += kAsyncThreads) {
      const int q = e / kAsyncBN, c = e % kAsyncBN;
      const kb_int64 kk = k0 + q, j = col0 + c;
      const bool ok = kk < p.k && j < p.n;
      cp_async_4(&Bs[q][c], ok ? b + (p.trans_b ? j * p.ldb + kk : kk * p.ldb + j) : b, ok);
    }
  }
}

template <bool VEC>
__global__ void __launch_bounds__(kAsyncThreads) matmul_08_async_pipeline_kernel(MatmulArgs p) {
  extern __shared__ __align__(16) float smem[];     // kStages x (As (BK, BM + 4) | Bs (BK, BN))
  const kb_int64 row0 = blockIdx.y * (kb_int64)kAsyncBM, col0 = blockIdx.x * (kb_int64)kAsyncBN;
  const MatmulBatch<float> m = batch_pointers<float>(p, blockIdx.z);
  int m_base, n_base;
  warptile_coords(m_base, n_base);
  float acc[8][8] = {};
  const kb_int64 tiles = (p.k + kAsyncBK - 1) / kAsyncBK;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < tiles) load_tile_async<VEC>(p, m.a, m.b, smem + s * kStageFloats, row0, col0, s * (kb_int64)kAsyncBK);
    cp_async_commit();
  }
  for (kb_int64 t = 0; t < tiles; ++t) {
    cp_async_wait<kStages - 2>();   // tile t has landed (this thread's copies) ...
    __syncthreads();                // ... and everyone's; stage (t-1) % kStages is free again
    const kb_int64 next = t + kStages - 1;
    if (next < tiles)
      load_tile_async<VEC>(p, m.a, m.b, smem + (next % kStages) * kStageFloats, row0, col0, next * kAsyncBK);
    cp_async_commit();
    const float* stage = smem + (t % kStages) * kStageFloats;
    warptile_mma(reinterpret_cast<const float (*)[kWarpBM + kApad]>(stage),
                 reinterpret_cast<const float (*)[kWarpBN]>(stage + kWarpBK * (kWarpBM + kApad)), acc, m_base, n_base);
  }
  cp_async_wait<0>();
  warptile_store(p, m.c, acc, row0 + m_base, col0 + n_base);
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include <cstdint>
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"
namespace kb {
void matmul_08_async_pipeline(const MatmulArgs& p, void* stream) {
  KB_REQUIRE(p.dtype == DType::F32, "a: impl 'cuda_08_async_pipeline' supports float32 only, got " << dtype_name(p.dtype));
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  const std::size_t smem = kStages * kStageFloats * sizeof(float);
  const dim3 grid(ceil_div(p.n, kAsyncBN), ceil_div(p.m, kAsyncBM), p.batch);
  // 16-byte B copies need B's rows (not A's) aligned: A always goes through 4-byte copies.
  const bool vec = !p.trans_b && p.ldb % 4 == 0 && p.stride_b % 4 == 0 &&
                   reinterpret_cast<std::uintptr_t>(p.b) % 16 == 0;
  if (vec) {
    KB_CUDA_CHECK(cudaFuncSetAttribute(matmul_08_async_pipeline_kernel<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    matmul_08_async_pipeline_kernel<true><<<grid, kAsyncThreads, smem, as_stream(stream)>>>(p);
  } else {
    KB_CUDA_CHECK(cudaFuncSetAttribute(matmul_08_async_pipeline_kernel<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    matmul_08_async_pipeline_kernel<false><<<grid, kAsyncThreads, smem, as_stream(stream)>>>(p);
  }
  KB_CUDA_CHECK_LAUNCH();
}
}  // namespace kb
#endif
