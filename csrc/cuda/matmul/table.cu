// The CUDA matmul kernel table: one line per rung, in ladder order; the line is the rung's whole
// description (format and meaning of each column: csrc/common/kb_tables.h).
#include "../../common/kb_tables.h"
#include "matmul_launchers.h"

namespace kb {
const std::vector<MatmulKernel>& cuda_matmul_kernels() {
  constexpr unsigned kNo64 = kF32 | kF16 | kBF16;
  static const std::vector<MatmulKernel> table = {
      // name, dtypes, traits, min_arch, rank, launcher, config
      {"cuda_01_naive", kAllTypes, 0, 0, 0, matmul_01_naive, matmul_01_naive_config},
      {"cuda_02_coalesced", kAllTypes, 0, 0, 0, matmul_02_coalesced, matmul_02_coalesced_config},
      {"cuda_03_smem_tiles", kAllTypes, 0, 0, 0, matmul_03_smem_tiles, matmul_03_smem_tiles_config},
      {"cuda_04_blocktile_1d", kAllTypes, 0, 0, 0, matmul_04_blocktile_1d, matmul_04_blocktile_1d_config},
      {"cuda_05_blocktile_2d", kAllTypes, 0, 0, 4, matmul_05_blocktile_2d, matmul_05_blocktile_2d_config},
      {"cuda_06_vectorized", kNo64, 0, 0, 0, matmul_06_vectorized, matmul_06_vectorized_config},
      {"cuda_07_warptile", kNo64, 0, 0, 3, matmul_07_warptile, matmul_07_warptile_config},
      {"cuda_08_async_pipeline", kNo64, 0, 0, 2, matmul_08_async_pipeline, matmul_08_async_pipeline_config},
      {"cuda_09_gemv", kAllTypes, kVectorOnly, 0, 0, matmul_09_gemv, matmul_09_gemv_config},
      {"cuda_best", kAllTypes, 0, 0, 1, matmul_best, nullptr},
      // tensor cores (fp16 / bf16 in, fp32 accumulation); 15: fp32 in, TF32 math (another precision)
      {"cuda_10_wmma", kF16 | kBF16, 0, 80, 0, matmul_10_wmma, matmul_10_wmma_config},
      {"cuda_11_mma_sync", kF16 | kBF16, 0, 80, 0, matmul_11_mma_sync, matmul_11_mma_sync_config},
      {"cuda_12_swizzled_multistage", kF16 | kBF16, 0, 80, 0, matmul_12_swizzled_multistage,
       matmul_12_swizzled_multistage_config},
      {"cuda_13_wgmma_tma", kF16 | kBF16, 0, 90, 0, matmul_13_wgmma_tma, nullptr},
      {"cuda_14_warp_specialized", kF16 | kBF16, 0, 90, 0, matmul_14_warp_specialized, nullptr},
      {"cuda_15_tf32_mma_sync", kF32, kTF32, 80, 0, matmul_15_tf32_mma_sync, matmul_15_tf32_mma_sync_config},
  };
  return table;
}
}  // namespace kb
