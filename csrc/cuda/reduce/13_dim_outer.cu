// 13_dim_outer: reduce a dim that is not innermost (inner > 1): one thread per kept column (o, i),
// consecutive threads on consecutive i (coalesced), each walking r with 4 loads in flight; all six ops.
// Adds over 12: strided reductions without a transpose; when outer*inner is small, r is split across
// blockIdx.y (partials in the workspace + a fold kernel) so enough threads stream memory.
// Limits: tiny inner (2, 3) breaks coalescing.  Preconditions: inner > 1 (its table line, kInnerMany).
#include "reduce_common.cuh"

namespace kb {
// grid (ceil(cols / BS), splits); block y-slice `by` walks p in [by*chunk, min(r, (by+1)*chunk)).
template <typename T, class Op, int BS>
__global__ void __launch_bounds__(BS) reduce_13_dim_outer_kernel(const T* __restrict__ x, void* out, kb_int64 outer,
                                                                 kb_int64 r, kb_int64 inner, kb_int64 chunk,
                                                                 ReduceOp op, void* workspace) {
  typedef typename Acc<T>::type AccT;
  const kb_int64 cols = outer * inner;
  const kb_int64 c = blockIdx.x * (kb_int64)BS + threadIdx.x;   // flattened kept column o * inner + i
  if (c >= cols) return;
  const kb_int64 o = c / inner, i = c - o * inner;
  const T* xc = x + o * r * inner + i;                           // x[o, 0, i]
  const kb_int64 p0 = blockIdx.y * chunk;
  const kb_int64 p1 = p0 + chunk < r ? p0 + chunk : r;
  typename Op::S s = Op::identity();
  kb_int64 p = p0;
  for (; p + 3 < p1; p += 4) {
    AccT v[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) v[j] = (AccT)to_float(xc[(p + j) * inner]);
#pragma unroll
    for (int j = 0; j < 4; ++j) s = Op::combine(s, Op::element(v[j], p + j));
  }
  for (; p < p1; ++p) s = Op::combine(s, Op::element((AccT)to_float(xc[p * inner]), p));
  if (gridDim.y == 1) {
    red::store_result<T, Op>(s, op, r, out, c);
  } else {   // partials: values (splits, cols) in 8-byte slots, then indices (splits, cols)
    AccT* pv = static_cast<AccT*>(workspace);
    kb_int64* pi = reinterpret_cast<kb_int64*>(static_cast<unsigned char*>(workspace) +
                                               (kb_int64)gridDim.y * cols * sizeof(double));   // 8-B aligned
    pv[blockIdx.y * cols + c] = Op::value(s);
    pi[blockIdx.y * cols + c] = Op::index(s);
  }
}

// Second pass when r was split: fold the `splits` partials of each column.
template <typename T, class Op>
__global__ void reduce_13_fold_kernel(void* out, kb_int64 cols, kb_int64 r, kb_int64 splits, ReduceOp op,
                                      const void* workspace) {
  typedef typename Acc<T>::type AccT;
  const kb_int64 c = blockIdx.x * (kb_int64)blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const AccT* pv = static_cast<const AccT*>(workspace);
  const kb_int64* pi = reinterpret_cast<const kb_int64*>(static_cast<const unsigned char*>(workspace) +
                                                         splits * cols * sizeof(double));
  typename Op::S s = Op::identity();
  for (kb_int64 k = 0; k < splits; ++k) s = Op::combine(s, Op::make(pv[k * cols + c], pi[k * cols + c]));
  red::store_result<T, Op>(s, op, r, out, c);
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "reduce_launchers.h"
namespace kb {
static constexpr int k13Threads = 256;
static constexpr kb_int64 k13TargetThreads = 1 << 20;   // ~4 waves of 2048 threads on 132 SMs
static constexpr kb_int64 k13MinChunk = 64;             // rows per split at least

// Splits of r: enough threads in flight, each still walking >= k13MinChunk rows.
static kb_int64 splits_13(const ReduceArgs& p) {
  const kb_int64 cols = p.outer * p.inner;
  if (cols <= 0) return 1;
  kb_int64 sp = ceil_div(k13TargetThreads, cols);
  const kb_int64 by_rows = ceil_div(p.r, k13MinChunk);
  if (sp > by_rows) sp = by_rows;
  if (sp > 65535) sp = 65535;
  return sp < 1 ? 1 : sp;
}

std::size_t reduce_13_dim_outer_workspace(const ReduceArgs& p) {
  const kb_int64 sp = splits_13(p);
  if (sp <= 1) return 0;
  return (std::size_t)(sp * p.outer * p.inner) * (sizeof(double) + sizeof(kb_int64)) + 256;
}

void reduce_13_dim_outer(const ReduceArgs& p, void* stream) {
  const kb_int64 cols = p.outer * p.inner;
  if (cols <= 0) return;
  const kb_int64 sp = splits_13(p);
  if (sp > 1)
    KB_REQUIRE(p.workspace != nullptr && p.workspace_bytes >= reduce_13_dim_outer_workspace(p),
               "cuda_13_dim_outer: workspace too small");
  const kb_int64 chunk = sp > 1 ? ceil_div(p.r, sp) : p.r;
  cudaStream_t s = as_stream(stream);
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    using AccT = typename Acc<scalar_t>::type;
    const scalar_t* x = static_cast<const scalar_t*>(p.x);
    red::dispatch_op<AccT>(p.op, [&](auto tag) {
      using Op = decltype(tag);
      const dim3 grid((unsigned)ceil_div(cols, k13Threads), (unsigned)sp);
      kb::launch(reduce_13_dim_outer_kernel<scalar_t, Op, k13Threads>, grid, k13Threads, 0, s,
                 x, p.out, p.outer, p.r, p.inner, chunk, p.op, p.workspace);
      if (sp > 1) {
        kb::launch(reduce_13_fold_kernel<scalar_t, Op>, (unsigned)ceil_div(cols, 256), 256, 0, s, p.out, cols, p.r,
                   sp, p.op, p.workspace);
      }
    });
  });
}
}  // namespace kb
#endif
