// 05_add_on_load: each thread adds two elements (i and i + blockDim) while loading shared memory.
// Adds over 04: half as many blocks; no thread is idle in the first step of the tree.
// Limits: the tree still syncs the whole block for the last 6 steps, when only one warp works.
// Preconditions: blockDim a power of two (256), 256 x AccT shared memory; workspace = one AccT per block.
#include "reduce_common.cuh"

namespace kb {
template <typename T, typename AccT>
__global__ void reduce_05_add_on_load_kernel(const T* __restrict__ x, kb_int64 n, AccT* __restrict__ parts) {
  KB_DYNAMIC_SHARED(unsigned char, smem_raw);
  AccT* sdata = reinterpret_cast<AccT*>(smem_raw);   // (blockDim.x,)
  const unsigned tid = threadIdx.x;
  const kb_int64 i = blockIdx.x * (2 * (kb_int64)blockDim.x) + tid;
  AccT v = i < n ? (AccT)to_float(x[i]) : (AccT)0;
  if (i + blockDim.x < n) v += (AccT)to_float(x[i + blockDim.x]);
  sdata[tid] = v;
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
static constexpr int k05Threads = 256;
std::size_t reduce_05_add_on_load_workspace(const ReduceArgs& p) { return red::partials_workspace(p, 2 * k05Threads); }
void reduce_05_add_on_load(const ReduceArgs& p, void* stream) {
  red::two_pass(p, stream, [](const auto* x, kb_int64 n, auto* parts, cudaStream_t s) {
    using T = std::decay_t<decltype(*x)>;
    using AccT = std::decay_t<decltype(*parts)>;
    const kb_int64 blocks = ceil_div(n, 2 * k05Threads);
    if (blocks > 0)
      kb::launch(reduce_05_add_on_load_kernel<T, AccT>, (unsigned)blocks, k05Threads, k05Threads * sizeof(*parts), s,
                 x, n, parts);
    return blocks;
  });
}
}  // namespace kb
#endif
