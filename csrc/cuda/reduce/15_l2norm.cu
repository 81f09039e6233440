// 15_l2norm: y[row] = sqrt(sum_j x[row, j]^2): the sum ladder's tools applied row-wise (squares
// accumulated in fp32, fp64 for fp64).  Warp per row for cols <= 1024, block per row otherwise.
// Limits: scalar loads (rows need not be aligned); few very long rows leave SMs idle.
// Preconditions: contiguous rows; y has `rows` elements of x's dtype.
#include "reduce_common.cuh"

namespace kb {
template <typename AccT> __device__ __forceinline__ AccT l2_sqrt(AccT v);
template <> __device__ __forceinline__ float l2_sqrt<float>(float v) { return sqrtf(v); }
template <> __device__ __forceinline__ double l2_sqrt<double>(double v) { return sqrt(v); }

template <typename T>
__global__ void __launch_bounds__(256) l2norm_15_warp_kernel(RowwiseArgs a) {
  typedef typename Acc<T>::type AccT;
  const T* __restrict__ x = static_cast<const T*>(a.x);
  const int lane = threadIdx.x & 31;
  const kb_int64 warp = (blockIdx.x * (kb_int64)blockDim.x + threadIdx.x) >> 5;
  const kb_int64 nwarps = ((kb_int64)gridDim.x * blockDim.x) >> 5;
  for (kb_int64 row = warp; row < a.rows; row += nwarps) {
    const T* xr = x + row * a.cols;
    AccT s = 0;
    for (kb_int64 j = lane; j < a.cols; j += 32) { const AccT v = (AccT)to_float(xr[j]); s += v * v; }
    s = red::warp_reduce<red::SumOp<AccT> >(s);
    if (lane == 0) static_cast<T*>(a.y)[row] = from_acc<T>(l2_sqrt(s));
  }
}

template <typename T, int BS>
__global__ void __launch_bounds__(BS) l2norm_15_block_kernel(RowwiseArgs a) {
  typedef typename Acc<T>::type AccT;
  const T* __restrict__ x = static_cast<const T*>(a.x);
  for (kb_int64 row = blockIdx.x; row < a.rows; row += gridDim.x) {
    const T* xr = x + row * a.cols;
    AccT s0 = 0, s1 = 0;
    kb_int64 j = threadIdx.x;
    for (; j + 3 * BS < a.cols; j += 4 * BS) {   // 4 loads in flight
      AccT v[4];
#pragma unroll
      for (int k = 0; k < 4; ++k) v[k] = (AccT)to_float(xr[j + k * BS]);
      s0 += v[0] * v[0] + v[2] * v[2];
      s1 += v[1] * v[1] + v[3] * v[3];
    }
    for (; j < a.cols; j += BS) { const AccT v = (AccT)to_float(xr[j]); s0 += v * v; }
    const AccT s = red::block_reduce<red::SumOp<AccT> >(s0 + s1);
    if (threadIdx.x == 0) static_cast<T*>(a.y)[row] = from_acc<T>(l2_sqrt(s));
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "reduce_launchers.h"
namespace kb {
void l2norm_15(const RowwiseArgs& a, void* stream) {
  if (a.rows <= 0) return;
  cudaStream_t s = as_stream(stream);
  const kb_int64 cap = (kb_int64)red::num_sms() * 64;
  KB_DISPATCH_CUDA_TYPES(a.dtype, [&] {
    if (a.cols <= 1024) {   // includes cols == 0: norm 0
      kb_int64 blocks = ceil_div(a.rows, 256 / 32);
      if (blocks > cap) blocks = cap;
      kb::launch(l2norm_15_warp_kernel<scalar_t>, (unsigned)blocks, 256, 0, s, a);
    } else {
      const kb_int64 blocks = a.rows < cap ? a.rows : cap;
      kb::launch(l2norm_15_block_kernel<scalar_t, 512>, (unsigned)blocks, 512, 0, s, a);
    }
  });
}
}  // namespace kb
#endif
