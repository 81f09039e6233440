// The GotoBLAS/BLIS structure shared by cpu_04 and cpu_05: vector traits, register micro-kernels,
// packing, and the loops around the micro-kernel.  A rung differs only in its Plan (register tile,
// blocking, prefetch), so 04 -> 05 shows what blocking derived from the machine buys.
//
//   for each batch, for jc in N by NC, for each group of KC slices of K:
//     pack B(group, jc:+NC) into NR-wide panels per slice (all threads share it, in L3; a group is
//       as many slices as fit the plan's KC x NC budget: one when N is large, all of K when small)
//     for each (MC-row block ic, chunk of NR panels) -- split across threads, dynamically:
//       for pc in the group's slices:
//         pack A(ic:+MC, pc:+KC) into MR-row micro-panels (one per thread, stays in its L2)
//         for jr in chunk: for ir in block: C(ir:+MR, jr:+NR) [+]= micro-kernel
//   The inner ir loop reuses one (KC x NR) B micro-panel from L1 for MC/MR micro-kernel calls.
// Transposes and ragged edges are resolved while packing, by zero padding (row-major A and
// transposed B by AVX2 register transposes); a ragged C tile goes through a small buffer, full
// tiles are written in place.
#pragma once
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "../../common/kb_error.h"
#include "../cpu_isa.h"
#include "matmul_cpu.h"

#define KB_GEMM_AVX2 __attribute__((target("avx2,fma")))
#define KB_GEMM_AVX512 __attribute__((target("avx512f")))
#define KB_GEMM_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline
#define KB_GEMM_AVX512_INLINE __attribute__((target("avx512f"), always_inline)) inline

