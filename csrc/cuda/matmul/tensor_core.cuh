// Tensor-core helpers of the matmul rungs 10-15: every PTX wrapper in one place, each with a host
// branch for the CPU SIMT executor (KB_SIM: csrc/sim/kbsim_tensor_core.h, kbsim_wmma.h), plus the
// shared-memory tile layouts and loaders the rungs share.  Helpers take pointers; the device
// branch converts them to shared-window addresses (__cvta_generic_to_shared).
//
//   sm_80+  : ldmatrix, mma.sync m16n8k16 (f16/bf16 -> f32), m16n8k8 (tf32 -> f32), cp.async
//   sm_90a  : mbarrier, TMA (cp.async.bulk.tensor), wgmma.mma_async, fence.proxy.async, setmaxnreg
//             (guarded by __CUDA_ARCH_FEAT_SM90_ALL; NOT emulated by the CPU executor)
#pragma once
#include "matmul_common.cuh"

#if defined(KB_SIM)
#include "../../sim/kbsim_tensor_core.h"
#include "../../sim/kbsim_wmma.h"
#else
#include <mma.h>
#endif

// cp.async (cp_async_16 / cp_async_commit / cp_async_wait<N>), with the executor's bookkeeping.
#include "cp_async.cuh"

// A kernel body compiled without the features it needs: fail loudly at launch (an illegal
// instruction: cudaErrorIllegalInstruction on the next synchronising call), never return garbage.
#if defined(__CUDA_ARCH__) && !defined(KB_SIM)
#define KB_ARCH_TRAP() asm volatile("trap;")
#else
#define KB_ARCH_TRAP() ((void)0)
#endif
// Under the executor each wrapper also takes its caller's file and line (defaulted parameters):
// diagnoses name the kernel's line, and the lanes of a collective must be at the same one.
#if defined(KB_SIM)
#define KB_HERE kb_file, kb_line
#define KB_SITE const char* kb_file = __builtin_FILE(), int kb_line = __builtin_LINE()
#define KB_SITE_ , KB_SITE
#else
#define KB_SITE
#define KB_SITE_
#endif
// Every arch-guarded wrapper below ends in `#elif defined(__CUDA_ARCH__)  KB_ARCH_TRAP();`: device
// code for an older architecture (e.g. only compute_75 PTX in the build) traps instead of leaving
// the registers unwritten.

