// The CUDA matmul kernel table: registry name -> launcher.
#include "../../common/kb_tables.h"
#include "matmul_launchers.h"

namespace kb {
const std::vector<MatmulKernel>& cuda_matmul_kernels() {
  static const std::vector<MatmulKernel> table = {
      {"cuda_01_naive", kF32 | kF64 | kF16 | kBF16, matmul_01_naive, nullptr},
  };
  return table;
}
}  // namespace kb
