// selftest_matmul: standalone check-then-time driver for every CUDA matmul table entry (no Python).
// Files named selftest_* are excluded from the library; CMake links this one against kb_cuda:
//   cmake -S . -B build/cmake -G Ninja -DKB_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a && cmake --build build/cmake
//   ./build/cmake/selftest_matmul            checks, then 4096^3 fp32 timings (exit 1 on any FAIL)
//   ./build/cmake/selftest_matmul check      checks only
//   ./build/cmake/selftest_matmul time       timings only (each rung still checked against rung 01)
// or by hand:  nvcc -std=c++17 -O3 -DKB_WITH_CUDA -I csrc -arch=sm_90a csrc/cuda/matmul/*.cu
//              csrc/common/kb_common.cpp -o selftest_matmul      (the reduce tables are not needed)
// Checks: every entry x supported dtype x case against an fp64 host reference (computed from the
// rounded inputs): odd sizes, tile non-multiples, vectors, K = 1, K = 0 (C must come back zero),
// large K, transposes, batches with broadcast (stride 0), padded leading dimensions, misaligned
// pointers, more than 65535 batch entries and tile rows.  C and a guard zone behind it are filled
// with NaN before every call, so an unwritten element or a write past C fails.  Tolerance, relative
// to max|ref|: fp64 1e-12*sqrt(K), fp32 1e-5*sqrt(K), fp16 1e-2, bf16 3e-2.  4096^3 fp32 is checked
// against rung 01 instead of the host.  Timings: CUDA events, median of 10 after 2 warm-up calls.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../common/kb_cuda.cuh"
#include "../../common/kb_error.h"
#include "../../common/kb_tables.h"
#include "../../common/kb_types.h"
#include "tensor_core.cuh"  // sm90::tma_ok: the problems the sm_90a rungs' TMA path takes

using namespace kb;

static int g_fail = 0, g_pass = 0;

// ------------------------------------------------------------------ host dtype helpers
static size_t elem_size(DType d) { return d == DType::F64 ? 8 : d == DType::F32 ? 4 : 2; }
static const char* short_name(DType d) {
  return d == DType::F32 ? "f32" : d == DType::F64 ? "f64" : d == DType::F16 ? "f16" : "bf16";
}
static void store_elem(DType d, void* base, size_t i, double v) {
  switch (d) {
    case DType::F32: static_cast<float*>(base)[i] = (float)v; break;
    case DType::F64: static_cast<double*>(base)[i] = v; break;
    case DType::F16: static_cast<__half*>(base)[i] = __float2half((float)v); break;
    case DType::BF16: static_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16((float)v); break;
  }
}
static double load_elem(DType d, const void* base, size_t i) {
  switch (d) {
    case DType::F32: return static_cast<const float*>(base)[i];
    case DType::F64: return static_cast<const double*>(base)[i];
    case DType::F16: return __half2float(static_cast<const __half*>(base)[i]);
    case DType::BF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]);
  }
  return 0;
}
static double tolerance(DType d, long long k) {
  const double rk = std::sqrt((double)std::max(k, 1LL));
  switch (d) {
    case DType::F64: return 1e-12 * rk;
    case DType::F32: return 1e-5 * rk;
    case DType::F16: return 1e-2;
    case DType::BF16: return 3e-2;
  }
  return 0;
}

static uint64_t g_rng = 0x1234567887654321ull;
static double uniform() {  // [-1, 1)
  g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
  return (double)(g_rng >> 11) / (double)(1ull << 52) - 1.0;
}

// ------------------------------------------------------------------ one test case
struct Case {
  std::string name;
  long long m, n, k, batch = 1;
  bool ta = false, tb = false;
  long long pad_a = 0, pad_b = 0, pad_c = 0;  // extra leading-dimension elements
  bool bcast_a = false, bcast_b = false;      // batch stride 0
  long long off_a = 0, off_b = 0;             // element offset of A / B from an aligned base
  bool for_big_configs = false;               // exists to reach the configurations of many tiles
};