namespace kb {
namespace tc {
typedef unsigned int u32;
// bf16 or fp16 operands (no <type_traits>: NVRTC-friendly).
template <typename T> struct IsBF16 { static constexpr bool value = false; };
template <> struct IsBF16<__nv_bfloat16> { static constexpr bool value = true; };

// ---- ldmatrix: 8x8 matrices of 16-bit elements, one 16-byte row address per lane -------------
// x4: lanes 8j .. 8j+7 address the rows of matrix j; register j of lane l gets row l/4, columns
// 2(l%4), 2(l%4)+1 of matrix j (.trans: column l/4, rows 2(l%4), 2(l%4)+1).
__device__ __forceinline__ void ldmatrix_x4(u32 (&r)[4], const void* row_ptr KB_SITE_) {
#if defined(KB_SIM)
  kbsim::require_shared(row_ptr, 16, "ldmatrix.x4", KB_HERE);
  kbsim::collective_site(KB_HERE);
  kbsim::tc::ldmatrix(r, 4, false, row_ptr, "ldmatrix.x4");
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"((u32)__cvta_generic_to_shared(row_ptr)));
#elif defined(__CUDA_ARCH__)
  KB_ARCH_TRAP();
#endif
}
__device__ __forceinline__ void ldmatrix_x4_trans(u32 (&r)[4], const void* row_ptr KB_SITE_) {
#if defined(KB_SIM)
  kbsim::require_shared(row_ptr, 16, "ldmatrix.x4.trans", KB_HERE);
  kbsim::collective_site(KB_HERE);
  kbsim::tc::ldmatrix(r, 4, true, row_ptr, "ldmatrix.x4.trans");
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"((u32)__cvta_generic_to_shared(row_ptr)));
#elif defined(__CUDA_ARCH__)
  KB_ARCH_TRAP();
#endif
}
__device__ __forceinline__ void ldmatrix_x2(u32 (&r)[2], const void* row_ptr KB_SITE_) {
#if defined(KB_SIM)
  kbsim::require_shared(row_ptr, 16, "ldmatrix.x2", KB_HERE);
  kbsim::collective_site(KB_HERE);
  kbsim::tc::ldmatrix(r, 2, false, row_ptr, "ldmatrix.x2");
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"((u32)__cvta_generic_to_shared(row_ptr)));
#elif defined(__CUDA_ARCH__)
  KB_ARCH_TRAP();
#endif
}
__device__ __forceinline__ void ldmatrix_x2_trans(u32 (&r)[2], const void* row_ptr KB_SITE_) {
#if defined(KB_SIM)
  kbsim::require_shared(row_ptr, 16, "ldmatrix.x2.trans", KB_HERE);
  kbsim::collective_site(KB_HERE);
  kbsim::tc::ldmatrix(r, 2, true, row_ptr, "ldmatrix.x2.trans");
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"((u32)__cvta_generic_to_shared(row_ptr)));
#elif defined(__CUDA_ARCH__)
  KB_ARCH_TRAP();
#endif
}

// ---- mma.sync ------------------------------------------------------------------------------
// D (16x8 f32) = A (16x16) * B (16x8) + C; A, B fp16 (T = __half) or bf16 (T = __nv_bfloat16).
template <typename T>
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const u32 (&a)[4], const u32 (&b)[2], const float (&c)[4]
                                             KB_SITE_) {
#if defined(KB_SIM)
  kbsim::collective_site(KB_HERE);
  kbsim::tc::mma_m16n8k16(d, a, b, c, IsBF16<T>::value ? kbsim::tc::Kind::BF16 : kbsim::tc::Kind::F16,
                          "mma.sync.m16n8k16");
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (IsBF16<T>::value) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%10, %11, %12, %13};\n"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
                   "f"(c[3]));
  } else {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
                 "{%10, %11, %12, %13};\n"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
                   "f"(c[3]));
  }
#elif defined(__CUDA_ARCH__)
  KB_ARCH_TRAP();
#endif
}

// D (16x8 f32) = A (16x8 tf32) * B (8x8 tf32) + C; operands are fp32 registers holding tf32.
__device__ __forceinline__ void mma_m16n8k8_tf32(float (&d)[4], const u32 (&a)[4], const u32 (&b)[2], const float (&c)[4]
                                                 KB_SITE_) {
#if defined(KB_SIM)
  kbsim::collective_site(KB_HERE);
  kbsim::tc::mma_m16n8k8_tf32(d, a, b, c);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%10, %11, %12, %13};\n"
               : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
                 "f"(c[3]));
#elif defined(__CUDA_ARCH__)
  KB_ARCH_TRAP();
#endif
}

// cvt.rna.tf32.f32: fp32 -> tf32 (round to nearest, ties away), as a 32-bit pattern.
__device__ __forceinline__ u32 to_tf32(float x) {
#if defined(KB_SIM)
  return kbsim::tc::cvt_rna_tf32(x);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  u32 r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
#elif defined(__CUDA_ARCH__)
  KB_ARCH_TRAP();
  return 0;
#else
  return 0;
#endif
}
__device__ __forceinline__ float tf32_round(float x) {
#if defined(KB_SIM)
  return kbsim::tc::bits_to_float(to_tf32(x));
#else
  return __uint_as_float(to_tf32(x));
#endif
}

