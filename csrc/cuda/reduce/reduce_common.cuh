// Shared pieces of the CUDA reduction rungs (NVRTC-compilable: no host headers).
//   * the op algebra (identity / element / combine / warp shuffle) for Sum, Max, Min, ArgMax,
//     ArgMin with torch semantics: NaN propagates, arg ops keep the first NaN / first extremum;
//   * warp and block reductions built on it;
//   * the second pass of the two-pass sum rungs (02-10): one block folds the partials.
#pragma once
#include "../../common/kb_types.h"
#include "../../common/kb_device.cuh"

namespace kb {
namespace red {

#define KB_INT64_MAX 0x7fffffffffffffffLL

template <typename AccT> __device__ __forceinline__ bool is_nan(AccT v) { return v != v; }
template <typename AccT> __device__ __forceinline__ AccT neg_inf() { return -(AccT)__int_as_float(0x7f800000); }
template <typename AccT> __device__ __forceinline__ AccT pos_inf() { return (AccT)__int_as_float(0x7f800000); }

// A value and where it came from (arg ops); idx == KB_INT64_MAX marks the identity.
template <typename AccT> struct ValIdx { AccT v; kb_int64 i; };

template <typename AccT> struct SumOp {
  typedef AccT S;
  __device__ __forceinline__ static S identity() { return (AccT)0; }
  __device__ __forceinline__ static S element(AccT v, kb_int64) { return v; }
  __device__ __forceinline__ static S combine(S a, S b) { return a + b; }
  __device__ __forceinline__ static S shfl_down(S a, int off) { return __shfl_down_sync(0xffffffffu, a, off); }
  __device__ __forceinline__ static AccT value(S a) { return a; }
  __device__ __forceinline__ static kb_int64 index(S) { return 0; }
  __device__ __forceinline__ static S make(AccT v, kb_int64) { return v; }
};

// Max (kMax = true) or Min; NaN wins over every number.
template <typename AccT, bool kMax> struct ExtOp {
  typedef AccT S;
  __device__ __forceinline__ static S identity() { return kMax ? neg_inf<AccT>() : pos_inf<AccT>(); }
  __device__ __forceinline__ static S element(AccT v, kb_int64) { return v; }
  __device__ __forceinline__ static S combine(S a, S b) {
    if (is_nan(a)) return a;
    if (is_nan(b)) return b;
    return kMax ? (a > b ? a : b) : (a < b ? a : b);
  }
  __device__ __forceinline__ static S shfl_down(S a, int off) { return __shfl_down_sync(0xffffffffu, a, off); }
  __device__ __forceinline__ static AccT value(S a) { return a; }
  __device__ __forceinline__ static kb_int64 index(S) { return 0; }
  __device__ __forceinline__ static S make(AccT v, kb_int64) { return v; }
};

// ArgMax (kMax = true) or ArgMin: first NaN, else the extremum with the smallest index.
template <typename AccT, bool kMax> struct ArgOp {
  typedef ValIdx<AccT> S;
  __device__ __forceinline__ static S identity() {
    S s; s.v = kMax ? neg_inf<AccT>() : pos_inf<AccT>(); s.i = KB_INT64_MAX; return s;
  }
  __device__ __forceinline__ static S element(AccT v, kb_int64 i) { S s; s.v = v; s.i = i; return s; }
  __device__ __forceinline__ static S combine(S a, S b) {
    const bool an = is_nan(a.v), bn = is_nan(b.v);
    if (an || bn) {
      if (an && bn) return a.i <= b.i ? a : b;
      return an ? a : b;
    }
    if (a.v == b.v) return a.i <= b.i ? a : b;
    return (kMax ? a.v > b.v : a.v < b.v) ? a : b;
  }
  __device__ __forceinline__ static S shfl_down(S a, int off) {
    S s;
    s.v = __shfl_down_sync(0xffffffffu, a.v, off);
    s.i = __shfl_down_sync(0xffffffffu, a.i, off);
    return s;
  }
  __device__ __forceinline__ static AccT value(S a) { return a.v; }
  __device__ __forceinline__ static kb_int64 index(S a) { return a.i; }
  __device__ __forceinline__ static S make(AccT v, kb_int64 i) { S s; s.v = v; s.i = i; return s; }
};

// The last warp of a shared-memory tree (introduced by rung 06, reused by 07 and 08): 64 partials
// in sdata[0..63] -> sdata[0].  Read into a register, __syncwarp, then write, so no lane reads a
// word another lane is writing in the same step (the old volatile-only trick is unsafe under
// independent thread scheduling).  Call with tid < 32.
template <typename AccT>
__device__ __forceinline__ void smem_warp_tree(volatile AccT* sdata, unsigned tid) {
  AccT v = sdata[tid];
#pragma unroll
  for (int s = 32; s > 0; s >>= 1) {
    v += sdata[tid + s];
    __syncwarp();
    sdata[tid] = v;
    __syncwarp();
  }
}

// 128-bit loads/stores: a uint4 holds N = 16 / sizeof(T) elements; unpack to / pack from the accumulator type
// (pack rounds to nearest for fp16/bf16).
template <typename T> struct Vec16;
template <> struct Vec16<float> {
  static const int N = 4;
  __device__ __forceinline__ static void unpack(const uint4& u, float* o) {
    o[0] = __uint_as_float(u.x); o[1] = __uint_as_float(u.y); o[2] = __uint_as_float(u.z); o[3] = __uint_as_float(u.w);
  }
  __device__ __forceinline__ static uint4 pack(const float* v) {
    return make_uint4(__float_as_uint(v[0]), __float_as_uint(v[1]), __float_as_uint(v[2]), __float_as_uint(v[3]));
  }
};
template <> struct Vec16<double> {
  static const int N = 2;
  __device__ __forceinline__ static void unpack(const uint4& u, double* o) {
    o[0] = __hiloint2double((int)u.y, (int)u.x); o[1] = __hiloint2double((int)u.w, (int)u.z);
  }
  __device__ __forceinline__ static uint4 pack(const double* v) {
    return make_uint4((unsigned)__double2loint(v[0]), (unsigned)__double2hiint(v[0]), (unsigned)__double2loint(v[1]),
                      (unsigned)__double2hiint(v[1]));
  }
};
// Eight 16-bit floats in a uint4; Bits16 says how one 16-bit pattern converts to and from float.
template <class Bits16> struct Vec16Of16Bit {
  static const int N = 8;
  __device__ __forceinline__ static uint4 pack(const float* v) {
    return make_uint4(Bits16::bits(v[0]) | (Bits16::bits(v[1]) << 16), Bits16::bits(v[2]) | (Bits16::bits(v[3]) << 16),
                      Bits16::bits(v[4]) | (Bits16::bits(v[5]) << 16), Bits16::bits(v[6]) | (Bits16::bits(v[7]) << 16));
  }
  __device__ __forceinline__ static void unpack(const uint4& u, float* o) {
    const unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      o[2 * k] = Bits16::cvt((unsigned short)(w[k] & 0xffffu));
      o[2 * k + 1] = Bits16::cvt((unsigned short)(w[k] >> 16));
    }
  }
};
struct HalfBits {
  __device__ __forceinline__ static float cvt(unsigned short b) { return __half2float(__ushort_as_half(b)); }
  __device__ __forceinline__ static unsigned bits(float v) { return __half_as_ushort(__float2half_rn(v)); }
};
struct BFloat16Bits {
  __device__ __forceinline__ static float cvt(unsigned short b) { return __bfloat162float(__ushort_as_bfloat16(b)); }
  __device__ __forceinline__ static unsigned bits(float v) { return __bfloat16_as_ushort(__float2bfloat16_rn(v)); }
};
template <> struct Vec16<__half> : Vec16Of16Bit<HalfBits> {};
template <> struct Vec16<__nv_bfloat16> : Vec16Of16Bit<BFloat16Bits> {};
// Elements before the first 16-byte boundary of x (scalar head), at most n.
template <typename T> __device__ __forceinline__ kb_int64 head_elems(const T* x, kb_int64 n) {
  const kb_int64 h = (kb_int64)(((16u - ((unsigned)(unsigned long long)x & 15u)) & 15u) / sizeof(T));
  return h < n ? h : n;
}

template <class Op> __device__ __forceinline__ typename Op::S warp_reduce(typename Op::S s) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) s = Op::combine(s, Op::shfl_down(s, off));
  return s;
}

