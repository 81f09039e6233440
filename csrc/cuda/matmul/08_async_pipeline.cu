// 08_async_pipeline: 07's warp tiling fed by a STAGES-deep shared-memory pipeline.  For fp32 the
// tiles travel global -> shared with cp.async (sm_80+), bypassing registers: while the warps
// compute on K tile t, the copies of tiles t+1 .. t+STAGES-1 are in flight, and one barrier per
// tile suffices.  B (and A when transposed) moves in 16-byte copies where rows are 16-byte
// aligned, zero-filled by the copy itself at the edges.  A not transposed must be transposed on
// its way in: it is prefetched into registers (16-byte loads) before the FMAs of tile t and
// stored to its stage after them; so are fp16/bf16 tiles, which cp.async cannot widen.
// Limits: the fp32 FMA pipes are the ceiling now (SIMT; tensor cores are the next ladder).  No fp64.
// Smem (dynamic): STAGES * BK * (BM + 4 + BN + 4) * 4 bytes = 50.7 KB for (128, 128, 16, 3): opt-in
// above 48 KB.  cp.async needs sm_80+ (older archs compile to plain loads).
#include "warptile.cuh"
#include "cp_async.cuh"

namespace kb {
// 16-byte copies of an aligned tile contiguous along x and wholly inside the matrix.
template <typename L>
__device__ __forceinline__ void copy_vectors_async(const L& t, float* dst) {
  const int ss = t.s_step();
  const kb_int64 gs = t.g_step();
  const float* src = t.g;
#pragma unroll
  for (int v = 0; v < L::VECTORS; ++v, src += gs)
    if (!L::idle_vector(v)) cp_async_16(dst + t.s_first + v * ss, src, 16);
}

// Issue the cp.async copies of the loader's K tile at k0 (fp32 only).  The loader's vector path
// (16-byte copies) is used only for x-contiguous tiles.  full: the whole tile lies inside the
// matrix (no checks); otherwise out-of-range elements are zero-filled and read nothing, and
// `base`, a valid address, stands in for their source.
template <typename L>
__device__ __forceinline__ void copy_tile_async(const L& t, float* dst, const float* base, bool full, kb_int64 k0) {
  if (full && t.vec) return copy_vectors_async(t, dst);
  float* d = dst + t.s_first;
  const int ss = t.s_step();
  const kb_int64 gs = t.g_step();
  const float* src = t.g;  // walks this thread's elements (an add per step: nothing to hoist)
  if (full) {
#pragma unroll
    for (int s = 0; s < L::SCALARS; ++s, src += gs) cp_async_4(d + s * ss, src, true);
    return;
  }
  const int qr = t.k_rows_left(k0), step_q = t.dq(), step_x = t.dx();
  if (t.vec) {
#pragma unroll
    for (int v = 0; v < L::VECTORS; ++v, src += gs) {
      if (L::idle_vector(v)) continue;
      const int x_left = t.x_room - v * step_x;  // elements of this vector's row left in the matrix
      const int n = v * step_q < qr ? (x_left >= 4 ? 4 : (x_left > 0 ? x_left : 0)) : 0;
      cp_async_16(d + v * ss, n > 0 ? src : base, 4 * n);
    }
  } else {
#pragma unroll
    for (int s = 0; s < L::SCALARS; ++s, src += gs) {
      const bool ok = s * step_q < qr && s * step_x < t.x_room;
      cp_async_4(d + s * ss, ok ? src : base, ok);
    }
  }
}

template <typename T, int BM, int BN, int BK, int STAGES>
__global__ void __launch_bounds__(WarpTiling<BM, BN>::THREADS, WarpTiling<BM, BN>::MIN_BLOCKS)
    matmul_08_async_pipeline_kernel(MatmulArgs p) {
  typedef WarpTiling<BM, BN> W;
  constexpr int LDA = BM + 4, LDB = BN + 4;
  constexpr int STAGE = BK * (LDA + LDB);          // floats per stage: As (BK, BM + 4) | Bs (BK, BN + 4)
  constexpr bool ASYNC = sizeof(T) == sizeof(float);  // fp32: cp.async; fp16/bf16: register prefetch
  static_assert(STAGES >= 2, "a pipeline needs two stages at least");
  KB_DYNAMIC_SHARED(float, smem);   // STAGES x STAGE floats
  int m_base, n_base;
  W::coords(m_base, n_base);
  const kb_int64 col0 = blockIdx.x * (kb_int64)BN;
  const kb_int64 tiles_m = (p.m + BM - 1) / BM;
  const kb_int64 tiles_k = (p.k + BK - 1) / BK;
  // fp32: B (A when transposed) travels by cp.async, 16-byte copies along contiguous tile rows
  // where aligned, else 4-byte copies.  A not transposed must be transposed on its way into smem:
  // when aligned it goes global -> registers (two 16-byte loads per thread, issued before the FMAs
  // of the current tile) -> smem (after them); 4-byte cp.async copies when not.
  const bool a_aligned = rows_vec_ok<T>(p.a, p.lda, p.stride_a), b_aligned = rows_vec_ok<T>(p.b, p.ldb, p.stride_b);
  const bool a_regs = !ASYNC || (!p.trans_a && a_aligned);  // A through registers
  const bool vec_a = a_aligned, vec_b = b_aligned && (!ASYNC || !p.trans_b);
  const bool lean = ASYNC && a_regs && vec_b;  // fp32, A and B not transposed, both aligned
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> m = batch_pointers<T>(p, z);
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * BM;
      TileLoader<T, BK, BM, LDA, W::THREADS> ta;
      TileLoader<T, BK, BN, LDB, W::THREADS> tb;
      ta.init(m.a, p.lda, p.trans_a, vec_a, row0, p.m, p.k);
      tb.init(m.b, p.ldb, !p.trans_b, vec_b, col0, p.n, p.k);
      const bool interior = row0 + BM <= p.m && col0 + BN <= p.n;
      kb_int64 k_next = 0;  // first K index of the next tile to issue
      // Start the next K tile on its way into `stage` (what goes through registers lands in put()).
      auto issue = [&](float* stage) {
        const bool full = interior && k_next + BK <= p.k;
        if constexpr (ASYNC) {
          if (a_regs) ta.fetch(full, k_next);
          else copy_tile_async(ta, stage, reinterpret_cast<const float*>(m.a), full, k_next);
          copy_tile_async(tb, stage + BK * LDA, reinterpret_cast<const float*>(m.b), full, k_next);
        } else {
          ta.fetch(full, k_next);
          tb.fetch(full, k_next);
        }
        ta.next();
        tb.next();
        k_next += BK;
      };
      auto put = [&](float* stage) {  // what went through registers
        if (a_regs) ta.store(stage);
        if constexpr (!ASYNC) tb.store(stage + BK * LDA);
      };
      // Prologue: tiles 0 .. STAGES-2 into stages 0 .. STAGES-2, one commit group each.
#pragma unroll
      for (int s = 0; s < STAGES - 1; ++s) {
        if (s < tiles_k) {
          issue(smem + s * STAGE);
          put(smem + s * STAGE);
        }
        cp_async_commit();
      }
      float acc[8][8] = {};
      int rs = 0, ws = STAGES - 1;  // stage read by this iteration, stage refilled by it
      kb_int64 t = 0;
      // Steady state of the common case (fp32, A and B not transposed, both 16-byte aligned, block
      // tile inside the matrix) while the tile being refilled lies wholly inside K: no checks,
      // no per-thread branches, just the copies, the FMAs and the transposing stores of A.
      if constexpr (ASYNC) {
        const kb_int64 lean_until = lean && interior ? p.k / BK - (STAGES - 1) : 0;
        for (; t < lean_until; ++t) {
          cp_async_wait<STAGES - 2>();
          __syncthreads();
          ta.fetch_vectors();
          copy_vectors_async(tb, smem + ws * STAGE + BK * LDA);
          cp_async_commit();
          ta.next();
          tb.next();
          W::template mma<BK, LDA, LDB>(smem + rs * STAGE, smem + rs * STAGE + BK * LDA, acc, m_base, n_base);
          ta.store_vectors_transposed(smem + ws * STAGE);
          rs = rs + 1 == STAGES ? 0 : rs + 1;
          ws = ws + 1 == STAGES ? 0 : ws + 1;
        }
        k_next += t * BK;
      }
      // Everything else: edge tiles, other layouts and dtypes, the last STAGES-1 tiles.
      for (; t < tiles_k; ++t) {
        cp_async_wait<STAGES - 2>();  // this thread's copies of tile t have landed ...
        __syncthreads();              // ... everyone's too, and stage ws (tile t-1) is free
        const bool refill = t + STAGES - 1 < tiles_k;
        if (refill) issue(smem + ws * STAGE);
        cp_async_commit();
        W::template mma<BK, LDA, LDB>(smem + rs * STAGE, smem + rs * STAGE + BK * LDA, acc, m_base, n_base);
        if (refill) put(smem + ws * STAGE);
        rs = rs + 1 == STAGES ? 0 : rs + 1;
        ws = ws + 1 == STAGES ? 0 : ws + 1;
      }
      cp_async_wait<0>();
      W::store(p, m.c, acc, row0 + m_base, col0 + n_base);
      __syncthreads();  // the next tile row's prologue refills the stages
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
// (128, 128, BK 16, 3 stages) blocks of 256 threads when there are enough to fill the GPU, else
// (64, 64, 16, 3) blocks of 64 threads.
static MatmulLaunch plan_08(const MatmulArgs& p) {
  const bool big = matmul_fills_gpu(p, 128, 128);
  MatmulLaunch l{};
  switch (p.dtype) {  // <T, BM, BN, BK, STAGES>
    case DType::F32:
      l.kernel = big ? KB_KERNEL_REF(kb::matmul_08_async_pipeline_kernel<float, 128, 128, 16, 3>)
                     : KB_KERNEL_REF(kb::matmul_08_async_pipeline_kernel<float, 64, 64, 16, 3>);
      break;
    case DType::F16:
      l.kernel = big ? KB_KERNEL_REF(kb::matmul_08_async_pipeline_kernel<__half, 128, 128, 16, 3>)
                     : KB_KERNEL_REF(kb::matmul_08_async_pipeline_kernel<__half, 64, 64, 16, 3>);
      break;
    case DType::BF16:
      l.kernel = big ? KB_KERNEL_REF(kb::matmul_08_async_pipeline_kernel<__nv_bfloat16, 128, 128, 16, 3>)
                     : KB_KERNEL_REF(kb::matmul_08_async_pipeline_kernel<__nv_bfloat16, 64, 64, 16, 3>);
      break;
    default: break;
  }
  const int bm = big ? 128 : 64, bn = bm, bk = 16, stages = 3;
  l.block = dim3(big ? WarpTiling<128, 128>::THREADS : WarpTiling<64, 64>::THREADS);
  l.grid = matmul_grid(ceil_div(p.n, bn), ceil_div(p.m, bm), p.batch);
  l.shared_bytes = sizeof(float) * stages * bk * (bm + 4 + bn + 4);
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_08_async_pipeline, plan_08)
}  // namespace kb
#endif