// ---- shared-memory tile layouts --------------------------------------------------------------
// "Panel" tiles (rungs 11-14): an operand tile kept in the orientation it has in global memory,
// (OUTER, INNER) with INNER the contiguous dimension (a multiple of 64 16-bit elements), cut into
// INNER / 64 panels of (OUTER, 64): 128-byte rows, the layout a TMA box of {64, OUTER} writes.
// With SWZ, the 16-byte chunk c of row o is stored at chunk c ^ (o % 8) -- the 128-byte swizzle
// of TMA and wgmma (CU_TENSOR_MAP_SWIZZLE_128B): the 8 rows an ldmatrix phase reads at one
// logical chunk land in 8 different 16-byte bank groups.  Without it all 8 hit the same banks:
// an 8-way conflict per ldmatrix (rung 11's limit).
//
//     row o:   | c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7 |     (16-byte chunks, 8 elements each)
//   swizzled:  o=0: c0 c1 c2 c3 c4 c5 c6 c7
//              o=1: c1 c0 c3 c2 c5 c4 c7 c6
//              o=2: c2 c3 c0 c1 c6 c7 c4 c5   ... o=7: c7 c6 c5 c4 c3 c2 c1 c0
template <bool SWZ>
__device__ __forceinline__ int panel_offset(int outer, int o, int i) {
  const int chunk = (i & 63) >> 3;
  return (i >> 6) * outer * 64 + o * 64 + ((SWZ ? chunk ^ (o & 7) : chunk) << 3) + (i & 7);
}

// An operand's global view for the panel loaders: element (o, i) of the matrix is
// src[o * ld + i] (i contiguous), in range for o < o_lim, i < i_lim.
template <typename T>
struct GlobalView {
  const T* src;
  kb_int64 ld, o_lim, i_lim;
  bool vec;  // every row start 16-byte aligned: whole-chunk copies allowed
};

// Synchronous loader (rung 11): (OUTER, INNER) tile at (o0, i0) -> panel tile, zero outside.
// Consecutive threads take consecutive 16-byte chunks along a row: global reads coalesce.
template <typename T, int OUTER, int INNER, int THREADS, bool SWZ>
__device__ __forceinline__ void load_panel_tile(T* dst, const GlobalView<T>& g, kb_int64 o0, kb_int64 i0) {
  constexpr int CPR = INNER / 8, CHUNKS = OUTER * CPR;
  static_assert(INNER % 64 == 0 && CHUNKS % THREADS == 0, "whole panels, whole chunks per thread");
#pragma unroll
  for (int c = threadIdx.x; c < CHUNKS; c += THREADS) {
    const int o = c / CPR, i = (c % CPR) * 8;
    const kb_int64 go = o0 + o, gi = i0 + i;
    uint4 v;
    if (g.vec && go < g.o_lim && gi + 8 <= g.i_lim) {
      v = *reinterpret_cast<const uint4*>(g.src + go * g.ld + gi);
    } else {
      alignas(16) T e[8];  // read back as one 16-byte vector
#pragma unroll
      for (int k = 0; k < 8; ++k) e[k] = (go < g.o_lim && gi + k < g.i_lim) ? g.src[go * g.ld + gi + k] : from_acc<T>(0.f);
      v = *reinterpret_cast<const uint4*>(e);
    }
    *reinterpret_cast<uint4*>(dst + panel_offset<SWZ>(OUTER, o, i)) = v;
  }
}

// Asynchronous loader (rung 12): the same tile by cp.async 16-byte copies that zero-fill past the
// edge; rows that are not 16-byte aligned fall back to element loads and shared stores.
template <typename T, int OUTER, int INNER, int THREADS, bool SWZ>
__device__ __forceinline__ void load_panel_tile_async(T* dst, const GlobalView<T>& g, kb_int64 o0, kb_int64 i0) {
  constexpr int CPR = INNER / 8, CHUNKS = OUTER * CPR;
  static_assert(INNER % 64 == 0 && CHUNKS % THREADS == 0, "whole panels, whole chunks per thread");
#pragma unroll
  for (int c = threadIdx.x; c < CHUNKS; c += THREADS) {
    const int o = c / CPR, i = (c % CPR) * 8;
    const kb_int64 go = o0 + o, gi = i0 + i;
    T* d = dst + panel_offset<SWZ>(OUTER, o, i);
    if (g.vec) {
      const kb_int64 left = go < g.o_lim ? g.i_lim - gi : 0;
      const int n = left >= 8 ? 8 : (left > 0 ? (int)left : 0);
      cp_async_16(d, n > 0 ? g.src + go * g.ld + gi : g.src, 2 * n);
    } else {
      alignas(16) T e[8];  // read back as one 16-byte vector
#pragma unroll
      for (int k = 0; k < 8; ++k) e[k] = (go < g.o_lim && gi + k < g.i_lim) ? g.src[go * g.ld + gi + k] : from_acc<T>(0.f);
      *reinterpret_cast<uint4*>(d) = *reinterpret_cast<const uint4*>(e);
    }
  }
}

