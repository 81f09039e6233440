// The tensor-core rungs the executor emulates run on the CPU SIMT executor (csrc/sim), checked
// against a float64 reference: compiled by g++ with -DKB_SIM -include csrc/sim/kbsim.h together with
// the rung sources, from tests/test_tensor_core_layouts.py, which derives the rungs from their table
// lines and passes their launchers as -DKB_SIM_LAUNCHERS="X(matmul_NN_x) X(...)".
//   tensor_core_sim <launcher> <f16|bf16|f32> [corrupt]
// prints one "ok ..." / "FAIL ..." line per problem and "<n> failed" last; `corrupt` flips one
// output element after each launch (the check must then fail).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include "common/kb_tables.h"

namespace kb {   // the launchers under test, defined in their rung files
#define X(f) void f(const MatmulArgs&, void*);
KB_SIM_LAUNCHERS
#undef X
}  // namespace kb

static bool g_corrupt = false;

template <typename T>
static float tof(T v) { return float(v); }

// base: element offset of A and B from an aligned allocation (misaligned rows); bcast: B shared by
// every batch entry (batch stride 0); pad: added to both leading dimensions.
template <typename T>
static int run(kb::MatmulFn fn, kb::DType dt, int m, int n, int k, int batch, bool ta, bool tb, int pad, int base,
               bool bcast) {
  std::mt19937 rng(unsigned(m * 31 + n * 7 + k + 1000 * ta + 2000 * tb));
  std::uniform_real_distribution<float> u(-1, 1);
  const kb_int64 lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad;
  const kb_int64 sa = (ta ? k : m) * lda, b_one = (tb ? n : k) * ldb, sb = bcast ? 0 : b_one;
  std::vector<T> A(sa * batch + base + 1), B((bcast ? b_one : b_one * batch) + base + 1), C(std::size_t(m) * n * batch + 1);
  std::vector<double> Af(A.size()), Bf(B.size());
  for (std::size_t i = 0; i < A.size(); ++i) A[i] = T(u(rng)), Af[i] = tof(A[i]);
  for (std::size_t i = 0; i < B.size(); ++i) B[i] = T(u(rng)), Bf[i] = tof(B[i]);
  kb::MatmulArgs p{};
  p.a = A.data() + base;
  p.b = B.data() + base;
  p.c = C.data();
  p.m = m, p.n = n, p.k = k, p.batch = batch, p.lda = lda, p.ldb = ldb, p.ldc = n;
  p.stride_a = sa, p.stride_b = sb, p.stride_c = (kb_int64)m * n, p.trans_a = ta, p.trans_b = tb, p.dtype = dt;
  std::string err;
  try {
    fn(p, nullptr);
  } catch (const std::exception& e) {
    err = e.what();
  }
  if (g_corrupt && m * n > 0) C[(m / 2) * n + n / 2] = T(tof(C[(m / 2) * n + n / 2]) + 0.5f);
  // |C - ref| <= (eps_in * 2 + eps_acc) * sum |a||b| + eps_out |ref|, eps per input precision
  const double eps_out = dt == kb::DType::BF16 ? 0x1p-8 : dt == kb::DType::F16 ? 0x1p-11 : 0x1p-24;
  const double eps_in = dt == kb::DType::F32 ? 0x1p-11 : 0.0;  // f32 here is the TF32 rung
  double worst = 0;
  for (int z = 0; z < batch && err.empty(); ++z)
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = 0, s_abs = 0;
        for (int q = 0; q < k; ++q) {
          const double a = Af[base + z * sa + (ta ? q * lda + i : i * lda + q)];
          const double b = Bf[base + z * sb + (tb ? j * ldb + q : q * ldb + j)];
          s += a * b, s_abs += std::fabs(a * b);
        }
        const double tol = (2 * eps_in + 8 * 0x1p-24 * std::sqrt(double(k) + 1)) * s_abs + 2 * eps_out * std::fabs(s) + 1e-30;
        const double r = std::fabs(tof(C[z * (std::size_t)m * n + i * n + j]) - s) / tol;
        if (!(r <= worst)) worst = r;  // NaN-safe
      }
  const bool ok = err.empty() && worst <= 1.0;
  std::printf("%s %dx%dx%d batch %d ta%d tb%d ld+%d base+%d bcastB%d: max err/tol %.3g %s\n", ok ? "ok" : "FAIL", m, n,
              k, batch, ta, tb, pad, base, (int)bcast, worst, err.c_str());
  return ok ? 0 : 1;
}

template <typename T>
static int suite(kb::MatmulFn fn, kb::DType dt) {
  int f = 0;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) f += run<T>(fn, dt, 129, 67, 75, 2, ta, tb, ta ^ tb, 0, false);  // odd ld when ta != tb
  f += run<T>(fn, dt, 7, 130, 1, 1, false, false, 0, 0, false);     // K = 1
  f += run<T>(fn, dt, 1, 1, 200, 1, false, true, 0, 0, false);      // one element, K not a tile multiple
  f += run<T>(fn, dt, 300, 9, 130, 3, true, false, 0, 1, true);     // tall-skinny, misaligned base, B broadcast
  f += run<T>(fn, dt, 33, 257, 64, 2, false, true, 0, 0, true);     // N beyond two tiles
  f += run<T>(fn, dt, 130, 129, 128, 1, false, false, 0, 1, false); // misaligned base, aligned ld
  f += run<T>(fn, dt, 16, 16, 16, 1, true, true, 0, 0, false);      // one mma tile
  f += run<T>(fn, dt, 5, 6, 0, 1, false, false, 0, 0, false);       // K = 0: C = 0
  return f;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const std::string rung = argv[1], dt = argv[2];
  g_corrupt = argc > 3 && std::string(argv[3]) == "corrupt";
  static const struct { const char* name; kb::MatmulFn fn; } launchers[] = {
#define X(f) {#f, kb::f},
      KB_SIM_LAUNCHERS
#undef X
  };
  kb::MatmulFn fn = nullptr;
  for (const auto& l : launchers)
    if (rung == l.name) fn = l.fn;
  if (!fn) return 2;
  int f = dt == "f32" ? suite<float>(fn, kb::DType::F32)
          : dt == "bf16" ? suite<__nv_bfloat16>(fn, kb::DType::BF16)
                         : suite<__half>(fn, kb::DType::F16);
  std::printf("%d failed\n", f);
  return f ? 1 : 0;
}
