// cpu_05_analytic_blocking: 04's loops and packing (packed_gemm.h), with the register tile and the
// blocking derived from this machine instead of constants tuned on another one: the analytical
// model of BLIS (Low, Igual, Smith, Quintana-Orti, "Analytical modeling is enough for
// high-performance BLIS", ACM TOMS 2016) applied to the caches the OS reports (cpu_caches.h).
//
// Register tile.  The micro-kernel holds MR x NV vectors of C (NR = NV vectors of W lanes) and needs
// NV B vectors + 1 broadcast beside them: MR*NV + NV + 1 <= registers.  Each k step loads NV + MR
// values for MR*NV FMAs, which must cover latency x ports = 4 x 2 = 8 on current x86 cores.  With
// 16 ymm (AVX2) the fewest loads per FMA is MR = 4, NV = 3 (7 per 12; cpu_04's 6 x 2 loads 8 per
// 12): measured on a quiet Zen 3 through these loops, single thread, each tile with its own model
// blocking, the same process, interleaved: 2048^3 fp32 85 -> 89 GFLOP/s, fp64 41.4 -> 42.3.
// With 32 zmm (AVX-512): 14 x 2, derived, never measured (no AVX-512 machine has run it).
//
// KC: the (KC x NR) B micro-panel stays in L1 while the (KC x MR) A micro-panels stream through it.
//   Of the W1 ways of L1 (way = L1 size / W1), one is left to C; the rest are shared between the
//   A stream and B in the ratio MR : NR (both KC rows deep), so A gets
//     CA = floor((W1 - 1) * MR / (MR + NR)) ways,   KC = CA * way / (MR * S)   (S = element bytes)
//   rounded down to a multiple of 4 (the k-loop unroll).
// MC: the (MC x KC) A block stays in L2 while B micro-panels stream through it: one way for C, the
//   ways a B micro-panel needs, the rest (CA2) for A:
//     CA2 = W2 - 1 - ceil(KC * NR * S / way2),   MC = CA2 * way2 / (KC * S)   (multiple of MR)
//   (an L2 shared by several CPUs is divided among them).
// NC: the (KC x NC) B block stays in L3 while every thread's A block passes through it: one way for
//   C, the ways of the A blocks of the threads sharing the L3, the rest (CB3) for B:
//     CB3 = W3 - 1 - ceil(threads * MC * KC * S / way3),   NC = CB3 * way3 / (KC * S)  (multiple of NR)
//   The L3 is capped at 32 MB: a VM may report its host's whole L3, of which one core complex
//   holds at most that.  Without an L3: NC = 4096.
// Examples (fp32): Zen 3 (32 KB 8-way L1d, 512 KB 8-way L2, 32 MB 16-way L3), AVX2 4x24:
// KC 256, MC 384, NC 28656; Sapphire Rapids (48 KB 12-way, 2 MB 16-way), AVX-512 14x32: KC 216.
// packed_gemm.h then shrinks the blocks to equal sizes (no thin last K slice; MC blocks a multiple
// of the thread count).  KB_CPU_BLOCKING=MC,KC,NC overrides the three (experiments; MC rounded to
// MR, NC to NR); cpu_matmul_05_blocking() reports what is used, and the benchmark records it.
// Prefetch: none in the k loop.  Measured on a Zen 3 (AVX2, kc 168-256, A streaming from L2): a
// software prefetch of A 8 or 16 k steps ahead was 0-3 % slower than none (kc 64: 30 % slower);
// the hardware prefetcher already follows the A stream, and B sits in L1.
// Limits: the model ignores TLB reach and the hardware prefetchers; the micro-kernel is compiler-
// scheduled intrinsics (no assembly); the AVX-512 path (14x32 / 14x16) is derived, not tuned on
// an AVX-512 machine.  Preconditions: none (any M, N, K, ld, transpose, batch).
#include <cstdio>
#include <string>

#include "../cpu_caches.h"
#include "packed_gemm.h"