// Fragments of a 16x16 block of A at (m, k) and of a 16(k) x 16(n) block of B at (k, n) from
// panel tiles, in either orientation.
//   A K-contiguous (outer m, inner k): ldmatrix.x4,       lane l -> row m + l%16, column k + 8 (l/16)
//   A M-contiguous (outer k, inner m): ldmatrix.x4.trans, lane l -> row k + l%8 + 8 (l/16), column m + 8 ((l/8)%2)
//   B K-contiguous (outer n, inner k): ldmatrix.x4,       lane l -> row n + l%8 + 8 (l/16), column k + 8 ((l/8)%2)
//   B N-contiguous (outer k, inner n): ldmatrix.x4.trans, lane l -> row k + l%8 + 8 ((l/8)%2), column n + 8 (l/16)
// b[0..1]: the n8 tile at n, b[2..3]: the one at n + 8.
template <bool SWZ, typename T>
__device__ __forceinline__ void load_a_frag(u32 (&a)[4], const T* tile, bool k_contig, int outer, int m, int k) {
  const int l = threadIdx.x % 32;
  if (k_contig) ldmatrix_x4(a, tile + panel_offset<SWZ>(outer, m + (l & 15), k + ((l >> 4) << 3)));
  else ldmatrix_x4_trans(a, tile + panel_offset<SWZ>(outer, k + (l & 7) + ((l >> 4) << 3), m + (((l >> 3) & 1) << 3)));
}
template <bool SWZ, typename T>
__device__ __forceinline__ void load_b_frag(u32 (&b)[4], const T* tile, bool k_contig, int outer, int k, int n) {
  const int l = threadIdx.x % 32;
  if (k_contig) ldmatrix_x4(b, tile + panel_offset<SWZ>(outer, n + (l & 7) + ((l >> 4) << 3), k + (((l >> 3) & 1) << 3)));
  else ldmatrix_x4_trans(b, tile + panel_offset<SWZ>(outer, k + (l & 7) + (((l >> 3) & 1) << 3), n + ((l >> 4) << 3)));
}

// K-major tiles (rungs 10, 15): dst[r * LDS + q] = X(r0 + r, k0 + q), where X(r, q) is
// src[r * ld + q] (k_contig) or src[q * ld + r]; zero outside (r_lim, k_lim).  Threads walk the
// contiguous direction; 16-byte loads where rows are aligned and K-contiguous.  ROUND_TF32
// stores fp32 values already rounded to tf32 (cvt.rna once per element, not once per use).
template <typename T, int ROWS, int BK, int LDS, int THREADS, bool ROUND_TF32 = false>
__device__ __forceinline__ void load_kmajor_tile(T* dst, const T* src, kb_int64 ld, bool k_contig, bool vec,
                                                 kb_int64 r0, kb_int64 k0, kb_int64 r_lim, kb_int64 k_lim) {
  constexpr int VW = 16 / int(sizeof(T));
  static_assert(BK % VW == 0 && (LDS * sizeof(T)) % 16 == 0, "16-byte chunks along K, 16-byte aligned rows");
  auto put = [&](int r, int q, T v) {
    if constexpr (ROUND_TF32) v = tf32_round(v);
    dst[r * LDS + q] = v;
  };
  const T zero = from_acc<T>(0.f);
  if (k_contig) {
    for (int c = threadIdx.x; c < ROWS * (BK / VW); c += THREADS) {
      const int r = c / (BK / VW), q = (c % (BK / VW)) * VW;
      const kb_int64 gr = r0 + r, gq = k0 + q;
      if (vec && gr < r_lim && gq + VW <= k_lim) {
        uint4 v = *reinterpret_cast<const uint4*>(src + gr * ld + gq);
        if constexpr (ROUND_TF32) {  // rounded in registers, stored as one 16-byte access (4 scalar
          T* e = reinterpret_cast<T*>(&v);  // stores 16 bytes apart were 4-way bank conflicts)
#pragma unroll
          for (int k = 0; k < VW; ++k) e[k] = tf32_round(e[k]);
        }
        *reinterpret_cast<uint4*>(dst + r * LDS + q) = v;
      } else {
#pragma unroll
        for (int k = 0; k < VW; ++k) put(r, q + k, (gr < r_lim && gq + k < k_lim) ? src[gr * ld + gq + k] : zero);
      }
    }
  } else {
    for (int c = threadIdx.x; c < ROWS * BK; c += THREADS) {
      const int q = c / ROWS, r = c % ROWS;
      const kb_int64 gr = r0 + r, gq = k0 + q;
      put(r, q, (gr < r_lim && gq < k_lim) ? src[gq * ld + gr] : zero);
    }
  }
}

