// Launchers of the CUDA matmul rungs: one per file NN_<technique>.cu, same contract.
// `*_config` returns the single launch a rung makes, for the CuPy/NVRTC front door.
#pragma once
#include "../../common/kb_tables.h"

namespace kb {
void matmul_01_naive(const MatmulArgs& p, void* stream);
void matmul_02_coalesced(const MatmulArgs& p, void* stream);
void matmul_03_smem_tiles(const MatmulArgs& p, void* stream);
void matmul_04_blocktile_1d(const MatmulArgs& p, void* stream);
void matmul_05_blocktile_2d(const MatmulArgs& p, void* stream);
LaunchConfig matmul_05_blocktile_2d_config(const MatmulArgs& p);
void matmul_06_vectorized(const MatmulArgs& p, void* stream);
LaunchConfig matmul_06_vectorized_config(const MatmulArgs& p);
void matmul_07_warptile(const MatmulArgs& p, void* stream);
LaunchConfig matmul_07_warptile_config(const MatmulArgs& p);
void matmul_08_async_pipeline(const MatmulArgs& p, void* stream);
void matmul_09_gemv(const MatmulArgs& p, void* stream);
void matmul_best(const MatmulArgs& p, void* stream);

// fp32, not transposed, rows and batch strides of A and B on 16-byte boundaries.
bool matmul_rows_16b_aligned(const MatmulArgs& p);
}  // namespace kb
