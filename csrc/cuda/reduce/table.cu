// The CUDA reduction tables: registry name -> launcher (+ workspace size).
#include "../../common/kb_tables.h"
#include "reduce_launchers.h"

namespace kb {
constexpr unsigned kSumMean = (1u << int(ReduceOp::Sum)) | (1u << int(ReduceOp::Mean));

const std::vector<ReduceKernel>& cuda_reduce_kernels() {
  static const std::vector<ReduceKernel> table = {
      // name, dtypes, full_only, dim_only, ops, launcher, workspace
      {"cuda_01_atomic", kF32 | kF64 | kF16 | kBF16, true, false, kSumMean, reduce_01_atomic,
       reduce_01_atomic_workspace, nullptr},
  };
  return table;
}

const std::vector<RowwiseKernel>& cuda_softmax_kernels() {
  static const std::vector<RowwiseKernel> table = {};
  return table;
}

const std::vector<RowwiseKernel>& cuda_l2norm_kernels() {
  static const std::vector<RowwiseKernel> table = {};
  return table;
}
}  // namespace kb
