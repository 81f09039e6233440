// Tensor-core instructions for the CPU SIMT executor: mma.sync (m16n8k16 .f16/.bf16, m16n8k8
// .tf32) and ldmatrix (.m8n8 .x1/.x2/.x4, optionally .trans), with the register fragment layouts
// of the PTX ISA ("Matrix fragments for mma.m16n8k16 / mma.m16n8k8", "ldmatrix").
//
// Two levels:
//   * pure functions on a whole warp's registers (`*_warp`): no executor needed; these carry the
//     layouts and are unit-tested by tests/tensor_core_layouts.cpp;
//   * per-lane wrappers (`kbsim::tc::mma_m16n8k16_f16`, `ldmatrix`, ...) with the signatures of
//     csrc/cuda/matmul/tensor_core.cuh: each lane passes its own registers, the 32 lanes meet in
//     kbsim::warp_allgather (a warp-collective: a lane that does not arrive is a reported
//     deadlock), the warp result is computed once per lane from the gathered registers, and each
//     lane keeps its own part.
//
// Layouts (groupID g = lane >> 2, threadID_in_group t = lane % 4; a 32-bit register holds two
// 16-bit elements, the lower-numbered element in the low half):
//   m16n8k16 A (16x16, row-major), 8 elements a0..a7 in 4 registers:
//        row = g + 8 * ((i >> 1) & 1)      col = 2t + (i & 1) + 8 * (i >> 2)
//   m16n8k16 B (16x8, "col"), 4 elements b0..b3 in 2 registers:
//        row (k) = 2t + (i & 1) + 8 * (i >> 1)       col (n) = g
//   m16n8k8 .tf32 A (16x8), 4 registers a0..a3:  row = g + 8 * (i & 1)   col = t + 4 * (i >> 1)
//   m16n8k8 .tf32 B (8x8), 2 registers b0..b1:   row (k) = t + 4 * i     col (n) = g
//   C / D (16x8 fp32), 4 registers c0..c3:       row = g + 8 * (i >> 1)  col = 2t + (i & 1)
//   ldmatrix .m8n8 .b16: lanes 8j .. 8j+7 give the addresses of rows 0..7 of matrix j (16
//     contiguous bytes each, 16-byte aligned); register j of lane l receives row l/4, columns
//     2(l%4), 2(l%4)+1 of matrix j -- with .trans, column l/4, rows 2(l%4), 2(l%4)+1.
// Accumulation: products of fp16/bf16 (and tf32) values are exact in fp32; they are summed in
// k order in fp32 onto C.  The hardware's internal order and rounding are not specified by the
// ISA: results agree with a GPU to fp32 accumulation rounding, not bit for bit.
// TF32 operands: the hardware reads only the top 19 bits of each fp32 register (sign, exponent,
// 10 mantissa bits); the emulation does the same (truncation).  cvt.rna.tf32.f32 is
// cvt_rna_tf32() below.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "kbsim_access.h"

namespace kbsim {
// Provided by the executor (csrc/sim/kbsim.h) -- or by a test driver.
void warp_allgather(const void* mine, void* all, std::size_t bytes, const char* what);
unsigned lane_id();
}  // namespace kbsim

// How a misuse (a misaligned ldmatrix row, ...) is reported: the executor may define
// KBSIM_TC_REPORT(msg) before including this header; otherwise the message is printed and the
// process aborts (never a silent wrong answer).
#ifndef KBSIM_TC_REPORT
#define KBSIM_TC_REPORT(msg)                                   \
  do {                                                         \
    std::fprintf(stderr, "kbsim tensor core: %s\n", (msg));    \
    std::abort();                                              \
  } while (0)
#endif

// KBSIM_EMULATION marks code that computes on a warp's gathered registers: it is never compiled
// with the executor's per-access hooks or ThreadSanitizer's instrumentation (its accesses are
// registers on a GPU; instrumented, they cost ~90 % of a tensor-core rung's time on the hooked
// build).  KBSIM_UNHOOKED marks code that reads memory for the lanes while the hooks are suppressed
// (ldmatrix): uninstrumented on the hooked build, still seen by ThreadSanitizer in its own build.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define KBSIM_EMULATION __attribute__((no_sanitize("thread")))
#else
#define KBSIM_EMULATION
#endif
#if defined(KBSIM_ACCESS_HOOKS)
#define KBSIM_UNHOOKED KBSIM_EMULATION
#else
#define KBSIM_UNHOOKED
#endif

