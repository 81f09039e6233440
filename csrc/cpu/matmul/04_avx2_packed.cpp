// cpu_04_avx2_packed: 03 + the GotoBLAS/BLIS structure.  A (KC x NC) block of B is packed into
// NR-wide panels (shared by the cores, in L3), an (MC x KC) block of A into MR-row micro-panels
// (one per core, in L2); one (KC x NR) B micro-panel then stays in L1 while MC/MR micro-kernel calls
// sweep the A block.  Transposes and ragged edges are resolved while packing, by zero padding.  The
// register micro-kernel holds an (MR x NR) tile of C in vector registers: per k step NR/W loads of
// B, MR broadcasts of A, MR*NR/W FMAs.  OpenMP splits the MC-row blocks (and, for small M, the
// panels) across the cores, dynamically, one A block per grab.
// Run-time ISA dispatch (target attributes, no global -mavx2): AVX2+FMA 6x16 fp32 / 6x8 fp64; on
// AVX-512 CPUs 12x32 / 12x16; a portable scalar micro-kernel otherwise.  KB_CPU_ISA=avx2|scalar
// caps the choice.
// Limits: no hand-scheduled assembly; blocking constants (KC 256, MC 96, NC 1024 on AVX2) tuned on
// one 2-core EPYC (32 KB L1d, 512 KB L2 per core).  Preconditions: none (any M, N, K, ld, transpose,
// batch).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "../../common/kb_error.h"
#include "../cpu_isa.h"
#include "matmul_cpu.h"

#define KB_AVX2 __attribute__((target("avx2,fma")))
#define KB_AVX512 __attribute__((target("avx512f")))
#define KB_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline
#define KB_AVX512_INLINE __attribute__((target("avx512f"), always_inline)) inline

