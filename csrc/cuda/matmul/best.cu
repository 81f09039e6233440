// cuda_best: the rung a user gets by default.  Picks a rung and tile configuration by shape and
// dtype so that vector, small and skinny problems do not fall off a cliff:
//   M == 1 or N == 1         -> 09_gemv (memory-bound; a tile kernel would waste 127/128 of it)
//   fp64                     -> 05_blocktile_2d ((64, 64) tiles; 06+ are fp32-accumulating only)
//   fp32 / fp16 / bf16       -> 08_async_pipeline: (128, 128) tiles when there are >= 256 of them,
//                               else (64, 64) tiles so that every SM gets work.
// Several kernels, so no single LaunchConfig (CuPy uses the rungs' own configs).
#include "matmul_common.cuh"
#include "matmul_launchers.h"

namespace kb {
void matmul_best(const MatmulArgs& p, void* stream) {
  if (matmul_is_empty(p)) return;
  if (p.m == 1 || p.n == 1) return matmul_09_gemv(p, stream);
  if (p.dtype == DType::F64) return matmul_05_blocktile_2d(p, stream);
  return matmul_08_async_pipeline(p, stream);
}
}  // namespace kb
