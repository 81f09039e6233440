// CUDA helpers shared by every CUDA rung: error checks that throw with file:line,
// ceil_div, and fp16/bf16 <-> fp32 conversion through one overload set.
#pragma once
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <string>
#include "kb_error.h"
#include "kb_tables.h"
#include "kb_types.h"

#define KB_CUDA_CHECK(expr)                                                        \
  do {                                                                             \
    cudaError_t kb_err_ = (expr);                                                  \
    if (kb_err_ != cudaSuccess) KB_THROW("CUDA error: " << cudaGetErrorString(kb_err_) << " in " #expr); \
  } while (0)

// After every launch: catches bad configurations without synchronizing.
#define KB_CUDA_CHECK_LAUNCH() KB_CUDA_CHECK(cudaGetLastError())

namespace kb {
__host__ __device__ inline kb_int64 ceil_div(kb_int64 a, kb_int64 b) { return (a + b - 1) / b; }
inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

// Every launch of every rung goes through here: kernel<<<grid, block, smem, stream>>>(args...) on a
// GPU, the CPU SIMT executor (csrc/sim) when the source is compiled for the CPU.  The arguments
// are converted to the kernel's parameter types first, as <<<>>> does.
template <typename T> struct kb_same { typedef T type; };
template <typename... P>
inline void launch(void (*kernel)(P...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream,
                   typename kb_same<P>::type... args) {
#ifdef KB_SIM
  (void)stream;
  // The closure handed to the executor is one pointer, so std::function keeps it in place on this
  // stack, where the access hooks know the kernel arguments live (not global memory: kbsim_access.h).
  const auto call = [&] { kernel(args...); };
  ::kbsim::launch(::kbsim::kernel_name_of((const void*)kernel), (const void*)kernel, grid, block, smem,
                  [c = &call] { (*c)(); });
#else
  kernel<<<grid, block, smem, stream>>>(args...);
#endif
  KB_CUDA_CHECK_LAUNCH();
}
// C++ spelling of the storage type, for LaunchConfig kernel name expressions (NVRTC / CuPy).
inline const char* cuda_type_name(DType d) {
  switch (d) {
    case DType::F32: return "float";
    case DType::F64: return "double";
    case DType::F16: return "__half";
    case DType::BF16: return "__nv_bfloat16";
  }
  return "?";
}
}  // namespace kb

// Host-side dtype dispatch: runs the body with `scalar_t` bound to the storage type.
#define KB_DISPATCH_CUDA_TYPES(dtype, ...)                                          \
  [&] {                                                                             \
    switch (dtype) {                                                                \
      case ::kb::DType::F32: { using scalar_t = float; return __VA_ARGS__(); }      \
      case ::kb::DType::F64: { using scalar_t = double; return __VA_ARGS__(); }     \
      case ::kb::DType::F16: { using scalar_t = __half; return __VA_ARGS__(); }     \
      case ::kb::DType::BF16: { using scalar_t = __nv_bfloat16; return __VA_ARGS__(); } \
    }                                                                               \
    KB_THROW("unknown dtype");                                                      \
  }()
