// Measured CPU peaks (see cpu_probe.h).  The FMA probe keeps 2x (AVX2) / 3x (AVX-512) more
// independent accumulators than latency x ports needs, so only the FMA ports limit it; the
// bandwidth probe reads with the widest vectors the CPU has into 8 accumulators.  A figure is the
// best of several short trials, per thread (sum over threads of each one's best rate), so another
// process taking a core for a moment lowers no peak: on a shared machine the peak errs high, never
// low, and "% of peak" stays <= 100 %.
#include "cpu_probe.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu_isa.h"

namespace kb {
namespace {
using Clock = std::chrono::steady_clock;
double now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

volatile double g_sink = 0;  // results land here so no loop is optimized away

// ---- FMA chains: N accumulators, each acc = acc * m + a (m just below 1: values stay finite) -----
template <int N>
__attribute__((target("avx512f"))) double fma_avx512_f32(long iters) {
  __m512 acc[N];
  for (int i = 0; i < N; ++i) acc[i] = _mm512_set1_ps(float(i) * 0.001f);
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 32
    for (int i = 0; i < N; ++i) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  float out[16];
  for (int i = 1; i < N; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  _mm512_storeu_ps(out, acc[0]);
  return out[0] + out[15];
}
template <int N>
__attribute__((target("avx512f"))) double fma_avx512_f64(long iters) {
  __m512d acc[N];
  for (int i = 0; i < N; ++i) acc[i] = _mm512_set1_pd(double(i) * 0.001);
  const __m512d m = _mm512_set1_pd(0.999999), a = _mm512_set1_pd(1e-7);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 32
    for (int i = 0; i < N; ++i) acc[i] = _mm512_fmadd_pd(acc[i], m, a);
  double out[8];
  for (int i = 1; i < N; ++i) acc[0] = _mm512_add_pd(acc[0], acc[i]);
  _mm512_storeu_pd(out, acc[0]);
  return out[0] + out[7];
}
template <int N>
__attribute__((target("avx2,fma"))) double fma_avx2_f32(long iters) {
  __m256 acc[N];
  for (int i = 0; i < N; ++i) acc[i] = _mm256_set1_ps(float(i) * 0.001f);
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 32
    for (int i = 0; i < N; ++i) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  float out[8];
  for (int i = 1; i < N; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  _mm256_storeu_ps(out, acc[0]);
  return out[0] + out[7];
}
template <int N>
__attribute__((target("avx2,fma"))) double fma_avx2_f64(long iters) {
  __m256d acc[N];
  for (int i = 0; i < N; ++i) acc[i] = _mm256_set1_pd(double(i) * 0.001);
  const __m256d m = _mm256_set1_pd(0.999999), a = _mm256_set1_pd(1e-7);
  for (long it = 0; it < iters; ++it)
#pragma GCC unroll 32
    for (int i = 0; i < N; ++i) acc[i] = _mm256_fmadd_pd(acc[i], m, a);
  double out[4];
  for (int i = 1; i < N; ++i) acc[0] = _mm256_add_pd(acc[0], acc[i]);
  _mm256_storeu_pd(out, acc[0]);
  return out[0] + out[3];
}
// ---- streaming reads: 8 accumulators of the widest vector ----------------------------------------
__attribute__((target("avx512f"))) double read_avx512(const float* p, std::size_t n, int passes) {
  __m512 acc[8];
  for (auto& v : acc) v = _mm512_setzero_ps();
  for (int r = 0; r < passes; ++r)
    for (std::size_t i = 0; i < n; i += 128)
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) acc[j] = _mm512_add_ps(acc[j], _mm512_load_ps(p + i + 16 * j));
  float out[16];
  for (int j = 1; j < 8; ++j) acc[0] = _mm512_add_ps(acc[0], acc[j]);
  _mm512_storeu_ps(out, acc[0]);
  return out[0];
}
__attribute__((target("avx2"))) double read_avx2(const float* p, std::size_t n, int passes) {
  __m256 acc[8];
  for (auto& v : acc) v = _mm256_setzero_ps();
  for (int r = 0; r < passes; ++r)
    for (std::size_t i = 0; i < n; i += 64)
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) acc[j] = _mm256_add_ps(acc[j], _mm256_load_ps(p + i + 8 * j));
  float out[8];
  for (int j = 1; j < 8; ++j) acc[0] = _mm256_add_ps(acc[0], acc[j]);
  _mm256_storeu_ps(out, acc[0]);
  return out[0];
}
double read_scalar(const float* p, std::size_t n, int passes) {
  float acc[8] = {};
  for (int r = 0; r < passes; ++r)
    for (std::size_t i = 0; i < n; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  return double(acc[0] + acc[7]);
}

// Runs work(units) on `threads` threads for `trials` trials of about `seconds / trials` each
// (units calibrated on one short run); returns the sum over threads of each one's best
// units-per-second.
template <typename Work>
double best_rate(int threads, double seconds, int trials, long unit0, Work work) {
  long units = unit0;
  for (;;) {  // calibrate (also wakes the vector units): grow until a run takes >= 2 ms
    const double t0 = now();
    work(units);
    const double dt = now() - t0;
    if (dt >= 2e-3) {
      units = std::max(1L, long(double(units) * (seconds / trials) / dt));
      break;
    }
    units *= 4;
  }
  std::vector<double> best(threads, 0.0);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    for (int r = 0; r < trials; ++r) {
#pragma omp barrier
      const double t0 = now();
      work(units);
      const double dt = now() - t0;
      if (dt > 0) best[t] = std::max(best[t], double(units) / dt);
    }
  }
  double sum = 0;
  for (double b : best) sum += b;
  return sum;
}

int resolve_threads(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }
}  // namespace

const char* cpu_isa_hardware_name() { return cpu_isa_name(cpu_isa_hardware()); }

double probe_fma_flops(const char* isa, bool f64, int threads, double seconds) {
  threads = resolve_threads(threads);
  const CpuIsa hw = cpu_isa_hardware();
  constexpr int kTrials = 10;
  if (std::strcmp(isa, "avx512") == 0) {
    if (hw != CpuIsa::Avx512) return 0;
    constexpr int N = 24;  // 24 chains >= 4-cycle latency x 2 ports x 3
    const double lanes = f64 ? 8 : 16;
    return 2 * N * lanes * best_rate(threads, seconds, kTrials, 20000, [f64](long n) {
             g_sink = g_sink + (f64 ? fma_avx512_f64<N>(n) : fma_avx512_f32<N>(n));
           });
  }
  if (std::strcmp(isa, "avx2") == 0) {
    if (hw == CpuIsa::Scalar) return 0;
    constexpr int N = 12;  // 16 ymm registers: 12 chains >= 4 x 2 x 1.5
    const double lanes = f64 ? 4 : 8;
    return 2 * N * lanes * best_rate(threads, seconds, kTrials, 20000, [f64](long n) {
             g_sink = g_sink + (f64 ? fma_avx2_f64<N>(n) : fma_avx2_f32<N>(n));
           });
  }
  return 0;
}

double probe_read_bandwidth(std::size_t bytes, int threads, double seconds) {
  threads = resolve_threads(threads);
  constexpr std::size_t kChunk = 512;  // bytes per loop step (8 zmm)
  const std::size_t per = std::max(kChunk, bytes / threads / kChunk * kChunk);
  std::vector<float*> bufs(threads, nullptr);
  bool ok = true;
#pragma omp parallel num_threads(threads)
  {  // each thread allocates and first-touches its own share (its own NUMA node, its own cache)
    const int t = omp_get_thread_num();
    float* p = static_cast<float*>(std::aligned_alloc(64, per));
    if (p) std::memset(p, 0, per);
    else ok = false;
    bufs[t] = p;
  }
  double rate = 0;
  if (ok) {
    const std::size_t n = per / sizeof(float);
    const CpuIsa hw = cpu_isa_hardware();
    constexpr int kTrials = 10;
    // One unit = one pass over a thread's share; calibrated on thread 0's buffer.
    rate = double(per) * best_rate(threads, seconds, kTrials, 4, [&](long passes) {
             const float* p = bufs[omp_in_parallel() ? omp_get_thread_num() : 0];
             g_sink = g_sink + (hw == CpuIsa::Avx512 ? read_avx512(p, n, int(passes))
                                : hw == CpuIsa::Avx2 ? read_avx2(p, n, int(passes))
                                                     : read_scalar(p, n, int(passes)));
           });
  }
  for (float* p : bufs) std::free(p);
  return rate;
}
}  // namespace kb
