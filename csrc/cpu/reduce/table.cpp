// The CPU reduction tables: registry name -> launcher.
#include "../../common/kb_tables.h"
#include "reduce_cpu.h"

namespace kb {
const std::vector<ReduceKernel>& cpu_reduce_kernels() {
  static const std::vector<ReduceKernel> table = {
      // name, dtypes, full_only, dim_only, ops, launcher, workspace
      {"cpu_01_scalar", kF32 | kF64, false, false, kAllReduceOps, cpu_reduce_01_scalar, nullptr, nullptr},
  };
  return table;
}

const std::vector<RowwiseKernel>& cpu_softmax_kernels() {
  static const std::vector<RowwiseKernel> table = {};
  return table;
}

const std::vector<RowwiseKernel>& cpu_l2norm_kernels() {
  static const std::vector<RowwiseKernel> table = {};
  return table;
}
}  // namespace kb
