// 13_wgmma_tma (sm_90a): Hopper's own data path.  Over 12 it adds
//   * TMA: one thread asks the copy engine for whole tiles (cp.async.bulk.tensor with a tensor map
//     built on the host by cuTensorMapEncodeTiled); the engine writes them in the 128-byte swizzled
//     layout of rung 12, zero-fills past the matrix edges, and reports the bytes that landed on an
//     mbarrier -- no address arithmetic, predication or cp.async groups in the kernel any more;
//   * mbarrier pipeline: 4 stages, each with a "full" barrier that expects 32 KB of transactions;
//     consumers wait on its phase parity;
//   * wgmma.mma_async: a warpgroup (4 warps) multiplies 64x128x16 per instruction straight from
//     shared memory through matrix descriptors (start address, LBO/SBO, 128-byte swizzle); no
//     ldmatrix, no fragments for A and B in registers.  Both majornesses of A and B are native
//     (the descriptors' transpose bits), so any layout is one path.
//   Block (128, 128, 64): 2 warpgroups of 64 x 128, fp32 accumulators (64 registers a thread).
//     smem stage s:  A (128 x 64) K-major, or 2 panels (64 k x 64 m) M-major   16 KB
//                    B (128 x 64) K-major, or 2 panels (64 k x 64 n) N-major   16 KB
//     descriptor of a K-major tile: start + 32 bytes per k16 step, SBO = 1024 (8 rows x 128 B);
//     of an MN-major tile: start + 2048 bytes per k16 step, LBO = 8192 (next 64-wide panel), SBO = 1024.
// Limits: every thread both waits for data and computes (no producer/consumer split: the refill of
// a stage waits for the slowest warpgroup), one wgmma group in flight then a full wait, one block
// per output tile (no persistence, row-major rasterization), C stored from registers.
// Preconditions: sm_90 device and a build with 9.0a code (else kb::ArgumentError "needs sm_90a");
// 16-byte aligned rows (lda, ldb, batch strides multiples of 8 elements, aligned bases) and K > 0
// -- other problems are handed to rung 12's kernel.  Smem: 4 x 32 KB + 1 KB alignment = 129 KB.
// Runs on the CPU SIMT executor (its TMA / mbarrier / wgmma model, csrc/sim/kbsim_hopper.h) in every
// layout; on a GPU only where the build has sm_90a code (a plain 9.0 build's body traps).
#include "tensor_core.cuh"

namespace kb {
// A_MN / B_MN: the operand is M- / N-major (A transposed / B not transposed), as template
// arguments: wgmma's transpose bits are immediates, and one instruction sequence per kernel keeps
// the accumulators in place (a run-time choice between four makes ptxas insert extra arrives).
template <typename T, int A_MN, int B_MN>
__global__ void __launch_bounds__(256, 1) matmul_13_wgmma_tma_kernel(const __grid_constant__ sm90::Sm90Args q) {
#if defined(KB_SM90A)
  using namespace sm90;
  constexpr int BM = 128, BN = 128, BK = 64, STAGES = 4;
  constexpr u32 A_BYTES = BM * BK * 2, STAGE_BYTES = (BM + BN) * BK * 2;
  KB_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char* base = reinterpret_cast<unsigned char*>((reinterpret_cast<kb_size_t>(raw) + 1023) & ~kb_size_t(1023));
  u64* full = reinterpret_cast<u64*>(base + STAGES * STAGE_BYTES);
  const MatmulArgs& p = q.p;
  const int tid = threadIdx.x, wg = tid / 128;
  if (tid == 0) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s) mbar_init(&full[s], 1);
    fence_barrier_init();
  }
  __syncthreads();
  const kb_int64 tiles_m = (p.m + BM - 1) / BM, tiles_k = (p.k + BK - 1) / BK;
  const int col0 = blockIdx.x * BN;
  u32 it = 0;  // K tiles consumed by this block so far: stage = it % STAGES, phase parity = it / STAGES
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const int za = q.a_batched ? (int)z : 0, zb = q.b_batched ? (int)z : 0;
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const int row0 = (int)(by * BM);
      // One thread: expect the stage's bytes, then ask the copy engine for A's and B's tiles.
      auto issue = [&](kb_int64 kt, u32 s) {
        unsigned char* sa = base + s * STAGE_BYTES;
        unsigned char* sb = sa + A_BYTES;
        const int k0 = (int)(kt * BK);
        mbar_arrive_expect_tx(&full[s], STAGE_BYTES);
        if (!A_MN) tma_load_3d(sa, &q.ta, &full[s], k0, row0, za);
        else for (int h = 0; h < 2; ++h) tma_load_3d(sa + h * 8192, &q.ta, &full[s], row0 + 64 * h, k0, za);
        if (!B_MN) tma_load_3d(sb, &q.tb, &full[s], k0, col0, zb);
        else for (int h = 0; h < 2; ++h) tma_load_3d(sb + h * 8192, &q.tb, &full[s], col0 + 64 * h, k0, zb);
      };
      if (tid == 0)
        for (kb_int64 kt = 0; kt < tiles_k && kt < STAGES; ++kt) issue(kt, (it + (u32)kt) % STAGES);
      float d[64];
