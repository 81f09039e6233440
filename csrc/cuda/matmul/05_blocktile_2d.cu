// 05_blocktile_2d: each thread computes a (TM, TN) tile of C as an outer product of TM values of
// A and TN values of B held in registers: TM * TN FMAs per TM + TN shared-memory loads (64 per 16
// for 8x8).  Two configurations: (128, 128) tiles with 8x8 per thread, (64, 64) with 4x4.
// Limits: scalar global loads and scalar fragment reads; the B fragment reads of a warp hit the
// same banks (TN-float stride); threads map to C row-major, not by warp.
// Smem: (BM * BK + BK * BN) * sizeof(acc) = 8 KB (fp32, 128x128); any arch.
#include "matmul_common.cuh"

namespace kb {
template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN)) matmul_05_blocktile_2d_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  constexpr int THREADS = (BM / TM) * (BN / TN);
  static_assert((BM * BK) % THREADS == 0 && (BK * BN) % THREADS == 0, "tiles split evenly over the threads");
  __shared__ AccT As[BM][BK];  // (BM, BK)
  __shared__ AccT Bs[BK][BN];  // (BK, BN)
  const int tid = threadIdx.x;
  const int trow = tid / (BN / TN), tcol = tid % (BN / TN);  // this thread's (TM, TN) tile of the block tile
  const kb_int64 col0 = blockIdx.x * (kb_int64)BN;
  const kb_int64 tiles_m = (p.m + BM - 1) / BM;
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> m = batch_pointers<T>(p, z);
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * BM;
      AccT acc[TM][TN] = {};
      AccT a_frag[TM], b_frag[TN];
      for (kb_int64 k0 = 0; k0 < p.k; k0 += BK) {
        // Element e of a tile: consecutive threads take the direction that is contiguous in memory.
#pragma unroll
        for (int s = 0; s < BM * BK / THREADS; ++s) {
          const int e = tid + s * THREADS;
          const int r = p.trans_a ? e % BM : e / BK, q = p.trans_a ? e / BM : e % BK;
          As[r][q] = load_a(p, m.a, row0 + r, k0 + q);
        }
#pragma unroll
        for (int s = 0; s < BK * BN / THREADS; ++s) {
          const int e = tid + s * THREADS;
          const int q = p.trans_b ? e % BK : e / BN, c = p.trans_b ? e / BK : e % BN;
          Bs[q][c] = load_b(p, m.b, k0 + q, col0 + c);
        }
        __syncthreads();
#pragma unroll
        for (int q = 0; q < BK; ++q) {
#pragma unroll
          for (int r = 0; r < TM; ++r) a_frag[r] = As[trow * TM + r][q];
#pragma unroll
          for (int c = 0; c < TN; ++c) b_frag[c] = Bs[q][tcol * TN + c];
#pragma unroll
          for (int r = 0; r < TM; ++r)
#pragma unroll
            for (int c = 0; c < TN; ++c) acc[r][c] += a_frag[r] * b_frag[c];
        }
        __syncthreads();
      }
#pragma unroll
      for (int r = 0; r < TM; ++r) {
        const kb_int64 row = row0 + trow * TM + r;
#pragma unroll
        for (int c = 0; c < TN; ++c) {
          const kb_int64 col = col0 + tcol * TN + c;
          if (row < p.m && col < p.n) m.c[row * p.ldc + col] = from_acc<T>(acc[r][c]);
        }
      }
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
// (128, 128) tiles with 8x8 per thread when there are enough of them to fill the GPU, else
// (64, 64) tiles with 4x4 per thread.  fp64 always takes the small one (64 fp64 accumulators
// plus fragments would not fit the register budget of 256 threads).
static MatmulLaunch plan_05(const MatmulArgs& p) {
  const bool big = p.dtype != DType::F64 && matmul_fills_gpu(p, 128, 128);
  MatmulLaunch l{};
  switch (p.dtype) {  // <T, BM, BN, BK, TM, TN>
    case DType::F32:
      l.kernel = big ? KB_KERNEL_REF(kb::matmul_05_blocktile_2d_kernel<float, 128, 128, 8, 8, 8>)
                     : KB_KERNEL_REF(kb::matmul_05_blocktile_2d_kernel<float, 64, 64, 8, 4, 4>);
      break;
    case DType::F64: l.kernel = KB_KERNEL_REF(kb::matmul_05_blocktile_2d_kernel<double, 64, 64, 8, 4, 4>); break;
    case DType::F16:
      l.kernel = big ? KB_KERNEL_REF(kb::matmul_05_blocktile_2d_kernel<__half, 128, 128, 8, 8, 8>)
                     : KB_KERNEL_REF(kb::matmul_05_blocktile_2d_kernel<__half, 64, 64, 8, 4, 4>);
      break;
    case DType::BF16:
      l.kernel = big ? KB_KERNEL_REF(kb::matmul_05_blocktile_2d_kernel<__nv_bfloat16, 128, 128, 8, 8, 8>)
                     : KB_KERNEL_REF(kb::matmul_05_blocktile_2d_kernel<__nv_bfloat16, 64, 64, 8, 4, 4>);
      break;
  }
  const int bm = big ? 128 : 64, bn = bm, tm = big ? 8 : 4, tn = tm;
  l.block = dim3((bm / tm) * (bn / tn));  // 256 either way
  l.grid = matmul_grid(ceil_div(p.n, bn), ceil_div(p.m, bm), p.batch);
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_05_blocktile_2d, plan_05)
}  // namespace kb
#endif