namespace kb {
namespace packed {
using std::size_t;

// ---- one vector register of T, per ISA ---------------------------------------------------------
template <typename T> struct Ymm;  // AVX2: 256 bits, 16 registers
template <> struct Ymm<float> {
  using V = __m256;
  static constexpr int W = 8, REGS = 16;
  KB_GEMM_AVX2_INLINE static V zero() { return _mm256_setzero_ps(); }
  KB_GEMM_AVX2_INLINE static V load(const float* p) { return _mm256_loadu_ps(p); }
  KB_GEMM_AVX2_INLINE static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  KB_GEMM_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  KB_GEMM_AVX2_INLINE static V add(V a, V b) { return _mm256_add_ps(a, b); }
  KB_GEMM_AVX2_INLINE static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};
template <> struct Ymm<double> {
  using V = __m256d;
  static constexpr int W = 4, REGS = 16;
  KB_GEMM_AVX2_INLINE static V zero() { return _mm256_setzero_pd(); }
  KB_GEMM_AVX2_INLINE static V load(const double* p) { return _mm256_loadu_pd(p); }
  KB_GEMM_AVX2_INLINE static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  KB_GEMM_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  KB_GEMM_AVX2_INLINE static V add(V a, V b) { return _mm256_add_pd(a, b); }
  KB_GEMM_AVX2_INLINE static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
};
template <typename T> struct Zmm;  // AVX-512: 512 bits, 32 registers
template <> struct Zmm<float> {
  using V = __m512;
  static constexpr int W = 16, REGS = 32;
  KB_GEMM_AVX512_INLINE static V zero() { return _mm512_setzero_ps(); }
  KB_GEMM_AVX512_INLINE static V load(const float* p) { return _mm512_loadu_ps(p); }
  KB_GEMM_AVX512_INLINE static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  KB_GEMM_AVX512_INLINE static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  KB_GEMM_AVX512_INLINE static V add(V a, V b) { return _mm512_add_ps(a, b); }
  KB_GEMM_AVX512_INLINE static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
};
template <> struct Zmm<double> {
  using V = __m512d;
  static constexpr int W = 8, REGS = 32;
  KB_GEMM_AVX512_INLINE static V zero() { return _mm512_setzero_pd(); }
  KB_GEMM_AVX512_INLINE static V load(const double* p) { return _mm512_loadu_pd(p); }
  KB_GEMM_AVX512_INLINE static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  KB_GEMM_AVX512_INLINE static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  KB_GEMM_AVX512_INLINE static V add(V a, V b) { return _mm512_add_pd(a, b); }
  KB_GEMM_AVX512_INLINE static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
};

// ---- micro-kernels ------------------------------------------------------------------------------
// c (MR x NR, row stride ldc) = [c +] ap * bp, where ap is a packed (kc x MR) micro-panel of A
// (ap[q * MR + r] = A(r, q)) and bp a packed (kc x NR) panel of B (bp[q * NR + j] = B(q, j)),
// NR = NV vectors.  The MR x NV accumulators never leave registers during the k loop (MR*NV + NV B
// vectors + 1 broadcast <= the register file).  Per k step: NV loads of B, MR broadcasts of A,
// MR*NV independent FMAs -- at least FMA latency x ports (4 x 2 = 8 on current x86) of them.
// PF > 0: prefetch A into L1 PF k steps ahead, once per 64-byte line (A streams from L2; B is
// already in L1).  The k loop is unrolled by 4.  Written once, compiled per ISA:
#define KB_GEMM_MICROKERNEL(NAME, ATTR, TRAITS)                                                       \
  template <typename T, int MR, int NV, int PF>                                                      \
  ATTR void NAME(kb_int64 kc, const T* ap, const T* bp, T* c, kb_int64 ldc, bool accumulate) {      \
    using R = TRAITS<T>;                                                                             \
    using V = typename R::V;                                                                         \
    constexpr int NR = NV * R::W;                                                                    \
    static_assert(MR * NV + NV + 1 <= R::REGS, "the register tile does not fit the register file"); \
    V acc[MR][NV];                                                                                   \
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r) { /* C is read after the k loop */        \
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);                         \
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + NR - 1), _MM_HINT_T0);                \
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) acc[r][v] = R::zero();                    \
    }                                                                                                \
    constexpr int kLine = 64 / sizeof(T); /* elements of A per cache line */                        \
    _Pragma("GCC unroll 4") for (kb_int64 q = 0; q < kc; ++q, ap += MR, bp += NR) {                  \
      const int at = int((q * MR) % kLine); /* a line of A starts in this step: fetch PF ahead */    \
      if (PF > 0 && (MR >= kLine || at == 0 || at + MR > kLine))                                     \
        _mm_prefetch(reinterpret_cast<const char*>(ap + PF * MR + MR - 1), _MM_HINT_T0);             \
      V b[NV];                                                                                       \
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) b[v] = R::load(bp + v * R::W);            \
      _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r) {                                        \
        const V a = R::bcast(ap + r);                                                                \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) acc[r][v] = R::fma(a, b[v], acc[r][v]); \
      }                                                                                              \
    }                                                                                                \
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; ++r) {                                          \
      T* cp = c + r * ldc;                                                                           \
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v)                                           \
        R::store(cp + v * R::W, accumulate ? R::add(R::load(cp + v * R::W), acc[r][v]) : acc[r][v]); \
    }                                                                                                \
  }
KB_GEMM_MICROKERNEL(ukr_avx2, KB_GEMM_AVX2, Ymm)
KB_GEMM_MICROKERNEL(ukr_avx512, KB_GEMM_AVX512, Zmm)
#undef KB_GEMM_MICROKERNEL

template <typename T, int MR, int NR>  // portable: the compiler keeps what it can in registers
void ukr_scalar(kb_int64 kc, const T* ap, const T* bp, T* c, kb_int64 ldc, bool accumulate) {
  T acc[MR][NR] = {};
  for (kb_int64 q = 0; q < kc; ++q, ap += MR, bp += NR)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) acc[r][j] += ap[r] * bp[j];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

// ---- a rung's plan ---------------------------------------------------------------------------------
template <typename T>
struct Plan {
  int mr, nr;           // register tile of C (MR x NR)
  kb_int64 kc, mc, nc;  // largest blocks: (KC x NR) B micro-panel in L1, (MC x KC) A block in L2,
                        // (KC x NC) B block in L3; mc a multiple of mr, nc of nr
  void (*ukr)(kb_int64, const T*, const T*, T*, kb_int64, bool);
  const char* isa;
};

