// The CPU matmul kernel table: one line per rung, in ladder order (columns: csrc/common/kb_tables.h).
#include "../../common/kb_table_line.h"

namespace kb {
const std::vector<MatmulKernel>& cpu_matmul_kernels() {
  constexpr unsigned kF = kF32 | kF64;
  static const std::vector<MatmulKernel> table = {
      // name, dtypes, traits, min_arch, rank, launcher (kb_table_line.h)
      {"cpu_01_naive", kF, 0, 0, 0, KB_RUNG_FN(cpu_matmul_01_naive)},
      {"cpu_02_loop_order", kF, 0, 0, 4, KB_RUNG_FN(cpu_matmul_02_loop_order)},
      {"cpu_03_cache_blocked", kF, 0, 0, 3, KB_RUNG_FN(cpu_matmul_03_cache_blocked)},
      {"cpu_04_avx2_packed", kF, 0, 0, 2, KB_RUNG_FN(cpu_matmul_04_avx2_packed)},
      {"cpu_05_analytic_blocking", kF, 0, 0, 1, KB_RUNG_FN(cpu_matmul_05_analytic_blocking)},
  };
  return table;
}
}  // namespace kb