struct DeviceProblem {
  MatmulArgs p{};
  void* a = nullptr; void* b = nullptr; void* c = nullptr;  // allocations
  size_t c_bytes = 0, c_guard_bytes = 0;
  std::vector<unsigned char> ha, hb;  // host copies of A and B storage
};

static DeviceProblem make_problem(const Case& cs, DType d) {
  DeviceProblem dp;
  MatmulArgs& p = dp.p;
  const size_t es = elem_size(d);
  p.m = cs.m; p.n = cs.n; p.k = cs.k; p.batch = cs.batch; p.dtype = d;
  p.trans_a = cs.ta; p.trans_b = cs.tb;
  const long long a_rows = cs.ta ? cs.k : cs.m, a_cols = cs.ta ? cs.m : cs.k;
  const long long b_rows = cs.tb ? cs.n : cs.k, b_cols = cs.tb ? cs.k : cs.n;
  p.lda = std::max(a_cols, 1LL) + cs.pad_a;
  p.ldb = std::max(b_cols, 1LL) + cs.pad_b;
  p.ldc = std::max(cs.n, 1LL) + cs.pad_c;
  const long long size_a = a_rows * p.lda, size_b = b_rows * p.ldb, size_c = cs.m * p.ldc;
  p.stride_a = cs.bcast_a ? 0 : size_a;
  p.stride_b = cs.bcast_b ? 0 : size_b;
  p.stride_c = size_c;
  // A and B end exactly where their last matrix ends (its last row has no padding after it), so a
  // read past the end is out of bounds for AddressSanitizer; the padding between rows is NaN, so a
  // read of it that reaches a result shows (issue 21; the executor's extent check reports it either way).
  const auto storage = [](long long mats, long long size, long long rows, long long ld, long long cols) {
    return rows > 0 && cols > 0 ? (std::max(mats, 1LL) - 1) * size + (rows - 1) * ld + cols : 0LL;
  };
  const long long na = storage(cs.bcast_a ? 1 : cs.batch, size_a, a_rows, p.lda, a_cols) + cs.off_a;
  const long long nb = storage(cs.bcast_b ? 1 : cs.batch, size_b, b_rows, p.ldb, b_cols) + cs.off_b;
  const long long nc = cs.batch * size_c;
  dp.ha.assign(std::max<long long>(na, 1) * es, 0);
  dp.hb.assign(std::max<long long>(nb, 1) * es, 0);
  for (long long i = 0; i < na; ++i)
    store_elem(d, dp.ha.data(), i, i >= cs.off_a && (i - cs.off_a) % p.lda >= a_cols ? NAN : uniform());
  for (long long i = 0; i < nb; ++i)
    store_elem(d, dp.hb.data(), i, i >= cs.off_b && (i - cs.off_b) % p.ldb >= b_cols ? NAN : uniform());
  KB_CUDA_CHECK(cudaMalloc(&dp.a, dp.ha.size()));
  KB_CUDA_CHECK(cudaMalloc(&dp.b, dp.hb.size()));
  dp.c_bytes = std::max<long long>(nc, 1) * es;
  dp.c_guard_bytes = 4096;
  KB_CUDA_CHECK(cudaMalloc(&dp.c, dp.c_bytes + dp.c_guard_bytes));
  KB_CUDA_CHECK(cudaMemcpy(dp.a, dp.ha.data(), dp.ha.size(), cudaMemcpyHostToDevice));
  KB_CUDA_CHECK(cudaMemcpy(dp.b, dp.hb.data(), dp.hb.size(), cudaMemcpyHostToDevice));
  p.a = static_cast<const char*>(dp.a) + cs.off_a * es;
  p.b = static_cast<const char*>(dp.b) + cs.off_b * es;
  p.c = dp.c;
  return dp;
}

static void free_problem(DeviceProblem& dp) {
  cudaFree(dp.a); cudaFree(dp.b); cudaFree(dp.c);
  dp.a = dp.b = dp.c = nullptr;
}

