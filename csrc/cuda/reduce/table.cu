// The CUDA reduction tables: one line per rung, in ladder order; the line is the rung's whole
// description (format and meaning of each column: csrc/common/kb_tables.h).
#include "../../common/kb_table_line.h"

namespace kb {
const std::vector<ReduceKernel>& cuda_reduce_kernels() {
  constexpr unsigned kAll = kAllTypes, kOps = kAllReduceOps;
  static const std::vector<ReduceKernel> table = {
      // name, dtypes, ops, traits, min_arch, rank, launcher / workspace / config (kb_table_line.h)
      {"cuda_01_atomic", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_01_atomic)},
      {"cuda_02_tree_divergent", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_02_tree_divergent)},
      {"cuda_03_tree_bank_conflicts", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_03_tree_bank_conflicts)},
      {"cuda_04_sequential_addressing", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_04_sequential_addressing)},
      {"cuda_05_add_on_load", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_05_add_on_load)},
      {"cuda_06_unrolled_warp", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_06_unrolled_warp)},
      {"cuda_07_template_unrolled", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_07_template_unrolled)},
      {"cuda_08_grid_stride", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_08_grid_stride)},
      {"cuda_09_warp_shuffle", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_09_warp_shuffle)},
      {"cuda_10_vectorized", kAll, kSumMean, kWholeOnly, 0, 0, KB_REDUCE_FNS(reduce_10_vectorized)},
      {"cuda_11_single_pass", kAll, kOps, kWholeOnly, 0, 2, KB_REDUCE_FNS_CONFIG(reduce_11_single_pass)},
      {"cuda_12_dim_inner", kAll, kOps, kInnerOne, 0, 3, KB_REDUCE_FNS(reduce_12_dim_inner)},
      {"cuda_13_dim_outer", kAll, kOps, kInnerMany, 0, 4, KB_REDUCE_FNS(reduce_13_dim_outer)},
      {"cuda_best", kAll, kOps, 0, 0, 1, KB_REDUCE_FNS(reduce_best)},
      {"cub_device_reduce", kAll, kOps, kInnerOne | kVendor, 0, 0, KB_REDUCE_FNS(reduce_cub)},
  };
  return table;
}

const std::vector<RowwiseKernel>& cuda_softmax_kernels() {
  static const std::vector<RowwiseKernel> table = {
      // name, dtypes, traits, min_arch, rank, launcher   (softmax and log-softmax: args.log)
      {"cuda_14_softmax_online", kAllTypes, 0, 0, 1, KB_ROWWISE_FN(softmax_14_online)},
  };
  return table;
}

const std::vector<RowwiseKernel>& cuda_l2norm_kernels() {
  static const std::vector<RowwiseKernel> table = {
      {"cuda_15_l2norm", kAllTypes, 0, 0, 1, KB_ROWWISE_FN(l2norm_15)},
  };
  return table;
}
}  // namespace kb
