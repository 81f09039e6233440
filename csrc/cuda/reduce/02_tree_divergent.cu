// 02_tree_divergent: one element per thread into shared memory, then a tree in shared memory.
// Adds over 01: no atomics on one address; each block writes one partial, a 1-block second pass folds them.
// Limits: `tid % (2*s) == 0` leaves most threads of each warp idle (divergence) and % is slow.
// Preconditions: 256 threads x AccT of shared memory; workspace = one AccT per block.
#include "reduce_common.cuh"

namespace kb {
template <typename T, typename AccT>
__global__ void reduce_02_tree_divergent_kernel(const T* __restrict__ x, kb_int64 n, AccT* __restrict__ parts) {
  KB_DYNAMIC_SHARED(unsigned char, smem_raw);
  AccT* sdata = reinterpret_cast<AccT*>(smem_raw);   // (blockDim.x,)
  const unsigned tid = threadIdx.x;
  const kb_int64 i = blockIdx.x * (kb_int64)blockDim.x + tid;
  sdata[tid] = i < n ? (AccT)to_float(x[i]) : (AccT)0;
  __syncthreads();
  for (unsigned s = 1; s < blockDim.x; s *= 2) {
    if (tid % (2 * s) == 0) sdata[tid] += sdata[tid + s];
    __syncthreads();
  }
  if (tid == 0) parts[blockIdx.x] = sdata[0];
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "reduce_launchers.h"
namespace kb {
static constexpr int k02Threads = 256;
std::size_t reduce_02_tree_divergent_workspace(const ReduceArgs& p) { return red::partials_workspace(p, k02Threads); }
void reduce_02_tree_divergent(const ReduceArgs& p, void* stream) {
  red::two_pass(p, stream, [](const auto* x, kb_int64 n, auto* parts, cudaStream_t s) {
    using T = std::decay_t<decltype(*x)>;
    using AccT = std::decay_t<decltype(*parts)>;
    const kb_int64 blocks = ceil_div(n, k02Threads);
    if (blocks > 0)
      kb::launch(reduce_02_tree_divergent_kernel<T, AccT>, (unsigned)blocks, k02Threads, k02Threads * sizeof(*parts), s,
                 x, n, parts);
    return blocks;
  });
}
}  // namespace kb
#endif
