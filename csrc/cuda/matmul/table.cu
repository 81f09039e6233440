// The CUDA matmul kernel table: registry name -> launcher (+ launch config for CuPy/NVRTC).
// Dtype masks must match the `dtypes` of kernelbench/registry/cuda_matmul.py (tests check it).
#include "../../common/kb_tables.h"
#include "matmul_launchers.h"

namespace kb {
const std::vector<MatmulKernel>& cuda_matmul_kernels() {
  constexpr unsigned kAll = kF32 | kF64 | kF16 | kBF16, kNo64 = kF32 | kF16 | kBF16;
  static const std::vector<MatmulKernel> table = {
      {"cuda_01_naive", kAll, matmul_01_naive, matmul_01_naive_config},
      {"cuda_02_coalesced", kAll, matmul_02_coalesced, matmul_02_coalesced_config},
      {"cuda_03_smem_tiles", kAll, matmul_03_smem_tiles, matmul_03_smem_tiles_config},
      {"cuda_04_blocktile_1d", kAll, matmul_04_blocktile_1d, matmul_04_blocktile_1d_config},
      {"cuda_05_blocktile_2d", kAll, matmul_05_blocktile_2d, matmul_05_blocktile_2d_config},
      {"cuda_06_vectorized", kNo64, matmul_06_vectorized, matmul_06_vectorized_config},
      {"cuda_07_warptile", kNo64, matmul_07_warptile, matmul_07_warptile_config},
      {"cuda_08_async_pipeline", kNo64, matmul_08_async_pipeline, matmul_08_async_pipeline_config},
      {"cuda_09_gemv", kAll, matmul_09_gemv, matmul_09_gemv_config},
      {"cuda_best", kAll, matmul_best, nullptr},
  };
  return table;
}
}  // namespace kb
