// Launchers of the CUDA reduction rungs: one per file NN_<technique>.cu, same contract.
#pragma once
#include <cstddef>
#include "../../common/kb_tables.h"
#include "../../common/kb_types.h"

namespace kb {
KB_LAUNCHER void reduce_01_atomic(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_01_atomic_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_02_tree_divergent(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_02_tree_divergent_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_03_tree_bank_conflicts(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_03_tree_bank_conflicts_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_04_sequential_addressing(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_04_sequential_addressing_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_05_add_on_load(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_05_add_on_load_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_06_unrolled_warp(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_06_unrolled_warp_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_07_template_unrolled(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_07_template_unrolled_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_08_grid_stride(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_08_grid_stride_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_09_warp_shuffle(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_09_warp_shuffle_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_10_vectorized(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_10_vectorized_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_11_single_pass(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_11_single_pass_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_12_dim_inner(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_12_dim_inner_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_13_dim_outer(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_13_dim_outer_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_best(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_best_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER LaunchConfig reduce_11_single_pass_config(const ReduceArgs& p) KB_STUB;
// Vendor library (csrc/cuda/library/cub_reduce.cu): cub::DeviceReduce / DeviceSegmentedReduce.
KB_LAUNCHER void reduce_cub(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_cub_workspace(const ReduceArgs& p) KB_STUB;
// Row-wise rungs (RowwiseArgs): softmax / log-softmax and L2 norm.
KB_LAUNCHER void softmax_14_online(const RowwiseArgs& a, void* stream) KB_STUB;
KB_LAUNCHER void l2norm_15(const RowwiseArgs& a, void* stream) KB_STUB;
}  // namespace kb
