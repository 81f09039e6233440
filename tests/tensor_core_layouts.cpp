// Host test of csrc/sim/kbsim_tensor_core.h and kbsim_wmma.h, without the SIMT executor and
// without a GPU: compiled by g++ from tests/test_tensor_core_layouts.py.
//   tensor_core_layouts all          every positive check; prints "ok <name>" per check, exit 0
//   tensor_core_layouts <negative>   one misuse; prints what the emulation reported
// A warp is 32 std::threads meeting at a barrier (kbsim::warp_allgather below), so the per-lane
// wrappers run exactly as the rungs call them.
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

static std::mutex g_report_mu;
static std::string g_report;  // the last misuse the emulation reported
#define KBSIM_TC_REPORT(msg)                            \
  do {                                                  \
    std::lock_guard<std::mutex> lk_(g_report_mu);       \
    if (g_report.empty()) g_report = (msg);             \
  } while (0)
#include "../csrc/sim/kbsim_wmma.h"

using kbsim::tc::RC;
using std::uint16_t;
using std::uint32_t;

// ---- a warp of std::threads ------------------------------------------------------------------
static thread_local unsigned t_lane = 0;
static std::barrier<>* g_bar = nullptr;
static unsigned char g_buf[32][512];
namespace kbsim {
void warp_allgather(const void* mine, void* all, std::size_t bytes, const char*) {
  std::memcpy(g_buf[t_lane], mine, bytes);
  g_bar->arrive_and_wait();
  for (int l = 0; l < 32; ++l) std::memcpy(static_cast<unsigned char*>(all) + l * bytes, g_buf[l], bytes);
  g_bar->arrive_and_wait();
}
unsigned lane_id() { return t_lane; }
// No executor here: the access hooks' event and suppression calls of the emulation have no observer.
void notify_event_at(Event, const char*, int, const void*, const void*, unsigned) {}
void access_suppress(bool) {}
}  // namespace kbsim

static void run_warp(const std::function<void(int)>& body) {
  std::barrier<> bar(32);
  g_bar = &bar;
  std::vector<std::thread> th;
  for (int l = 0; l < 32; ++l) th.emplace_back([&, l] { t_lane = unsigned(l); body(l); });
  for (auto& t : th) t.join();
  g_bar = nullptr;
}

// ---- helpers ---------------------------------------------------------------------------------
static int g_fail = 0;
static void check(bool ok, const std::string& name) {
  std::printf("%s %s\n", ok ? "ok" : "FAIL", name.c_str());
  if (!ok) ++g_fail;
}
// Round-trip encoders (fp32 values that are exactly representable are chosen by the tests).
static uint16_t to_bf16(float f) { return uint16_t(kbsim::tc::float_to_bits(f) >> 16); }
static uint16_t to_f16(float f) {  // exact for the small integers / halves used below
  for (uint32_t h = 0; h < 0x10000u; ++h)
    if (kbsim::tc::f16_to_float(uint16_t(h)) == f) return uint16_t(h);
  std::abort();
}
struct h16 {  // a 16-bit element type for the wmma emulation (no CUDA headers needed)
  uint16_t bits;
  operator float() const { return kbsim::tc::f16_to_float(bits); }
};

static bool same(const RC& a, int r, int c) { return a.row == r && a.col == c; }