// ---- epilogue: a warp's m16n8 accumulator tiles to C, bounds-checked ----------------------------
// acc[i][j][*] is the m16n8 tile at (row + 16 i, col + 8 j); element e sits at
// (g + 8 (e / 2), 2 t + e % 2).
template <typename T, int MI, int NJ>
__device__ __forceinline__ void store_acc(const MatmulArgs& p, T* c, const float (&acc)[MI][NJ][4], kb_int64 row,
                                          kb_int64 col) {
  const int l = threadIdx.x % 32, g = l >> 2, t = l & 3;
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NJ; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const kb_int64 r = row + 16 * i + g + 8 * (e >> 1), cc = col + 8 * j + 2 * t + (e & 1);
        if (r < p.m && cc < p.n) c[r * p.ldc + cc] = from_acc<T>(acc[i][j][e]);
      }
}
}  // namespace tc
}  // namespace kb

// ================================= Hopper (sm_90a) =============================================
// Device code where the compiler targets sm_90a, and the CPU SIMT executor's model of it (KB_SIM:
// csrc/sim/kbsim_hopper.h).  Elsewhere (sm_80, plain sm_90, sm_100 ...) these helpers do not exist:
// the sm_90a rungs' kernel bodies then trap (KB_SM90A_MISSING), and their launchers refuse other
// devices with a reason.
#if defined(KB_SIM) || (defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL))
#define KB_SM90A 1
#if defined(KB_SIM)
#include "../../sim/kbsim_hopper.h"
#endif
namespace kb {
namespace sm90 {
typedef unsigned int u32;
typedef unsigned long long u64;
#if defined(KB_SIM)
inline u32 smem(const void* p, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return kbsim::hopper::smem_addr(p, f, l);
}
#else
__device__ __forceinline__ u32 smem(const void* p) { return (u32)__cvta_generic_to_shared(p); }
#endif

// mbarrier: a 64-bit shared-memory barrier with an arrival count and a transaction (byte) count;
// a phase completes when both reach zero, and waiters test the phase's parity.
__device__ __forceinline__ void mbar_init(u64* bar, u32 count KB_SITE_) {
#if defined(KB_SIM)
  kbsim::hopper::mbar_init(bar, count, KB_HERE);
#else
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem(bar)), "r"(count) : "memory");
#endif
}
// Make the initialised barriers visible to the async proxy (TMA) before first use.
__device__ __forceinline__ void fence_barrier_init() {
#if defined(KB_SIM)
  kbsim::hopper::fence_barrier_init();
#else
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void mbar_arrive_expect_tx(u64* bar, u32 bytes KB_SITE_) {
#if defined(KB_SIM)
  kbsim::hopper::mbar_arrive(bar, true, bytes, KB_HERE);
#else
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem(bar)), "r"(bytes) : "memory");
#endif
}
__device__ __forceinline__ void mbar_arrive(u64* bar KB_SITE_) {
#if defined(KB_SIM)
  kbsim::hopper::mbar_arrive(bar, false, 0, KB_HERE);
#else
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem(bar)) : "memory");
#endif
}
__device__ __forceinline__ void mbar_wait(u64* bar, u32 parity KB_SITE_) {
#if defined(KB_SIM)
  kbsim::hopper::mbar_wait(bar, parity, KB_HERE);
#else
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "WAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      "@!p bra WAIT_%=;\n"
      "}\n" ::"r"(smem(bar)),
      "r"(parity)
      : "memory");