namespace kb {
namespace {

// ---- one vector register of T, per ISA ---------------------------------------------------------
template <typename T> struct Ymm;  // AVX2: 256 bits
template <> struct Ymm<float> {
  using V = __m256;
  static constexpr int W = 8;
  KB_AVX2_INLINE static V zero() { return _mm256_setzero_ps(); }
  KB_AVX2_INLINE static V load(const float* p) { return _mm256_loadu_ps(p); }
  KB_AVX2_INLINE static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  KB_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  KB_AVX2_INLINE static V add(V a, V b) { return _mm256_add_ps(a, b); }
  KB_AVX2_INLINE static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};
template <> struct Ymm<double> {
  using V = __m256d;
  static constexpr int W = 4;
  KB_AVX2_INLINE static V zero() { return _mm256_setzero_pd(); }
  KB_AVX2_INLINE static V load(const double* p) { return _mm256_loadu_pd(p); }
  KB_AVX2_INLINE static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  KB_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  KB_AVX2_INLINE static V add(V a, V b) { return _mm256_add_pd(a, b); }
  KB_AVX2_INLINE static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
};
template <typename T> struct Zmm;  // AVX-512: 512 bits
template <> struct Zmm<float> {
  using V = __m512;
  static constexpr int W = 16;
  KB_AVX512_INLINE static V zero() { return _mm512_setzero_ps(); }
  KB_AVX512_INLINE static V load(const float* p) { return _mm512_loadu_ps(p); }
  KB_AVX512_INLINE static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  KB_AVX512_INLINE static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  KB_AVX512_INLINE static V add(V a, V b) { return _mm512_add_ps(a, b); }
  KB_AVX512_INLINE static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
};
template <> struct Zmm<double> {
  using V = __m512d;
  static constexpr int W = 8;
  KB_AVX512_INLINE static V zero() { return _mm512_setzero_pd(); }
  KB_AVX512_INLINE static V load(const double* p) { return _mm512_loadu_pd(p); }
  KB_AVX512_INLINE static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  KB_AVX512_INLINE static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  KB_AVX512_INLINE static V add(V a, V b) { return _mm512_add_pd(a, b); }
  KB_AVX512_INLINE static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
};

// ---- micro-kernels ------------------------------------------------------------------------------
// c (MR x NR, row stride ldc) = [c +] ap * bp, where ap is a packed (kc x MR) micro-panel of A
// (ap[q * MR + r] = A(r, q)) and bp a packed (kc x NR) panel of B (bp[q * NR + j] = B(q, j)).
// The MR x NR/W accumulators never leave registers during the k loop.
using std::size_t;

template <typename T, int MR>  // NR = 2 * 8 fp32 / 2 * 4 fp64: 2*MR + 3 of the 16 ymm registers
KB_AVX2 void ukr_avx2(kb_int64 kc, const T* ap, const T* bp, T* c, kb_int64 ldc, bool accumulate) {
  using R = Ymm<T>;
  using V = typename R::V;
  constexpr int NV = 2, NR = NV * R::W;
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {  // C is read only after the k loop: start fetching it now
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + NR - 1), _MM_HINT_T0);
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = R::zero();
#pragma GCC unroll 4
  for (kb_int64 q = 0; q < kc; ++q, ap += MR, bp += NR) {
    _mm_prefetch(reinterpret_cast<const char*>(ap + 8 * MR), _MM_HINT_T0);  // A streams from L2
    V b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = R::load(bp + v * R::W);          // one row of the B panel
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const V a = R::bcast(ap + r);                                       // A(r, q) in every lane
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = R::fma(a, b[v], acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      T* cp = c + r * ldc + v * R::W;
      R::store(cp, accumulate ? R::add(R::load(cp), acc[r][v]) : acc[r][v]);
    }
}

template <typename T, int MR>  // NR = 2 * 16 fp32 / 2 * 8 fp64: 2*MR + 3 of the 32 zmm registers
KB_AVX512 void ukr_avx512(kb_int64 kc, const T* ap, const T* bp, T* c, kb_int64 ldc, bool accumulate) {
  using R = Zmm<T>;
  using V = typename R::V;
  constexpr int NV = 2, NR = NV * R::W;
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {  // C is read only after the k loop: start fetching it now
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + NR - 1), _MM_HINT_T0);
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = R::zero();
  for (kb_int64 q = 0; q < kc; ++q, ap += MR, bp += NR) {
    V b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = R::load(bp + v * R::W);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const V a = R::bcast(ap + r);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = R::fma(a, b[v], acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      T* cp = c + r * ldc + v * R::W;
      R::store(cp, accumulate ? R::add(R::load(cp), acc[r][v]) : acc[r][v]);
    }
}

template <typename T, int MR, int NR>  // portable: the compiler keeps what it can in registers
void ukr_scalar(kb_int64 kc, const T* ap, const T* bp, T* c, kb_int64 ldc, bool accumulate) {
  T acc[MR][NR] = {};
  for (kb_int64 q = 0; q < kc; ++q, ap += MR, bp += NR)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) acc[r][j] += ap[r] * bp[j];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

// ---- blocking plan per ISA and dtype --------------------------------------------------------------
template <typename T>
struct Plan {
  int mr, nr;           // register tile of C (MR x NR)
  kb_int64 kc, mc, nc;  // (KC x NR) B micro-panel in L1, (MC x KC) A block in L2, (KC x NC) B block in L3
  void (*ukr)(kb_int64, const T*, const T*, T*, kb_int64, bool);
  const char* isa;
};

template <typename T>
Plan<T> choose_plan() {
  constexpr bool f32 = sizeof(T) == 4;
  switch (cpu_isa()) {
    case CpuIsa::Avx512:  // 12 x 32 fp32 (24 zmm accumulators) / 12 x 16 fp64
      return {12, 2 * Zmm<T>::W, f32 ? 384 : 256, 144, 4096, ukr_avx512<T, 12>, "avx512"};
    case CpuIsa::Avx2:    // 6 x 16 fp32 (12 ymm accumulators) / 6 x 8 fp64
      return {6, 2 * Ymm<T>::W, 256, 96, 1024, ukr_avx2<T, 6>, "avx2"};
    default:
      return {4, 8, 256, 64, 2048, ukr_scalar<T, 4, 8>, "scalar"};
  }
}

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
// B(q0:q0+kc, j0:j0+nc) -> panels of NR columns; panel jp is (kc x NR) row-major, zero-padded.
template <typename T>
void pack_b_panel(const MatmulArgs& p, const T* b, kb_int64 q0, kb_int64 kc, kb_int64 j0, kb_int64 cols,
                  int nr, T* dst) {
  if (!p.trans_b) {
    for (kb_int64 q = 0; q < kc; ++q) {
      const T* src = b + (q0 + q) * p.ldb + j0;
      T* d = dst + q * nr;
      for (kb_int64 j = 0; j < cols; ++j) d[j] = src[j];
      for (kb_int64 j = cols; j < nr; ++j) d[j] = T(0);
    }
  } else {  // B(q, j) = b[j * ldb + q]: read each column of B contiguously, scatter into the panel
    for (kb_int64 j = 0; j < cols; ++j) {
      const T* src = b + (j0 + j) * p.ldb + q0;
      for (kb_int64 q = 0; q < kc; ++q) dst[q * nr + j] = src[q];
    }
    for (kb_int64 q = 0; q < kc; ++q)
      for (kb_int64 j = cols; j < nr; ++j) dst[q * nr + j] = T(0);
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
  } else {
    for (kb_int64 r = 0; r < rows; ++r) {
      const T* src = a + (i0 + r) * p.lda + q0;
      for (kb_int64 q = 0; q < kc; ++q) dst[q * mr + r] = src[q];
    }
    for (kb_int64 q = 0; q < kc; ++q)
      for (kb_int64 r = rows; r < mr; ++r) dst[q * mr + r] = T(0);
  }
}

// ---- the loops around the micro-kernel ---------------------------------------------------------------
//   for each batch, for jc in N by NC, for pc in K by KC:
//     pack B(pc:+KC, jc:+NC) into NR-wide panels   (all threads; the block stays in L3)
//     for each (MC-row block ic, chunk of NR panels) -- split across threads:
//       pack A(ic:+MC, pc:+KC) into MR-row micro-panels (stays in this core's L2)
//       for jr in chunk: for ir in block: C(ir:+MR, jr:+NR) [+]= micro-kernel
//   The inner ir loop reuses one B micro-panel from L1 for MC/MR micro-kernel calls.
template <typename T>
void packed_gemm(const MatmulArgs& p) {
  if (p.m <= 0 || p.n <= 0 || p.batch <= 0) return;
  if (p.k <= 0) {  // an empty sum: C = 0
    for (kb_int64 bt = 0; bt < p.batch; ++bt)
      for (kb_int64 i = 0; i < p.m; ++i) {
        T* row = static_cast<T*>(p.c) + bt * p.stride_c + i * p.ldc;
        std::fill(row, row + p.n, T(0));
      }
    return;
  }
  Plan<T> plan = choose_plan<T>();
#ifdef KB_TUNE
  if (getenv("KB_MM_KC")) plan.kc = atoll(getenv("KB_MM_KC"));
  if (getenv("KB_MM_MC")) plan.mc = atoll(getenv("KB_MM_MC"));
  if (getenv("KB_MM_NC")) plan.nc = atoll(getenv("KB_MM_NC"));
#endif
  const int mr = plan.mr, nr = plan.nr;
  const kb_int64 mc_max = std::min(plan.mc, (p.m + mr - 1) / mr * mr);
  const kb_int64 kc_max = std::min(plan.kc, p.k), nc_max = std::min(plan.nc, (p.n + nr - 1) / nr * nr);
  const size_t bpack_count = static_cast<size_t>(kc_max * ((nc_max + nr - 1) / nr) * nr);
  T* const bpack = scratch<T>(kBBlock, bpack_count);
  if (bpack == nullptr) KB_THROW("cpu_04_avx2_packed: out of memory packing B (" << bpack_count * sizeof(T) << " bytes)");
  bool out_of_memory = false;  // set inside the parallel region (no exception may leave it)
  const double flops = 2.0 * double(p.m) * double(p.n) * double(p.k) * double(p.batch);
  const int threads = flops >= 4e6 ? omp_get_max_threads() : 1;

#pragma omp parallel num_threads(threads)
  {
    T* const ablock = scratch<T>(kABlock, static_cast<size_t>(kc_max * mc_max));
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
      for (kb_int64 jc = 0; jc < p.n; jc += plan.nc) {
        const kb_int64 nc = std::min(plan.nc, p.n - jc);
        const kb_int64 jpanels = (nc + nr - 1) / nr;
        for (kb_int64 pc = 0; pc < p.k; pc += plan.kc) {
          const kb_int64 kc = std::min(plan.kc, p.k - pc);
          const bool accumulate = pc > 0;  // the first K block overwrites C: no zero-fill pass
#pragma omp for schedule(static)
          for (kb_int64 jp = 0; jp < jpanels; ++jp)
            pack_b_panel(p, b, pc, kc, jc + jp * nr, std::min<kb_int64>(nr, nc - jp * nr), nr,
                         bpack + jp * kc * nr);
          // (implicit barrier: the whole B block is packed before anyone reads it)
          const kb_int64 mblocks = (p.m + plan.mc - 1) / plan.mc;
          // Few row blocks (small M): also split the NR panels so every thread gets work.
          const kb_int64 jchunks =
              std::min<kb_int64>(jpanels, std::max<kb_int64>(1, (2 * nthreads + mblocks - 1) / mblocks));
          const kb_int64 per_chunk = (jpanels + jchunks - 1) / jchunks;
          kb_int64 packed_block = -1;  // the A block this thread holds packed (a chunk is one whole block)
          // Dynamic, one A block per grab: a core that is slowed down (another process, a spinning
          // thread pool) takes fewer blocks instead of holding everyone up at the barrier.
#pragma omp for schedule(dynamic, jchunks)
          for (kb_int64 item = 0; item < mblocks * jchunks; ++item) {
            const kb_int64 ib = item / jchunks, jch = item % jchunks;
            const kb_int64 ic = ib * plan.mc, mrows = std::min(plan.mc, p.m - ic);
            const kb_int64 strips = (mrows + mr - 1) / mr;
            if (packed_block != ib) {
              for (kb_int64 s = 0; s < strips; ++s)
                pack_a_panel(p, a, ic + s * mr, std::min<kb_int64>(mr, mrows - s * mr), pc, kc, mr,
                             ablock + s * kc * mr);
              packed_block = ib;
            }
            const kb_int64 jp_end = std::min(jpanels, (jch + 1) * per_chunk);
            for (kb_int64 jp = jch * per_chunk; jp < jp_end; ++jp) {
              const kb_int64 j0 = jc + jp * nr, cols = std::min<kb_int64>(nr, p.n - j0);
              const T* bp = bpack + jp * kc * nr;
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
          // (implicit barrier: nobody repacks B while another thread still reads it)
        }
      }
    }
  }
  if (out_of_memory) KB_THROW("cpu_04_avx2_packed: out of memory for the per-thread packing buffers");
}
}  // namespace

const char* cpu_matmul_04_isa(DType dtype) {
  return dtype == DType::F64 ? choose_plan<double>().isa : choose_plan<float>().isa;
}

void cpu_matmul_04_avx2_packed(const MatmulArgs& p, void*) {
  if (p.dtype == DType::F32) return packed_gemm<float>(p);
  if (p.dtype == DType::F64) return packed_gemm<double>(p);
  KB_THROW("cpu_04_avx2_packed: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
