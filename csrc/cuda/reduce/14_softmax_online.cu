// 14_softmax_online: softmax / log-softmax over rows: one pass computes max and sum together (online
// rescaling: s = s*exp(m_old - m_new) + ...), a second pass writes.  Warp per row for cols <= 1024;
// block per row (1024 threads, 128-bit loads when aligned) otherwise, the row cached in shared memory
// when it fits, so DRAM sees one read and one write.  Limits: rows longer than the opt-in shared memory
// read x twice (second read hopefully from L2).  Preconditions: contiguous rows; any alignment.
#include "reduce_common.cuh"

namespace kb {
template <typename AccT> __device__ __forceinline__ AccT sm_exp(AccT v);
template <> __device__ __forceinline__ float sm_exp<float>(float v) { return expf(v); }
template <> __device__ __forceinline__ double sm_exp<double>(double v) { return exp(v); }
template <typename AccT> __device__ __forceinline__ AccT sm_log(AccT v);
template <> __device__ __forceinline__ float sm_log<float>(float v) { return logf(v); }
template <> __device__ __forceinline__ double sm_log<double>(double v) { return log(v); }

// Running (max, sum of exp(x - max)).  -inf contributes 0; NaN poisons the sum (row becomes NaN).
template <typename AccT> struct MaxSum {
  AccT m, s;
  __device__ __forceinline__ void add(AccT x) {
    // x's own term is exp(x - x): 1, or NaN for x = +inf (inf - inf), so a row holding +inf is NaN like torch
    if (x > m) { s = s * sm_exp(m - x) + sm_exp(x - x); m = x; }
    else if (!(x == red::neg_inf<AccT>())) s += sm_exp(x - m);
  }
  __device__ __forceinline__ static MaxSum combine(MaxSum a, MaxSum b) {
    // a side that saw only -inf (and maybe NaN) has s == 0 (or NaN): add it, keeping NaN
    if (a.m == red::neg_inf<AccT>()) { b.s += a.s; return b; }
    if (b.m == red::neg_inf<AccT>()) { a.s += b.s; return a; }
    const AccT m = a.m > b.m ? a.m : b.m;
    MaxSum r; r.m = m; r.s = a.s * sm_exp(a.m - m) + b.s * sm_exp(b.m - m);
    return r;
  }
  __device__ __forceinline__ static MaxSum identity() { MaxSum r; r.m = red::neg_inf<AccT>(); r.s = 0; return r; }
};

template <typename AccT> __device__ __forceinline__ MaxSum<AccT> warp_maxsum(MaxSum<AccT> a) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) {
    MaxSum<AccT> b;
    b.m = __shfl_down_sync(0xffffffffu, a.m, off);
    b.s = __shfl_down_sync(0xffffffffu, a.s, off);
    a = MaxSum<AccT>::combine(a, b);
  }
  return a;
}

template <typename AccT>
__device__ __forceinline__ AccT sm_acc_out(AccT x, AccT m, AccT inv_s, AccT log_s, bool log_out) {
  return log_out ? x - m - log_s : sm_exp(x - m) * inv_s;
}
template <typename T, typename AccT>
__device__ __forceinline__ T sm_out(AccT x, AccT m, AccT inv_s, AccT log_s, bool log_out) {
  return from_acc<T>(log_out ? x - m - log_s : sm_exp(x - m) * inv_s);
}

// (rows, cols) with cols <= 1024: warp w of the grid takes rows w, w + nwarps, ...
template <typename T>
__global__ void __launch_bounds__(256) softmax_14_warp_kernel(RowwiseArgs a) {
  typedef typename Acc<T>::type AccT;
  const T* __restrict__ x = static_cast<const T*>(a.x);
  T* __restrict__ y = static_cast<T*>(a.y);
  const int lane = threadIdx.x & 31;
  const kb_int64 warp = (blockIdx.x * (kb_int64)blockDim.x + threadIdx.x) >> 5;
  const kb_int64 nwarps = ((kb_int64)gridDim.x * blockDim.x) >> 5;
  for (kb_int64 row = warp; row < a.rows; row += nwarps) {
    const T* xr = x + row * a.cols;
    T* yr = y + row * a.cols;
    MaxSum<AccT> ms = MaxSum<AccT>::identity();
    for (kb_int64 j = lane; j < a.cols; j += 32) ms.add((AccT)to_float(xr[j]));
    ms = warp_maxsum(ms);
    const AccT m = __shfl_sync(0xffffffffu, ms.m, 0), sum = __shfl_sync(0xffffffffu, ms.s, 0);
    const AccT inv_s = (AccT)1 / sum, log_s = sm_log(sum);
    for (kb_int64 j = lane; j < a.cols; j += 32) yr[j] = sm_out<T, AccT>((AccT)to_float(xr[j]), m, inv_s, log_s, a.log);
  }
}

