// Launchers of the CUDA matmul rungs: one per file NN_<technique>.cu, one contract:
//   void matmul_NN_<technique>(const MatmulArgs& p, void* stream)   (stream: a cudaStream_t)
// asynchronous on `stream`, no allocation, no synchronization; throws kb::ArgumentError for a
// dtype or shape the rung does not take and kb::Error for a failed launch.
// `*_config` returns the one launch a rung makes for a problem (kernel name expression, grid,
// block, dynamic smem), for the CuPy/NVRTC front door; the launcher makes exactly that launch.
// A grid dimension of 0 means "nothing to launch" (empty C).  Configurations depend on the
// shape, dtype, strides and transposes only, never on pointer values (kernels check alignment).
#pragma once
#include "../../common/kb_tables.h"

namespace kb {
KB_LAUNCHER void matmul_01_naive(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_01_naive_config(const MatmulArgs& p) KB_STUB;
KB_LAUNCHER void matmul_02_coalesced(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_02_coalesced_config(const MatmulArgs& p) KB_STUB;
KB_LAUNCHER void matmul_03_smem_tiles(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_03_smem_tiles_config(const MatmulArgs& p) KB_STUB;
KB_LAUNCHER void matmul_04_blocktile_1d(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_04_blocktile_1d_config(const MatmulArgs& p) KB_STUB;
KB_LAUNCHER void matmul_05_blocktile_2d(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_05_blocktile_2d_config(const MatmulArgs& p) KB_STUB;
KB_LAUNCHER void matmul_06_vectorized(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_06_vectorized_config(const MatmulArgs& p) KB_STUB;
KB_LAUNCHER void matmul_07_warptile(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_07_warptile_config(const MatmulArgs& p) KB_STUB;
KB_LAUNCHER void matmul_08_async_pipeline(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_08_async_pipeline_config(const MatmulArgs& p) KB_STUB;
// M == 1 or N == 1 only (kb::ArgumentError otherwise).
KB_LAUNCHER void matmul_09_gemv(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_09_gemv_config(const MatmulArgs& p) KB_STUB;
// Shape dispatch over the rungs above (several kernels, so no single config).
KB_LAUNCHER void matmul_best(const MatmulArgs& p, void* stream) KB_STUB;
// Tensor cores: fp16 / bf16 in, fp32 accumulation (15: fp32 in, TF32 math, a different precision).
KB_LAUNCHER void matmul_10_wmma(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_10_wmma_config(const MatmulArgs& p) KB_STUB;
KB_LAUNCHER void matmul_11_mma_sync(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_11_mma_sync_config(const MatmulArgs& p) KB_STUB;
KB_LAUNCHER void matmul_12_swizzled_multistage(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_12_swizzled_multistage_config(const MatmulArgs& p) KB_STUB;
// sm_90a only (kb::ArgumentError "needs sm_90a" elsewhere); their kernels take TMA tensor maps
// besides MatmulArgs, so there is no single-Args launch configuration for the NVRTC twin.
KB_LAUNCHER void matmul_13_wgmma_tma(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER void matmul_14_warp_specialized(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER void matmul_15_tf32_mma_sync(const MatmulArgs& p, void* stream) KB_STUB;
KB_LAUNCHER LaunchConfig matmul_15_tf32_mma_sync_config(const MatmulArgs& p) KB_STUB;
}  // namespace kb
