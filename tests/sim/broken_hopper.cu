// Broken tensor-core kernels: each one makes a classic mistake with TMA, mbarrier or wgmma (sm_90a),
// or with the convergence of a warp's ldmatrix (sm_80), and the CPU SIMT executor (its Hopper model,
// csrc/sim/kbsim_hopper.h) or its AddressSanitizer build must catch it.
// Built and run like broken_kernels.cu (tests/test_sim_hopper.py):
//   broken_hopper CASE   -> "RESULT ok|wrong ..." or "DIAGNOSIS ..."
// The kernel is a small warp-specialized pipeline like rung 14's: warpgroup 0's thread 0 loads a
// (64 m x 64 k) tile of A (K-major) and a (64 k x 128 n) tile of B (N-major, two 64-wide panels) by
// TMA into one stage, twice (K = 128); warpgroup 1 multiplies with wgmma m64n128k16 and frees the
// stage on an "empty" mbarrier.  `fixed` is the same kernel done right.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/kb_cuda.cuh"
#include "common/kb_tolerance.h"
#include "cuda/matmul/tensor_core.cuh"

using namespace kb;
using namespace kb::sm90;

enum Bug {
  kNone,
  kSwizzleBit,     // A's descriptor says 64-byte swizzle (mode 2) for a 128-byte-swizzled tile
  kSboOffByOne,    // B's SBO one unit (16 bytes) too large
  kBoxTooLarge,    // A's tensor map box has 128 rows for a 64-row buffer (host side)
  kNoExpectTx,     // the producer never arrives with expect_tx on the full barrier
  kWrongParity,    // the producer waits on the empty barrier with the consumers' parity
  kEarlyTmaRead,   // the producer reads the A tile right after issuing its TMA
  kEarlyAccRead,   // the consumers store an accumulator before wgmma.wait_group
};

constexpr int BM = 64, BN = 128, BK = 64, KT = 2;
constexpr u32 B_BYTES = BK * BN * 2, A_BYTES = BM * BK * 2;  // B first, A last: A's overrun leaves the buffer
constexpr std::size_t SMEM = B_BYTES + A_BYTES + 16;

struct Params {
  CUtensorMap ta, tb;
  float* c;    // 64 x 128
  float* probe;
};

// The consumer thread x's accumulators (wgmma's D layout) into the 64 x 128 fp32 C.
__device__ void store_accumulators(const float (&d)[64], float* c, int x) {
  const int w = x / 32, l = x % 32;
  for (int r = 0; r < 64; ++r) c[(16 * w + l / 4 + 8 * ((r / 2) % 2)) * BN + 8 * (r / 4) + 2 * (l % 4) + r % 2] = d[r];
}