// ---- 1. layouts against the PTX ISA tables, spot checks written out by hand -------------------
static void test_layout_tables() {
  using namespace kbsim::tc;
  // m16n8k16 A, lane 0 and lane 5 (groupID 1, threadID_in_group 1)
  const int a0[8][2] = {{0, 0}, {0, 1}, {8, 0}, {8, 1}, {0, 8}, {0, 9}, {8, 8}, {8, 9}};
  const int a5[8][2] = {{1, 2}, {1, 3}, {9, 2}, {9, 3}, {1, 10}, {1, 11}, {9, 10}, {9, 11}};
  bool ok = true;
  for (int i = 0; i < 8; ++i) ok &= same(a_m16n8k16(0, i), a0[i][0], a0[i][1]) && same(a_m16n8k16(5, i), a5[i][0], a5[i][1]);
  check(ok, "m16n8k16 A layout (ISA table, lanes 0 and 5)");
  const int b5[4][2] = {{2, 1}, {3, 1}, {10, 1}, {11, 1}}, b31[4][2] = {{6, 7}, {7, 7}, {14, 7}, {15, 7}};
  ok = true;
  for (int i = 0; i < 4; ++i) ok &= same(b_m16n8k16(5, i), b5[i][0], b5[i][1]) && same(b_m16n8k16(31, i), b31[i][0], b31[i][1]);
  check(ok, "m16n8k16 B layout (ISA table, lanes 5 and 31)");
  const int c5[4][2] = {{1, 2}, {1, 3}, {9, 2}, {9, 3}};
  ok = true;
  for (int i = 0; i < 4; ++i) ok &= same(c_m16n8(5, i), c5[i][0], c5[i][1]);
  check(ok, "m16n8 C/D layout (ISA table, lane 5)");
  const int t5[4][2] = {{1, 1}, {9, 1}, {1, 5}, {9, 5}};
  ok = same(b_m16n8k8_tf32(5, 0), 1, 1) && same(b_m16n8k8_tf32(5, 1), 5, 1);
  for (int i = 0; i < 4; ++i) ok &= same(a_m16n8k8_tf32(5, i), t5[i][0], t5[i][1]);
  check(ok, "m16n8k8 tf32 A/B layout (ISA table, lane 5)");
  ok = same(ldmatrix_elem(5, 0, false), 1, 2) && same(ldmatrix_elem(5, 1, false), 1, 3) &&
       same(ldmatrix_elem(5, 0, true), 2, 1) && same(ldmatrix_elem(5, 1, true), 3, 1);
  check(ok, "ldmatrix element layout, plain and .trans (lane 5)");
  // every layout covers its matrix exactly once
  auto covers = [](int rows, int cols, int per_lane, RC (*f)(int, int)) {
    std::vector<int> n(rows * cols, 0);
    for (int l = 0; l < 32; ++l)
      for (int i = 0; i < per_lane; ++i) {
        const RC p = f(l, i);
        if (p.row < 0 || p.row >= rows || p.col < 0 || p.col >= cols) return false;
        ++n[p.row * cols + p.col];
      }
    for (int v : n)
      if (v != 1) return false;
    return true;
  };
  check(covers(16, 16, 8, a_m16n8k16) && covers(16, 8, 4, b_m16n8k16) && covers(16, 8, 4, c_m16n8) &&
            covers(16, 8, 4, a_m16n8k8_tf32) && covers(8, 8, 2, b_m16n8k8_tf32),
        "every fragment layout is a bijection onto its matrix");
}

// ---- 2. scalar formats -----------------------------------------------------------------------
static void test_formats() {
  using namespace kbsim::tc;
  bool ok = f16_to_float(0x3c00) == 1.0f && f16_to_float(0xc000) == -2.0f && f16_to_float(0x0001) == std::ldexp(1.0f, -24) &&
            f16_to_float(0x7bff) == 65504.0f && std::isinf(f16_to_float(0x7c00)) && std::isnan(f16_to_float(0x7e00)) &&
            f16_to_float(0x03ff) == std::ldexp(1023.0f, -24);
  check(ok, "fp16 -> fp32 (normal, subnormal, max, inf, nan)");
  check(bf16_to_float(0x3f80) == 1.0f && bf16_to_float(0xc0a0) == -5.0f, "bf16 -> fp32");
  const float x = 1.0f + std::ldexp(1.0f, -11);  // exactly half a tf32 ulp above 1: ties away
  const float y = 1.0f + std::ldexp(1.0f, -12);  // below half: down
  ok = bits_to_float(cvt_rna_tf32(x)) == 1.0f + std::ldexp(1.0f, -10) && bits_to_float(cvt_rna_tf32(y)) == 1.0f &&
       bits_to_float(cvt_rna_tf32(-x)) == -(1.0f + std::ldexp(1.0f, -10)) && tf32_operand(float_to_bits(y)) == 1.0f;
  check(ok, "cvt.rna.tf32.f32 rounding (ties away) and tf32 operand truncation");
}

