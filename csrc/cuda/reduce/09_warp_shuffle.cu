// 09_warp_shuffle: the block reduction uses __shfl_down_sync: registers only, one barrier.
// Adds over 08: no shared-memory tree (32 words of smem for the per-warp sums), no log2(BS) barriers.
// Limits: one scalar load per thread per iteration: 4 bytes per load for fp32 (2 for fp16) in flight.
// Preconditions: blockDim a multiple of 32; grid <= 4096 blocks; workspace = 4096 AccT.
#include "reduce_common.cuh"

namespace kb {
template <typename T, typename AccT, unsigned BS>
__global__ void __launch_bounds__(BS) reduce_09_warp_shuffle_kernel(const T* __restrict__ x, kb_int64 n,
                                                                    AccT* __restrict__ parts) {
  const kb_int64 stride = (kb_int64)gridDim.x * BS;
  AccT v = 0;
  for (kb_int64 i = blockIdx.x * (kb_int64)BS + threadIdx.x; i < n; i += stride) v += (AccT)to_float(x[i]);
  // warp: 32 -> 1 with shuffles; then warp 0 folds the BS/32 warp sums
  v = red::block_reduce<red::SumOp<AccT> >(v);
  if (threadIdx.x == 0) parts[blockIdx.x] = v;
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "reduce_launchers.h"
namespace kb {
static constexpr int k09Threads = 256;
static constexpr kb_int64 k09MaxBlocks = 4096;
std::size_t reduce_09_warp_shuffle_workspace(const ReduceArgs&) { return k09MaxBlocks * sizeof(double); }
void reduce_09_warp_shuffle(const ReduceArgs& p, void* stream) {
  red::two_pass(p, stream, [](const auto* x, kb_int64 n, auto* parts, cudaStream_t s) {
    using T = std::decay_t<decltype(*x)>;
    using AccT = std::decay_t<decltype(*parts)>;
    kb_int64 blocks = ceil_div(n, k09Threads);
    const kb_int64 cap = (kb_int64)red::num_sms() * (2048 / k09Threads);
    if (blocks > cap) blocks = cap;
    if (blocks > k09MaxBlocks) blocks = k09MaxBlocks;
    if (blocks > 0)
      kb::launch(reduce_09_warp_shuffle_kernel<T, AccT, k09Threads>, (unsigned)blocks, k09Threads, 0, s, x, n, parts);
    return blocks;
  });
}
}  // namespace kb
#endif