template <int BUG>
__global__ void pipeline(const __grid_constant__ Params q) {
  KB_DYNAMIC_SHARED(unsigned char, base);  // 1024-byte aligned by the executor
  unsigned char* sb = base;
  unsigned char* sa = base + B_BYTES;
  u64* full = reinterpret_cast<u64*>(base + B_BYTES + A_BYTES);
  u64* empty = full + 1;
  const int tid = threadIdx.x;
  if (tid == 0) {
    mbar_init(full, 1);
    mbar_init(empty, 4);  // one arrival per consumer warp
    fence_barrier_init();
  }
  __syncthreads();
  if (tid < 128) {  // producer
    if (tid != 0) return;
    for (int kt = 0; kt < KT; ++kt) {
      mbar_wait(empty, BUG == kWrongParity ? (kt & 1) : (kt & 1) ^ 1);  // a fresh barrier passes parity 1
      if (BUG != kNoExpectTx) mbar_arrive_expect_tx(full, A_BYTES + B_BYTES);
      tma_load_3d(sa, &q.ta, full, kt * BK, 0, 0);
      for (int h = 0; h < 2; ++h) tma_load_3d(sb + h * 8192, &q.tb, full, 64 * h, kt * BK, 0);
      if (BUG == kEarlyTmaRead && kt == 0) {
        q.probe[0] = to_float(reinterpret_cast<const __nv_bfloat16*>(sa)[0]);  // before the full barrier
      }
    }
    return;
  }
  float d[64];
  for (int r = 0; r < 64; ++r) d[r] = 0.f;
  for (int kt = 0; kt < KT; ++kt) {
    mbar_wait(full, kt & 1);
    if (BUG != kEarlyTmaRead && tid == 128 && kt == 0) q.probe[0] = to_float(reinterpret_cast<const __nv_bfloat16*>(sa)[0]);
    wgmma_fence();
    for (int kk = 0; kk < BK / 16; ++kk) {
      u64 da = desc_sw128(sa + kk * 32, 16, 1024);
      const u64 db = desc_sw128(sb + kk * 2048, 8192, BUG == kSboOffByOne ? 1024 + 16 : 1024);
      if (BUG == kSwizzleBit) da = (da & ~(3ull << 62)) | (2ull << 62);
      wgmma_m64n128k16<__nv_bfloat16, 0, 1>(d, da, db, 1);
    }
    wgmma_commit();
    if (BUG == kEarlyAccRead && kt == KT - 1) {
      store_accumulators(d, q.c, tid - 128);
    }
    wgmma_wait<0>();
    if ((tid % 32) == 0) mbar_arrive(empty);
  }
  if (BUG != kEarlyAccRead) store_accumulators(d, q.c, tid - 128);
}

// ldmatrix.x4 of a 16x16 bf16 tile (lane l addresses row l % 16, column 8 (l / 16)); the lanes of the
// warp must all execute the same ldmatrix, on shared memory.
enum FragBug { kFragNone, kFragMixedShapes, kFragTwoSites, kFragGlobal };
template <int BUG>
__global__ void fragments(const __nv_bfloat16* g, float* out) {
  __shared__ __align__(16) __nv_bfloat16 tile[16 * 16];
  for (int i = threadIdx.x; i < 256; i += 32) tile[i] = g[i];
  __syncwarp();
  const int l = threadIdx.x, at = (l % 16) * 16 + (l / 16) * 8;
  const void* row = BUG == kFragGlobal ? (const void*)(g + at) : (const void*)(tile + at);
  u32 r[4] = {0, 0, 0, 0};
  if (BUG == kFragMixedShapes && l >= 16) {
    u32 r2[2];
    tc::ldmatrix_x2(r2, row);  // half the warp issues another shape
    r[0] = r2[0];
  } else if (BUG == kFragTwoSites && l >= 16) {
    tc::ldmatrix_x4(r, row);   // the same instruction at another line: another instruction
  } else {
    tc::ldmatrix_x4(r, row);
  }
  const std::uint16_t lo = (std::uint16_t)(r[0] & 0xffffu);
  out[l] = to_float(*reinterpret_cast<const __nv_bfloat16*>(&lo));
}

// ------------------------------------------------------------------ driver
static float bf(std::uint16_t h) { std::uint32_t u = (std::uint32_t)h << 16; float f; std::memcpy(&f, &u, 4); return f; }

static int run_fragments(int bug) {
  std::vector<std::uint16_t> h(256);
  for (int i = 0; i < 256; ++i) h[i] = (std::uint16_t)(0x3f80 + i);
  void* g;
  float* out;
  KB_CUDA_CHECK(cudaMalloc(&g, 512));
  KB_CUDA_CHECK(cudaMalloc(&out, 32 * 4));
  KB_CUDA_CHECK(cudaMemcpy(g, h.data(), 512, cudaMemcpyHostToDevice));
  static void (*const kernels[])(const __nv_bfloat16*, float*) = {fragments<kFragNone>, fragments<kFragMixedShapes>,
                                                                  fragments<kFragTwoSites>, fragments<kFragGlobal>};
  launch(kernels[bug], 1, 32, 0, nullptr, (const __nv_bfloat16*)g, out);
  std::vector<float> y(32);
  KB_CUDA_CHECK(cudaMemcpy(y.data(), out, 32 * 4, cudaMemcpyDeviceToHost));
  bool ok = true;
  for (int l = 0; l < 32; ++l) ok &= y[l] == bf(h[(l / 4) * 16 + 2 * (l % 4)]);  // matrix 0: row l/4, column 2 (l%4)
  std::printf("RESULT %s ldmatrix fragments\n", ok ? "ok" : "wrong");
  return ok ? 0 : 3;
}

