// The CPU matmul kernel table: one line per rung, in ladder order (columns: csrc/common/kb_tables.h).
#include "../../common/kb_tables.h"
#include "matmul_cpu.h"

namespace kb {
const std::vector<MatmulKernel>& cpu_matmul_kernels() {
  constexpr unsigned kF = kF32 | kF64;
  static const std::vector<MatmulKernel> table = {
      // name, dtypes, traits, min_arch, rank, launcher, config
      {"cpu_01_naive", kF, 0, 0, 0, cpu_matmul_01_naive, nullptr},
      {"cpu_02_loop_order", kF, 0, 0, 4, cpu_matmul_02_loop_order, nullptr},
      {"cpu_03_cache_blocked", kF, 0, 0, 3, cpu_matmul_03_cache_blocked, nullptr},
      {"cpu_04_avx2_packed", kF, 0, 0, 2, cpu_matmul_04_avx2_packed, nullptr},
      {"cpu_05_analytic_blocking", kF, 0, 0, 1, cpu_matmul_05_analytic_blocking, nullptr},
  };
  return table;
}
}  // namespace kb
