// 08_grid_stride: a fixed grid (8 blocks per SM); each thread sums many elements in a register first.
// Adds over 07: the tree runs once per block instead of once per 2*BS elements; a few thousand partials.
// Limits: the shared-memory tree still costs log2(BS) barriers and smem traffic; scalar loads only.
// Preconditions: BS = 256 (template); grid <= 4096 blocks; workspace = 4096 AccT.
#include "reduce_common.cuh"

namespace kb {
template <typename T, typename AccT, unsigned BS>
__global__ void __launch_bounds__(BS) reduce_08_grid_stride_kernel(const T* __restrict__ x, kb_int64 n,
                                                                   AccT* __restrict__ parts) {
  __shared__ AccT sdata[BS];
  const unsigned tid = threadIdx.x;
  const kb_int64 stride = (kb_int64)gridDim.x * BS;
  AccT v = 0;
  for (kb_int64 i = blockIdx.x * (kb_int64)BS + tid; i < n; i += stride) v += (AccT)to_float(x[i]);
  sdata[tid] = v;
  __syncthreads();
  if (BS >= 512) { if (tid < 256) sdata[tid] += sdata[tid + 256]; __syncthreads(); }
  if (BS >= 256) { if (tid < 128) sdata[tid] += sdata[tid + 128]; __syncthreads(); }
  if (BS >= 128) { if (tid < 64) sdata[tid] += sdata[tid + 64]; __syncthreads(); }
  if (tid < 32) red::smem_warp_tree<AccT>(sdata, tid);
  if (tid == 0) parts[blockIdx.x] = sdata[0];
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "reduce_launchers.h"
namespace kb {
static constexpr int k08Threads = 256;
static constexpr kb_int64 k08MaxBlocks = 4096;
std::size_t reduce_08_grid_stride_workspace(const ReduceArgs&) { return k08MaxBlocks * sizeof(double); }
void reduce_08_grid_stride(const ReduceArgs& p, void* stream) {
  red::two_pass(p, stream, [](const auto* x, kb_int64 n, auto* parts, cudaStream_t s) {
    using T = std::decay_t<decltype(*x)>;
    using AccT = std::decay_t<decltype(*parts)>;
    kb_int64 blocks = ceil_div(n, k08Threads);
    const kb_int64 cap = (kb_int64)red::num_sms() * (2048 / k08Threads);
    if (blocks > cap) blocks = cap;
    if (blocks > k08MaxBlocks) blocks = k08MaxBlocks;
    if (blocks > 0)
      kb::launch(reduce_08_grid_stride_kernel<T, AccT, k08Threads>, (unsigned)blocks, k08Threads, 0, s, x, n, parts);
    return blocks;
  });
}
}  // namespace kb
#endif
