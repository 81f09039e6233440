// Launchers of the CUDA matmul rungs: one per file NN_<technique>.cu, one contract:
//   void matmul_NN_<technique>(const MatmulArgs& p, void* stream)   (stream: a cudaStream_t)
// asynchronous on `stream`, no allocation, no synchronization; throws kb::Error for a failed launch.
// `*_config` returns the one launch a rung makes for a problem (kernel name expression, grid,
// block, dynamic smem), for the CuPy/NVRTC front door; the launcher makes exactly that launch.
// A grid dimension of 0 means "nothing to launch" (empty C).  Configurations depend on the
// shape, dtype, strides and transposes only, never on pointer values (kernels check alignment).
// Dtypes, shapes and arch are the rung's table line (table.cu), checked by the dispatcher
// (MatmulKernel::fn, kb_tables.cpp) before a launcher runs: launchers do not re-check them.
// The table line declares the launcher it names (csrc/common/kb_table_line.h); this header
// declares only the launchers that other rungs call.
#pragma once
#include "../../common/kb_tables.h"

namespace kb {
// best.cu's shape dispatch: GEMV for vectors, 05 for fp64, 08 otherwise.
KB_LAUNCHER void matmul_05_blocktile_2d(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER void matmul_08_async_pipeline(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER void matmul_09_gemv(const MatmulArgs& p, void* stream) KB_STUB;
// The sm_90a rungs' fallback for rows TMA cannot address.
KB_LAUNCHER void matmul_12_swizzled_multistage(const MatmulArgs& p, void* stream) KB_STUB;
}  // namespace kb