namespace kb {
namespace {
using namespace packed;

constexpr long kL3Cap = 32L << 20;
constexpr int kPrefetchA = 0;  // none: see the header

inline long ceil_div(long a, long b) { return (a + b - 1) / b; }

// The model of the header, for an MR x NR tile of S-byte elements; `threads` share the L3.
CpuGemmBlocking blis_model(const CpuCaches& cc, int mr, int nr, int s, int threads) {
  CpuGemmBlocking b{};
  b.mr = mr, b.nr = nr;
  const long w1 = std::max(2L, cc.l1d.ways), way1 = std::max(64L, cc.l1d.bytes / w1);
  const long ca = std::max(1L, (w1 - 1) * mr / (mr + nr));
  b.kc = std::max(4L, ca * way1 / (long(mr) * s) / 4 * 4);
  const long w2 = std::max(2L, cc.l2.ways), way2 = std::max(64L, cc.l2.bytes / std::max(1, cc.l2.shared_cpus) / w2);
  const long ca2 = std::max(1L, w2 - 1 - ceil_div(b.kc * nr * s, way2));
  b.mc = std::max(long(mr), ca2 * way2 / (b.kc * s) / mr * mr);
  if (cc.l3.bytes > 0) {
    const long w3 = std::max(2L, cc.l3.ways), way3 = std::max(64L, std::min(cc.l3.bytes, kL3Cap) / w3);
    const long sharers = std::max(1, std::min(threads, cc.l3.shared_cpus));
    const long cb3 = std::max(1L, w3 - 1 - ceil_div(sharers * b.mc * b.kc * s, way3));
    b.nc = std::max(long(nr), cb3 * way3 / (b.kc * s) / nr * nr);
  } else {
    b.nc = 4096;
  }
  return b;
}

inline long padded(long n, long to) { return ceil_div(n, to) * to; }

// The register tile of the ISA in use, the model's blocking (or KB_CPU_BLOCKING's), the kernel.
// On AVX2, 4 x 3 vectors unless N pads to its 3-vector panels 4 % more than to 2-vector ones
// (what 4 x 3 gains): for N = 64 fp32, 4x24 tiles compute 72 columns (12 % more work), 6x16 tiles 64.
// n = 0: the tile for a large N (what the reports show).
template <typename T>
Plan<T> choose_plan(CpuGemmBlocking* report = nullptr, long n = 0) {
  Plan<T> plan{};
  constexpr long kW = Ymm<T>::W;
  switch (cpu_isa()) {
    case CpuIsa::Avx512:
      plan = {14, 2 * Zmm<T>::W, 0, 0, 0, ukr_avx512<T, 14, 2, kPrefetchA>, "avx512"};
      break;
    case CpuIsa::Avx2:
      if (n > 0 && padded(n, 3 * kW) * 100 > padded(n, 2 * kW) * 104)
        plan = {6, 2 * kW, 0, 0, 0, ukr_avx2<T, 6, 2, kPrefetchA>, "avx2"};
      else
        plan = {4, 3 * kW, 0, 0, 0, ukr_avx2<T, 4, 3, kPrefetchA>, "avx2"};
      break;
    default:
      plan = {4, 8, 0, 0, 0, ukr_scalar<T, 4, 8>, "scalar"};
  }
  CpuGemmBlocking b = blis_model(cpu_caches(), plan.mr, plan.nr, sizeof(T), omp_get_max_threads());
  b.source = "BLIS analytical model";
  static const char* const env = std::getenv("KB_CPU_BLOCKING");  // read once, at the first call
  if (env && *env) {
    long long mc = 0, kc = 0, nc = 0;
    char tail = 0;
    KB_REQUIRE(std::sscanf(env, "%lld,%lld,%lld%c", &mc, &kc, &nc, &tail) == 3 && mc > 0 && kc > 0 && nc > 0,
               "KB_CPU_BLOCKING: expected three positive integers MC,KC,NC, got '" << env << "'");
    b.mc = ceil_div(mc, plan.mr) * plan.mr, b.kc = kc, b.nc = ceil_div(nc, plan.nr) * plan.nr;
    b.source = "KB_CPU_BLOCKING";
  }
  plan.kc = b.kc, plan.mc = b.mc, plan.nc = b.nc;
  b.isa = plan.isa;
  b.caches = cpu_caches().source;
  if (report) *report = b;
  return plan;
}
}  // namespace

CpuGemmBlocking cpu_matmul_05_blocking(DType dtype) {
  KB_REQUIRE(dtype == DType::F32 || dtype == DType::F64,
             "cpu_05_analytic_blocking: float32 or float64, not " << dtype_name(dtype));
  CpuGemmBlocking b{};
  if (dtype == DType::F64) choose_plan<double>(&b);
  else choose_plan<float>(&b);
  return b;
}

void cpu_matmul_05_analytic_blocking(const MatmulArgs& p, void*) {
  if (p.dtype == DType::F32) return gemm<float>(p, choose_plan<float>(nullptr, p.n), "cpu_05_analytic_blocking");
  if (p.dtype == DType::F64) return gemm<double>(p, choose_plan<double>(nullptr, p.n), "cpu_05_analytic_blocking");
  KB_THROW("cpu_05_analytic_blocking: unsupported dtype " << dtype_name(p.dtype));
}
}  // namespace kb