#endif
}
// TMA: one box of a 3-D tensor map (inner, outer, batch) into shared memory; completion is
// signalled on `bar` as transaction bytes.
__device__ __forceinline__ void tma_load_3d(void* dst, const void* tmap, u64* bar, int c0, int c1, int c2 KB_SITE_) {
#if defined(KB_SIM)
  const int c[3] = {c0, c1, c2};
  kbsim::hopper::tma_load(dst, tmap, bar, 3, c, KB_HERE);
#else
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(
          smem(dst)),
      "l"(tmap), "r"(c0), "r"(c1), "r"(c2), "r"(smem(bar))
      : "memory");
#endif
}
// Generic-proxy shared-memory writes -> visible to the async proxy (wgmma / TMA reads).
__device__ __forceinline__ void fence_proxy_async() {
#if defined(KB_SIM)
  kbsim::hopper::fence_proxy_async();
#else
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// wgmma shared-memory matrix descriptor (PTX ISA "Matrix Descriptor Format"): start address,
// leading and stride byte offsets (>> 4), swizzle mode 1 = 128-byte.  Tiles are 1024-byte aligned
// so the base-offset field stays 0.
__device__ __forceinline__ u64 desc_sw128(const void* p, u32 lbo_bytes, u32 sbo_bytes) {
  u64 d = 0;
  d |= (u64)((smem(p) & 0x3FFFF) >> 4);
  d |= (u64)((lbo_bytes & 0x3FFFF) >> 4) << 16;
  d |= (u64)((sbo_bytes & 0x3FFFF) >> 4) << 32;
  d |= 1ull << 62;
  return d;
}

__device__ __forceinline__ void wgmma_fence(KB_SITE) {
#if defined(KB_SIM)
  kbsim::hopper::wgmma_fence(KB_HERE);
#else
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmma_commit(KB_SITE) {
#if defined(KB_SIM)
  kbsim::hopper::wgmma_commit(KB_HERE);
#else
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void wgmma_wait(KB_SITE) {
#if defined(KB_SIM)
  kbsim::hopper::wgmma_wait(N, KB_HERE);
#else
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}
// Keep the accumulators in place across asynchronous wgmma (no copies the compiler may move).
template <int R>
__device__ __forceinline__ void fence_regs(float (&d)[R]) {
#if !defined(KB_SIM)  // the executor's wgmma writes the registers' memory: nothing to pin
#pragma unroll
  for (int i = 0; i < R; ++i) asm volatile("" : "+f"(d[i])::"memory");
#else
  (void)d;
#endif
}

#define KB_WG_D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
// D (64 x 128 f32, 64 registers per thread of the warpgroup) += A (64x16) * B (16x128), both from
// shared memory.  scale_d 0 overwrites D.  TA / TB: the operand is MN-major (transposed).
template <typename T, int TA, int TB>
__device__ __forceinline__ void wgmma_m64n128k16(float (&d)[64], u64 desc_a, u64 desc_b, int scale_d KB_SITE_) {
#if defined(KB_SIM)
  kbsim::hopper::wgmma(d, 128, desc_a, desc_b, scale_d, tc::IsBF16<T>::value, TA, TB, KB_HERE);
#else
  if constexpr (tc::IsBF16<T>::value) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
        "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
        "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "%64, %65, p, 1, 1, %67, %68;\n}\n"
        : KB_WG_D8(0), KB_WG_D8(8), KB_WG_D8(16), KB_WG_D8(24), KB_WG_D8(32), KB_WG_D8(40), KB_WG_D8(48), KB_WG_D8(56)
        : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TA), "n"(TB));
  } else {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
        "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
        "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "%64, %65, p, 1, 1, %67, %68;\n}\n"
        : KB_WG_D8(0), KB_WG_D8(8), KB_WG_D8(16), KB_WG_D8(24), KB_WG_D8(32), KB_WG_D8(40), KB_WG_D8(48), KB_WG_D8(56)
        : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TA), "n"(TB));
  }
