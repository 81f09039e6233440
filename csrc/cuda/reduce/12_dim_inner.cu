// 12_dim_inner: reduce the contiguous innermost dim (inner == 1): each row is a contiguous run of r.
// Adds over 11: many outputs at once: a warp per row for short rows (r <= 1024), a block per row
// for long ones; shuffle reductions; all six ops.  Limits: scalar loads (rows need not be aligned);
// few very long rows leave SMs idle (use 11 for one row).  Preconditions: inner == 1 (its table line, kInnerOne).
#include "reduce_common.cuh"

namespace kb {
// (rows, r) -> out[rows]; warp w of the grid takes rows w, w + nwarps, ...
template <typename T, class Op>
__global__ void __launch_bounds__(256) reduce_12_warp_per_row_kernel(const T* __restrict__ x, void* out,
                                                                    kb_int64 rows, kb_int64 r, ReduceOp op) {
  typedef typename Acc<T>::type AccT;
  const int lane = threadIdx.x & 31;
  const kb_int64 warp = (blockIdx.x * (kb_int64)blockDim.x + threadIdx.x) >> 5;
  const kb_int64 nwarps = ((kb_int64)gridDim.x * blockDim.x) >> 5;
  for (kb_int64 row = warp; row < rows; row += nwarps) {
    const T* xr = x + row * r;
    typename Op::S s = Op::identity();
    for (kb_int64 p = lane; p < r; p += 32) s = Op::combine(s, Op::element((AccT)to_float(xr[p]), p));
    s = red::warp_reduce<Op>(s);
    if (lane == 0) red::store_result<T, Op>(s, op, r, out, row);
  }
}

// One block per row (grid-stride over rows), 4 loads in flight per thread.
template <typename T, class Op, int BS>
__global__ void __launch_bounds__(BS) reduce_12_block_per_row_kernel(const T* __restrict__ x, void* out,
                                                                     kb_int64 rows, kb_int64 r, ReduceOp op) {
  typedef typename Acc<T>::type AccT;
  for (kb_int64 row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * r;
    typename Op::S s = Op::identity();
    kb_int64 p = threadIdx.x;
    for (; p + 3 * BS < r; p += 4 * BS) {
      AccT v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) v[j] = (AccT)to_float(xr[p + j * BS]);
#pragma unroll
      for (int j = 0; j < 4; ++j) s = Op::combine(s, Op::element(v[j], p + j * BS));
    }
    for (; p < r; p += BS) s = Op::combine(s, Op::element((AccT)to_float(xr[p]), p));
    s = red::block_reduce<Op>(s);
    if (threadIdx.x == 0) red::store_result<T, Op>(s, op, r, out, row);
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "reduce_launchers.h"
namespace kb {
static constexpr kb_int64 k12WarpRowMax = 1024;   // rows up to this length: a warp per row
static constexpr int k12BlockThreads = 512;

std::size_t reduce_12_dim_inner_workspace(const ReduceArgs&) { return 0; }

void reduce_12_dim_inner(const ReduceArgs& p, void* stream) {
  const kb_int64 rows = p.outer, r = p.r;
  if (rows <= 0) return;
  cudaStream_t s = as_stream(stream);
  const kb_int64 max_blocks = (kb_int64)red::num_sms() * 64;   // grid-stride beyond this
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    using AccT = typename Acc<scalar_t>::type;
    const scalar_t* x = static_cast<const scalar_t*>(p.x);
    red::dispatch_op<AccT>(p.op, [&](auto tag) {
      using Op = decltype(tag);
      if (r <= k12WarpRowMax) {
        kb_int64 blocks = ceil_div(rows, 256 / 32);
        if (blocks > max_blocks) blocks = max_blocks;
        kb::launch(reduce_12_warp_per_row_kernel<scalar_t, Op>, (unsigned)blocks, 256, 0, s, x, p.out, rows, r, p.op);
      } else {
        kb_int64 blocks = rows < max_blocks ? rows : max_blocks;
        kb::launch(reduce_12_block_per_row_kernel<scalar_t, Op, k12BlockThreads>, (unsigned)blocks, k12BlockThreads, 0, s,
                   x, p.out, rows, r, p.op);
      }
    });
  });
}
}  // namespace kb
#endif
