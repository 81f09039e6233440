// A host `nvcuda::wmma` subset for the CPU SIMT executor: the 16x16x16 shape with __half or
// __nv_bfloat16 A/B and float accumulators -- fragment, fill_fragment, load_matrix_sync,
// mma_sync, store_matrix_sync, i.e. what csrc/cuda/matmul/10_wmma.cu uses.
//
// Every operation is warp-collective, as the CUDA guide requires ("all threads in a warp must call
// it with the same arguments"): the 32 lanes meet in kbsim::warp_allgather (a lane that does not
// arrive is reported as a deadlock by the executor), and a lane passing a different pointer or
// leading dimension from lane 0 is reported.  Alignment rules of the guide are checked: the
// pointer 256-bit (32-byte) aligned, ldm a multiple of 16 bytes (8 fp16/bf16 or 4 floats).
//
// Fragment element layout.  CUDA documents it as opaque (code may only touch x[] elementwise,
// e.g. to scale every element).  The choice made here, so that a kernel that assumes a layout
// fails loudly instead of passing by accident: element e of lane l holds element
// (idx / 16, idx % 16) of the fragment's 16x16 matrix with idx = 8 l + (e % 8), rows being
// m (matrix_a, accumulator) or k (matrix_b).  num_elements is 16 for matrix_a/matrix_b (each
// element held twice: as on sm_70..sm_90, where an A/B fragment of this shape has 16 halves) and
// 8 for the accumulator.
// Arithmetic: products of fp16/bf16 are exact in fp32; D = C + sum_k A*B summed in k order in fp32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include "kbsim_tensor_core.h"

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

namespace detail {
template <typename Use>
struct elems {
  static constexpr int value = 16;
};
template <>
struct elems<accumulator> {
  static constexpr int value = 8;
};

// Lane-uniform arguments of a collective call, checked across the warp.
struct CallArgs {
  const void* ptr;
  unsigned ldm;
  int layout;
};
inline void check_uniform(const char* op, const void* ptr, unsigned ldm, int layout, std::size_t elem_bytes) {
  CallArgs mine{ptr, ldm, layout}, all[32];
  kbsim::warp_allgather(&mine, all, sizeof mine, op);
  char why[200];
  for (int l = 1; l < 32; ++l)
    if (all[l].ptr != all[0].ptr || all[l].ldm != all[0].ldm || all[l].layout != all[0].layout) {
      std::snprintf(why, sizeof why, "%s: lane %d passes (%p, ldm %u) but lane 0 passes (%p, ldm %u): the arguments must be warp-uniform",
                    op, l, all[l].ptr, all[l].ldm, all[0].ptr, all[0].ldm);
      KBSIM_TC_REPORT(why);
    }
  if (ptr != nullptr && (reinterpret_cast<std::uintptr_t>(ptr) & 31u) != 0) {
    std::snprintf(why, sizeof why, "%s: pointer %p is not 256-bit (32-byte) aligned", op, ptr);
    KBSIM_TC_REPORT(why);
  }
  if ((ldm * elem_bytes) % 16 != 0) {
    std::snprintf(why, sizeof why, "%s: ldm %u is not a multiple of 16 bytes (%zu-byte elements)", op, ldm, elem_bytes);
    KBSIM_TC_REPORT(why);
  }
}
// (row, col) of element e of this lane's fragment.
inline void where(int e, int& r, int& c) {
  const int idx = 8 * int(kbsim::lane_id()) + (e % 8);
  r = idx / 16;
  c = idx % 16;
}
}  // namespace detail

template <typename Use, int m, int n, int k, typename T, typename Layout = void>
struct fragment {
  static_assert(m == 16 && n == 16 && k == 16, "kbsim wmma: only the 16x16x16 shape is emulated");
  typedef T element_type;
  static constexpr int num_elements = detail::elems<Use>::value;
  T x[num_elements];
};

template <typename Use, int m, int n, int k, typename T, typename Layout>
inline void fill_fragment(fragment<Use, m, n, k, T, Layout>& f, const T& v) {
  detail::check_uniform("wmma::fill_fragment", nullptr, 16, 0, 1);
  for (int e = 0; e < f.num_elements; ++e) f.x[e] = v;
}

// matrix_a / matrix_b: the memory layout is the fragment's Layout.
template <typename Use, typename T, typename Layout>
inline void load_matrix_sync(fragment<Use, 16, 16, 16, T, Layout>& f, const T* p, unsigned ldm) {
  constexpr bool row = std::is_same<Layout, row_major>::value;
  static_assert(row || std::is_same<Layout, col_major>::value, "matrix_a / matrix_b fragments need a layout");
  detail::check_uniform("wmma::load_matrix_sync", p, ldm, row, sizeof(T));
  for (int e = 0; e < f.num_elements; ++e) {
    int r, c;
    detail::where(e, r, c);
    f.x[e] = row ? p[std::size_t(r) * ldm + c] : p[std::size_t(c) * ldm + r];
  }
}

template <typename T>
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, T, void>& f, const T* p, unsigned ldm, layout_t layout) {
  detail::check_uniform("wmma::load_matrix_sync", p, ldm, int(layout), sizeof(T));
  for (int e = 0; e < f.num_elements; ++e) {
    int r, c;
    detail::where(e, r, c);
    f.x[e] = layout == mem_row_major ? p[std::size_t(r) * ldm + c] : p[std::size_t(c) * ldm + r];
  }
}

template <typename T>
inline void store_matrix_sync(T* p, const fragment<accumulator, 16, 16, 16, T, void>& f, unsigned ldm, layout_t layout) {
  detail::check_uniform("wmma::store_matrix_sync", p, ldm, int(layout), sizeof(T));
  for (int e = 0; e < f.num_elements; ++e) {
    int r, c;
    detail::where(e, r, c);
    (layout == mem_row_major ? p[std::size_t(r) * ldm + c] : p[std::size_t(c) * ldm + r]) = f.x[e];
  }
}

// D = A B + C (D may alias C).
template <typename TAB, typename LA, typename LB>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float, void>& d, const fragment<matrix_a, 16, 16, 16, TAB, LA>& a,
                     const fragment<matrix_b, 16, 16, 16, TAB, LB>& b,
                     const fragment<accumulator, 16, 16, 16, float, void>& c) {
  struct Mine {
    float a[8], b[8], c[8];
  } mine, all[32];
  for (int e = 0; e < 8; ++e) {
    mine.a[e] = static_cast<float>(a.x[e]);
    mine.b[e] = static_cast<float>(b.x[e]);
    mine.c[e] = c.x[e];
  }
  kbsim::warp_allgather(&mine, all, sizeof(Mine), "wmma::mma_sync");
  float A[16][16], B[16][16], C[16][16];
  for (int l = 0; l < 32; ++l)
    for (int e = 0; e < 8; ++e) {
      const int idx = 8 * l + e;
      A[idx / 16][idx % 16] = all[l].a[e];
      B[idx / 16][idx % 16] = all[l].b[e];
      C[idx / 16][idx % 16] = all[l].c[e];
    }
  for (int e = 0; e < 8; ++e) {
    int r, col;
    detail::where(e, r, col);
    float s = C[r][col];
    float bcol[16];
    for (int q = 0; q < 16; ++q) bcol[q] = B[q][col];
    s = kbsim::tc::dot(A[r], bcol, 16, s);
    d.x[e] = s;
  }
}
}  // namespace wmma
}  // namespace nvcuda