#pragma unroll
      for (int r = 0; r < 64; ++r) d[r] = 0.f;
      for (kb_int64 kt = 0; kt < tiles_k; ++kt, ++it) {
        const u32 s = it % STAGES;
        mbar_wait(&full[s], (it / STAGES) & 1);
        const unsigned char* sa = base + s * STAGE_BYTES;
        const unsigned char* sb = sa + A_BYTES;
        wgmma_fence();
        fence_regs(d);
#pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk) {
          const u64 da = A_MN ? desc_sw128(sa + wg * 8192 + kk * 2048, 8192, 1024)
                              : desc_sw128(sa + wg * 64 * 128 + kk * 32, 16, 1024);
          const u64 db = B_MN ? desc_sw128(sb + kk * 2048, 8192, 1024) : desc_sw128(sb + kk * 32, 16, 1024);
          wgmma_m64n128k16<T, A_MN, B_MN>(d, da, db, 1);
        }
        wgmma_commit();
        wgmma_wait<0>();
        fence_regs(d);
        __syncthreads();  // both warpgroups are done with stage s: refill it
        if (tid == 0 && kt + STAGES < tiles_k) issue(kt + STAGES, s);
      }
      const MatmulBatch<T> mb = batch_pointers<T>(p, z);
      store_wgmma_acc<T, 64>(p, mb.c, d, row0 + 64 * wg, col0);
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
void matmul_13_wgmma_tma(const MatmulArgs& p, void* stream) {
  // [dtype is bf16][A M-major][B N-major]
  static const Sm90Kernel kernels[2][2][2] = {
      {{&matmul_13_wgmma_tma_kernel<__half, 0, 0>, &matmul_13_wgmma_tma_kernel<__half, 0, 1>},
       {&matmul_13_wgmma_tma_kernel<__half, 1, 0>, &matmul_13_wgmma_tma_kernel<__half, 1, 1>}},
      {{&matmul_13_wgmma_tma_kernel<__nv_bfloat16, 0, 0>,
        &matmul_13_wgmma_tma_kernel<__nv_bfloat16, 0, 1>},
       {&matmul_13_wgmma_tma_kernel<__nv_bfloat16, 1, 0>,
        &matmul_13_wgmma_tma_kernel<__nv_bfloat16, 1, 1>}}};
  const Sm90Kernel kernel = kernels[p.dtype == DType::BF16][p.trans_a ? 1 : 0][p.trans_b ? 0 : 1];
  sm90::require_sm90a_code("cuda_13_wgmma_tma", (const void*)kernel);
  if (matmul_is_empty(p)) return;
  if (p.k == 0 || !sm90::tma_ok(p))
    return matmul_12_swizzled_multistage(p, stream);  // rows TMA cannot address; or nothing to load
  sm90::Sm90Args q = sm90::make_args(p, 128);   // B K-major boxes of (64 k, 128 n)
  const std::size_t smem = 4 * 32768 + 1024 + 64;
  KB_CUDA_CHECK(cudaFuncSetAttribute((const void*)kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  const dim3 grid = matmul_grid(ceil_div(p.n, 128), ceil_div(p.m, 128), p.batch);
  launch(kernel, grid, dim3(256), smem, as_stream(stream), q);
}
}  // namespace kb
#endif
