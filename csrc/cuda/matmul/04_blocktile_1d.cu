// 04_blocktile_1d: each thread computes TM results down a column of C.  The B value it loads
// from shared memory is reused TM times from a register, so shared-memory loads per FMA drop
// from 2 to ~(1 + 1/TM).  Block tile (BM, BN) = (64, 64), BK = 8, TM = 8: 512 threads.
// Limits: A values are still re-read from shared memory for every result column; one-
// dimensional reuse only.  Smem: (BM*BK + BK*BN) * sizeof(acc).
#include "matmul_common.cuh"

namespace kb {
template <typename T, int BM, int BN, int BK, int TM>
__global__ void __launch_bounds__((BM / TM) * BN) matmul_04_blocktile_1d_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  __shared__ AccT As[BM][BK];  // (BM, BK)
  __shared__ AccT Bs[BK][BN];  // (BK, BN)
  const int tid = threadIdx.x;
  const int tcol = tid % BN, trow = tid / BN;           // thread owns rows trow*TM .. +TM-1
  const kb_int64 row0 = blockIdx.y * (kb_int64)BM, col0 = blockIdx.x * (kb_int64)BN;
  const MatmulBatch<T> m = batch_pointers<T>(p, blockIdx.z);
  AccT acc[TM] = {};
  for (kb_int64 k0 = 0; k0 < p.k; k0 += BK) {
    for (int e = tid; e < BM * BK; e += (BM / TM) * BN) As[e / BK][e % BK] = load_a(p, m.a, row0 + e / BK, k0 + e % BK);
    for (int e = tid; e < BK * BN; e += (BM / TM) * BN) Bs[e / BN][e % BN] = load_b(p, m.b, k0 + e / BN, col0 + e % BN);
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
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"
namespace kb {
void matmul_04_blocktile_1d(const MatmulArgs& p, void* stream) {
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  constexpr int BM = 64, BN = 64, BK = 8, TM = 8;
  const dim3 grid(ceil_div(p.n, BN), ceil_div(p.m, BM), p.batch);
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    matmul_04_blocktile_1d_kernel<scalar_t, BM, BN, BK, TM><<<grid, (BM / TM) * BN, 0, as_stream(stream)>>>(p);
  });
  KB_CUDA_CHECK_LAUNCH();
}
}  // namespace kb
#endif