#endif
}
#undef KB_WG_D8
// Registers per thread: give some up (producer) or take them (consumers).  Needs a register cap
// at kernel entry (__launch_bounds__(threads, 1)).
template <int R>
__device__ __forceinline__ void setmaxnreg_dec(KB_SITE) {
#if defined(KB_SIM)
  kbsim::hopper::setmaxnreg(false, R, KB_HERE);
#else
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
#endif
}
template <int R>
__device__ __forceinline__ void setmaxnreg_inc(KB_SITE) {
#if defined(KB_SIM)
  kbsim::hopper::setmaxnreg(true, R, KB_HERE);
#else
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
#endif
}
}  // namespace sm90
}  // namespace kb
#endif

// ---- shared by the sm_90a rungs: accumulator layout of wgmma m64nNk16 --------------------------
// Thread x of the warpgroup (warp w = x / 32, lane l): register r holds row 16 w + l/4 + 8 ((r/2) % 2),
// column 8 (r / 4) + 2 (l % 4) + r % 2.
namespace kb {
namespace sm90 {
template <typename T, int R>
__device__ __forceinline__ void store_wgmma_acc(const MatmulArgs& p, T* c, const float (&d)[R], kb_int64 row0,
                                                kb_int64 col0) {
  const int x = threadIdx.x % 128, w = x / 32, l = x % 32;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const kb_int64 row = row0 + 16 * w + (l >> 2) + 8 * ((r >> 1) & 1);
    const kb_int64 col = col0 + 8 * (r >> 2) + 2 * (l & 3) + (r & 1);
    if (row < p.m && col < p.n) c[row * p.ldc + col] = from_acc<T>(d[r]);
  }
}
}  // namespace sm90
}  // namespace kb

// ---- host side of the sm_90a rungs: architecture check and TMA tensor maps ---------------------
#if !defined(__CUDACC_RTC__)
#include <cuda.h>  // CUtensorMap and its enums only: the driver entry point is fetched at run time
#include "../../common/kb_cuda.cuh"

