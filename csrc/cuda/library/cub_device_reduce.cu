// cub_device_reduce: the vendor-library rung: whole-tensor reductions with cub::DeviceReduce and
// innermost-dim reductions (inner == 1) with cub::DeviceSegmentedReduce; all six ops, all four dtypes.
// Sum/Mean: TransformReduce of x converted to the accumulator (fp32, fp64 for fp64).  Max/Min/Arg*:
// a (value, index) reduction with the same NaN-aware, first-index-wins combine as our rungs (CUB's own
// Max/ArgMax do not propagate NaN like torch).  A tiny kernel writes out (dtype cast, mean, index).
// Limits: inner > 1 is refused (its table line, kInnerOne).  Workspace: result slots + CUB temp storage.
#ifdef KB_SIM
// CUB is NVIDIA's device code, compiled only by nvcc: the CPU SIMT executor has no CUB rung.
#include "../../common/kb_cuda.cuh"
#include "../reduce/reduce_launchers.h"
namespace kb {
std::size_t reduce_cub_workspace(const ReduceArgs&) { return 0; }
void reduce_cub(const ReduceArgs&, void*) {
  throw ArgumentError("impl: cub_device_reduce is a vendor library (CUB) and does not run under the CPU SIMT executor");
}
}  // namespace kb
#else
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_segmented_reduce.cuh>
#include <cuda/std/functional>
#include <limits>
#include "../../common/kb_cuda.cuh"
#include "../reduce/reduce_common.cuh"
#include "../reduce/reduce_launchers.h"

namespace kb {
namespace {
template <typename T> struct ToAcc {
  typedef typename Acc<T>::type AccT;
  __host__ __device__ AccT operator()(const T& v) const {
#ifdef __CUDA_ARCH__
    return (AccT)to_float(v);
#else
    (void)v; return AccT(0);
#endif
  }
};
template <typename T> struct LoadPair {   // flat index -> (value, flat index)
  typedef typename Acc<T>::type AccT;
  const T* x;
  __host__ __device__ red::ValIdx<AccT> operator()(long long i) const {
    red::ValIdx<AccT> s;
#ifdef __CUDA_ARCH__
    s.v = (AccT)to_float(x[i]);
#else
    s.v = AccT(0);
#endif
    s.i = i;
    return s;
  }
};
template <typename AccT> struct PairCombine {
  bool is_max;
  __host__ __device__ red::ValIdx<AccT> operator()(const red::ValIdx<AccT>& a, const red::ValIdx<AccT>& b) const {
#ifdef __CUDA_ARCH__
    return is_max ? red::ArgOp<AccT, true>::combine(a, b) : red::ArgOp<AccT, false>::combine(a, b);
#else
    (void)b; return a;
#endif
  }
};
struct TimesR {
  long long r;
  __host__ __device__ long long operator()(long long o) const { return o * r; }
};

// Results (AccT or ValIdx per output) -> out: cast, mean, or index relative to its segment.
template <typename T, typename AccT>
__global__ void cub_finish_kernel(const void* res, void* out, kb_int64 nout, kb_int64 r, ReduceOp op, bool pairs) {
  const kb_int64 k = blockIdx.x * (kb_int64)blockDim.x + threadIdx.x;
  if (k >= nout) return;
  if (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) {
    static_cast<kb_int64*>(out)[k] = static_cast<const red::ValIdx<AccT>*>(res)[k].i - k * r;
    return;
  }
  AccT v = pairs ? static_cast<const red::ValIdx<AccT>*>(res)[k].v : static_cast<const AccT*>(res)[k];
  if (op == ReduceOp::Mean) v = v / (AccT)r;   // empty: 0/0 = NaN
  static_cast<T*>(out)[k] = from_acc<T>(v);
}

std::size_t result_bytes(const ReduceArgs& p) {
  const std::size_t b = (std::size_t)(p.outer > 0 ? p.outer : 1) * 16;
  return (b + 255) / 256 * 256;
}

// Runs (temp != nullptr) or sizes (temp == nullptr) the CUB call; returns CUB's temp bytes.
template <typename T>
std::size_t run_cub(const ReduceArgs& p, void* temp, std::size_t temp_bytes, void* res, cudaStream_t s) {
  typedef typename Acc<T>::type AccT;
  typedef red::ValIdx<AccT> Pair;
  const T* x = static_cast<const T*>(p.x);
  const bool full = p.outer == 1;
  const bool sum = p.op == ReduceOp::Sum || p.op == ReduceOp::Mean;
  const bool is_max = p.op == ReduceOp::Max || p.op == ReduceOp::ArgMax;
  Pair init;
  init.v = is_max ? -std::numeric_limits<AccT>::infinity() : std::numeric_limits<AccT>::infinity();
  init.i = 0x7fffffffffffffffLL;
  thrust::counting_iterator<long long> idx(0);
  auto pairs_in = thrust::make_transform_iterator(idx, LoadPair<T>{x});
  std::size_t bytes = temp_bytes;
  if (full) {
    const long long n = p.r;
    if (sum)
      KB_CUDA_CHECK(cub::DeviceReduce::TransformReduce(temp, bytes, x, static_cast<AccT*>(res), n,
                                                       ::cuda::std::plus<AccT>(), ToAcc<T>(), AccT(0), s));
    else
      KB_CUDA_CHECK(cub::DeviceReduce::Reduce(temp, bytes, pairs_in, static_cast<Pair*>(res), n,
                                              PairCombine<AccT>{is_max}, init, s));
  } else {
    auto begin = thrust::make_transform_iterator(idx, TimesR{(long long)p.r});
    auto end = begin + 1;
    if (sum)
      KB_CUDA_CHECK(cub::DeviceSegmentedReduce::Reduce(temp, bytes, thrust::make_transform_iterator(x, ToAcc<T>()),
                                                       static_cast<AccT*>(res), (long long)p.outer, begin, end,
                                                       ::cuda::std::plus<AccT>(), AccT(0), s));
    else
      KB_CUDA_CHECK(cub::DeviceSegmentedReduce::Reduce(temp, bytes, pairs_in, static_cast<Pair*>(res),
                                                       (long long)p.outer, begin, end, PairCombine<AccT>{is_max},
                                                       init, s));
  }
  return bytes;
}

}  // namespace

std::size_t reduce_cub_workspace(const ReduceArgs& p) {
  if (p.outer <= 0) return 0;
  const std::size_t temp = KB_DISPATCH_CUDA_TYPES(p.dtype, [&] { return run_cub<scalar_t>(p, nullptr, 0, nullptr, nullptr); });
  return result_bytes(p) + temp + 256;
}

void reduce_cub(const ReduceArgs& p, void* stream) {
  if (p.outer <= 0) return;
  KB_REQUIRE(p.workspace != nullptr && p.workspace_bytes >= reduce_cub_workspace(p), "cub_device_reduce: workspace too small");
  cudaStream_t s = as_stream(stream);
  void* res = p.workspace;
  void* temp = static_cast<unsigned char*>(p.workspace) + result_bytes(p);
  const std::size_t temp_bytes = p.workspace_bytes - result_bytes(p);
  const bool pairs = !(p.op == ReduceOp::Sum || p.op == ReduceOp::Mean);
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    using AccT = typename Acc<scalar_t>::type;
    run_cub<scalar_t>(p, temp, temp_bytes, res, s);
    kb::launch(cub_finish_kernel<scalar_t, AccT>, (unsigned)ceil_div(p.outer, 256), 256, 0, s,
               res, p.out, p.outer, p.r, p.op, pairs);
  });
}
}  // namespace kb
#endif  // KB_SIM
