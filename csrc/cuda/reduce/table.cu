// The CUDA reduction tables: registry name -> launcher (+ workspace size, + launch config).
// Order = ladder order; kernelbench/registry/cuda_reduce.py lists the same names (tests check).
#include "../../common/kb_tables.h"
#include "reduce_launchers.h"

namespace kb {
constexpr unsigned kSumMean = (1u << int(ReduceOp::Sum)) | (1u << int(ReduceOp::Mean));
constexpr unsigned kAllTypes = kF32 | kF64 | kF16 | kBF16;

const std::vector<ReduceKernel>& cuda_reduce_kernels() {
  static const std::vector<ReduceKernel> table = {
      // name, dtypes, full_only, dim_only, ops, launcher, workspace, config
      {"cuda_01_atomic", kAllTypes, true, false, kSumMean, reduce_01_atomic, reduce_01_atomic_workspace, nullptr},
      {"cuda_02_tree_divergent", kAllTypes, true, false, kSumMean, reduce_02_tree_divergent,
       reduce_02_tree_divergent_workspace, nullptr},
      {"cuda_03_tree_bank_conflicts", kAllTypes, true, false, kSumMean, reduce_03_tree_bank_conflicts,
       reduce_03_tree_bank_conflicts_workspace, nullptr},
      {"cuda_04_sequential_addressing", kAllTypes, true, false, kSumMean, reduce_04_sequential_addressing,
       reduce_04_sequential_addressing_workspace, nullptr},
      {"cuda_05_add_on_load", kAllTypes, true, false, kSumMean, reduce_05_add_on_load,
       reduce_05_add_on_load_workspace, nullptr},
      {"cuda_06_unrolled_warp", kAllTypes, true, false, kSumMean, reduce_06_unrolled_warp,
       reduce_06_unrolled_warp_workspace, nullptr},
      {"cuda_07_template_unrolled", kAllTypes, true, false, kSumMean, reduce_07_template_unrolled,
       reduce_07_template_unrolled_workspace, nullptr},
      {"cuda_08_grid_stride", kAllTypes, true, false, kSumMean, reduce_08_grid_stride,
       reduce_08_grid_stride_workspace, nullptr},
      {"cuda_09_warp_shuffle", kAllTypes, true, false, kSumMean, reduce_09_warp_shuffle,
       reduce_09_warp_shuffle_workspace, nullptr},
      {"cuda_10_vectorized", kAllTypes, true, false, kSumMean, reduce_10_vectorized,
       reduce_10_vectorized_workspace, nullptr},
      {"cuda_11_single_pass", kAllTypes, true, false, kAllReduceOps, reduce_11_single_pass,
       reduce_11_single_pass_workspace, reduce_11_single_pass_config},
      // 12/13 handle one layout each (inner == 1 / inner > 1) and throw ArgumentError for the other.
      {"cuda_12_dim_inner", kAllTypes, false, false, kAllReduceOps, reduce_12_dim_inner,
       reduce_12_dim_inner_workspace, nullptr},
      {"cuda_13_dim_outer", kAllTypes, false, false, kAllReduceOps, reduce_13_dim_outer,
       reduce_13_dim_outer_workspace, nullptr},
      {"cuda_best", kAllTypes, false, false, kAllReduceOps, reduce_best, reduce_best_workspace, nullptr},
      // vendor library (csrc/cuda/library/cub_reduce.cu); inner > 1 -> ArgumentError
      {"cub_device_reduce", kAllTypes, false, false, kAllReduceOps, reduce_cub, reduce_cub_workspace, nullptr},
  };
  return table;
}

const std::vector<RowwiseKernel>& cuda_softmax_kernels() {
  static const std::vector<RowwiseKernel> table = {
      {"cuda_14_softmax_online", kAllTypes, softmax_14_online},   // softmax and log-softmax (args.log)
  };
  return table;
}

const std::vector<RowwiseKernel>& cuda_l2norm_kernels() {
  static const std::vector<RowwiseKernel> table = {
      {"cuda_15_l2norm", kAllTypes, l2norm_15},
  };
  return table;
}
}  // namespace kb