// ---- 3. whole-warp mma against a reference matmul ------------------------------------------------
static void test_mma_warp(kbsim::tc::Kind kind, const char* name) {
  using namespace kbsim::tc;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> u(-8, 8);
  float A[16][16], B[16][8], C[16][8];
  for (auto& r : A) for (auto& v : r) v = u(rng) * 0.25f;
  for (auto& r : B) for (auto& v : r) v = u(rng) * 0.5f;
  for (auto& r : C) for (auto& v : r) v = float(u(rng));
  auto enc = [&](float f) { return uint32_t(kind == Kind::F16 ? to_f16(f) : to_bf16(f)); };
  uint32_t a[32][4] = {}, b[32][2] = {};
  float c[32][4], d[32][4];
  for (int l = 0; l < 32; ++l) {
    for (int i = 0; i < 8; ++i) {
      const RC p = a_m16n8k16(l, i);
      a[l][i >> 1] |= enc(A[p.row][p.col]) << (16 * (i & 1));
    }
    for (int i = 0; i < 4; ++i) {
      const RC p = b_m16n8k16(l, i);
      b[l][i >> 1] |= enc(B[p.row][p.col]) << (16 * (i & 1));
    }
    for (int i = 0; i < 4; ++i) {
      const RC p = c_m16n8(l, i);
      c[l][i] = C[p.row][p.col];
    }
  }
  mma_m16n8k16_warp(a, b, c, d, kind);
  bool ok = true;
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) {
      const RC p = c_m16n8(l, i);
      double s = C[p.row][p.col];
      for (int q = 0; q < 16; ++q) s += double(A[p.row][q]) * B[q][p.col];
      ok &= d[l][i] == float(s);  // small multiples of 1/8: exact
    }
  check(ok, std::string("mma.m16n8k16 ") + name + " (whole warp) == reference");
  // negative: the same data with A's registers 1 and 2 swapped (rows g+8 <-> cols +8) must differ
  for (int l = 0; l < 32; ++l) std::swap(a[l][1], a[l][2]);
  float d2[32][4];
  mma_m16n8k16_warp(a, b, c, d2, kind);
  bool differs = false;
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) differs |= d2[l][i] != d[l][i];
  check(differs, std::string("mma.m16n8k16 ") + name + ": a wrong A register order is caught");
}

static void test_tf32_warp() {
  using namespace kbsim::tc;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  float A[16][8], B[8][8];
  for (auto& r : A) for (auto& v : r) v = u(rng);
  for (auto& r : B) for (auto& v : r) v = u(rng);
  uint32_t a[32][4], b[32][2];
  float c[32][4] = {}, d[32][4];
  for (int l = 0; l < 32; ++l) {
    for (int i = 0; i < 4; ++i) {
      const RC p = a_m16n8k8_tf32(l, i);
      a[l][i] = cvt_rna_tf32(A[p.row][p.col]);
    }
    for (int i = 0; i < 2; ++i) {
      const RC p = b_m16n8k8_tf32(l, i);
      b[l][i] = cvt_rna_tf32(B[p.row][p.col]);
    }
  }
  mma_m16n8k8_tf32_warp(a, b, c, d);
  double worst_tf32 = 0, worst_fp32_ref = 0;
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) {
      const RC p = c_m16n8(l, i);
      double s = 0, s_exact = 0;
      for (int q = 0; q < 8; ++q) {
        s += double(bits_to_float(cvt_rna_tf32(A[p.row][q]))) * bits_to_float(cvt_rna_tf32(B[q][p.col]));
        s_exact += double(A[p.row][q]) * B[q][p.col];
      }
      worst_tf32 = std::fmax(worst_tf32, std::fabs(d[l][i] - s));
      worst_fp32_ref = std::fmax(worst_fp32_ref, std::fabs(d[l][i] - s_exact));
    }
  check(worst_tf32 < 1e-5, "mma.m16n8k8.tf32 (whole warp) == reference on tf32-rounded inputs");
  check(worst_fp32_ref > 1e-5, "mma.m16n8k8.tf32 differs from the fp32 product (a different precision)");
}