// Packing buffers are kept per thread and only ever grow: a fresh 1 MB buffer per call would be
// mmap'ed and page-faulted in again every time, which costs more than a small matmul itself.
enum Scratch { kBBlock = 0, kABlock = 1, kEdge = 2 };
template <typename T>
T* scratch(Scratch slot, size_t count) {  // 64-byte aligned, uninitialized; nullptr when out of memory
  struct Buffer {
    void* p = nullptr;
    size_t bytes = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buffers[3];
  Buffer& b = buffers[slot];
  const size_t need = (count * sizeof(T) + 63) / 64 * 64;
  if (need > b.bytes) {
    std::free(b.p);
    b.p = std::aligned_alloc(64, need > 0 ? need : 64);
    b.bytes = b.p ? need : 0;
  }
  return static_cast<T*>(b.p);
}

// ---- packing ----------------------------------------------------------------------------------------
// dst[q * w + i] = src[i * ld + q] for i < w, q < kc: w rows of a matrix, interleaved k step by k
// step (A micro-panels from a row-major A, B panels from a transposed B).  AVX2 8x8 (fp32) / 4x4
// (fp64) register transposes, `w` rows in groups of the vector width; the k tail is scalar.
KB_GEMM_AVX2_INLINE void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]), t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}
KB_GEMM_AVX2_INLINE void transpose4(__m256d r[4]) {
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  r[0] = _mm256_permute2f128_pd(t0, t2, 0x20), r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2] = _mm256_permute2f128_pd(t0, t2, 0x31), r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}
KB_GEMM_AVX2_INLINE void store_first(float* d, __m256 v, int n) {  // lanes 0..n-1 (no masked store:
  if (n == 8) return _mm256_storeu_ps(d, v);                        // slow on AMD)
  __m128 x = _mm256_castps256_ps128(v);
  if (n >= 4) _mm_storeu_ps(d, x), x = _mm256_extractf128_ps(v, 1), d += 4, n -= 4;
  if (n >= 2) _mm_storel_pi(reinterpret_cast<__m64*>(d), x), x = _mm_movehl_ps(x, x), d += 2, n -= 2;
  if (n == 1) _mm_store_ss(d, x);
}
KB_GEMM_AVX2_INLINE void store_first(double* d, __m256d v, int n) {
  if (n == 4) return _mm256_storeu_pd(d, v);
  __m128d x = _mm256_castpd256_pd128(v);
  if (n >= 2) _mm_storeu_pd(d, x), x = _mm256_extractf128_pd(v, 1), d += 2, n -= 2;
  if (n == 1) _mm_store_sd(d, x);
}
KB_GEMM_AVX2 inline void interleave_rows_avx2(const float* src, kb_int64 ld, kb_int64 kc, int w, float* dst) {
  kb_int64 q = 0;
  for (; q + 8 <= kc; q += 8)
    for (int g = 0; g < w; g += 8) {
      const int n = std::min(8, w - g);
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = i < n ? _mm256_loadu_ps(src + (g + i) * ld + q) : _mm256_setzero_ps();
      transpose8(r);
      for (int j = 0; j < 8; ++j) store_first(dst + (q + j) * w + g, r[j], n);
    }
  for (; q < kc; ++q)
    for (int i = 0; i < w; ++i) dst[q * w + i] = src[i * ld + q];
}
KB_GEMM_AVX2 inline void interleave_rows_avx2(const double* src, kb_int64 ld, kb_int64 kc, int w, double* dst) {
  kb_int64 q = 0;
  for (; q + 4 <= kc; q += 4)
    for (int g = 0; g < w; g += 4) {
      const int n = std::min(4, w - g);
      __m256d r[4];
      for (int i = 0; i < 4; ++i) r[i] = i < n ? _mm256_loadu_pd(src + (g + i) * ld + q) : _mm256_setzero_pd();
      transpose4(r);
      for (int j = 0; j < 4; ++j) store_first(dst + (q + j) * w + g, r[j], n);
    }
  for (; q < kc; ++q)
    for (int i = 0; i < w; ++i) dst[q * w + i] = src[i * ld + q];
}
template <typename T>
void interleave_rows(const T* src, kb_int64 ld, kb_int64 kc, int w, T* dst) {
  if (cpu_isa() != CpuIsa::Scalar) return interleave_rows_avx2(src, ld, kc, w, dst);
  for (kb_int64 i = 0; i < w; ++i)
    for (kb_int64 q = 0; q < kc; ++q) dst[q * w + i] = src[i * ld + q];
}