// The tensor-core accumulation model (KBSIM_TC_TRUNCATE) on its own: a chain of K / 16 mma.sync
// m16n8k16 on fp16 inputs in [0.5, 1) (same sign), K = 16384, the result stored as fp16; prints the
// worst |error| / tolerance (kb_tolerance.h's matmul_tol with l2 = |ref| = sum of |terms|).
static int run_accumulate() {
  const int K = 16384;
  unsigned long long x = 88172645463325252ull;
  auto next = [&] { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return 0.5f + 0.5f * float(x >> 40) / float(1 << 24); };
  std::vector<__half> A(16 * K), B(K * 8);
  for (auto& v : A) v = __float2half_rn(next());
  for (auto& v : B) v = __float2half_rn(next());
  float c[32][4] = {}, d[32][4];
  for (int k0 = 0; k0 < K; k0 += 16) {
    std::uint32_t a[32][4], b[32][2];
    for (int l = 0; l < 32; ++l) {
      for (int i = 0; i < 8; i += 2) {
        const auto p = kbsim::tc::a_m16n8k16(l, i);
        std::uint16_t lo, hi;
        std::memcpy(&lo, &A[p.row * K + k0 + p.col], 2);
        std::memcpy(&hi, &A[p.row * K + k0 + p.col + 1], 2);
        a[l][i / 2] = lo | (std::uint32_t(hi) << 16);
      }
      for (int i = 0; i < 4; i += 2) {
        const auto p = kbsim::tc::b_m16n8k16(l, i);
        std::uint16_t lo, hi;
        std::memcpy(&lo, &B[(k0 + p.row) * 8 + p.col], 2);
        std::memcpy(&hi, &B[(k0 + p.row + 1) * 8 + p.col], 2);
        b[l][i / 2] = lo | (std::uint32_t(hi) << 16);
      }
    }
    kbsim::tc::mma_m16n8k16_warp(a, b, c, d, kbsim::tc::Kind::F16);
    std::memcpy(c, d, sizeof c);
  }
  double worst = 0;
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) {
      const auto p = kbsim::tc::c_m16n8(l, i);
      double ref = 0;
      for (int k = 0; k < K; ++k) ref += (double)__half2float(A[p.row * K + k]) * (double)__half2float(B[k * 8 + p.col]);
      const double got = __half2float(__float2half_rn(c[l][i]));  // the rung's fp16 store
      worst = std::max(worst, std::fabs(got - ref) / kb::tol::matmul_tol(kb::DType::F16, K, ref, ref));
    }
  std::printf("RATIO %.4f (K = %d, fp16, same sign, %s accumulation)\n", worst, K,
              std::getenv("KBSIM_TC_TRUNCATE") && *std::getenv("KBSIM_TC_TRUNCATE") == '1' ? "truncating" : "round-to-nearest");
  return worst <= 1.0 ? 0 : 3;
}

