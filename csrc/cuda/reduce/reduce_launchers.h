// Launchers of the CUDA reduction rungs: one per file NN_<technique>.cu, one contract:
//   void reduce_NN_<technique>(const ReduceArgs& p, void* stream), std::size_t ..._workspace(p).
// The table line declares the launcher it names (csrc/common/kb_table_line.h); this header
// declares only the launchers that other rungs call.
#pragma once
#include <cstddef>
#include "../../common/kb_tables.h"
#include "../../common/kb_types.h"

namespace kb {
// best.cu's dispatch: whole tensors to 11, a contiguous reduced dim to 12, a strided one to 13.
KB_LAUNCHER void reduce_11_single_pass(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_11_single_pass_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_12_dim_inner(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_12_dim_inner_workspace(const ReduceArgs& p) KB_STUB;
KB_LAUNCHER void reduce_13_dim_outer(const ReduceArgs& p, void* stream) KB_STUB;
KB_LAUNCHER std::size_t reduce_13_dim_outer_workspace(const ReduceArgs& p) KB_STUB;
}  // namespace kb