namespace kb {
namespace sm90 {
// Throws kb::ArgumentError unless `kernel` has sm_90a code in this build (a build without 9.0a
// would otherwise run a body that traps): a fact of the build, not of the table line.  The device
// itself (sm_90 exactly: sm_90a's wgmma, TMA and setmaxnreg are not forward-compatible) is the
// line's min_arch 90, checked by the dispatcher (kb_tables.cpp) before the launcher runs.  The
// CPU executor models sm_90a.
inline void require_sm90a_code(const char* rung, const void* kernel) {
#if defined(KB_SIM)
  (void)rung; (void)kernel;
#else
  cudaFuncAttributes fa;
  KB_CUDA_CHECK(cudaFuncGetAttributes(&fa, kernel));
  KB_REQUIRE(fa.binaryVersion == 90, "impl: '" << rung << "' needs sm_90a code, and this build has none for it "
                                               << "(binary version " << fa.binaryVersion
                                               << "; build with TORCH_CUDA_ARCH_LIST including 9.0a)");
#endif
}

typedef CUresult (*EncodeTiledFn)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                  const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                  CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

// cuTensorMapEncodeTiled from the driver the runtime already loaded (libcuda is not linked).
inline EncodeTiledFn encode_tiled() {
  static EncodeTiledFn fn = [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q = cudaDriverEntryPointSymbolNotFound;
    KB_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
    if (q != cudaDriverEntryPointSuccess || p == nullptr) KB_THROW("cuTensorMapEncodeTiled not found in the CUDA driver");
    return reinterpret_cast<EncodeTiledFn>(p);
  }();
  return fn;
}

// The parameter block of the sm_90a kernels (passed as a __grid_constant__: the tensor maps
// must live in parameter / constant space for TMA).  *_kmajor: the operand's rows run along K
// (A not transposed, B transposed); *_batched: the tensor map has a batch dimension.
struct Sm90Args {
  CUtensorMap ta, tb;
  MatmulArgs p;
  int a_kmajor, b_kmajor, a_batched, b_batched;
};

// Whether cuTensorMapEncodeTiled accepts make_tmap's map of a 16-bit operand: what the driver
// checks (base 16-byte aligned; every byte stride a multiple of 16 and below 2^40; every dimension
// in 1..2^32), so that an operand it would reject falls back instead of throwing.  The batch stride
// counts only when make_tmap uses it (batch > 1, stride != 0).
inline bool tma_ok(const void* base, kb_int64 inner, kb_int64 outer, kb_int64 ld, kb_int64 batch, kb_int64 stride) {
  const kb_int64 kMaxStride = (kb_int64)1 << 40, kMaxDim = (kb_int64)1 << 32;
  auto stride_ok = [&](kb_int64 elems) { return elems > 0 && elems * 2 % 16 == 0 && elems < kMaxStride / 2; };
  const bool batched = batch > 1 && stride != 0;
  return (reinterpret_cast<std::uintptr_t>(base) & 15u) == 0 && inner >= 1 && inner <= kMaxDim && outer >= 1 &&
         outer <= kMaxDim && batch <= kMaxDim && stride_ok(ld) && (batched ? stride_ok(stride) : stride_ok(ld * outer));
}
// Both operands of a problem, as make_args maps them (A K-major unless trans_a; B K-major if trans_b).
inline bool tma_ok(const MatmulArgs& p) {
  return tma_ok(p.a, p.trans_a ? p.m : p.k, p.trans_a ? p.k : p.m, p.lda, p.batch, p.stride_a) &&
         tma_ok(p.b, p.trans_b ? p.k : p.n, p.trans_b ? p.n : p.k, p.ldb, p.batch, p.stride_b);
}

// A 16-bit operand as a 3-D tensor (inner, outer, batch): element (i, o, z) at
// base[z * stride + o * ld + i]; boxes of (64, box_outer) with the 128-byte swizzle, zero fill
// outside.  A batch stride of 0 (broadcast) becomes a batch dimension of 1 (coordinate 0).
inline CUtensorMap make_tmap(DType dt, const void* base, kb_int64 inner, kb_int64 outer, kb_int64 ld,
                             kb_int64 batch, kb_int64 stride, unsigned box_outer) {
  const kb_int64 nb = (batch > 1 && stride != 0) ? batch : 1;
  const cuuint64_t dims[3] = {(cuuint64_t)inner, (cuuint64_t)outer, (cuuint64_t)nb};
  const cuuint64_t strides[2] = {(cuuint64_t)ld * 2, (cuuint64_t)(nb > 1 ? stride : ld * outer) * 2};
  const cuuint32_t box[3] = {64, box_outer, 1}, estr[3] = {1, 1, 1};
  CUtensorMap m;
  const CUresult r = encode_tiled()(&m, dt == DType::BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                                    3, const_cast<void*>(base), dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                    CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                    CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
#if defined(KB_SIM)
  if (r != CUDA_SUCCESS) KB_THROW("cuTensorMapEncodeTiled failed (CUresult " << int(r) << "): " << kbsim::hopper::last_encode_error());
#else
  if (r != CUDA_SUCCESS) KB_THROW("cuTensorMapEncodeTiled failed (CUresult " << int(r) << ")");
#endif
  return m;
}

// The parameter block of rungs 13 and 14 for a problem: operand majorness, batch flags and the two
// tensor maps.  A: K-major boxes of (64 k, 128 m) or M-major (64 m, 64 k); B: K-major boxes of
// (64 k, b_box_n n) or N-major (64 n, 64 k).
inline Sm90Args make_args(const MatmulArgs& p, unsigned b_box_n) {
  Sm90Args q;
  q.p = p;
  q.a_kmajor = !p.trans_a;
  q.b_kmajor = p.trans_b;
  q.a_batched = p.batch > 1 && p.stride_a != 0;
  q.b_batched = p.batch > 1 && p.stride_b != 0;
  q.ta = q.a_kmajor ? make_tmap(p.dtype, p.a, p.k, p.m, p.lda, p.batch, p.stride_a, 128)
                    : make_tmap(p.dtype, p.a, p.m, p.k, p.lda, p.batch, p.stride_a, 64);
  q.tb = q.b_kmajor ? make_tmap(p.dtype, p.b, p.k, p.n, p.ldb, p.batch, p.stride_b, b_box_n)
                    : make_tmap(p.dtype, p.b, p.n, p.k, p.ldb, p.batch, p.stride_b, 64);
  return q;
}
}  // namespace sm90
}  // namespace kb
#endif
