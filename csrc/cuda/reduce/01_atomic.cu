// 01_atomic: every thread adds its element straight into the result with atomicAdd.
// Adds: the baseline — the shortest correct parallel sum (grid-stride, 64-bit indices).
// Limits: all atomics hit one address and serialize in L2; the order of additions (and so
// the rounding) changes from run to run.  fp32/fp16/bf16 accumulate in an fp32 workspace.
#include "../../common/kb_types.h"
#include "../../common/kb_device.cuh"

namespace kb {
template <typename T, typename AccT>
__global__ void reduce_01_atomic_kernel(const T* __restrict__ x, kb_int64 n, AccT* total) {
  const kb_int64 stride = (kb_int64)gridDim.x * blockDim.x;
  for (kb_int64 i = blockIdx.x * (kb_int64)blockDim.x + threadIdx.x; i < n; i += stride)
    atomicAdd(total, (AccT)to_float(x[i]));
}

template <typename T, typename AccT>
__global__ void reduce_finish_kernel(const AccT* total, T* out, kb_int64 n, bool mean) {
  AccT v = *total;
  if (mean) v = v / (AccT)n;   // mean of an empty tensor: 0/0 = NaN, like torch
  *out = from_acc<T>(v);
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "../../common/kb_cuda.cuh"
#include "reduce_launchers.h"
namespace kb {
std::size_t reduce_01_atomic_workspace(const ReduceArgs&) { return sizeof(double); }

void reduce_01_atomic(const ReduceArgs& p, void* stream) {
  const kb_int64 n = p.outer * p.r * p.inner;
  const bool mean = p.op == ReduceOp::Mean;
  cudaStream_t s = as_stream(stream);
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    using AccT = typename Acc<scalar_t>::type;
    AccT* total = static_cast<AccT*>(p.workspace);
    KB_CUDA_CHECK(cudaMemsetAsync(total, 0, sizeof(AccT), s));
    if (n > 0) {
      const int threads = 256;
      const kb_int64 blocks = ceil_div(n, threads) < 65535 * 8 ? ceil_div(n, threads) : 65535 * 8;
      kb::launch(reduce_01_atomic_kernel<scalar_t, AccT>, (unsigned)blocks, threads, 0, s,
                 static_cast<const scalar_t*>(p.x), n, total);
    }
    kb::launch(reduce_finish_kernel<scalar_t, AccT>, 1, 1, 0, s, total, static_cast<scalar_t*>(p.out), n, mean);
  });
}
}  // namespace kb
#endif
