// cuda_best: the launcher a user gets with impl=None — picks a rung and a tile configuration by
// shape and dtype so that small, skinny and vector problems don't fall off a cliff:
// vectors -> 09_gemv; fp32 large -> 08_async_pipeline; fp16/bf16 large -> 07_warptile;
// medium/small or fp64 -> 05_blocktile_2d (64x64 tiles below 512).
#include "../../common/kb_cuda.cuh"
#include "matmul_launchers.h"

namespace kb {
void matmul_best(const MatmulArgs& p, void* stream) {
  if (p.m == 1 || p.n == 1) return matmul_09_gemv(p, stream);
  const bool large = p.m >= 512 && p.n >= 512;
  if (large && p.dtype == DType::F32) return matmul_08_async_pipeline(p, stream);
  if (large && p.dtype != DType::F64) return matmul_07_warptile(p, stream);
  return matmul_05_blocktile_2d(p, stream);
}
}  // namespace kb