// Block reduction (blockDim.x a multiple of 32, <= 1024); the result is valid in thread 0.
template <class Op> __device__ __forceinline__ typename Op::S block_reduce(typename Op::S s) {
  __shared__ typename Op::S warp_part[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  s = warp_reduce<Op>(s);
  __syncthreads();                        // warp_part may be reused by a previous call
  if (lane == 0) warp_part[warp] = s;
  __syncthreads();
  const int nwarps = (blockDim.x + 31) >> 5;
  if (warp == 0) {
    s = lane < nwarps ? warp_part[lane] : Op::identity();
    s = warp_reduce<Op>(s);
  }
  return s;
}

// Write one result: values in T (Mean divides by r: 0/0 = NaN for empty), indices as int64.
template <typename T, class Op>
__device__ __forceinline__ void store_result(typename Op::S s, ReduceOp op, kb_int64 r, void* out, kb_int64 k) {
  if (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) {
    static_cast<kb_int64*>(out)[k] = Op::index(s);
  } else {
    typedef typename Acc<T>::type AccT;
    AccT v = Op::value(s);
    if (op == ReduceOp::Mean) v = v / (AccT)r;
    static_cast<T*>(out)[k] = from_acc<T>(v);
  }
}

// Second pass of the two-pass sum rungs: one block folds `nparts` partial sums.
template <typename T, typename AccT>
__global__ void sum_partials_kernel(const AccT* __restrict__ parts, kb_int64 nparts, T* out, kb_int64 n, bool mean) {
  AccT s = 0;
  for (kb_int64 i = threadIdx.x; i < nparts; i += blockDim.x) s += parts[i];
  s = block_reduce<SumOp<AccT> >(s);
  if (threadIdx.x == 0) {
    if (mean) s = s / (AccT)n;   // mean of an empty tensor: 0/0 = NaN, like torch
    *out = from_acc<T>(s);
  }
}

}  // namespace red
}  // namespace kb

