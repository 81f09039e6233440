// 14_warp_specialized (sm_90a): 13's TMA + mbarrier + wgmma, with the work split by role and the
// grid made persistent.
//   * warp specialization: warpgroup 0 is the producer (one thread issues TMA), warpgroups 1 and 2
//     are consumers (wgmma).  Each stage has a "full" barrier (TMA bytes landed) and an "empty"
//     barrier (all 8 consumer warps are done with it): the producer runs up to 4 stages ahead and
//     never waits for a block-wide __syncthreads;
//   * setmaxnreg: the producer gives its registers back (40 a thread) and the consumers take them
//     (232), room for the (128, 256) block tile: each consumer holds 64 x 256 fp32 accumulators
//     (128 registers a thread) and issues two m64n128k16 per 16-deep K step;
//   * persistent tile scheduler: one block per SM walks the output tiles tile += gridDim.x; the
//     producer starts the next tile's loads while the consumers still store the previous one;
//   * L2-friendly rasterization: tiles are visited in groups of 8 tile rows, column by column, so
//     the blocks running at one time share A row panels and B column panels in L2.
//       tile order within a group (8 tile rows):   0  8 16 ...
//                                                  1  9 17 ...
//                                                  ...
//                                                  7 15 23 ...
//     smem stage: A (128 x 64) 16 KB | B (256 x 64 or 4 panels of 64 x 64) 32 KB; 4 stages = 192 KB.
// Limits: consumers wait for their wgmma group to finish before releasing a stage (no second group
// in flight); no clusters / TMA multicast; C goes from registers to global memory directly (no
// TMA store, no epilogue overlap beyond the producer's prefetch); one tile shape for every problem.
// Preconditions: as 13 (sm_90a device and build, 16-byte aligned rows, K > 0; other problems go
// to rung 12's kernel).  Smem: 4 x 48 KB + 1 KB alignment + barriers = 193 KB.
// Runs on the CPU SIMT executor (its TMA / mbarrier / wgmma model, csrc/sim/kbsim_hopper.h) in every
// layout; on a GPU only where the build has sm_90a code (a plain 9.0 build's body traps).
#include "tensor_core.cuh"

namespace kb {
// The tile a persistent block works on: batch entry, tile row, tile column.
struct TileCoord {
  kb_int64 z, tm, tn;
};
__host__ __device__ inline TileCoord raster_tile(kb_int64 tile, kb_int64 tiles_m, kb_int64 tiles_n, int group_m) {
  const kb_int64 per_batch = tiles_m * tiles_n, r = tile % per_batch, width = group_m * tiles_n;
  const kb_int64 first_m = (r / width) * group_m;
  const kb_int64 rows = tiles_m - first_m < group_m ? tiles_m - first_m : group_m;
  return TileCoord{tile / per_batch, first_m + (r % width) % rows, (r % width) / rows};
}

template <typename T, int A_MN, int B_MN>
__global__ void __launch_bounds__(384, 1) matmul_14_warp_specialized_kernel(const __grid_constant__ sm90::Sm90Args q) {
#if defined(KB_SM90A)
  using namespace sm90;
  constexpr int BM = 128, BN = 256, BK = 64, STAGES = 4, GROUP_M = 8;
  constexpr u32 A_BYTES = BM * BK * 2, STAGE_BYTES = (BM + BN) * BK * 2;
  KB_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char* base = reinterpret_cast<unsigned char*>((reinterpret_cast<kb_size_t>(raw) + 1023) & ~kb_size_t(1023));
  u64* full = reinterpret_cast<u64*>(base + STAGES * STAGE_BYTES);
  u64* empty = full + STAGES;
  const MatmulArgs& p = q.p;
  const int tid = threadIdx.x, wg = tid / 128;
  if (tid == 0) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s) {
      mbar_init(&full[s], 1);   // the producer's arrive.expect_tx (+ the TMA bytes)
      mbar_init(&empty[s], 8);  // one arrival per consumer warp
    }
    fence_barrier_init();
  }
  __syncthreads();  // the last block-wide barrier: the roles never meet again
  const kb_int64 tiles_m = (p.m + BM - 1) / BM, tiles_n = (p.n + BN - 1) / BN, tiles_k = (p.k + BK - 1) / BK;
  const kb_int64 tiles = tiles_m * tiles_n * p.batch;
  if (wg == 0) {  // ---------------------------------------------------------------- producer
    setmaxnreg_dec<40>();
    if (tid == 0) {
      u32 it = 0;
      for (kb_int64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        const TileCoord tc = raster_tile(tile, tiles_m, tiles_n, GROUP_M);
        const int row0 = (int)(tc.tm * BM), col0 = (int)(tc.tn * BN);
        const int za = q.a_batched ? (int)tc.z : 0, zb = q.b_batched ? (int)tc.z : 0;
        for (kb_int64 kt = 0; kt < tiles_k; ++kt, ++it) {
          const u32 s = it % STAGES;
          mbar_wait(&empty[s], ((it / STAGES) & 1) ^ 1);  // a fresh barrier passes parity 1 at once
          unsigned char* sa = base + s * STAGE_BYTES;
          unsigned char* sb = sa + A_BYTES;
          const int k0 = (int)(kt * BK);
          mbar_arrive_expect_tx(&full[s], STAGE_BYTES);
          if (!A_MN) tma_load_3d(sa, &q.ta, &full[s], k0, row0, za);
          else for (int h = 0; h < 2; ++h) tma_load_3d(sa + h * 8192, &q.ta, &full[s], row0 + 64 * h, k0, za);
          if (!B_MN) tma_load_3d(sb, &q.tb, &full[s], k0, col0, zb);
          else for (int h = 0; h < 4; ++h) tma_load_3d(sb + h * 8192, &q.tb, &full[s], col0 + 64 * h, k0, zb);
        }
      }
    }
  } else {  // ------------------------------------------------------------------------ consumers
    setmaxnreg_inc<232>();
    const int cw = wg - 1;  // rows 64 cw .. 64 cw + 63 of the block tile
    u32 it = 0;
    float d[2][64];  // columns 0..127 and 128..255 of this warpgroup's 64 x 256 tile
    for (kb_int64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      const TileCoord tc = raster_tile(tile, tiles_m, tiles_n, GROUP_M);
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int r = 0; r < 64; ++r) d[h][r] = 0.f;
      for (kb_int64 kt = 0; kt < tiles_k; ++kt, ++it) {
        const u32 s = it % STAGES;
        mbar_wait(&full[s], (it / STAGES) & 1);
        const unsigned char* sa = base + s * STAGE_BYTES;
        const unsigned char* sb = sa + A_BYTES;
        wgmma_fence();
        fence_regs(d[0]);
        fence_regs(d[1]);
#pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk) {
          const u64 da = A_MN ? desc_sw128(sa + cw * 8192 + kk * 2048, 8192, 1024)
                              : desc_sw128(sa + cw * 64 * 128 + kk * 32, 16, 1024);
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const u64 db = B_MN ? desc_sw128(sb + h * 16384 + kk * 2048, 8192, 1024)
                                : desc_sw128(sb + h * 16384 + kk * 32, 16, 1024);
            wgmma_m64n128k16<T, A_MN, B_MN>(d[h], da, db, 1);
          }
        }
        wgmma_commit();
        wgmma_wait<0>();
        fence_regs(d[0]);
        fence_regs(d[1]);
        if (tid % 32 == 0) mbar_arrive(&empty[s]);  // this warp is done with stage s
      }
      const MatmulBatch<T> mb = batch_pointers<T>(p, tc.z);