namespace kbsim {
namespace tc {

// ---- scalar formats ------------------------------------------------------------------------
KBSIM_EMULATION inline float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
KBSIM_EMULATION inline std::uint32_t float_to_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
// IEEE binary16 -> fp32 (exact: every fp16 value is an fp32 value).
KBSIM_EMULATION inline float f16_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | (man << 13));  // inf / nan
  if (exp == 0) {
    if (man == 0) return bits_to_float(sign);
    int e = -1;  // subnormal: normalise
    do {
      man <<= 1;
      ++e;
    } while ((man & 0x400u) == 0);
    man &= 0x3ffu;
    return bits_to_float(sign | (std::uint32_t(127 - 15 - e) << 23) | (man << 13));
  }
  return bits_to_float(sign | ((exp + 127 - 15) << 23) | (man << 13));
}
// bfloat16 -> fp32: the top half of an fp32.
KBSIM_EMULATION inline float bf16_to_float(std::uint16_t b) { return bits_to_float(std::uint32_t(b) << 16); }
// TF32 as the tensor core reads an fp32 register: the low 13 mantissa bits are ignored.
KBSIM_EMULATION inline float tf32_operand(std::uint32_t u) { return bits_to_float(u & 0xffffe000u); }
// cvt.rna.tf32.f32: round to nearest, ties away from zero, to 10 mantissa bits (low 13 bits 0).
KBSIM_EMULATION inline std::uint32_t cvt_rna_tf32(float f) {
  std::uint32_t u = float_to_bits(f);
  if ((u & 0x7f800000u) == 0x7f800000u) return (u & 0xffffe000u) | ((u & 0x7fffffu) ? 0x400000u : 0u);  // inf / nan
  u += 0x1000u;  // half an ulp of tf32, in magnitude: ties go away from zero
  return u & 0xffffe000u;
}

// The accumulation of a tensor-core dot product: c + sum a[q] b[q].  nullptr (default): the
// products, exact in fp32, added in q order with round-to-nearest.  The executor installs the
// stricter block-FMA model with truncation when KBSIM_TC_TRUNCATE=1 (kbsim_hopper.cpp).
typedef float (*DotFn)(const float* a, const float* b, int k, float c);
KBSIM_EMULATION inline DotFn& dot_model() {
  static DotFn f = nullptr;
  return f;
}
KBSIM_EMULATION inline float dot(const float* a, const float* b, int k, float c) {
  if (DotFn f = dot_model()) return f(a, b, k, c);
  for (int q = 0; q < k; ++q) c += a[q] * b[q];
  return c;
}

enum class Kind { F16, BF16 };
KBSIM_EMULATION inline float elem16(std::uint32_t reg, int half, Kind k) {
  const std::uint16_t v = std::uint16_t(half ? reg >> 16 : reg & 0xffffu);
  return k == Kind::F16 ? f16_to_float(v) : bf16_to_float(v);
}

// ---- fragment layouts (PTX ISA), as (row, col) of the element a lane holds ------------------
struct RC {
  int row, col;
};
KBSIM_EMULATION inline RC a_m16n8k16(int lane, int i) { return {(lane >> 2) + 8 * ((i >> 1) & 1), 2 * (lane & 3) + (i & 1) + 8 * (i >> 2)}; }
KBSIM_EMULATION inline RC b_m16n8k16(int lane, int i) { return {2 * (lane & 3) + (i & 1) + 8 * (i >> 1), lane >> 2}; }
KBSIM_EMULATION inline RC a_m16n8k8_tf32(int lane, int i) { return {(lane >> 2) + 8 * (i & 1), (lane & 3) + 4 * (i >> 1)}; }
KBSIM_EMULATION inline RC b_m16n8k8_tf32(int lane, int i) { return {(lane & 3) + 4 * i, lane >> 2}; }
KBSIM_EMULATION inline RC c_m16n8(int lane, int i) { return {(lane >> 2) + 8 * (i >> 1), 2 * (lane & 3) + (i & 1)}; }
// ldmatrix: element e (0 or 1) of the register a lane gets from one 8x8 matrix.
KBSIM_EMULATION inline RC ldmatrix_elem(int lane, int e, bool trans) {
  return trans ? RC{2 * (lane & 3) + e, lane >> 2} : RC{lane >> 2, 2 * (lane & 3) + e};
}

