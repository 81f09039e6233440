// 11_single_pass: one launch: every block writes its partial, and the last block to finish (atomic
// counter + __threadfence) folds all partials.  Also max/min/argmax/argmin (NaN-aware, first index wins).
// Adds over 10: no second launch; the counter is reset by the last block, so calls can repeat.
// Limits: whole-tensor only.  Preconditions: workspace as reduce_11_single_pass_workspace(); its first
// 4 bytes (the counter) must be zero at the first launch: the launcher memsets them; NVRTC/CuPy callers
// zero the workspace once before their first launch (the kernel leaves it zeroed).
#include "reduce_common.cuh"

namespace kb {
// Workspace layout (bytes): [0, 4) counter | [256, 256 + 8*kMax) partial values | then kMax int64 indices.
#define KB_R11_MAX_BLOCKS 4096

template <typename T, int BS, class Op>
__device__ __forceinline__ void single_pass_11(const ReduceArgs& p) {
  typedef typename Acc<T>::type AccT;
  typedef typename Op::S S;
  typedef red::Vec16<T> V;
  const T* __restrict__ x = static_cast<const T*>(p.x);
  const kb_int64 n = p.outer * p.r * p.inner;
  const kb_int64 gid = blockIdx.x * (kb_int64)BS + threadIdx.x;
  const kb_int64 stride = (kb_int64)gridDim.x * BS;
  const kb_int64 head = red::head_elems(x, n);            // scalar, < V::N elements
  const kb_int64 nvec = (n - head) / V::N;
  const kb_int64 tail = head + nvec * V::N;                // scalar tail, < V::N elements
  const uint4* __restrict__ xv = reinterpret_cast<const uint4*>(x + head);

  S a0 = Op::identity(), a1 = Op::identity();
  if (gid < head) a0 = Op::combine(a0, Op::element((AccT)to_float(x[gid]), gid));
  if (tail + gid < n) a1 = Op::combine(a1, Op::element((AccT)to_float(x[tail + gid]), tail + gid));
  kb_int64 k = gid;
  for (; k + 3 * stride < nvec; k += 4 * stride) {         // 4 independent 16-B loads in flight
    uint4 u[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) u[j] = xv[k + j * stride];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      AccT e[V::N];
      V::unpack(u[j], e);
      const kb_int64 base = head + (k + j * stride) * V::N;
#pragma unroll
      for (int q = 0; q < V::N; ++q) {
        if (q & 1) a1 = Op::combine(a1, Op::element(e[q], base + q));
        else a0 = Op::combine(a0, Op::element(e[q], base + q));
      }
    }
  }
  for (; k < nvec; k += stride) {
    AccT e[V::N];
    V::unpack(xv[k], e);
    const kb_int64 base = head + k * V::N;
#pragma unroll
    for (int q = 0; q < V::N; ++q) a0 = Op::combine(a0, Op::element(e[q], base + q));
  }
  S s = red::block_reduce<Op>(Op::combine(a0, a1));

  unsigned int* counter = static_cast<unsigned int*>(p.workspace);
  AccT* part_v = reinterpret_cast<AccT*>(static_cast<unsigned char*>(p.workspace) + 256);
  kb_int64* part_i = reinterpret_cast<kb_int64*>(static_cast<unsigned char*>(p.workspace) + 256 +
                                                 KB_R11_MAX_BLOCKS * sizeof(double));
  __shared__ bool am_last;
  if (threadIdx.x == 0) {
    part_v[blockIdx.x] = Op::value(s);
    part_i[blockIdx.x] = Op::index(s);
    __threadfence();                                       // partial visible before the count
    const unsigned int done = atomicAdd(counter, 1u);
    am_last = done == gridDim.x - 1;
  }
  __syncthreads();
  if (!am_last) return;
  __threadfence();
  S t = Op::identity();
  for (unsigned b = threadIdx.x; b < gridDim.x; b += BS)
    t = Op::combine(t, Op::make(__ldcg(part_v + b), __ldcg(reinterpret_cast<const long long*>(part_i) + b)));
  t = red::block_reduce<Op>(t);
  if (threadIdx.x == 0) {
    red::store_result<T, Op>(t, p.op, n, p.out, 0);
    *counter = 0;                                          // ready for the next launch
  }
}

// The only parameter is the args struct, so NVRTC/CuPy can launch the same kernel.
template <typename T, int BS>
__global__ void __launch_bounds__(BS) reduce_11_single_pass_kernel(ReduceArgs p) {
  typedef typename Acc<T>::type AccT;
  switch (p.op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: single_pass_11<T, BS, red::SumOp<AccT> >(p); break;
    case ReduceOp::Max: single_pass_11<T, BS, red::ExtOp<AccT, true> >(p); break;
    case ReduceOp::Min: single_pass_11<T, BS, red::ExtOp<AccT, false> >(p); break;
    case ReduceOp::ArgMax: single_pass_11<T, BS, red::ArgOp<AccT, true> >(p); break;
    case ReduceOp::ArgMin: single_pass_11<T, BS, red::ArgOp<AccT, false> >(p); break;
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include <string>
#include "reduce_launchers.h"
namespace kb {
static constexpr int k11Threads = 256;

std::size_t reduce_11_single_pass_workspace(const ReduceArgs&) {
  return 256 + (std::size_t)KB_R11_MAX_BLOCKS * (sizeof(double) + sizeof(kb_int64));
}

template <typename T> static int grid_11() {
  static int g = 0;   // one wave of resident blocks (same GPU model assumed across devices)
  if (g == 0) g = red::resident_grid(reduce_11_single_pass_kernel<T, k11Threads>, k11Threads);
  return g;
}

LaunchConfig reduce_11_single_pass_config(const ReduceArgs& p) {
  const kb_int64 n = p.outer * p.r * p.inner;
  LaunchConfig c;
  c.kernel = std::string("kb::reduce_11_single_pass_kernel<") + cuda_type_name(p.dtype) + ", " +
             std::to_string(k11Threads) + ">";
  const kb_int64 per_block = (kb_int64)k11Threads * (16 / (p.dtype == DType::F64 ? 8 : p.dtype == DType::F32 ? 4 : 2));
  kb_int64 blocks = ceil_div(n, per_block);
  const kb_int64 cap = KB_DISPATCH_CUDA_TYPES(p.dtype, [&] { return (kb_int64)grid_11<scalar_t>(); });
  if (blocks > cap) blocks = cap;
  if (blocks > KB_R11_MAX_BLOCKS) blocks = KB_R11_MAX_BLOCKS;
  if (blocks < 1) blocks = 1;   // n == 0 still writes the result (0 for sum, NaN for mean)
  c.grid[0] = (unsigned)blocks; c.grid[1] = 1; c.grid[2] = 1;
  c.block[0] = k11Threads; c.block[1] = 1; c.block[2] = 1;
  c.shared_bytes = 0;
  return c;
}

void reduce_11_single_pass(const ReduceArgs& p, void* stream) {
  KB_REQUIRE(p.workspace != nullptr && p.workspace_bytes >= reduce_11_single_pass_workspace(p),
             "reduce_11_single_pass: workspace too small");
  cudaStream_t s = as_stream(stream);
  const LaunchConfig c = reduce_11_single_pass_config(p);
  // The front door's workspace is not zeroed: clear the counter (the kernel re-zeroes it too).
  KB_CUDA_CHECK(cudaMemsetAsync(p.workspace, 0, sizeof(unsigned int), s));
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    kb::launch(reduce_11_single_pass_kernel<scalar_t, k11Threads>, c.grid[0], c.block[0], 0, s, p);
  });
}
}  // namespace kb
#endif