// fp64 reference of every C element (NaN where the padding of C is, which must stay untouched).
static std::vector<double> host_reference(const Case& cs, const DeviceProblem& dp) {
  const MatmulArgs& p = dp.p;
  const DType d = p.dtype;
  const unsigned char* A = dp.ha.data() + cs.off_a * elem_size(d);
  const unsigned char* B = dp.hb.data() + cs.off_b * elem_size(d);
  std::vector<double> ref((size_t)std::max<long long>(p.batch * p.stride_c, 1), NAN);
  std::vector<double> arow(p.k), bmat((size_t)(p.k * p.n));
  for (long long z = 0; z < p.batch; ++z) {
    for (long long q = 0; q < p.k; ++q)
      for (long long j = 0; j < p.n; ++j)
        bmat[q * p.n + j] = load_elem(d, B, z * p.stride_b + (p.trans_b ? j * p.ldb + q : q * p.ldb + j));
    for (long long i = 0; i < p.m; ++i) {
      for (long long q = 0; q < p.k; ++q)
        arow[q] = load_elem(d, A, z * p.stride_a + (p.trans_a ? q * p.lda + i : i * p.lda + q));
      double* out = &ref[z * p.stride_c + i * p.ldc];
      for (long long j = 0; j < p.n; ++j) out[j] = 0;
      for (long long q = 0; q < p.k; ++q) {
        const double av = arow[q];
        const double* brow = &bmat[q * p.n];
        for (long long j = 0; j < p.n; ++j) out[j] += av * brow[j];
      }
    }
  }
  return ref;
}

// Run `fn` on a NaN-filled C; returns C (converted to double) in `out`, false on a CUDA error.
static bool run_once(const MatmulKernel& k, DeviceProblem& dp, std::vector<double>& out, std::string& err) {
  try {
    KB_CUDA_CHECK(cudaMemset(dp.c, 0xff, dp.c_bytes + dp.c_guard_bytes));  // NaN in every dtype
    k.fn(dp.p, nullptr);
    KB_CUDA_CHECK(cudaDeviceSynchronize());
  } catch (const std::exception& e) {
    err = e.what();
    return false;
  }
  std::vector<unsigned char> hc(dp.c_bytes + dp.c_guard_bytes);
  KB_CUDA_CHECK(cudaMemcpy(hc.data(), dp.c, hc.size(), cudaMemcpyDeviceToHost));
  const size_t es = elem_size(dp.p.dtype), n = dp.c_bytes / es;
  out.resize(n);
  for (size_t i = 0; i < n; ++i) out[i] = load_elem(dp.p.dtype, hc.data(), i);
  for (size_t i = dp.c_bytes; i < hc.size(); ++i)
    if (hc[i] != 0xff) { err = "wrote past the end of C"; return false; }
  return true;
}

// max |got - ref| / max|ref| over C; padding elements (ref NaN) must still be NaN.
static double compare(const std::vector<double>& got, const std::vector<double>& ref, std::string& err) {
  double max_ref = 0, max_err = 0;
  for (size_t i = 0; i < ref.size() && i < got.size(); ++i)
    if (!std::isnan(ref[i])) max_ref = std::max(max_ref, std::fabs(ref[i]));
  for (size_t i = 0; i < ref.size() && i < got.size(); ++i) {
    if (std::isnan(ref[i])) {
      if (!std::isnan(got[i])) { err = "wrote into the padding of C"; return INFINITY; }
      continue;
    }
    if (std::isnan(got[i])) { err = "element " + std::to_string(i) + " not written (NaN)"; return INFINITY; }
    max_err = std::max(max_err, std::fabs(got[i] - ref[i]));
  }
  return max_ref > 0 ? max_err / max_ref : max_err;
}