// ---- whole-warp operations (pure) ------------------------------------------------------------
// D = A (16x16) * B (16x8) + C for the 32 lanes' registers; A, B fp16 or bf16.
// only_lane >= 0: compute that lane's d only (the per-lane wrapper's case; the rest of d is untouched).
KBSIM_EMULATION inline void mma_m16n8k16_warp(const std::uint32_t (&a)[32][4], const std::uint32_t (&b)[32][2],
                                              const float (&c)[32][4], float (&d)[32][4], Kind kind,
                                              int only_lane = -1) {
  float A[16][16], B[16][8], C[16][8];
  // One lane's outputs (rows g, g+8; columns 2t, 2t+1) need only the A rows of group g, the B
  // columns of groups 2t and 2t+1 and its own C.
  const bool whole = only_lane < 0;
  const int g = only_lane >> 2, t2 = 2 * (only_lane & 3);
  for (int l = 0; l < 32; ++l) {
    if (whole || (l >> 2) == g)
      for (int i = 0; i < 8; ++i) {
        const RC p = a_m16n8k16(l, i);
        A[p.row][p.col] = elem16(a[l][i >> 1], i & 1, kind);
      }
    if (whole || (l >> 2) == t2 || (l >> 2) == t2 + 1)
      for (int i = 0; i < 4; ++i) {
        const RC p = b_m16n8k16(l, i);
        B[p.row][p.col] = elem16(b[l][i >> 1], i & 1, kind);
      }
    if (whole || l == only_lane)
      for (int i = 0; i < 4; ++i) {
        const RC p = c_m16n8(l, i);
        C[p.row][p.col] = c[l][i];
      }
  }
  for (int l = only_lane < 0 ? 0 : only_lane; l < (only_lane < 0 ? 32 : only_lane + 1); ++l)
    for (int i = 0; i < 4; ++i) {
      const RC p = c_m16n8(l, i);
      float s = C[p.row][p.col];
      float bcol[16];
      for (int q = 0; q < 16; ++q) bcol[q] = B[q][p.col];
      s = dot(A[p.row], bcol, 16, s);
      d[l][i] = s;
    }
}

// D = A (16x8) * B (8x8) + C with tf32 operands held in fp32 registers.
KBSIM_EMULATION inline void mma_m16n8k8_tf32_warp(const std::uint32_t (&a)[32][4], const std::uint32_t (&b)[32][2],
                                                  const float (&c)[32][4], float (&d)[32][4], int only_lane = -1) {
  float A[16][8], B[8][8], C[16][8];
  for (int l = 0; l < 32; ++l) {
    for (int i = 0; i < 4; ++i) {
      const RC p = a_m16n8k8_tf32(l, i);
      A[p.row][p.col] = tf32_operand(a[l][i]);
    }
    for (int i = 0; i < 2; ++i) {
      const RC p = b_m16n8k8_tf32(l, i);
      B[p.row][p.col] = tf32_operand(b[l][i]);
    }
    for (int i = 0; i < 4; ++i) {
      const RC p = c_m16n8(l, i);
      C[p.row][p.col] = c[l][i];
    }
  }
  for (int l = only_lane < 0 ? 0 : only_lane; l < (only_lane < 0 ? 32 : only_lane + 1); ++l)
    for (int i = 0; i < 4; ++i) {
      const RC p = c_m16n8(l, i);
      float s = C[p.row][p.col];
      float bcol[8];
      for (int q = 0; q < 8; ++q) bcol[q] = B[q][p.col];
      s = dot(A[p.row], bcol, 8, s);
      d[l][i] = s;
    }
}

