// 05_blocktile_2d: each thread computes a (TM, TN) = (8, 8) tile of C from TM values of A and
// TN values of B held in registers: 64 FMAs per 16 shared-memory loads (outer product).
// A is stored transposed in shared memory, As[k][m], so a thread's TM values are contiguous.
// Limits: global loads are scalar and the transposing store into As has bank conflicts;
// the thread -> tile mapping ignores warps.  Smem: (BK*BM + BK*BN) * sizeof(acc).
#include "matmul_common.cuh"

namespace kb {
template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN)) matmul_05_blocktile_2d_kernel(MatmulArgs p) {
  typedef typename Acc<T>::type AccT;
  constexpr int THREADS = (BM / TM) * (BN / TN);
  __shared__ AccT As[BK][BM];  // (BK, BM): A tile, transposed
  __shared__ AccT Bs[BK][BN];  // (BK, BN)
  const int tid = threadIdx.x;
  const int trow = tid / (BN / TN), tcol = tid % (BN / TN);
  const kb_int64 row0 = blockIdx.y * (kb_int64)BM, col0 = blockIdx.x * (kb_int64)BN;
  const MatmulBatch<T> m = batch_pointers<T>(p, blockIdx.z);
  AccT acc[TM][TN] = {};
  AccT a_frag[TM], b_frag[TN];
  for (kb_int64 k0 = 0; k0 < p.k; k0 += BK) {
    for (int e = tid; e < BM * BK; e += THREADS) As[e % BK][e / BK] = load_a(p, m.a, row0 + e / BK, k0 + e % BK);
    for (int e = tid; e < BK * BN; e += THREADS) Bs[e / BN][e % BN] = load_b(p, m.b, k0 + e / BN, col0 + e % BN);
    __syncthreads();
#pragma unroll
    for (int q = 0; q < BK; ++q) {
#pragma unroll
      for (int r = 0; r < TM; ++r) a_frag[r] = As[q][trow * TM + r];
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
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"
namespace kb {
// Big tiles for big problems; (64, 64) tiles with (4, 4) per thread keep small ones busy.
LaunchConfig matmul_05_blocktile_2d_config(const MatmulArgs& p) {
  const bool big = p.m >= 512 && p.n >= 512;
  const int bm = big ? 128 : 64, bn = bm, tm = big ? 8 : 4;
  LaunchConfig c;
  c.kernel = std::string("kb::matmul_05_blocktile_2d_kernel<") + cuda_type_name(p.dtype) + (big ? ", 128, 128, 8, 8, 8>" : ", 64, 64, 8, 4, 4>");
  c.grid[0] = (unsigned)ceil_div(p.n, bn); c.grid[1] = (unsigned)ceil_div(p.m, bm); c.grid[2] = (unsigned)p.batch;
  c.block[0] = (bm / tm) * (bn / tm); c.block[1] = 1; c.block[2] = 1;
  c.shared_bytes = 0;
  return c;
}

void matmul_05_blocktile_2d(const MatmulArgs& p, void* stream) {
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  const LaunchConfig c = matmul_05_blocktile_2d_config(p);
  const dim3 grid(c.grid[0], c.grid[1], c.grid[2]);
  const bool big = p.m >= 512 && p.n >= 512;  // the same rule as the config
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    if (big) matmul_05_blocktile_2d_kernel<scalar_t, 128, 128, 8, 8, 8><<<grid, c.block[0], 0, as_stream(stream)>>>(p);
    else matmul_05_blocktile_2d_kernel<scalar_t, 64, 64, 8, 4, 4><<<grid, c.block[0], 0, as_stream(stream)>>>(p);
  });
  KB_CUDA_CHECK_LAUNCH();
}
}  // namespace kb
#endif
