// The CUDA reduction tables: one line per rung, in ladder order; the line is the rung's whole
// description (format and meaning of each column: csrc/common/kb_tables.h).
#include "../../common/kb_tables.h"
#include "reduce_launchers.h"

namespace kb {
const std::vector<ReduceKernel>& cuda_reduce_kernels() {
  constexpr unsigned kAll = kAllTypes, kOps = kAllReduceOps;
  static const std::vector<ReduceKernel> table = {
      // name, dtypes, ops, traits, min_arch, rank, launcher, workspace, config
      {"cuda_01_atomic", kAll, kSumMean, kWholeOnly, 0, 0, reduce_01_atomic, reduce_01_atomic_workspace, nullptr},
      {"cuda_02_tree_divergent", kAll, kSumMean, kWholeOnly, 0, 0, reduce_02_tree_divergent, reduce_02_tree_divergent_workspace, nullptr},
      {"cuda_03_tree_bank_conflicts", kAll, kSumMean, kWholeOnly, 0, 0, reduce_03_tree_bank_conflicts, reduce_03_tree_bank_conflicts_workspace, nullptr},
      {"cuda_04_sequential_addressing", kAll, kSumMean, kWholeOnly, 0, 0, reduce_04_sequential_addressing, reduce_04_sequential_addressing_workspace, nullptr},
      {"cuda_05_add_on_load", kAll, kSumMean, kWholeOnly, 0, 0, reduce_05_add_on_load, reduce_05_add_on_load_workspace, nullptr},
      {"cuda_06_unrolled_warp", kAll, kSumMean, kWholeOnly, 0, 0, reduce_06_unrolled_warp, reduce_06_unrolled_warp_workspace, nullptr},
      {"cuda_07_template_unrolled", kAll, kSumMean, kWholeOnly, 0, 0, reduce_07_template_unrolled, reduce_07_template_unrolled_workspace, nullptr},
      {"cuda_08_grid_stride", kAll, kSumMean, kWholeOnly, 0, 0, reduce_08_grid_stride, reduce_08_grid_stride_workspace, nullptr},
      {"cuda_09_warp_shuffle", kAll, kSumMean, kWholeOnly, 0, 0, reduce_09_warp_shuffle, reduce_09_warp_shuffle_workspace, nullptr},
      {"cuda_10_vectorized", kAll, kSumMean, kWholeOnly, 0, 0, reduce_10_vectorized, reduce_10_vectorized_workspace, nullptr},
      {"cuda_11_single_pass", kAll, kOps, kWholeOnly, 0, 2, reduce_11_single_pass, reduce_11_single_pass_workspace, reduce_11_single_pass_config},
      {"cuda_12_dim_inner", kAll, kOps, kInnerOne, 0, 3, reduce_12_dim_inner, reduce_12_dim_inner_workspace, nullptr},
      {"cuda_13_dim_outer", kAll, kOps, kInnerMany, 0, 4, reduce_13_dim_outer, reduce_13_dim_outer_workspace, nullptr},
      {"cuda_best", kAll, kOps, 0, 0, 1, reduce_best, reduce_best_workspace, nullptr},
      {"cub_device_reduce", kAll, kOps, kInnerOne | kVendor, 0, 0, reduce_cub, reduce_cub_workspace, nullptr},
  };
  return table;
}

const std::vector<RowwiseKernel>& cuda_softmax_kernels() {
  static const std::vector<RowwiseKernel> table = {
      // name, dtypes, traits, min_arch, rank, launcher   (softmax and log-softmax: args.log)
      {"cuda_14_softmax_online", kAllTypes, 0, 0, 1, softmax_14_online},
  };
  return table;
}

const std::vector<RowwiseKernel>& cuda_l2norm_kernels() {
  static const std::vector<RowwiseKernel> table = {
      {"cuda_15_l2norm", kAllTypes, 0, 0, 1, l2norm_15},
  };
  return table;
}
}  // namespace kb