// B(q0:q0+kc, j0:j0+cols) -> consecutive panels of NR columns; panel i is (kc x NR) row-major at
// dst + i * kc * NR, zero-padded.  A row-major B is read row by row across all the panels (runs of
// cols contiguous values, which the hardware prefetcher follows), not panel by panel (64 bytes a
// row, one row per page when ldb is large: 4 % of the whole multiply at 1024^3 went to those loads).
template <typename T>
void pack_b_panels(const MatmulArgs& p, const T* b, kb_int64 q0, kb_int64 kc, kb_int64 j0, kb_int64 cols,
                   int nr, T* dst) {
  const kb_int64 panels = (cols + nr - 1) / nr;
  if (!p.trans_b) {
    for (kb_int64 q = 0; q < kc; ++q) {
      const T* src = b + (q0 + q) * p.ldb + j0;
      for (kb_int64 jp = 0; jp < panels; ++jp) {
        const kb_int64 n = std::min<kb_int64>(nr, cols - jp * nr);
        T* d = dst + (jp * kc + q) * nr;
        std::memcpy(d, src + jp * nr, static_cast<size_t>(n) * sizeof(T));
        for (kb_int64 j = n; j < nr; ++j) d[j] = T(0);
      }
    }
    return;
  }
  for (kb_int64 jp = 0; jp < panels; ++jp) {  // B(q, j) = b[j * ldb + q]: each column contiguous in q
    const kb_int64 n = std::min<kb_int64>(nr, cols - jp * nr), jb = j0 + jp * nr;
    T* d = dst + jp * kc * nr;
    if (n == nr) {
      interleave_rows(b + jb * p.ldb + q0, p.ldb, kc, nr, d);
      continue;
    }
    for (kb_int64 j = 0; j < n; ++j) {
      const T* src = b + (jb + j) * p.ldb + q0;
      for (kb_int64 q = 0; q < kc; ++q) d[q * nr + j] = src[q];
    }
    for (kb_int64 q = 0; q < kc; ++q)
      for (kb_int64 j = n; j < nr; ++j) d[q * nr + j] = T(0);
  }
}

// A(i0:i0+rows, q0:q0+kc) -> one (kc x MR) micro-panel, rows >= `rows` zero-padded.
template <typename T>
void pack_a_panel(const MatmulArgs& p, const T* a, kb_int64 i0, kb_int64 rows, kb_int64 q0, kb_int64 kc,
                  int mr, T* dst) {
  if (p.trans_a) {  // A(i, q) = a[q * lda + i]: MR consecutive values per k step
    for (kb_int64 q = 0; q < kc; ++q) {
      const T* src = a + (q0 + q) * p.lda + i0;
      T* d = dst + q * mr;
      for (kb_int64 r = 0; r < rows; ++r) d[r] = src[r];
      for (kb_int64 r = rows; r < mr; ++r) d[r] = T(0);
    }
  } else if (rows == mr) {  // MR rows of A, each contiguous in q
    interleave_rows(a + i0 * p.lda + q0, p.lda, kc, mr, dst);
  } else {
    for (kb_int64 r = 0; r < rows; ++r) {
      const T* src = a + (i0 + r) * p.lda + q0;
      for (kb_int64 q = 0; q < kc; ++q) dst[q * mr + r] = src[q];
    }
    for (kb_int64 q = 0; q < kc; ++q)
      for (kb_int64 r = rows; r < mr; ++r) dst[q * mr + r] = T(0);
  }
}

// Start fetching what pack_a_panel will read for rows i0:i0+rows, k q0:q0+kc (one prefetch per
// line): issued one strip ahead, so the DRAM latency of short, strided row segments overlaps the
// packing of the strip before (it dominates when the segments are few lines long, as in
// tall-skinny products whose A streams from DRAM).
template <typename T>
void prefetch_a_panel(const MatmulArgs& p, const T* a, kb_int64 i0, kb_int64 rows, kb_int64 q0, kb_int64 kc) {
  constexpr kb_int64 kLine = 64 / sizeof(T);
  if (p.trans_a) {
    for (kb_int64 q = 0; q < kc; ++q) _mm_prefetch(reinterpret_cast<const char*>(a + (q0 + q) * p.lda + i0), _MM_HINT_T0);
  } else {
    for (kb_int64 r = 0; r < rows; ++r)
      for (kb_int64 q = 0; q < kc + kLine - 1; q += kLine)
        _mm_prefetch(reinterpret_cast<const char*>(a + (i0 + r) * p.lda + q0 + std::min(q, kc - 1)), _MM_HINT_T0);
  }
}

