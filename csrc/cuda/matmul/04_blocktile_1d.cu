// 04_blocktile_1d: each thread computes TM results down a column of C.  The B value it reads
// from shared memory is reused TM times from a register, so shared-memory loads per FMA drop
// from 2 to (1 + 1/TM).  Block tile (BM, BN) = (64, 64), BK = 8, TM = 8: 512 threads.
// Limits: A values are still re-read from shared memory for every FMA; the reuse is one-
// dimensional.  Smem: (BM * BK + BK * BN) * sizeof(acc) = 4 KB for fp32; any arch.
#include "matmul_common.cuh"

namespace kb {
template <typename T, int BM, int BN, int BK, int TM>
__global__ void __launch_bounds__((BM / TM) * BN) matmul_04_blocktile_1d_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  constexpr int THREADS = (BM / TM) * BN;
  static_assert((BM * BK) % THREADS == 0 && (BK * BN) % THREADS == 0, "tiles split evenly over the threads");
  __shared__ AccT As[BM][BK];  // (BM, BK)
  __shared__ AccT Bs[BK][BN];  // (BK, BN)
  const int tid = threadIdx.x;
  const int tcol = tid % BN, trow = tid / BN;  // this thread: rows trow*TM .. trow*TM+TM-1, column tcol
  const kb_int64 col0 = blockIdx.x * (kb_int64)BN;
  const kb_int64 tiles_m = (p.m + BM - 1) / BM;
  for (kb_int64 z = blockIdx.z; z < p.batch; z += gridDim.z) {
    const MatmulBatch<T> m = batch_pointers<T>(p, z);
    for (kb_int64 by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const kb_int64 row0 = by * BM;
      AccT acc[TM] = {};
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
          const AccT b = Bs[q][tcol];
#pragma unroll
          for (int r = 0; r < TM; ++r) acc[r] += As[trow * TM + r][q] * b;
        }
        __syncthreads();
      }
      const kb_int64 col = col0 + tcol;
#pragma unroll
      for (int r = 0; r < TM; ++r) {
        const kb_int64 row = row0 + trow * TM + r;
        if (row < p.m && col < p.n) m.c[row * p.ldc + col] = from_acc<T>(acc[r]);
      }
    }
  }
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "matmul_launchers.h"
namespace kb {
static MatmulLaunch plan_04(const MatmulArgs& p) {
  MatmulLaunch l{};
  switch (p.dtype) {  // <T, BM, BN, BK, TM>
    case DType::F32: l.kernel = KB_KERNEL_REF(kb::matmul_04_blocktile_1d_kernel<float, 64, 64, 8, 8>); break;
    case DType::F64: l.kernel = KB_KERNEL_REF(kb::matmul_04_blocktile_1d_kernel<double, 64, 64, 8, 8>); break;
    case DType::F16: l.kernel = KB_KERNEL_REF(kb::matmul_04_blocktile_1d_kernel<__half, 64, 64, 8, 8>); break;
    case DType::BF16: l.kernel = KB_KERNEL_REF(kb::matmul_04_blocktile_1d_kernel<__nv_bfloat16, 64, 64, 8, 8>); break;
  }
  l.block = dim3((64 / 8) * 64);
  l.grid = matmul_grid(ceil_div(p.n, 64), ceil_div(p.m, 64), p.batch);
  l.shared_bytes = 0;
  return l;
}

KB_ONE_LAUNCH_RUNG(matmul_04_blocktile_1d, plan_04)
}  // namespace kb
#endif
