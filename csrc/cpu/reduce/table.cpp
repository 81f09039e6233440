// The CPU reduction tables: registry name -> launcher.
#include "../../common/kb_tables.h"
#include "reduce_cpu.h"

namespace kb {
const std::vector<ReduceKernel>& cpu_reduce_kernels() {
  constexpr unsigned kSumMean = (1u << int(ReduceOp::Sum)) | (1u << int(ReduceOp::Mean));
  static const std::vector<ReduceKernel> table = {
      // name, dtypes, full_only, dim_only, ops, launcher, workspace, config
      {"cpu_01_scalar", kF32 | kF64, false, false, kAllReduceOps, cpu_reduce_01_scalar, nullptr, nullptr},
      {"cpu_02_multi_accumulators", kF32 | kF64, false, false, kAllReduceOps, cpu_reduce_02_multi_accumulators,
       nullptr, nullptr},
      {"cpu_03_avx2", kF32 | kF64, false, false, kAllReduceOps, cpu_reduce_03_avx2, nullptr, nullptr},
      {"cpu_04_avx2_openmp", kF32 | kF64, false, false, kAllReduceOps, cpu_reduce_04_avx2_openmp, nullptr, nullptr},
      {"cpu_05_kahan", kF32 | kF64, false, false, kSumMean, cpu_reduce_05_kahan, nullptr, nullptr},
  };
  return table;
}

const std::vector<RowwiseKernel>& cpu_softmax_kernels() {
  static const std::vector<RowwiseKernel> table = {
      {"cpu_06_softmax", kF32 | kF64, cpu_reduce_06_softmax},
  };
  return table;
}

const std::vector<RowwiseKernel>& cpu_l2norm_kernels() {
  static const std::vector<RowwiseKernel> table = {
      {"cpu_07_l2norm", kF32 | kF64, cpu_reduce_07_l2norm},
  };
  return table;
}
}  // namespace kb