// One block per row (grid-stride over rows).  VEC: rows are 16-byte aligned, cols % N == 0.
// `cache`: dynamic shared memory holds the row (cols * sizeof(T) bytes) between the two passes.
template <typename T, int BS, bool VEC>
__global__ void __launch_bounds__(BS) softmax_14_block_kernel(RowwiseArgs a, bool cache) {
  typedef typename Acc<T>::type AccT;
  typedef red::Vec16<T> V;
  KB_DYNAMIC_SHARED(uint4, row_smem);                       // (cols / N,) uint4 when cache
  __shared__ MaxSum<AccT> warp_ms[BS / 32];
  __shared__ AccT row_m, row_s;
  const T* __restrict__ x = static_cast<const T*>(a.x);
  T* __restrict__ y = static_cast<T*>(a.y);
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
  for (kb_int64 row = blockIdx.x; row < a.rows; row += gridDim.x) {
    const T* xr = x + row * a.cols;
    T* yr = y + row * a.cols;
    MaxSum<AccT> ms = MaxSum<AccT>::identity();
    if (VEC) {
      const kb_int64 nv = a.cols / V::N;
      const uint4* xv = reinterpret_cast<const uint4*>(xr);
      kb_int64 k = threadIdx.x;
      for (; k + 3 * BS < nv; k += 4 * BS) {                // 4 independent 16-B loads in flight
        uint4 u[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) u[j] = xv[k + j * BS];
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          if (cache) row_smem[k + j * BS] = u[j];
          AccT e[V::N];
          V::unpack(u[j], e);
#pragma unroll
          for (int q = 0; q < V::N; ++q) ms.add(e[q]);
        }
      }
      for (; k < nv; k += BS) {
        const uint4 u = xv[k];
        if (cache) row_smem[k] = u;
        AccT e[V::N];
        V::unpack(u, e);
#pragma unroll
        for (int q = 0; q < V::N; ++q) ms.add(e[q]);
      }
    } else {
      T* srow = reinterpret_cast<T*>(row_smem);
      for (kb_int64 j = threadIdx.x; j < a.cols; j += BS) {
        const T v = xr[j];
        if (cache) srow[j] = v;
        ms.add((AccT)to_float(v));
      }
    }
    ms = warp_maxsum(ms);
    if (lane == 0) warp_ms[wid] = ms;
    __syncthreads();
    if (wid == 0) {
      ms = lane < BS / 32 ? warp_ms[lane] : MaxSum<AccT>::identity();
      ms = warp_maxsum(ms);
      if (lane == 0) { row_m = ms.m; row_s = ms.s; }
    }
    __syncthreads();
    const AccT m = row_m, sum = row_s;
    const AccT inv_s = (AccT)1 / sum, log_s = sm_log(sum);
    if (VEC) {
      const kb_int64 nv = a.cols / V::N;
      const uint4* xv = cache ? row_smem : reinterpret_cast<const uint4*>(xr);
      uint4* yv = reinterpret_cast<uint4*>(yr);
      for (kb_int64 k = threadIdx.x; k < nv; k += BS) {
        AccT e[V::N];
        V::unpack(xv[k], e);
        AccT o[V::N];
#pragma unroll
        for (int q = 0; q < V::N; ++q) o[q] = sm_acc_out(e[q], m, inv_s, log_s, a.log);
        yv[k] = V::pack(o);
      }
    } else {
      const T* src = cache ? reinterpret_cast<const T*>(row_smem) : xr;
      for (kb_int64 j = threadIdx.x; j < a.cols; j += BS)
        yr[j] = sm_out<T, AccT>((AccT)to_float(src[j]), m, inv_s, log_s, a.log);
    }
    __syncthreads();   // row_smem / row_m reused by the next row
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include <atomic>
#include "reduce_launchers.h"
namespace kb {
static constexpr int k14Threads = 1024;
static constexpr int kMaxDevices14 = 64;

template <typename T, bool VEC> static void launch_14_block(const RowwiseArgs& a, cudaStream_t s) {
  // Opt-in shared memory per block, set once per device (the attribute and the limit are per device).
  static std::atomic<int> optin_of[kMaxDevices14];   // 0: not set yet on that device
  int dev = 0;
  KB_CUDA_CHECK(cudaGetDevice(&dev));
  KB_REQUIRE(dev >= 0 && dev < kMaxDevices14, "cuda_14_softmax_online: device " << dev << " beyond " << kMaxDevices14);
  int optin = optin_of[dev].load();
  if (optin <= 0) {
    int v = 0;
    KB_CUDA_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    const int static_bytes = 4096;   // warp_ms + row_m/row_s, rounded up
    KB_CUDA_CHECK(cudaFuncSetAttribute(reinterpret_cast<const void*>(&softmax_14_block_kernel<T, k14Threads, VEC>),
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, v - static_bytes));
    optin = v - static_bytes;
    optin_of[dev].store(optin);
  }
  const std::size_t row_bytes = (std::size_t)a.cols * sizeof(T);
  const bool cache = row_bytes <= (std::size_t)optin;
  const std::size_t smem = cache ? row_bytes : 0;
  kb_int64 blocks = a.rows;
  const kb_int64 cap = red::resident_grid(softmax_14_block_kernel<T, k14Threads, VEC>, k14Threads, smem);
  if (blocks > cap) blocks = cap;   // one wave: no block waits for another's rows
  kb::launch(softmax_14_block_kernel<T, k14Threads, VEC>, (unsigned)blocks, k14Threads, smem, s, a, cache);
}

void softmax_14_online(const RowwiseArgs& a, void* stream) {
  if (a.rows <= 0 || a.cols <= 0) return;
  cudaStream_t s = as_stream(stream);
  KB_DISPATCH_CUDA_TYPES(a.dtype, [&] {
    if (a.cols <= 1024) {
      kb_int64 blocks = ceil_div(a.rows, 256 / 32);
      const kb_int64 cap = (kb_int64)red::num_sms() * 64;
      if (blocks > cap) blocks = cap;
      kb::launch(softmax_14_warp_kernel<scalar_t>, (unsigned)blocks, 256, 0, s, a);
      return;
    }
    const int n = red::Vec16<scalar_t>::N;
    const bool vec = a.cols % n == 0 && ((unsigned long long)a.x % 16) == 0 && ((unsigned long long)a.y % 16) == 0;
    if (vec) launch_14_block<scalar_t, true>(a, s);
    else launch_14_block<scalar_t, false>(a, s);
  });
}
}  // namespace kb
#endif
