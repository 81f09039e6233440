// The CUDA matmul kernel table: one line per rung, in ladder order; the line is the rung's whole
// description (format and meaning of each column: csrc/common/kb_tables.h).  Adding a rung: its
// file NN_<technique>.cu, one line here, one describe() line (docs/contributing.md).
#include "../../common/kb_table_line.h"

namespace kb {
const std::vector<MatmulKernel>& cuda_matmul_kernels() {
  constexpr unsigned kNo64 = kF32 | kF16 | kBF16;
  static const std::vector<MatmulKernel> table = {
      // name, dtypes, traits, min_arch, rank, launcher and config (csrc/common/kb_table_line.h)
      {"cuda_01_naive", kAllTypes, 0, 0, 0, KB_RUNG_FNS(matmul_01_naive)},
      {"cuda_02_coalesced", kAllTypes, 0, 0, 0, KB_RUNG_FNS(matmul_02_coalesced)},
      {"cuda_03_smem_tiles", kAllTypes, 0, 0, 0, KB_RUNG_FNS(matmul_03_smem_tiles)},
      {"cuda_04_blocktile_1d", kAllTypes, 0, 0, 0, KB_RUNG_FNS(matmul_04_blocktile_1d)},
      {"cuda_05_blocktile_2d", kAllTypes, 0, 0, 4, KB_RUNG_FNS(matmul_05_blocktile_2d)},
      {"cuda_06_vectorized", kNo64, 0, 0, 0, KB_RUNG_FNS(matmul_06_vectorized)},
      {"cuda_07_warptile", kNo64, 0, 0, 3, KB_RUNG_FNS(matmul_07_warptile)},
      {"cuda_08_async_pipeline", kNo64, 0, 0, 2, KB_RUNG_FNS(matmul_08_async_pipeline)},
      {"cuda_09_gemv", kAllTypes, kVectorOnly, 0, 0, KB_RUNG_FNS(matmul_09_gemv)},
      {"cuda_best", kAllTypes, 0, 0, 1, KB_RUNG_FN(matmul_best)},
      // tensor cores (fp16 / bf16 in, fp32 accumulation); 15: fp32 in, TF32 math (another precision)
      {"cuda_10_wmma", kF16 | kBF16, 0, 80, 0, KB_RUNG_FNS(matmul_10_wmma)},
      {"cuda_11_mma_sync", kF16 | kBF16, 0, 80, 0, KB_RUNG_FNS(matmul_11_mma_sync)},
      {"cuda_12_swizzled_multistage", kF16 | kBF16, 0, 80, 0, KB_RUNG_FNS(matmul_12_swizzled_multistage)},
      {"cuda_13_wgmma_tma", kF16 | kBF16, 0, 90, 0, KB_RUNG_FN(matmul_13_wgmma_tma)},
      {"cuda_14_warp_specialized", kF16 | kBF16, 0, 90, 0, KB_RUNG_FN(matmul_14_warp_specialized)},
      {"cuda_15_tf32_mma_sync", kF32, kTF32, 80, 0, KB_RUNG_FNS(matmul_15_tf32_mma_sync)},
  };
  return table;
}
}  // namespace kb
