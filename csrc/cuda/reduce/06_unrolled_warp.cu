// 06_unrolled_warp: the tree stops at 64 partials; the last warp finishes without __syncthreads.
// Adds over 05: the last 6 steps need no block-wide barrier (__syncwarp only, safe on Volta+):
// red::smem_warp_tree in reduce_common.cuh, which 07 and 08 reuse.
// Limits: the loop over s is still a run-time loop; the block size is only known at run time.
// Preconditions: blockDim a power of two >= 64 (256), 256 x AccT shared memory; workspace = one AccT per block.
#include "reduce_common.cuh"

namespace kb {
template <typename T, typename AccT>
__global__ void reduce_06_unrolled_warp_kernel(const T* __restrict__ x, kb_int64 n, AccT* __restrict__ parts) {
  KB_DYNAMIC_SHARED(unsigned char, smem_raw);
  AccT* sdata = reinterpret_cast<AccT*>(smem_raw);   // (blockDim.x,)
  const unsigned tid = threadIdx.x;
  const kb_int64 i = blockIdx.x * (2 * (kb_int64)blockDim.x) + tid;
  AccT v = i < n ? (AccT)to_float(x[i]) : (AccT)0;
  if (i + blockDim.x < n) v += (AccT)to_float(x[i + blockDim.x]);
  sdata[tid] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 32; s >>= 1) {
    if (tid < s) sdata[tid] += sdata[tid + s];
    __syncthreads();
  }
  if (tid < 32) red::smem_warp_tree<AccT>(sdata, tid);
  if (tid == 0) parts[blockIdx.x] = sdata[0];
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "reduce_launchers.h"
namespace kb {
static constexpr int k06Threads = 256;
std::size_t reduce_06_unrolled_warp_workspace(const ReduceArgs& p) { return red::partials_workspace(p, 2 * k06Threads); }
void reduce_06_unrolled_warp(const ReduceArgs& p, void* stream) {
  red::two_pass(p, stream, [](const auto* x, kb_int64 n, auto* parts, cudaStream_t s) {
    using T = std::decay_t<decltype(*x)>;
    using AccT = std::decay_t<decltype(*parts)>;
    const kb_int64 blocks = ceil_div(n, 2 * k06Threads);
    if (blocks > 0)
      kb::launch(reduce_06_unrolled_warp_kernel<T, AccT>, (unsigned)blocks, k06Threads, k06Threads * sizeof(*parts), s,
                 x, n, parts);
    return blocks;
  });
}
}  // namespace kb
#endif
