// 01_naive: one thread per C element, threadIdx.x walks down a column of C (the row index i).
// Adds: the baseline — correct for any shape, transpose and batch, nothing else.
// Limits: consecutive threads read A rows K apart (uncoalesced) and reuse nothing; ~1-2% of peak.
#include "../../common/kb_types.h"
#include "../../common/kb_device.cuh"

namespace kb {
template <typename T>
__global__ void matmul_01_naive_kernel(MatmulArgs p) {
  const kb_int64 i = blockIdx.x * (kb_int64)blockDim.x + threadIdx.x;  // row of C
  const kb_int64 j = blockIdx.y * (kb_int64)blockDim.y + threadIdx.y;  // column of C
  const kb_int64 batch = blockIdx.z;
  if (i >= p.m || j >= p.n) return;
  const T* a = static_cast<const T*>(p.a) + batch * p.stride_a;
  const T* b = static_cast<const T*>(p.b) + batch * p.stride_b;
  T* c = static_cast<T*>(p.c) + batch * p.stride_c;
  typename Acc<T>::type acc = 0;
  for (kb_int64 q = 0; q < p.k; ++q) {
    const T av = p.trans_a ? a[q * p.lda + i] : a[i * p.lda + q];
    const T bv = p.trans_b ? b[j * p.ldb + q] : b[q * p.ldb + j];
    acc += to_float(av) * to_float(bv);
  }
  c[i * p.ldc + j] = from_acc<T>(acc);
}
}  // namespace kb

#ifndef __CUDACC_RTC__
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"
namespace kb {
void matmul_01_naive(const MatmulArgs& p, void* stream) {
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  const dim3 block(16, 16);
  const dim3 grid(ceil_div(p.m, 16), ceil_div(p.n, 16), p.batch);
  KB_DISPATCH_CUDA_TYPES(p.dtype, [&] {
    matmul_01_naive_kernel<scalar_t><<<grid, block, 0, as_stream(stream)>>>(p);
  });
  KB_CUDA_CHECK_LAUNCH();
}
}  // namespace kb
#endif