static std::vector<Case> cases() {
  std::vector<Case> cs;
#ifdef KB_SIM
  const long long kbig = 9, kbig2 = 11;  // >= 256 (128, 128) tiles select the big configurations; short K keeps it quick
#else
  const long long kbig = 40, kbig2 = 44;
#endif
  auto add = [&](Case c) { cs.push_back(c); };
  add({"1x1x1", 1, 1, 1});
  add({"7x7x7", 7, 7, 7});
  add({"127x129x65", 127, 129, 65});
  add({"129x127x1000", 129, 127, 1000});
  add({"1x4096x33", 1, 4096, 33});
  add({"4096x1x33", 4096, 1, 33});
  add({"1x1x5000 dot", 1, 1, 5000});
  add({"300x200x0 (K=0)", 300, 200, 0});
  add({"0x5x7 (empty M)", 0, 5, 7});
  add({"5x0x7 (empty N)", 5, 0, 7});
  add({"65x33x1 (K=1)", 65, 33, 1});
  add({"2000x3x5 tall", 2000, 3, 5});
  add({"3x7x1500 large K", 3, 7, 1500});
  add({"256x256x256 aligned", 256, 256, 256});
  add({"1000x1000x1000", 1000, 1000, 1000});
  for (int t = 0; t < 4; ++t) {
    Case c{"", 65, 33, 17, 3, bool(t & 1), bool(t & 2)};
    c.name = std::string("3x65x33x17 batched") + (c.ta ? " tA" : "") + (c.tb ? " tB" : "");
    add(c);
  }
  {
    Case c{"4x9x13x6 bcast B, padded ld", 9, 13, 6, 4};
    c.bcast_b = true; c.pad_a = 3; c.pad_b = 5; c.pad_c = 2;
    add(c);
  }
  {
    Case c{"2x130x70x40 bcast A tA tB", 130, 70, 40, 2, true, true};
    c.bcast_a = true;
    add(c);
  }
  {
    Case c{"200x130x72 aligned ld, ragged", 200, 130, 72};  // 16-byte rows, partial vectors at edges
    c.pad_b = 6;
    add(c);
  }
  {
    Case c{"200x130x72 aligned ld, ragged tA", 200, 130, 72, 1, true};
    c.pad_b = 6;
    add(c);
  }
  // 16-byte rows, 2 x 2 x 2 tiles of rung 14's (128, 256): its persistent loop (more tiles than SMs).
  add({"2x136x264x72 aligned, 8 tiles", 136, 264, 72, 2});
  // B K-major with 16-byte rows: the sm_90a rungs' TMA path for B's K-major layout (ldb = 80).
  {
    Case c{"200x130x72 aligned ld, ragged tB", 200, 130, 72, 1, false, true};
    c.pad_b = 8;
    add(c);
  }
  {
    Case c{"200x130x72 aligned ld, ragged tA tB", 200, 130, 72, 1, true, true};
    c.pad_b = 8;
    add(c);
  }
  {
    Case c{"16x520x520xK big tiles", 520, 520, kbig, 16};  // >= 256 tiles of 128x128: big configs
    c.for_big_configs = true;
    add(c);
  }
  {
    Case c{"16x520x516xK big tiles tA tB", 520, 516, kbig2, 16, true, true};
    c.for_big_configs = true;
    add(c);
  }
  {
    Case c{"129x128x64 A,B misaligned", 129, 128, 64};
    c.off_a = 1; c.off_b = 3;  // ld multiple of 4/8 but pointers off 16-byte boundaries
    add(c);
  }
  {
    Case c{"300x1x64 gemv misaligned, padded", 300, 1, 64};
    c.off_a = 1; c.pad_a = 4;
    add(c);
  }
  {
    Case c{"1x300x64 gemv tB", 1, 300, 64, 1, false, true};
    add(c);
  }
  {
    Case c{"70000 x 2x3x4 (batch > 65535)", 2, 3, 4, 70000};
    add(c);
  }
  add({"524301x3x5 (tile rows > 65535)", 524301, 3, 5});
  return cs;
}

// Under the CPU SIMT executor (KB_SIM) every CUDA thread is a fiber: the cases that launch tens of
// thousands of blocks or 10^9 multiply-adds are left to the GPU; all other shapes run.
static bool case_fits_executor(const Case& c) {
#ifdef KB_SIM
  const double work = (double)c.batch * c.m * c.n * std::max(c.k, 1LL);
  return work <= 2.5e8 && c.batch * ((c.m + 63) / 64) <= 4096;
#else
  (void)c;
  return true;
#endif
}


