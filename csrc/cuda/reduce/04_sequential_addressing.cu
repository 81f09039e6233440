// 04_sequential_addressing: halve the active range each step: thread tid adds sdata[tid + s].
// Adds over 03: consecutive threads touch consecutive words: no bank conflicts.
// Limits: half the threads are idle from the first step; each thread loads only one element.
// Preconditions: blockDim a power of two (256), 256 x AccT shared memory; workspace = one AccT per block.
#include "reduce_common.cuh"

namespace kb {
template <typename T, typename AccT>
__global__ void reduce_04_sequential_addressing_kernel(const T* __restrict__ x, kb_int64 n, AccT* __restrict__ parts) {
  KB_DYNAMIC_SHARED(unsigned char, smem_raw);
  AccT* sdata = reinterpret_cast<AccT*>(smem_raw);   // (blockDim.x,)
  const unsigned tid = threadIdx.x;
  const kb_int64 i = blockIdx.x * (kb_int64)blockDim.x + tid;
  sdata[tid] = i < n ? (AccT)to_float(x[i]) : (AccT)0;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (tid < s) sdata[tid] += sdata[tid + s];
    __syncthreads();
  }
  if (tid == 0) parts[blockIdx.x] = sdata[0];
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "reduce_launchers.h"
namespace kb {
static constexpr int k04Threads = 256;
std::size_t reduce_04_sequential_addressing_workspace(const ReduceArgs& p) { return red::partials_workspace(p, k04Threads); }
void reduce_04_sequential_addressing(const ReduceArgs& p, void* stream) {
  red::two_pass(p, stream, [](const auto* x, kb_int64 n, auto* parts, cudaStream_t s) {
    using T = std::decay_t<decltype(*x)>;
    using AccT = std::decay_t<decltype(*parts)>;
    const kb_int64 blocks = ceil_div(n, k04Threads);
    if (blocks > 0)
      kb::launch(reduce_04_sequential_addressing_kernel<T, AccT>, (unsigned)blocks, k04Threads, k04Threads * sizeof(*parts), s,
                 x, n, parts);
    return blocks;
  });
}
}  // namespace kb
#endif
