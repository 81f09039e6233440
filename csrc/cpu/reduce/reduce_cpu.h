// CPU reduction rungs: launchers (same contract as CUDA, stream ignored).
#pragma once
#include <cstddef>
#include "../../common/kb_types.h"

namespace kb {
void cpu_reduce_01_scalar(const ReduceArgs& p, void* stream);
}  // namespace kb
