// 12_swizzled_multistage: 11's mma.sync on ISA fragments, with shared memory laid out and filled the way
// the tensor cores need it.
//   * XOR swizzle: in each 128-byte tile row o, 16-byte chunk c is stored at chunk c ^ (o % 8).
//     The 8 rows one ldmatrix phase reads (same logical chunk, 8 consecutive rows) now sit in 8
//     different bank groups: no conflicts, where 11 had 8-way conflicts on every fragment load.
//   * a 3-stage cp.async pipeline (as in rung 08): tiles t+1 and t+2 travel global -> shared,
//     bypassing registers, while the warps run the mma.sync of tile t; one barrier per K tile.
//     Rows that are not 16-byte aligned fall back to element loads (correct, not overlapped).
//
//     logical chunks of rows 0..7        stored (swizzled)            ldmatrix phase reads chunk 0:
//     row0: 0 1 2 3 4 5 6 7              row0: 0 1 2 3 4 5 6 7        row0 -> bank group 0
//     row1: 0 1 2 3 4 5 6 7              row1: 1 0 3 2 5 4 7 6        row1 -> bank group 1
//     row2: 0 1 2 3 4 5 6 7              row2: 2 3 0 1 6 7 4 5        row2 -> bank group 2
//     ...                                ...                          ... row7 -> bank group 7
//   * warp tiles of (64, 64): 4 warps, each 4 x 8 m16n8 tiles (128 fp32 accumulators a thread):
//     8 ldmatrix.x4 per 32 mma.sync instead of 6 per 16 -- shared-memory traffic per FLOP down 1/3.
// Limits: the fragments of a K step are loaded right before their mma.sync (no register double
// buffering); the epilogue stores straight from registers (2-element runs, not 16-byte vectors);
// a block per output tile (no persistence, no L2-aware rasterization); mma.sync is not Hopper's
// fastest path (wgmma is: rungs 13-14).  fp16 / bf16 only.
// Smem (dynamic): 3 stages x (128 x 64 + 64 x 128) x 2 bytes = 96 KB: opt-in above 48 KB (fits the
// 99 KB of sm_86/sm_89 too).
// Needs sm_80 (cp.async, ldmatrix, bf16 mma.sync).
#include "tensor_core.cuh"

