// cp.async (sm_80+): global -> shared copies that bypass registers, grouped by commit_group and
// waited for with wait_group.  Shared by the pipelined rungs (08 and the tensor-core ladder).
// On older archs they compile to plain loads; under the CPU SIMT executor (KB_SIM) each copy is
// recorded in the thread's open group and lands when that group is waited for: a read of the
// destination before the wait sees stale data, and under AddressSanitizer is reported.
#pragma once
#include "../../common/kb_device.cuh"

namespace kb {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
__device__ __forceinline__ unsigned smem_addr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}
#endif
// 4-byte copy; ok == false writes a zero and reads nothing (src must still be a valid address).
__device__ __forceinline__ void cp_async_4(void* dst, const void* src, bool ok) {
#if defined(KB_SIM)
  ::kbsim::cp_async(dst, src, 4, ok ? 4 : 0, __builtin_FILE(), __builtin_LINE());
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(ok ? 4 : 0)
               : "memory");
#else
  *static_cast<float*>(dst) = ok ? *static_cast<const float*>(src) : 0.f;
#endif
}
// 16-byte copy of which the first `bytes` (0, 4, 8, 12 or 16) are read, the rest zero-filled.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int bytes) {
#if defined(KB_SIM)
  ::kbsim::cp_async(dst, src, 16, (unsigned)bytes, __builtin_FILE(), __builtin_LINE());
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(bytes)
               : "memory");
#else
  for (int i = 0; i < 16; ++i)
    static_cast<unsigned char*>(dst)[i] = i < bytes ? static_cast<const unsigned char*>(src)[i] : 0;
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if defined(KB_SIM)
  ::kbsim::cp_async_commit();
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
// Wait until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(KB_SIM)
  ::kbsim::cp_async_wait(N, __builtin_FILE(), __builtin_LINE());
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}
}  // namespace kb