// ldmatrix.sync.aligned.m8n8.x{num}[.trans].shared.b16: rows[l] is lane l's row address (only
// lanes 0 .. 8*num-1 are read).  out[l][j] = lane l's register j.  Returns false (and says why
// in `why`) for a row address that is not 16-byte aligned.
KBSIM_UNHOOKED inline bool ldmatrix_warp(const void* const (&rows)[32], int num, bool trans, std::uint32_t (&out)[32][4],
                          char (&why)[160]) {
  for (int j = 0; j < num; ++j) {
    std::uint16_t m[8][8];
    for (int r = 0; r < 8; ++r) {
      const void* p = rows[8 * j + r];
      if ((reinterpret_cast<std::uintptr_t>(p) & 15u) != 0) {
        std::snprintf(why, sizeof why, "ldmatrix: row address %p of lane %d is not 16-byte aligned", p, 8 * j + r);
        return false;
      }
      std::memcpy(m[r], p, 16);
    }
    for (int l = 0; l < 32; ++l) {
      const RC e0 = ldmatrix_elem(l, 0, trans), e1 = ldmatrix_elem(l, 1, trans);
      out[l][j] = std::uint32_t(m[e0.row][e0.col]) | (std::uint32_t(m[e1.row][e1.col]) << 16);
    }
  }
  return true;
}

// ---- per-lane wrappers: what tensor_core.cuh's KB_SIM branches call ---------------------------
KBSIM_EMULATION inline void mma_m16n8k16(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2], const float (&c)[4],
                         Kind kind, const char* what) {
  struct Regs {
    std::uint32_t a[4], b[2];
    float c[4];
  } mine, all[32];
  std::memcpy(mine.a, a, sizeof mine.a);
  std::memcpy(mine.b, b, sizeof mine.b);
  std::memcpy(mine.c, c, sizeof mine.c);
  warp_allgather(&mine, all, sizeof(Regs), what);
  std::uint32_t A[32][4], B[32][2];
  float C[32][4], D[32][4];
  for (int l = 0; l < 32; ++l) {
    std::memcpy(A[l], all[l].a, sizeof A[l]);
    std::memcpy(B[l], all[l].b, sizeof B[l]);
    std::memcpy(C[l], all[l].c, sizeof C[l]);
  }
  const int me = int(lane_id());
  mma_m16n8k16_warp(A, B, C, D, kind, me);
  std::memcpy(d, D[me], sizeof d);
}

KBSIM_EMULATION inline void mma_m16n8k8_tf32(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2],
                             const float (&c)[4]) {
  struct Regs {
    std::uint32_t a[4], b[2];
    float c[4];
  } mine, all[32];
  std::memcpy(mine.a, a, sizeof mine.a);
  std::memcpy(mine.b, b, sizeof mine.b);
  std::memcpy(mine.c, c, sizeof mine.c);
  warp_allgather(&mine, all, sizeof(Regs), "mma.sync.m16n8k8.tf32");
  std::uint32_t A[32][4], B[32][2];
  float C[32][4], D[32][4];
  for (int l = 0; l < 32; ++l) {
    std::memcpy(A[l], all[l].a, sizeof A[l]);
    std::memcpy(B[l], all[l].b, sizeof B[l]);
    std::memcpy(C[l], all[l].c, sizeof C[l]);
  }
  const int me = int(lane_id());
  mma_m16n8k8_tf32_warp(A, B, C, D, me);
  std::memcpy(d, D[me], sizeof d);
}

// num registers (1, 2 or 4) into r[0 .. num-1].
inline void ldmatrix(std::uint32_t* r, int num, bool trans, const void* row_ptr, const char* what) {
  const void* rows[32];
  const unsigned lane = lane_id();
  notify_event_at(Event::Ldmatrix, what, num, lane < 8u * num ? row_ptr : nullptr, nullptr, 16);
  warp_allgather(&row_ptr, rows, sizeof(const void*), what);
  std::uint32_t out[32][4];
  char why[160];
  access_suppress(true);  // the emulation reads every row for every lane: one ldmatrix event instead
  const bool ok = ldmatrix_warp(rows, num, trans, out, why);
  access_suppress(false);
  if (!ok) KBSIM_TC_REPORT(why);
  const unsigned l = lane_id();
  for (int j = 0; j < num; ++j) r[j] = out[l][j];
}

}  // namespace tc
}  // namespace kbsim
