// Launchers of the CUDA matmul rungs: one per file NN_<technique>.cu, same contract.
#pragma once
#include "../../common/kb_types.h"

namespace kb {
void matmul_01_naive(const MatmulArgs& p, void* stream);
}  // namespace kb
