// 07_template_unrolled: the block size is a template parameter, so the whole tree unrolls at compile time.
// Adds over 06: no loop counters or run-time tests of s; dead steps vanish for small blocks.
// Limits: still one block per 2*BS elements: millions of blocks, each paying launch and tree overhead.
// Preconditions: BS in {128, 256, 512}; BS x AccT static shared memory; workspace = one AccT per block.
#include "reduce_common.cuh"

namespace kb {
template <typename T, typename AccT, unsigned BS>
__global__ void __launch_bounds__(BS) reduce_07_template_unrolled_kernel(const T* __restrict__ x, kb_int64 n,
                                                                         AccT* __restrict__ parts) {
  __shared__ AccT sdata[BS];
  const unsigned tid = threadIdx.x;
  const kb_int64 i = blockIdx.x * (2 * (kb_int64)BS) + tid;
  AccT v = i < n ? (AccT)to_float(x[i]) : (AccT)0;
  if (i + BS < n) v += (AccT)to_float(x[i + BS]);
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
// Small problems get small blocks (more of them in flight); large ones 512 threads.
static int threads_07(kb_int64 n) { return n >= (1 << 20) ? 512 : n >= (1 << 14) ? 256 : 128; }

std::size_t reduce_07_template_unrolled_workspace(const ReduceArgs& p) { return red::partials_workspace(p, 2 * 128); }
void reduce_07_template_unrolled(const ReduceArgs& p, void* stream) {
  red::two_pass(p, stream, [](const auto* x, kb_int64 n, auto* parts, cudaStream_t s) {
    using T = std::decay_t<decltype(*x)>;
    using AccT = std::decay_t<decltype(*parts)>;
    const int bs = threads_07(n);
    const kb_int64 blocks = ceil_div(n, 2 * bs);
    if (blocks == 0) return blocks;
    switch (bs) {   // the block size is a template argument: one instantiation per choice
      case 512: kb::launch(reduce_07_template_unrolled_kernel<T, AccT, 512>, (unsigned)blocks, 512, 0, s, x, n, parts); break;
      case 256: kb::launch(reduce_07_template_unrolled_kernel<T, AccT, 256>, (unsigned)blocks, 256, 0, s, x, n, parts); break;
      default: kb::launch(reduce_07_template_unrolled_kernel<T, AccT, 128>, (unsigned)blocks, 128, 0, s, x, n, parts); break;
    }
    return blocks;
  });
}
}  // namespace kb
#endif