#ifndef __CUDACC_RTC__
#include <type_traits>
#include "../../common/kb_cuda.cuh"
namespace kb {
namespace red {
// Host helper for the two-pass rungs: launch the single-block second pass.
template <typename T, typename AccT>
inline void finish_sum(const AccT* parts, kb_int64 nparts, const ReduceArgs& p, kb_int64 n, cudaStream_t s) {
  kb::launch(sum_partials_kernel<T, AccT>, 1, 1024, 0, s,
             parts, nparts, static_cast<T*>(p.out), n, p.op == ReduceOp::Mean);
}
// The host side every two-pass rung (02-10) shares, so a rung's file shows only what it changes:
// dispatch the dtype, let the rung launch its first pass (one AccT partial per block into the
// workspace) and say how many blocks it used, then fold the partials with the one-block second pass.
//   first_pass(const T* x, kb_int64 n, AccT* parts, cudaStream_t s) -> blocks launched (0: none)
template <class FirstPass>
inline void two_pass(const ReduceArgs& p, void* stream, FirstPass first_pass) {
  const kb_int64 n = p.outer * p.r * p.inner;
  cudaStream_t s = as_stream(stream);
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    using AccT = typename Acc<scalar_t>::type;
    AccT* parts = static_cast<AccT*>(p.workspace);
    const kb_int64 blocks = first_pass(static_cast<const scalar_t*>(p.x), n, parts, s);
    finish_sum<scalar_t, AccT>(parts, blocks, p, n, s);
  });
}
// Workspace of a rung whose blocks each take `per_block` elements: one partial per block.
inline std::size_t partials_workspace(const ReduceArgs& p, kb_int64 per_block) {
  return (std::size_t)ceil_div(p.outer * p.r * p.inner, per_block) * sizeof(double) + 256;
}
// Streaming multiprocessors of the current device (cached per device; no synchronization).
inline int num_sms() {
  static int cache[64] = {0};
  int dev = 0;
  KB_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev < 0 || dev >= 64) dev = 0;
  if (cache[dev] == 0) KB_CUDA_CHECK(cudaDeviceGetAttribute(&cache[dev], cudaDevAttrMultiProcessorCount, dev));
  return cache[dev];
}
// Host-side op dispatch: f(OpTag) with the op algebra of `op` (Mean shares Sum's).
template <typename AccT, class F> inline void dispatch_op(ReduceOp op, F&& f) {
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: f(SumOp<AccT>()); return;
    case ReduceOp::Max: f(ExtOp<AccT, true>()); return;
    case ReduceOp::Min: f(ExtOp<AccT, false>()); return;
    case ReduceOp::ArgMax: f(ArgOp<AccT, true>()); return;
    case ReduceOp::ArgMin: f(ArgOp<AccT, false>()); return;
  }
  KB_THROW("unknown reduce op");
}
// Blocks of `kernel` resident on the whole device at once (occupancy x SMs): the grid of a
// grid-stride kernel, so that it runs in exactly one wave.
template <typename KernelT> inline int resident_grid(KernelT kernel, int threads, std::size_t smem = 0) {
  int per_sm = 0;
  KB_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, smem));
  return (per_sm < 1 ? 1 : per_sm) * num_sms();
}
}  // namespace red
}  // namespace kb
#endif