// Under the executor, a rung runs a many-tile case only if that case launches a kernel its batch-1
// version does not (its big configuration): a one-thread-per-element rung gains nothing from
// simulating four million threads.
static bool reaches_new_config(const MatmulKernel& k, const Case& cs, const MatmulArgs& p) {
#ifdef KB_SIM
  // The sm_90a rungs launch one kernel for every problem their TMA can address and hand the rest to
  // rung 12's kernel: a many-tile case adds nothing, and a large handed-over case is rung 12's check.
  if (k.min_arch == 90) {
    const double work = (double)p.batch * p.m * p.n * std::max(p.k, (kb_int64)1);
    return !cs.for_big_configs && (work <= 2e6 || (p.k > 0 && sm90::tma_ok(p)));
  }
  if (!cs.for_big_configs || !k.config || refuses(k, p)) return true;
  MatmulArgs one = p;
  one.batch = 1;
  return k.config(p).kernel != k.config(one).kernel;
#else
  (void)k; (void)cs; (void)p;
  return true;
#endif
}

// The architecture refuses() is asked about: the GPU's own, or sm_90 under the executor (whose model
// of sm_90a's TMA, mbarrier and wgmma runs rungs 13 and 14, csrc/sim/kbsim_hopper.h).
static int g_arch = -1;

// TF32 rungs round both inputs to 10 mantissa bits: a looser bound than fp32's.
static double rung_tolerance(const MatmulKernel& k, DType d, long long kdim) {
  const double t = tolerance(d, kdim);
  return (k.traits & kTF32) ? std::max(t, 8 * 0.00048828125) : t;
}

// One rung on one problem: PASS / FAIL / SKIP line, counted.
static void check_rung(const MatmulKernel& k, const Case& cs, DType d, DeviceProblem& dp, const std::vector<double>& ref) {
  if (refuses(k, dp.p, g_arch) && !refuses(k, dp.p)) {
#ifdef KB_SIM
    printf("SKIP %-24s %-4s %-34s needs sm_%d: not on the CPU SIMT executor's sm_90 model\n", k.name,
           short_name(d), cs.name.c_str(), k.min_arch);
#else
    printf("SKIP %-24s %-4s %-34s needs sm_%d (this device: sm_%d)\n", k.name, short_name(d), cs.name.c_str(),
           k.min_arch, g_arch);
#endif
    return;
  }
  if (refuses(k, dp.p)) {  // its table line refuses the shape (e.g. GEMV on a matrix): must throw
    std::string err;
    bool threw_arg = false;
    try { k.fn(dp.p, nullptr); } catch (const ArgumentError&) { threw_arg = true; } catch (const std::exception& e) { err = e.what(); }
    if (threw_arg) { ++g_pass; return; }
    ++g_fail;
    printf("FAIL %-24s %-4s %-34s expected kb::ArgumentError (its table line refuses the case) %s\n", k.name,
           short_name(d), cs.name.c_str(), err.c_str());
    return;
  }
  std::vector<double> got;
  std::string err;
  double rel = INFINITY;
  if (run_once(k, dp, got, err)) rel = compare(got, ref, err);
  const double tol = rung_tolerance(k, d, cs.k);
  const bool ok = err.empty() && rel <= tol;
  ok ? ++g_pass : ++g_fail;
  printf("%s %-24s %-4s %-34s max rel err %.2e (tol %.1e) %s\n", ok ? "PASS" : "FAIL", k.name, short_name(d),
         cs.name.c_str(), rel, tol, err.c_str());
  if (!ok && err.find("CUDA error") != std::string::npos) {
    printf("a CUDA error leaves the context unusable: stopping\n");
    exit(1);
  }
}

