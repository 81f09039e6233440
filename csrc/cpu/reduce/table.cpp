// The CPU reduction tables: one line per rung, in ladder order (columns: csrc/common/kb_tables.h).
#include "../../common/kb_tables.h"
#include "reduce_cpu.h"

namespace kb {
const std::vector<ReduceKernel>& cpu_reduce_kernels() {
  constexpr unsigned kF = kF32 | kF64, kOps = kAllReduceOps;
  static const std::vector<ReduceKernel> table = {
      // name, dtypes, ops, traits, min_arch, rank, launcher, workspace, config
      {"cpu_01_scalar", kF, kOps, 0, 0, 0, cpu_reduce_01_scalar, nullptr, nullptr},
      {"cpu_02_multi_accumulators", kF, kOps, 0, 0, 3, cpu_reduce_02_multi_accumulators, nullptr, nullptr},
      {"cpu_03_avx2", kF, kOps, 0, 0, 2, cpu_reduce_03_avx2, nullptr, nullptr},
      {"cpu_04_avx2_openmp", kF, kOps, 0, 0, 1, cpu_reduce_04_avx2_openmp, nullptr, nullptr},
      {"cpu_05_kahan", kF, kSumMean, 0, 0, 0, cpu_reduce_05_kahan, nullptr, nullptr},
  };
  return table;
}

const std::vector<RowwiseKernel>& cpu_softmax_kernels() {
  static const std::vector<RowwiseKernel> table = {
      // name, dtypes, traits, min_arch, rank, launcher   (softmax and log-softmax: args.log)
      {"cpu_06_softmax", kF32 | kF64, 0, 0, 1, cpu_reduce_06_softmax},
  };
  return table;
}

const std::vector<RowwiseKernel>& cpu_l2norm_kernels() {
  static const std::vector<RowwiseKernel> table = {
      {"cpu_07_l2norm", kF32 | kF64, 0, 0, 1, cpu_reduce_07_l2norm},
  };
  return table;
}
}  // namespace kb
