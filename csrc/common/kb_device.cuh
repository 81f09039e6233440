// Device-only helpers that NVRTC can compile too (no host headers): dtype conversion.
#pragma once
#include "kb_types.h"
#include <cuda_fp16.h>
#include <cuda_bf16.h>

// Dynamic shared memory (the launch's third <<<>>> argument), 16-byte aligned.  The executor
// (csrc/sim) has no `extern __shared__`: there the block's buffer comes from the launch.
#ifdef KB_SIM
#define KB_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::kbsim::dynamic_shared())
#else
#define KB_DYNAMIC_SHARED(T, name) extern __shared__ __align__(16) T name[]
#endif

namespace kb {
__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ double to_float(double v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

// Accumulator -> storage type (round to nearest for fp16/bf16).
template <typename T> __device__ __forceinline__ T from_acc(float v) { return static_cast<T>(v); }
template <> __device__ __forceinline__ __half from_acc<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_acc<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <typename T> __device__ __forceinline__ T from_acc(double v) { return static_cast<T>(v); }

// Accumulator type: fp32 for fp32/fp16/bf16, fp64 for fp64.
template <typename T> struct Acc { typedef float type; };
template <> struct Acc<double> { typedef double type; };
}  // namespace kb