// n split into equal blocks of at most `most` (a multiple of `align`), rounded up to `align`;
// the number of blocks is rounded up to a multiple of `parts_multiple` (the thread count, so that
// the blocks share out evenly) when there are at least that many.
inline kb_int64 even_block(kb_int64 n, kb_int64 most, kb_int64 align, kb_int64 parts_multiple = 1) {
  kb_int64 parts = (n + most - 1) / most;
  if (parts >= parts_multiple) parts = (parts + parts_multiple - 1) / parts_multiple * parts_multiple;
  const kb_int64 size = (n + parts - 1) / parts;
  return std::min(most, (size + align - 1) / align * align);
}

// ---- the loops around the micro-kernel ---------------------------------------------------------------
constexpr kb_int64 kPackPanels = 8;  // B panels one packing task fills: rows of 8 x NR values read at once
template <typename T>
void gemm(const MatmulArgs& p, const Plan<T>& plan, const char* rung) {
  if (p.m <= 0 || p.n <= 0 || p.batch <= 0) return;
  if (p.k <= 0) {  // an empty sum: C = 0
    for (kb_int64 bt = 0; bt < p.batch; ++bt)
      for (kb_int64 i = 0; i < p.m; ++i) {
        T* row = static_cast<T*>(p.c) + bt * p.stride_c + i * p.ldc;
        std::fill(row, row + p.n, T(0));
      }
    return;
  }
  const double flops = 2.0 * double(p.m) * double(p.n) * double(p.k) * double(p.batch);
  const int threads = flops >= 4e6 ? omp_get_max_threads() : 1;
  const int mr = plan.mr, nr = plan.nr;
  // Equal blocks no larger than the plan's: no thin last K slice; at least two MC blocks per
  // thread where M allows (a slowed core then takes fewer), their count a multiple of the threads.
  const kb_int64 kcb = even_block(p.k, plan.kc, 1);
  const kb_int64 mc_share = (p.m + 2 * threads - 1) / (2 * threads);
  const kb_int64 mcb = even_block(p.m, std::min(plan.mc, (mc_share + mr - 1) / mr * mr), mr, threads);
  const kb_int64 ncb = even_block(p.n, plan.nc, nr);
  const kb_int64 npanels = (ncb + nr - 1) / nr;  // NR panels of a full NC block
  // K slices whose B blocks are packed together: as many as fit the plan's (KC x NC) budget.  With
  // all of K in one group (N small next to NC, e.g. tall-skinny), each thread runs through the
  // whole K for its A block, so A is read along its rows (page by page) and C stays in cache.
  const kb_int64 kslices = (p.k + kcb - 1) / kcb;
  const kb_int64 group = std::max<kb_int64>(1, std::min(kslices, plan.kc * plan.nc / (kcb * npanels * nr)));
  const size_t bpack_count = static_cast<size_t>(group * kcb * npanels * nr);
  T* const bpack = scratch<T>(kBBlock, bpack_count);
  if (bpack == nullptr) KB_THROW(rung << ": out of memory packing B (" << bpack_count * sizeof(T) << " bytes)");
  bool out_of_memory = false;  // set inside the parallel region (no exception may leave it)

#pragma omp parallel num_threads(threads)
  {
    T* const ablock = scratch<T>(kABlock, static_cast<size_t>(kcb * mcb));
    T* const edge = scratch<T>(kEdge, static_cast<size_t>(mr * nr));  // ragged C tiles go through here
    if (ablock == nullptr || edge == nullptr) {
#pragma omp atomic write
      out_of_memory = true;
    }
#pragma omp barrier
    bool skip;
#pragma omp atomic read
    skip = out_of_memory;
    const int nthreads = omp_get_num_threads();
    for (kb_int64 bt = 0; bt < (skip ? 0 : p.batch); ++bt) {  // skip is the same on every thread
      const T* a = static_cast<const T*>(p.a) + bt * p.stride_a;
      const T* b = static_cast<const T*>(p.b) + bt * p.stride_b;
      T* c = static_cast<T*>(p.c) + bt * p.stride_c;
      for (kb_int64 jc = 0; jc < p.n; jc += ncb) {
        const kb_int64 nc = std::min(ncb, p.n - jc);
        const kb_int64 jpanels = (nc + nr - 1) / nr;
        for (kb_int64 g0 = 0; g0 < kslices; g0 += group) {
          const kb_int64 g1 = std::min(kslices, g0 + group);
          auto slice_k = [&](kb_int64 sl) { return std::min(kcb, p.k - sl * kcb); };
          auto slice_b = [&](kb_int64 sl) { return bpack + (sl - g0) * kcb * npanels * nr; };
          const kb_int64 pchunks = (jpanels + kPackPanels - 1) / kPackPanels;  // B packed kPackPanels at a time
#pragma omp for collapse(2) schedule(static)
          for (kb_int64 sl = g0; sl < g1; ++sl)
            for (kb_int64 chunk = 0; chunk < pchunks; ++chunk) {
              const kb_int64 j0 = chunk * kPackPanels * nr;
              pack_b_panels(p, b, sl * kcb, slice_k(sl), jc + j0, std::min<kb_int64>(kPackPanels * nr, nc - j0), nr,
                            slice_b(sl) + chunk * kPackPanels * slice_k(sl) * nr);
            }
          // (implicit barrier: the whole B group is packed before anyone reads it)
          const kb_int64 mblocks = (p.m + mcb - 1) / mcb;
          // Few row blocks (small M): also split the NR panels so every thread gets work.
          const kb_int64 jchunks =
              std::min<kb_int64>(jpanels, std::max<kb_int64>(1, (2 * nthreads + mblocks - 1) / mblocks));
          const kb_int64 per_chunk = (jpanels + jchunks - 1) / jchunks;
          kb_int64 packed_block = -1, packed_slice = -1;  // the A block this thread holds packed
          // Dynamic, one A block per grab: a core that is slowed down (another process, a spinning
          // thread pool) takes fewer blocks instead of holding everyone up at the barrier.
#pragma omp for schedule(dynamic, jchunks)
          for (kb_int64 item = 0; item < mblocks * jchunks; ++item) {
            const kb_int64 ib = item / jchunks, jch = item % jchunks;
            const kb_int64 ic = ib * mcb, mrows = std::min(mcb, p.m - ic);
            const kb_int64 strips = (mrows + mr - 1) / mr;
            for (kb_int64 sl = g0; sl < g1; ++sl) {
              const kb_int64 pc = sl * kcb, kc = slice_k(sl);
              const bool accumulate = pc > 0;  // the first K slice overwrites C: no zero-fill pass
              if (packed_block != ib || packed_slice != sl) {
                for (kb_int64 s = 0; s < strips; ++s) {
                  if (s + 1 < strips)
                    prefetch_a_panel(p, a, ic + (s + 1) * mr, std::min<kb_int64>(mr, mrows - (s + 1) * mr), pc, kc);
                  pack_a_panel(p, a, ic + s * mr, std::min<kb_int64>(mr, mrows - s * mr), pc, kc, mr,
                               ablock + s * kc * mr);
                }
                packed_block = ib, packed_slice = sl;
              }
              const kb_int64 jp_end = std::min(jpanels, (jch + 1) * per_chunk);
              for (kb_int64 jp = jch * per_chunk; jp < jp_end; ++jp) {
                const kb_int64 j0 = jc + jp * nr, cols = std::min<kb_int64>(nr, p.n - j0);
                const T* bp = slice_b(sl) + jp * kc * nr;
                for (kb_int64 s = 0; s < strips; ++s) {
                  const kb_int64 i0 = ic + s * mr, rows = std::min<kb_int64>(mr, p.m - i0);
                  const T* ap = ablock + s * kc * mr;
                  T* ctile = c + i0 * p.ldc + j0;  // (MR, NR) tile of C
                  if (rows == mr && cols == nr) {
                    plan.ukr(kc, ap, bp, ctile, p.ldc, accumulate);
                    continue;
                  }
                  plan.ukr(kc, ap, bp, edge, nr, false);
                  for (kb_int64 r = 0; r < rows; ++r)
                    for (kb_int64 j = 0; j < cols; ++j)
                      ctile[r * p.ldc + j] = accumulate ? ctile[r * p.ldc + j] + edge[r * nr + j] : edge[r * nr + j];
                }
              }
            }
          }
          // (implicit barrier: nobody repacks B while another thread still reads it)
        }
      }
    }
  }
  if (out_of_memory) KB_THROW(rung << ": out of memory for the per-thread packing buffers");
}
}  // namespace packed
}  // namespace kb
