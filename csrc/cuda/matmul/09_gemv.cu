// 09_gemv: matrix-vector products (N == 1 or M == 1).  Every matrix element is used once, so
// there is no reuse to exploit: the rung is bound by memory bandwidth and judged in GB/s.  The
// matrix is read the way it is stored: "row dot" when it is contiguous along K (a group of up to
// 32 lanes per output walks K with 16-byte loads where aligned, then a shuffle reduction);
// "column sweep" when it is contiguous along the outputs (32 consecutive outputs per warp, 8
// warps splitting K, reduced through smem).  Other shapes: kb::ArgumentError.
// Limits: HBM bandwidth; for tiny K or few outputs, launch latency.  Smem: 1 KB (sweep); any arch.
#include "matmul_common.cuh"

namespace kb {
// The product as out[o] = sum_q mat(o, q) * vec(q), o < outputs, q < k.
template <typename T>
struct GemvView {
  const T* mat;
  const T* vec;
  T* out;
  kb_int64 outputs, so, sq;  // mat(o, q) = mat[o * so + q * sq]
  kb_int64 inc, out_inc;     // vec(q) = vec[q * inc], out[o * out_inc]
  kb_int64 smat, svec;       // batch strides of mat and vec
};

// N == 1: outputs are the rows i of A, the vector is column 0 of B, out is column 0 of C.
// M == 1: outputs are the columns j of B, the vector is row 0 of A, out is row 0 of C.
template <typename T>
__device__ __forceinline__ GemvView<T> gemv_view(const MatmulArgs& p) {
  GemvView<T> v;
  const T* a = static_cast<const T*>(p.a);
  const T* b = static_cast<const T*>(p.b);
  v.out = static_cast<T*>(p.c);
  if (p.n == 1) {
    v.mat = a; v.vec = b; v.outputs = p.m;
    v.so = p.trans_a ? 1 : p.lda; v.sq = p.trans_a ? p.lda : 1;
    v.inc = p.trans_b ? 1 : p.ldb; v.out_inc = p.ldc;
    v.smat = p.stride_a; v.svec = p.stride_b;
  } else {
    v.mat = b; v.vec = a; v.outputs = p.n;
    v.so = p.trans_b ? p.ldb : 1; v.sq = p.trans_b ? 1 : p.ldb;
    v.inc = p.trans_a ? p.lda : 1; v.out_inc = 1;
    v.smat = p.stride_b; v.svec = p.stride_a;
  }
  return v;
}

// Is the matrix contiguous along K (row dot) rather than along the outputs (column sweep)?
__host__ __device__ inline bool gemv_row_dot(const MatmulArgs& p) { return p.n == 1 ? !p.trans_a : p.trans_b; }

// Lanes per output in the row-dot kernel: 32, fewer for short rows (at least ~4 elements a lane).
__host__ __device__ inline int gemv_group(kb_int64 k) {
  int g = 32;
  while (g > 1 && (kb_int64)(g / 2) * 4 >= k) g /= 2;
  return g;
}

template <typename T>
__global__ void __launch_bounds__(256) matmul_09_gemv_rowdot_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  constexpr int VW = Vec16<T>::width;
  const GemvView<T> v = gemv_view<T>(p);
  const int g = gemv_group(p.k);          // lanes per output (a power of two)
  const int lane = threadIdx.x % g;
  const kb_int64 o = blockIdx.x * (kb_int64)(blockDim.x / g) + threadIdx.x / g;
  if (o >= v.outputs) return;             // whole groups leave together (g divides 32)
  // 16-byte loads when this row and the vector start on 16-byte boundaries in every batch entry.
  const bool vec = v.sq == 1 && v.inc == 1 && rows_vec_ok<T>(v.mat, v.so, v.smat) && rows_vec_ok<T>(v.vec, 0, v.svec);
  const unsigned mask = g == 32 ? 0xffffffffu : (((1u << g) - 1) << (threadIdx.x % 32 / g * g));
  for (kb_int64 z = blockIdx.y; z < p.batch; z += gridDim.y) {
    const T* row = v.mat + z * v.smat + o * v.so;
    const T* x = v.vec + z * v.svec;
    AccT acc = 0;
    kb_int64 q0 = 0;  // first element left for the scalar loop
    if (vec) {
      const kb_int64 nv = p.k / VW;
      for (kb_int64 i = lane; i < nv; i += g) {
        const uint4 ra = *reinterpret_cast<const uint4*>(row + i * VW);
        const uint4 rx = *reinterpret_cast<const uint4*>(x + i * VW);
        const T* ea = reinterpret_cast<const T*>(&ra);
        const T* ex = reinterpret_cast<const T*>(&rx);
#pragma unroll
        for (int e = 0; e < VW; ++e) acc += to_float(ea[e]) * to_float(ex[e]);
      }
      q0 = nv * VW;
    }
    for (kb_int64 q = q0 + lane; q < p.k; q += g) acc += to_float(row[q * v.sq]) * to_float(x[q * v.inc]);
    for (int off = g / 2; off > 0; off /= 2) acc += __shfl_down_sync(mask, acc, off, g);
    if (lane == 0) v.out[z * p.stride_c + o * v.out_inc] = from_acc<T>(acc);
  }
}

