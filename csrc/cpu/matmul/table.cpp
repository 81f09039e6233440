// The CPU matmul kernel table: registry name -> launcher.
#include "../../common/kb_tables.h"
#include "matmul_cpu.h"

namespace kb {
const std::vector<MatmulKernel>& cpu_matmul_kernels() {
  static const std::vector<MatmulKernel> table = {
      {"cpu_01_naive", kF32 | kF64, cpu_matmul_01_naive, nullptr},
      {"cpu_02_loop_order", kF32 | kF64, cpu_matmul_02_loop_order, nullptr},
      {"cpu_03_cache_blocked", kF32 | kF64, cpu_matmul_03_cache_blocked, nullptr},
      {"cpu_04_avx2_packed", kF32 | kF64, cpu_matmul_04_avx2_packed, nullptr},
  };
  return table;
}
}  // namespace kb