// ---- 4. per-lane wrappers in a warp of threads: ldmatrix -> mma, as the rungs use them ------------
// A 16x16 (row-major, K contiguous) and B 16x8 stored two ways: [k][n] (N contiguous: ldmatrix
// .trans) and [n][k] (K contiguous: plain ldmatrix), both fed to mma.sync.
static void test_ldmatrix_mma_lanes(kbsim::tc::Kind kind, const char* name) {
  using namespace kbsim::tc;
  alignas(16) uint16_t As[16][16], Bkn[16][8], Bnk[8][16], At[16][16];
  float A[16][16], B[16][8];
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> u(-6, 6);
  auto enc = [&](float f) { return kind == Kind::F16 ? to_f16(f) : to_bf16(f); };
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      A[r][c] = u(rng) * 0.5f;
      As[r][c] = enc(A[r][c]);
      At[c][r] = As[r][c];  // A stored M-contiguous ([k][m]): ldmatrix .trans
    }
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n) {
      B[k][n] = float(u(rng));
      Bkn[k][n] = Bnk[n][k] = enc(B[k][n]);
    }
  float out[4][32][4];
  run_warp([&](int lane) {
    uint32_t a[4], at[4], bt[2], bp[2];
    // A, K contiguous: lane l gives row l % 16, column block (l / 16) * 8; x4 plain
    kbsim::tc::ldmatrix(a, 4, false, &As[lane % 16][(lane / 16) * 8], "ldmatrix.x4");
    // A, M contiguous: matrix j = l / 8 holds k rows 8 (j / 2) .. +7 at m offset 8 (j % 2); x4 .trans
    const int j = lane / 8, r = lane % 8;
    kbsim::tc::ldmatrix(at, 4, true, &At[r + (j / 2) * 8][(j % 2) * 8], "ldmatrix.x4.trans");
    // B [k][n]: lanes 0-15 give k rows 0-15; x2 .trans
    kbsim::tc::ldmatrix(bt, 2, true, &Bkn[lane % 16][0], "ldmatrix.x2.trans");
    // B [n][k]: matrix j = (lane / 8) % 2 holds k block 8 j, rows n = lane % 8; x2 plain
    kbsim::tc::ldmatrix(bp, 2, false, &Bnk[lane % 8][((lane / 8) % 2) * 8], "ldmatrix.x2");
    const float zero[4] = {0, 0, 0, 0};
    kbsim::tc::mma_m16n8k16(out[0][lane], a, bt, zero, kind, "mma");
    kbsim::tc::mma_m16n8k16(out[1][lane], a, bp, zero, kind, "mma");
    kbsim::tc::mma_m16n8k16(out[2][lane], at, bt, zero, kind, "mma");
    kbsim::tc::mma_m16n8k16(out[3][lane], at, bp, zero, kind, "mma");
  });
  bool ok = true;
  for (int v = 0; v < 4; ++v)
    for (int l = 0; l < 32; ++l)
      for (int i = 0; i < 4; ++i) {
        const RC p = c_m16n8(l, i);
        double s = 0;
        for (int q = 0; q < 16; ++q) s += double(A[p.row][q]) * B[q][p.col];
        ok &= out[v][l][i] == float(s);
      }
  check(ok, std::string("ldmatrix (x4, x4.trans, x2, x2.trans) -> mma.sync per lane, ") + name + ", 4 layouts");
}

static void test_tf32_lanes() {
  using namespace kbsim::tc;
  float A[16][8], B[8][8];
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 8; ++c) A[r][c] = float(r - c) * 0.25f;
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) B[r][c] = float(r * c % 5) - 2.f;
  float out[32][4];
  run_warp([&](int lane) {
    uint32_t a[4], b[2];
    for (int i = 0; i < 4; ++i) {
      const RC p = a_m16n8k8_tf32(lane, i);
      a[i] = cvt_rna_tf32(A[p.row][p.col]);
    }
    for (int i = 0; i < 2; ++i) {
      const RC p = b_m16n8k8_tf32(lane, i);
      b[i] = cvt_rna_tf32(B[p.row][p.col]);
    }
    const float c[4] = {1, 1, 1, 1};
    mma_m16n8k8_tf32(out[lane], a, b, c);
  });
  bool ok = true;
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) {
      const RC p = c_m16n8(l, i);
      double s = 1;
      for (int q = 0; q < 8; ++q) s += double(A[p.row][q]) * B[q][p.col];
      ok &= out[l][i] == float(s);
    }
  check(ok, "mma.m16n8k8.tf32 per lane == reference");
}