template <typename T>
__global__ void __launch_bounds__(256) matmul_09_gemv_colsweep_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  __shared__ AccT part[8][32];  // (K slices, outputs)
  const GemvView<T> v = gemv_view<T>(p);
  const int tx = threadIdx.x, ty = threadIdx.y;  // 32 outputs x 8 K slices
  const kb_int64 o = blockIdx.x * (kb_int64)32 + tx;
  for (kb_int64 z = blockIdx.y; z < p.batch; z += gridDim.y) {
    AccT acc = 0;
    if (o < v.outputs) {
      const T* col = v.mat + z * v.smat + o * v.so;
      const T* x = v.vec + z * v.svec;
#pragma unroll 4
      for (kb_int64 q = ty; q < p.k; q += 8) acc += to_float(col[q * v.sq]) * to_float(x[q * v.inc]);
    }
    part[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && o < v.outputs) {
#pragma unroll
      for (int s = 1; s < 8; ++s) acc += part[s][tx];
      v.out[z * p.stride_c + o * v.out_inc] = from_acc<T>(acc);
    }
    __syncthreads();
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
static MatmulLaunch plan_09(const MatmulArgs& p) {
  const bool row = gemv_row_dot(p);
  MatmulLaunch l{};
  switch (p.dtype) {
    case DType::F32:
      l.kernel = row ? KB_KERNEL_REF(kb::matmul_09_gemv_rowdot_kernel<float>)
                     : KB_KERNEL_REF(kb::matmul_09_gemv_colsweep_kernel<float>);
      break;
    case DType::F64:
      l.kernel = row ? KB_KERNEL_REF(kb::matmul_09_gemv_rowdot_kernel<double>)
                     : KB_KERNEL_REF(kb::matmul_09_gemv_colsweep_kernel<double>);
      break;
    case DType::F16:
      l.kernel = row ? KB_KERNEL_REF(kb::matmul_09_gemv_rowdot_kernel<__half>)
                     : KB_KERNEL_REF(kb::matmul_09_gemv_colsweep_kernel<__half>);
      break;
    case DType::BF16:
      l.kernel = row ? KB_KERNEL_REF(kb::matmul_09_gemv_rowdot_kernel<__nv_bfloat16>)
                     : KB_KERNEL_REF(kb::matmul_09_gemv_colsweep_kernel<__nv_bfloat16>);
      break;
  }
  const kb_int64 outputs = p.n == 1 ? p.m : p.n;
  if (row) {
    l.block = dim3(256);
    l.grid = matmul_grid(ceil_div(outputs, 256 / gemv_group(p.k)), p.batch, 1);
  } else {
    l.block = dim3(32, 8);
    l.grid = matmul_grid(ceil_div(outputs, 32), p.batch, 1);
  }
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_09_gemv, plan_09)
}  // namespace kb
#endif