static int run(const std::string& c) {
  if (c == "accumulate") return run_accumulate();
  if (c == "ldmatrix_fixed") return run_fragments(kFragNone);
  if (c == "ldmatrix_mixed_shapes") return run_fragments(kFragMixedShapes);
  if (c == "ldmatrix_two_sites") return run_fragments(kFragTwoSites);
  if (c == "ldmatrix_from_global") return run_fragments(kFragGlobal);
  static const std::pair<const char*, int> cases[] = {
      {"fixed", kNone}, {"wrong_swizzle_bit", kSwizzleBit}, {"sbo_off_by_one", kSboOffByOne},
      {"tma_box_too_large", kBoxTooLarge}, {"missing_expect_tx", kNoExpectTx}, {"wrong_parity", kWrongParity},
      {"tma_read_before_barrier", kEarlyTmaRead}, {"wgmma_read_before_wait", kEarlyAccRead}};
  int bug = -1;
  for (auto& kv : cases)
    if (c == kv.first) bug = kv.second;
  if (bug < 0) {
    std::printf("unknown case %s\n", c.c_str());
    return 2;
  }
  const int M = BM, N = BN, K = BK * KT;
  std::vector<std::uint16_t> a(M * K), b(K * N);
  for (int i = 0; i < M * K; ++i) a[i] = (std::uint16_t)(0x3f80 + ((i * 37) % 61) - 30);  // bf16 near 1
  for (int i = 0; i < K * N; ++i) b[i] = (std::uint16_t)(0x3f00 + ((i * 11) % 53));      // bf16 in [0.5, 1)
  void *da, *db;
  float *dc, *probe;
  KB_CUDA_CHECK(cudaMalloc(&da, a.size() * 2));
  KB_CUDA_CHECK(cudaMalloc(&db, b.size() * 2));
  KB_CUDA_CHECK(cudaMalloc(&dc, M * N * 4));
  KB_CUDA_CHECK(cudaMalloc(&probe, 4));
  KB_CUDA_CHECK(cudaMemcpy(da, a.data(), a.size() * 2, cudaMemcpyHostToDevice));
  KB_CUDA_CHECK(cudaMemcpy(db, b.data(), b.size() * 2, cudaMemcpyHostToDevice));
  Params q;
  // A: (k inner, m outer), box (64, 64 or 128); B: (n inner, k outer), box (64, 64).
  q.ta = make_tmap(DType::BF16, da, K, M, K, 1, 0, bug == kBoxTooLarge ? 128 : 64);
  q.tb = make_tmap(DType::BF16, db, N, K, N, 1, 0, 64);
  q.c = dc;
  q.probe = probe;
  static void (*const kernels[])(const Params) = {pipeline<kNone>, pipeline<kSwizzleBit>, pipeline<kSboOffByOne>,
                                                  pipeline<kBoxTooLarge>, pipeline<kNoExpectTx>, pipeline<kWrongParity>,
                                                  pipeline<kEarlyTmaRead>, pipeline<kEarlyAccRead>};
  KB_CUDA_CHECK(cudaFuncSetAttribute((const void*)kernels[bug], cudaFuncAttributeMaxDynamicSharedMemorySize, (int)SMEM));
  launch(kernels[bug], 1, 256, SMEM, nullptr, q);
  std::vector<float> got(M * N);
  float pr = 0;
  KB_CUDA_CHECK(cudaMemcpy(got.data(), dc, got.size() * 4, cudaMemcpyDeviceToHost));
  KB_CUDA_CHECK(cudaMemcpy(&pr, probe, 4, cudaMemcpyDeviceToHost));
  double worst = 0;
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k) s += (double)bf(a[i * K + k]) * bf(b[k * N + j]);
      const double e = std::fabs(got[i * N + j] - s) / std::fabs(s);
      worst = std::isnan(e) ? INFINITY : std::max(worst, e);
    }
  const bool probe_ok = pr == bf(a[0]);
  const bool ok = worst < 1e-5 && probe_ok;
  std::printf("RESULT %s max rel err %.3g, probe %g (want %g)\n", ok ? "ok" : "wrong", worst, pr, bf(a[0]));
  return ok ? 0 : 3;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  try {
    return run(argv[1]);
  } catch (const std::exception& e) {
    std::printf("DIAGNOSIS %s\n", e.what());
    return 4;
  }
}