// ---- 5. wmma ---------------------------------------------------------------------------------
static void test_wmma() {
  namespace wmma = nvcuda::wmma;
  alignas(32) h16 Ar[16][16], Bc[16][16];  // A row-major; B column-major (Bc[n][k])
  alignas(32) float C[16][16], D[16][16], Dt[16][16];
  float A[16][16], B[16][16];
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      A[r][c] = float((r * 3 + c) % 7) - 3.f;
      B[r][c] = float((r + 2 * c) % 5) * 0.5f;  // B[k][n]
      Ar[r][c].bits = to_f16(A[r][c]);
      Bc[c][r].bits = to_f16(B[r][c]);
      C[r][c] = float(r - c);
    }
  run_warp([&](int) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, h16, wmma::row_major> a;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, h16, wmma::col_major> b;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::load_matrix_sync(a, &Ar[0][0], 16);
    wmma::load_matrix_sync(b, &Bc[0][0], 16);
    wmma::load_matrix_sync(acc, &C[0][0], 16, wmma::mem_row_major);
    wmma::mma_sync(acc, a, b, acc);
    wmma::store_matrix_sync(&D[0][0], acc, 16, wmma::mem_row_major);
    wmma::store_matrix_sync(&Dt[0][0], acc, 16, wmma::mem_col_major);
  });
  bool ok = true;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) {
      double s = C[r][c];
      for (int q = 0; q < 16; ++q) s += double(A[r][q]) * B[q][c];
      ok &= D[r][c] == float(s) && Dt[c][r] == float(s);
    }
  check(ok && g_report.empty(), "wmma 16x16x16 load/mma/store (row- and column-major) == reference");
  float acc0[32];
  run_warp([&](int lane) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 2.5f);
    acc0[lane] = acc.x[lane % 8];
  });
  ok = true;
  for (float v : acc0) ok &= v == 2.5f;
  check(ok, "wmma fill_fragment");
}

// ---- negative cases (one per process: the report is the output) ------------------------------
static int negative(const std::string& which) {
  namespace wmma = nvcuda::wmma;
  alignas(32) static uint16_t buf[64][16];
  alignas(32) static h16 hb[64][16];
  if (which == "ldmatrix_misaligned") {
    run_warp([&](int lane) {
      uint32_t r[4];
      kbsim::tc::ldmatrix(r, 4, false, reinterpret_cast<const char*>(&buf[lane][0]) + (lane == 9 ? 2 : 0), "ldmatrix.x4");
    });
  } else if (which == "wmma_misaligned") {
    run_warp([&](int) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, h16, wmma::row_major> a;
      wmma::load_matrix_sync(a, &hb[0][8], 16);  // 16 bytes past a 32-byte boundary
    });
  } else if (which == "wmma_ldm") {
    run_warp([&](int) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, h16, wmma::row_major> a;
      wmma::load_matrix_sync(a, &hb[0][0], 12);
    });
  } else if (which == "wmma_nonuniform") {
    run_warp([&](int lane) {
      wmma::fragment<wmma::matrix_b, 16, 16, 16, h16, wmma::row_major> b;
      wmma::load_matrix_sync(b, lane == 3 ? &hb[16][0] : &hb[0][0], 16);
    });
  } else {
    std::printf("unknown case %s\n", which.c_str());
    return 2;
  }
  std::printf("report: %s\n", g_report.empty() ? "(none)" : g_report.c_str());
  return g_report.empty() ? 1 : 0;
}

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "all";
  if (what != "all") return negative(what);
  test_layout_tables();
  test_formats();
  test_mma_warp(kbsim::tc::Kind::F16, "f16");
  test_mma_warp(kbsim::tc::Kind::BF16, "bf16");
  test_tf32_warp();
  test_ldmatrix_mma_lanes(kbsim::tc::Kind::F16, "f16");
  test_ldmatrix_mma_lanes(kbsim::tc::Kind::BF16, "bf16");
  test_tf32_lanes();
  test_wmma();
  std::printf("%d failed\n", g_fail);
  return g_fail ? 1 : 0;
}
