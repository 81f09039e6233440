// Problem descriptions shared by every kernel and every front door.
// Plain structs of pointers, sizes and strides: no torch, no TensorFlow, no Python.
// This header is also read by NVRTC (CuPy RawModule), so it includes no standard headers there.
#pragma once
#ifdef __CUDACC_RTC__
typedef long long kb_int64;
typedef unsigned long long kb_size_t;
#else
#include <cstddef>
#include <cstdint>
typedef std::int64_t kb_int64;
typedef std::uint64_t kb_size_t;
#endif

namespace kb {

enum class DType : int { F32 = 0, F64 = 1, F16 = 2, BF16 = 3 };
// Bit masks for "which dtypes does this rung accept".
enum DTypeMask : unsigned { kF32 = 1u << 0, kF64 = 1u << 1, kF16 = 1u << 2, kBF16 = 1u << 3 };

// C[b] = op(A[b]) * op(B[b]) for b in [0, batch).  All matrices row-major.
//   A(i, p) = trans_a ? a[p * lda + i] : a[i * lda + p]     (i < m, p < k)
//   B(p, j) = trans_b ? b[j * ldb + p] : b[p * ldb + j]     (p < k, j < n)
//   C(i, j) = c[i * ldc + j]
// Batch strides are in elements; 0 broadcasts one matrix over the batch.
// C has the dtype of A and B; accumulation is fp32 (fp64 for fp64 inputs).
struct MatmulArgs {
  const void* a;
  const void* b;
  void* c;
  kb_int64 m, n, k, batch;
  kb_int64 lda, ldb, ldc;
  kb_int64 stride_a, stride_b, stride_c;
  bool trans_a, trans_b;
  DType dtype;
};

enum class ReduceOp : int { Sum = 0, Mean = 1, Max = 2, Min = 3, ArgMax = 4, ArgMin = 5 };

// x is viewed as a contiguous (outer, r, inner) array and reduced over r:
//   out[o * inner + i] = reduce_{p < r} x[(o * r + p) * inner + i]
// A full reduction is outer = inner = 1.  out has dtype `dtype` for Sum/Mean/Max/Min
// (fp32 accumulation for fp16/bf16) and int64 for ArgMax/ArgMin (first index wins ties;
// NaN wins over numbers, like torch).  r == 0 is legal only for Sum (0) and Mean (NaN):
// the front doors refuse Max/Min/Arg* of an empty reduction before any launch.
// workspace: the front door allocates workspace_bytes() (see the kernel tables) and
// passes it here; kernels may assume it is 256-byte aligned and may not assume it is zeroed.
struct ReduceArgs {
  const void* x;
  void* out;
  kb_int64 outer, r, inner;
  ReduceOp op;
  DType dtype;
  void* workspace;
  kb_size_t workspace_bytes;
};

// Row-wise softmax / log-softmax / L2 norm over the last (contiguous) dimension.
//   softmax:  y[row, j] = exp(x[row, j] - max_row) / sum_row      (log: x - max - log(sum))
//   l2norm:   y[row]    = sqrt(sum_j x[row, j]^2)
struct RowwiseArgs {
  const void* x;
  void* y;
  kb_int64 rows, cols;
  bool log;
  DType dtype;
};

}  // namespace kb
