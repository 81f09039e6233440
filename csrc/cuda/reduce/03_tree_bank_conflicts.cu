// 03_tree_bank_conflicts: the same tree, but active threads are contiguous (strided index 2*s*tid).
// Adds over 02: whole warps stay busy or idle together: no divergence, no modulo.
// Limits: index = 2*s*tid makes the threads of a warp hit the same shared-memory banks (conflicts).
// Preconditions: 256 threads x AccT of shared memory; workspace = one AccT per block.
#include "reduce_common.cuh"

namespace kb {
template <typename T, typename AccT>
__global__ void reduce_03_tree_bank_conflicts_kernel(const T* __restrict__ x, kb_int64 n, AccT* __restrict__ parts) {
  KB_DYNAMIC_SHARED(unsigned char, smem_raw);
  AccT* sdata = reinterpret_cast<AccT*>(smem_raw);   // (blockDim.x,)
  const unsigned tid = threadIdx.x;
  const kb_int64 i = blockIdx.x * (kb_int64)blockDim.x + tid;
  sdata[tid] = i < n ? (AccT)to_float(x[i]) : (AccT)0;
  __syncthreads();
  for (unsigned s = 1; s < blockDim.x; s *= 2) {
    const unsigned index = 2 * s * tid;
    if (index < blockDim.x) sdata[index] += sdata[index + s];
    __syncthreads();
  }
  if (tid == 0) parts[blockIdx.x] = sdata[0];
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "reduce_launchers.h"
namespace kb {
static constexpr int k03Threads = 256;
std::size_t reduce_03_tree_bank_conflicts_workspace(const ReduceArgs& p) { return red::partials_workspace(p, k03Threads); }
void reduce_03_tree_bank_conflicts(const ReduceArgs& p, void* stream) {
  red::two_pass(p, stream, [](const auto* x, kb_int64 n, auto* parts, cudaStream_t s) {
    using T = std::decay_t<decltype(*x)>;
    using AccT = std::decay_t<decltype(*parts)>;
    const kb_int64 blocks = ceil_div(n, k03Threads);
    if (blocks > 0)
      kb::launch(reduce_03_tree_bank_conflicts_kernel<T, AccT>, (unsigned)blocks, k03Threads, k03Threads * sizeof(*parts), s,
                 x, n, parts);
    return blocks;
  });
}
}  // namespace kb
#endif