#pragma unroll
      for (int h = 0; h < 2; ++h) store_wgmma_acc<T, 64>(p, mb.c, d[h], tc.tm * BM + 64 * cw, tc.tn * BN + 128 * h);
    }
  }
#else
  KB_ARCH_TRAP();  // compiled without sm_90a (e.g. plain 9.0 or 9.0+PTX): fail loudly, never an empty kernel
#endif
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
typedef void (*Sm90Kernel)(const sm90::Sm90Args);  // every instantiation of the kernel
void matmul_14_warp_specialized(const MatmulArgs& p, void* stream) {
  // [dtype is bf16][A M-major][B N-major]
  static const Sm90Kernel kernels[2][2][2] = {
      {{&matmul_14_warp_specialized_kernel<__half, 0, 0>,
        &matmul_14_warp_specialized_kernel<__half, 0, 1>},
       {&matmul_14_warp_specialized_kernel<__half, 1, 0>,
        &matmul_14_warp_specialized_kernel<__half, 1, 1>}},
      {{&matmul_14_warp_specialized_kernel<__nv_bfloat16, 0, 0>,
        &matmul_14_warp_specialized_kernel<__nv_bfloat16, 0, 1>},
       {&matmul_14_warp_specialized_kernel<__nv_bfloat16, 1, 0>,
        &matmul_14_warp_specialized_kernel<__nv_bfloat16, 1, 1>}}};
  const Sm90Kernel kernel = kernels[p.dtype == DType::BF16][p.trans_a ? 1 : 0][p.trans_b ? 0 : 1];
  sm90::require_sm90a_code("cuda_14_warp_specialized", (const void*)kernel);
  if (matmul_is_empty(p)) return;
  if (p.k == 0 || !sm90::tma_ok(p))
    return matmul_12_swizzled_multistage(p, stream);  // rows TMA cannot address; or nothing to load
  sm90::Sm90Args q = sm90::make_args(p, 256);   // B K-major boxes of (64 k, 256 n)
  const std::size_t smem = 4 * 49152 + 1024 + 128;
  KB_CUDA_CHECK(cudaFuncSetAttribute((const void*)kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  int dev = 0, sms = 0;
  KB_CUDA_CHECK(cudaGetDevice(&dev));
  KB_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const kb_int64 tiles = ceil_div(p.m, 128) * ceil_div(p.n, 256) * p.batch;
  const dim3 grid((unsigned)(tiles < sms ? tiles : sms));  // persistent: at most one block per SM
  launch(kernel, grid, dim3(384), smem, as_stream(stream), q);
}
}  // namespace kb
#endif