static void check_all(const std::string& only = "") {
  const auto& table = cuda_matmul_kernels();
  printf("== checks: %zu table entries\n", table.size());
  for (const Case& cs : cases()) {
    if (!case_fits_executor(cs)) {
      printf("SKIP %-34s (too large for the CPU SIMT executor; runs on a GPU)\n", cs.name.c_str());
      continue;
    }
    const auto case_start = std::chrono::steady_clock::now();
    for (DType d : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
      bool any = false;
      for (const auto& k : table) any |= (k.dtypes & dtype_bit(d)) && (only.empty() || only == k.name);
      if (!any) continue;
      DeviceProblem dp = make_problem(cs, d);
      const std::vector<double> ref = host_reference(cs, dp);
      for (const auto& k : table) {
        if (!(k.dtypes & dtype_bit(d)) || (!only.empty() && only != k.name)) continue;
        if (!reaches_new_config(k, cs, dp.p)) continue;
        check_rung(k, cs, d, dp, ref);
      }
      free_problem(dp);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - case_start).count();
    fprintf(stderr, "case %-34s checked in %.2f s (wall time of the check, not a kernel timing)\n", cs.name.c_str(), secs);
  }
}

// One small awkward case per rung and dtype (odd sizes, batch with a transposed operand, a base
// pointer one element off): what the sanitizer builds run, where every access is instrumented.
// A second case with 16-byte rows and five 64-deep k-tiles: the pipelines' refills of a stage (08,
// 12) and the sm_90a rungs' TMA / mbarrier / wgmma path run under the sanitizers too.
static void check_sanitize(const std::string& only) {
  Case odd{"2x37x33x19 tA, A off by 1", 37, 33, 19, 2, true, false};
  odd.off_a = 1;
  const Case deep{"2x40x24x264 aligned tB, 5 k-tiles", 40, 24, 264, 2, false, true};
  // The edge shapes (issue 21): partial tiles in every dimension with padded rows, and batches of
  // transposed, padded matrices -- with A and B ending where their data ends, a read past an edge
  // is out of bounds for AddressSanitizer.
  Case edge{"67x45x37 partial tiles, padded ld", 67, 45, 37};
  edge.pad_a = 3; edge.pad_b = 5; edge.pad_c = 2;
  Case batched{"3x33x17x9 batched tA tB, padded ld", 33, 17, 9, 3, true, true};
  batched.pad_a = 1; batched.pad_b = 2; batched.pad_c = 1;
  for (const Case& cs : {odd, deep, edge, batched})
    for (DType d : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
      DeviceProblem dp = make_problem(cs, d);
      const std::vector<double> ref = host_reference(cs, dp);
      for (const auto& k : cuda_matmul_kernels())
        if ((k.dtypes & dtype_bit(d)) && (only.empty() || only == k.name)) check_rung(k, cs, d, dp, ref);
      free_problem(dp);
    }
}

static DType parse_dtype(const std::string& s) {
  if (s == "f32" || s == "float32") return DType::F32;
  if (s == "f64" || s == "float64") return DType::F64;
  if (s == "f16" || s == "float16") return DType::F16;
  if (s == "bf16" || s == "bfloat16") return DType::BF16;
  throw ArgumentError("dtype: expected f32, f64, f16 or bf16, got '" + s + "'");
}

// `one RUNG DTYPE M N K [BATCH]`: one rung on one problem shape, in every layout the rung takes (A
// and B each row-major or transposed; kernelbench sim --check memory|races).
static void check_one(int argc, char** argv) {
  if (argc < 7) throw ArgumentError("usage: one RUNG DTYPE M N K [BATCH]");
  const std::string name = argv[2];
  const DType d = parse_dtype(argv[3]);
  const std::string shape = std::string(argv[4]) + "x" + argv[5] + "x" + argv[6];
  for (const auto& k : cuda_matmul_kernels()) {
    if (name != k.name) continue;
    if (!(k.dtypes & dtype_bit(d))) throw ArgumentError("dtype: " + name + " does not take " + argv[3]);
    for (int layout = 0; layout < 4; ++layout) {
      const bool ta = layout & 1, tb = layout & 2;
      Case cs{shape + (ta ? " tA" : "") + (tb ? " tB" : ""), std::atoll(argv[4]), std::atoll(argv[5]),
              std::atoll(argv[6]), argc > 7 ? std::atoll(argv[7]) : 1, ta, tb};
      DeviceProblem dp = make_problem(cs, d);
      const std::vector<double> ref = host_reference(cs, dp);
      check_rung(k, cs, d, dp, ref);  // a layout its table line refuses must be refused
      free_problem(dp);
    }
    return;
  }
  throw ArgumentError("impl: no CUDA matmul rung named '" + name + "'");
}

