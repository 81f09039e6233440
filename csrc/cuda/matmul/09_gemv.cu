// 09_gemv: matrix-vector products (N == 1 or M == 1).  No data reuse exists here — every matrix
// element is used once — so the rung is judged in GB/s, not FLOP/s.  Two access patterns:
// "row dot": the matrix is contiguous along K: a warp per output, lanes stride along K (float4
// when aligned), shuffle-reduce; "column sweep": contiguous along the outputs: a thread per
// output walks K, a warp reads 32 consecutive outputs' elements at each step.
// Limits: bound by HBM bandwidth; for tiny K the launch dominates.  Other shapes are refused.
#include "matmul_common.cuh"

namespace kb {
// out[o] = sum_q mat[o * ld + q] * vec[q * inc], one warp per output o.
template <typename T>
__global__ void gemv_row_dot_kernel(const T* mat, kb_int64 ld, const T* vec, kb_int64 inc, T* out,
                                    kb_int64 outputs, kb_int64 k, kb_int64 stride_mat, kb_int64 stride_vec,
                                    kb_int64 stride_out) {
  typedef typename Acc<T>::type AccT;
  const kb_int64 o = blockIdx.x * (kb_int64)(blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (o >= outputs) return;
  const T* row = mat + blockIdx.y * stride_mat + o * ld;
  const T* v = vec + blockIdx.y * stride_vec;
  AccT acc = 0;
  for (kb_int64 q = lane; q < k; q += 32) acc += to_float(row[q]) * to_float(v[q * inc]);
  for (int off = 16; off > 0; off /= 2) acc += __shfl_down_sync(0xffffffffu, acc, off);
  if (lane == 0) out[blockIdx.y * stride_out + o] = from_acc<T>(acc);
}

// fp32 row dot with float4 loads when rows are 16-byte aligned and the vector is contiguous.
__global__ void gemv_row_dot_f4_kernel(const float* mat, kb_int64 ld, const float* vec, float* out, kb_int64 outputs,
                                       kb_int64 k, kb_int64 stride_mat, kb_int64 stride_vec, kb_int64 stride_out) {
  const kb_int64 o = blockIdx.x * (kb_int64)(blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (o >= outputs) return;
  const float4* row = reinterpret_cast<const float4*>(mat + blockIdx.y * stride_mat + o * ld);
  const float4* v = reinterpret_cast<const float4*>(vec + blockIdx.y * stride_vec);
  float acc = 0.f;
  for (kb_int64 q = lane; q < k / 4; q += 32) {
    const float4 a = row[q], b = v[q];
    acc += a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
  }
  for (kb_int64 q = (k / 4) * 4 + lane; q < k; q += 32)   // tail when k % 4 != 0
    acc += mat[blockIdx.y * stride_mat + o * ld + q] * vec[blockIdx.y * stride_vec + q];
  for (int off = 16; off > 0; off /= 2) acc += __shfl_down_sync(0xffffffffu, acc, off);
  if (lane == 0) out[blockIdx.y * stride_out + o] = acc;
}

// out[o] = sum_q mat[q * ld + o] * vec[q * inc], one thread per output o.
template <typename T>
__global__ void gemv_column_sweep_kernel(const T* mat, kb_int64 ld, const T* vec, kb_int64 inc, T* out,
                                         kb_int64 outputs, kb_int64 k, kb_int64 stride_mat, kb_int64 stride_vec,
                                         kb_int64 stride_out) {
  typedef typename Acc<T>::type AccT;
  const kb_int64 o = blockIdx.x * (kb_int64)blockDim.x + threadIdx.x;
  if (o >= outputs) return;
  const T* m = mat + blockIdx.y * stride_mat + o;
  const T* v = vec + blockIdx.y * stride_vec;
  AccT acc = 0;
  for (kb_int64 q = 0; q < k; ++q) acc += to_float(m[q * ld]) * to_float(v[q * inc]);
  out[blockIdx.y * stride_out + o] = from_acc<T>(acc);
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include <cstdint>
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"
namespace kb {
void matmul_09_gemv(const MatmulArgs& p, void* stream) {
  KB_REQUIRE(p.m == 1 || p.n == 1, "a, b: impl 'cuda_09_gemv' needs M == 1 or N == 1 (a matrix-vector product), got M="
                                       << p.m << ", N=" << p.n);
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  cudaStream_t s = as_stream(stream);
  // N == 1: outputs are rows i of A, the vector is column 0 of B.  M == 1: outputs are columns j
  // of B, the vector is row 0 of A.  Pick the pattern by which way the matrix is contiguous.
  const bool n_is_1 = p.n == 1;
  const void* mat = n_is_1 ? p.a : p.b;
  const void* vec = n_is_1 ? p.b : p.a;
  const kb_int64 outputs = n_is_1 ? p.m : p.n;
  const kb_int64 ld = n_is_1 ? p.lda : p.ldb;
  const kb_int64 inc = n_is_1 ? (p.trans_b ? 1 : p.ldb) : (p.trans_a ? p.lda : 1);
  const bool row_dot = n_is_1 ? !p.trans_a : p.trans_b;    // matrix contiguous along K
  const kb_int64 smat = n_is_1 ? p.stride_a : p.stride_b, svec = n_is_1 ? p.stride_b : p.stride_a;
  const dim3 grid_rows((unsigned)ceil_div(outputs, 8), (unsigned)p.batch);
  const dim3 grid_cols((unsigned)ceil_div(outputs, 256), (unsigned)p.batch);
  const auto aligned = [](const void* q) { return reinterpret_cast<std::uintptr_t>(q) % 16 == 0; };
  if (row_dot && p.dtype == DType::F32 && inc == 1 && ld % 4 == 0 && smat % 4 == 0 && svec % 4 == 0 &&
      aligned(mat) && aligned(vec)) {
    gemv_row_dot_f4_kernel<<<grid_rows, 256, 0, s>>>(static_cast<const float*>(mat), ld, static_cast<const float*>(vec),
                                                     static_cast<float*>(p.c), outputs, p.k, smat, svec, p.stride_c);
  } else {
    KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
      const scalar_t* m = static_cast<const scalar_t*>(mat);
      const scalar_t* v = static_cast<const scalar_t*>(vec);
      scalar_t* c = static_cast<scalar_t*>(p.c);
      if (row_dot) gemv_row_dot_kernel<scalar_t><<<grid_rows, 256, 0, s>>>(m, ld, v, inc, c, outputs, p.k, smat, svec, p.stride_c);
      else gemv_column_sweep_kernel<scalar_t><<<grid_cols, 256, 0, s>>>(m, ld, v, inc, c, outputs, p.k, smat, svec, p.stride_c);
    });
  }
  KB_CUDA_CHECK_LAUNCH();
}
}  // namespace kb
#endif
