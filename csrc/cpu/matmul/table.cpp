// The CPU matmul kernel table: registry name -> launcher.
#include "../../common/kb_tables.h"
#include "matmul_cpu.h"

namespace kb {
const std::vector<MatmulKernel>& cpu_matmul_kernels() {
  static const std::vector<MatmulKernel> table = {
      {"cpu_01_naive", kF32 | kF64, cpu_matmul_01_naive, nullptr},
  };
  return table;
}
}  // namespace kb
