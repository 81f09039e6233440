// Launchers of the CUDA reduction rungs: one per file NN_<technique>.cu, same contract.
#pragma once
#include <cstddef>
#include "../../common/kb_types.h"

namespace kb {
void reduce_01_atomic(const ReduceArgs& p, void* stream);
std::size_t reduce_01_atomic_workspace(const ReduceArgs& p);
}  // namespace kb