// 4096^3 fp32: every rung against rung 01, then timed.
static void time_all() {
  const auto& table = cuda_matmul_kernels();
  const long long s = 4096;
  Case cs{"4096^3", s, s, s};
  DeviceProblem dp = make_problem(cs, DType::F32);
  printf("== 4096^3 fp32: checked against %s, then CUDA-event median of 10 after warm-up\n", table[0].name);
  std::vector<double> ref;
  std::string err;
  if (!run_once(table[0], dp, ref, err)) {
    printf("FAIL %s 4096^3: %s\n", table[0].name, err.c_str());
    ++g_fail;
    return;
  }
  cudaEvent_t e0, e1;
  KB_CUDA_CHECK(cudaEventCreate(&e0));
  KB_CUDA_CHECK(cudaEventCreate(&e1));
  for (const auto& k : table) {
    if (!(k.dtypes & kF32) || refuses(k, dp.p, g_arch)) continue;
    std::vector<double> got;
    double rel = INFINITY;
    err.clear();
    if (run_once(k, dp, got, err)) rel = compare(got, ref, err);
    const double tol = 2 * rung_tolerance(k, DType::F32, s);
    if (!err.empty() || rel > tol) {
      ++g_fail;
      printf("FAIL %-24s 4096^3 vs %s: max rel err %.2e (tol %.1e) %s\n", k.name, table[0].name, rel, tol,
             err.c_str());
      continue;
    }
    ++g_pass;
    std::vector<float> ms;
    for (int r = 0; r < 12; ++r) {
      KB_CUDA_CHECK(cudaEventRecord(e0));
      k.fn(dp.p, nullptr);
      KB_CUDA_CHECK(cudaEventRecord(e1));
      KB_CUDA_CHECK(cudaEventSynchronize(e1));
      float t;
      KB_CUDA_CHECK(cudaEventElapsedTime(&t, e0, e1));
      if (r >= 2) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    const double med = 0.5 * (ms[4] + ms[5]);
    printf("TIME %-24s 4096^3 fp32  %9.3f ms  %7.2f TFLOP/s  (rel err vs 01: %.1e)\n", k.name, med,
           2.0 * s * s * s / (med * 1e-3) / 1e12, rel);
  }
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  free_problem(dp);
}

int main(int argc, char** argv) {
#ifdef KB_SIM
  // The CPU SIMT executor answers "is it right?", never "how fast?": checks only.
  const std::string mode = argc > 1 ? argv[1] : "check";
  if (mode != "check" && mode != "one" && mode != "sanitize") {
    printf("the CPU SIMT executor does not time kernels: `check`, `sanitize` and `one` run here\n");
    return 2;
  }
#else
  const std::string mode = argc > 1 ? argv[1] : "all";
#endif
  int dev = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
    printf("no CUDA device: skipped\n");
    return 0;
  }
  printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
#ifdef KB_SIM
  g_arch = 90;
#else
  g_arch = prop.major * 10 + prop.minor;
#endif
  try {
    if (mode == "one") check_one(argc, argv);
    if (mode == "sanitize") check_sanitize(argc > 2 ? argv[2] : "");
    if (mode == "all" || mode == "check") check_all(argc > 2 ? argv[2] : "");
    if (mode == "all" || mode == "time") time_all();
  } catch (const std::exception& e) {
    printf("FAIL: %s\n", e.what());
    ++g_fail;
  }
  printf("%d passed, %d failed%s\n", g_pass, g_fail, g_pass + g_fail ? "" : " (NONE: no case ran)");
  return g_fail || g_pass + g_fail == 0 ? 1 : 0;
}