namespace kb {
template <typename T, int BM, int BN, int BK, int STAGES>
__global__ void __launch_bounds__(128) matmul_12_swizzled_multistage_kernel(MatmulArgs p) {
  constexpr int THREADS = 128, MI = 4, NJ = 8;  // warp tile (64, 64) = 4 x 8 (m16, n8) tiles
  constexpr int STAGE = BM * BK + BK * BN;       // elements per stage: A tile | B tile
  static_assert(BM == 128 && BN == 128 && BK == 64 && STAGES >= 2, "4 warps of (64, 64), 128-byte rows");
  KB_DYNAMIC_SHARED(unsigned char, smem_raw);  // one untyped buffer for the fp16 and bf16 kernels
  T* smem = reinterpret_cast<T*>(smem_raw);  // STAGES x (A tile (BM, BK) or (BK, BM) | B tile (BK, BN) or (BN, BK))
  const int warp = threadIdx.x / 32, wm = (warp / 2) * 64, wn = (warp % 2) * 64;
  const bool a_kc = !p.trans_a, b_kc = p.trans_b;
  const int a_outer = a_kc ? BM : BK, b_outer = b_kc ? BN : BK;
  const kb_int64 col0 = blockIdx.x * (kb_int64)BN, tiles_m = (p.m + BM - 1) / BM;
  const kb_int64 tiles_k = (p.k + BK - 1) / BK;
  const bool vec_a = rows_vec_ok<T>(p.a, p.lda, p.stride_a), vec_b = rows_vec_ok<T>(p.b, p.ldb, p.stride_b);
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> mb = batch_pointers<T>(p, z);
    const tc::GlobalView<T> ga{mb.a, p.lda, a_kc ? p.m : p.k, a_kc ? p.k : p.m, vec_a};
    const tc::GlobalView<T> gb{mb.b, p.ldb, b_kc ? p.n : p.k, b_kc ? p.k : p.n, vec_b};
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * BM;
      // Start K tile kt on its way into stage s (one commit group per tile, issued by the caller).
      auto issue = [&](int s, kb_int64 kt) {
        T* As = smem + s * STAGE;
        T* Bs = As + BM * BK;
        const kb_int64 k0 = kt * BK;
        if (a_kc) tc::load_panel_tile_async<T, BM, BK, THREADS, true>(As, ga, row0, k0);
        else tc::load_panel_tile_async<T, BK, BM, THREADS, true>(As, ga, k0, row0);
        if (b_kc) tc::load_panel_tile_async<T, BN, BK, THREADS, true>(Bs, gb, col0, k0);
        else tc::load_panel_tile_async<T, BK, BN, THREADS, true>(Bs, gb, k0, col0);
      };
#pragma unroll
      for (int s = 0; s < STAGES - 1; ++s) {  // prologue: tiles 0 .. STAGES-2
        if (s < tiles_k) issue(s, s);
        cp_async_commit();
      }
      float acc[MI][NJ][4] = {};
      int rs = 0, ws = STAGES - 1;  // stage read by this iteration, stage refilled by it
      for (kb_int64 t = 0; t < tiles_k; ++t) {
        cp_async_wait<STAGES - 2>();  // this thread's copies of tile t have landed ...
        __syncthreads();              // ... everyone's too, and stage ws (tile t-1) is free
        if (t + STAGES - 1 < tiles_k) issue(ws, t + STAGES - 1);
        cp_async_commit();
        const T* As = smem + rs * STAGE;
        const T* Bs = As + BM * BK;
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
          tc::u32 a[MI][4], b[NJ / 2][4];
#pragma unroll
          for (int i = 0; i < MI; ++i) tc::load_a_frag<true>(a[i], As, a_kc, a_outer, wm + 16 * i, kk);
#pragma unroll
          for (int j = 0; j < NJ / 2; ++j) tc::load_b_frag<true>(b[j], Bs, b_kc, b_outer, kk, wn + 16 * j);
#pragma unroll
          for (int i = 0; i < MI; ++i)
#pragma unroll
            for (int j = 0; j < NJ; ++j) {
              const tc::u32 bj[2] = {b[j / 2][2 * (j % 2)], b[j / 2][2 * (j % 2) + 1]};
              tc::mma_m16n8k16<T>(acc[i][j], a[i], bj, acc[i][j]);
            }
        }
        rs = rs + 1 == STAGES ? 0 : rs + 1;
        ws = ws + 1 == STAGES ? 0 : ws + 1;
      }
      cp_async_wait<0>();
      tc::store_acc<T>(p, mb.c, acc, row0 + wm, col0 + wn);
      __syncthreads();  // the next tile row's prologue refills the stages
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
// (128, 128, 64) tiles, 4 warps of (64, 64), 3 stages.
static MatmulLaunch plan_12(const MatmulArgs& p) {
  constexpr int bm = 128, bn = 128, bk = 64, stages = 3;
  MatmulLaunch l{};
  if (p.dtype == DType::F16)
    l.kernel = KB_KERNEL_REF(kb::matmul_12_swizzled_multistage_kernel<__half, 128, 128, 64, 3>);
  else l.kernel = KB_KERNEL_REF(kb::matmul_12_swizzled_multistage_kernel<__nv_bfloat16, 128, 128, 64, 3>);
  l.block = dim3(128);
  l.grid = matmul_grid(ceil_div(p.n, bn), ceil_div(p.m, bm), p.batch);
  l.shared_bytes = sizeof(__half) * stages * (bm * bk + bk * bn);
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_12_swizzled_multistage, plan_12)
}  // namespace kb
#endif
