// kbsim_runtime.cpp: the CUDA runtime API, simulated -- the subset the launchers, front doors and
// self-tests call.  Memory is host memory (fresh allocations poisoned); streams and events are
// placeholders (everything runs at launch), and timing is refused: the executor's run time is never
// a performance figure.  The device it reports is sm_90 with the limits of kbsim_internal.h.
#include "kbsim_internal.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace kbsim {
namespace internal {
cudaError_t g_last_error = cudaSuccess;
}  // namespace internal
}  // namespace kbsim
using kbsim::internal::g_last_error;
namespace device = kbsim::device;

namespace {
std::mutex g_mem_mu;
std::map<void*, std::size_t> g_allocs;
cudaError_t set_error(cudaError_t e) {
  if (e != cudaSuccess) g_last_error = e;
  return e;
}
void* driver_entry_point(const char* name) {
  if (name && std::strcmp(name, "cuTensorMapEncodeTiled") == 0) return reinterpret_cast<void*>(&kbsim::hopper::encode_tiled);
  return nullptr;
}
}  // namespace

extern "C" {
cudaError_t cudaMalloc(void** p, size_t n) {
  void* q = nullptr;
  if (posix_memalign(&q, 256, n ? n : 1)) return set_error(cudaErrorMemoryAllocation);
  std::memset(q, kbsim::kPoisonByte, n);  // fresh device memory holds garbage: NaN for floats
  std::lock_guard<std::mutex> g(g_mem_mu);
  g_allocs[q] = n;
  *p = q;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  {
    std::lock_guard<std::mutex> g(g_mem_mu);
    if (!g_allocs.erase(p)) return set_error(cudaErrorInvalidValue);
  }
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) {
  if (n) std::memmove(d, s, n);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) {
  if (n) std::memmove(d, s, n);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* d, int v, size_t n) {
  if (n) std::memset(d, v, n);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* d, int v, size_t n, cudaStream_t) {
  if (n) std::memset(d, v, n);
  return cudaSuccess;
}
cudaError_t cudaGetLastError(void) {
  const cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError(void) { return g_last_error; }
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidConfiguration:
    case cudaErrorInvalidValue:
      if (!kbsim::g_last_why.empty()) return kbsim::g_last_why.c_str();
      return e == cudaErrorInvalidValue ? "invalid argument" : "invalid configuration argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorNotSupported: return "operation not supported by the CPU SIMT executor (kbsim)";
    default: return "kbsim: CUDA error";
  }
}
const char* cudaGetErrorName(cudaError_t e) { return cudaGetErrorString(e); }
cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : set_error(cudaErrorInvalidDevice); }
cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamCreate(cudaStream_t* s) { *s = nullptr; return cudaSuccess; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) { *s = nullptr; return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t* e) { *e = nullptr; return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { *e = nullptr; return cudaSuccess; }
cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t, cudaEvent_t) {
  *ms = 0.f;  // never a figure: timing under the executor is refused
  return set_error(cudaErrorNotSupported);
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  switch (a) {
    case cudaDevAttrMultiProcessorCount: *v = kbsim::options().sms; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = (int)device::kSharedPerBlockOptin; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *v = (int)device::kSharedPerBlock; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerBlock: *v = (int)device::kMaxThreadsPerBlock; return cudaSuccess;
    case cudaDevAttrWarpSize: *v = device::kWarpSize; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *v = device::kComputeMajor; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *v = device::kComputeMinor; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *v = device::kMaxThreadsPerMultiprocessor; return cudaSuccess;
    case cudaDevAttrL2CacheSize: *v = device::kL2CacheBytes; return cudaSuccess;
    default: *v = 0; return set_error(cudaErrorInvalidValue);
  }
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "kbsim (CPU SIMT executor, no timing)");
  p->major = device::kComputeMajor;
  p->minor = device::kComputeMinor;
  p->multiProcessorCount = kbsim::options().sms;
  p->sharedMemPerBlock = device::kSharedPerBlock;
  p->sharedMemPerBlockOptin = device::kSharedPerBlockOptin;
  p->sharedMemPerMultiprocessor = device::kSharedPerMultiprocessor;
  p->maxThreadsPerBlock = (int)device::kMaxThreadsPerBlock;
  p->maxThreadsPerMultiProcessor = device::kMaxThreadsPerMultiprocessor;
  p->warpSize = device::kWarpSize;
  p->regsPerBlock = device::kRegistersPerBlock;
  p->totalGlobalMem = device::kGlobalMemoryBytes;
  p->l2CacheSize = device::kL2CacheBytes;
  for (int i = 0; i < 3; ++i) {
    p->maxGridSize[i] = (int)device::kMaxGridDim[i];
    p->maxThreadsDim[i] = (int)device::kMaxBlockDim[i];
  }
  return cudaSuccess;
}
cudaError_t cudaFuncSetAttribute(const void* fn, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || (size_t)value > device::kSharedPerBlockOptin) return set_error(cudaErrorInvalidValue);
    std::lock_guard<std::recursive_mutex> g(kbsim::launch_mutex());
    kbsim::set_optin(fn, value);
  }
  return cudaSuccess;
}
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* n, const void*, int threads, size_t smem) {
  if (threads <= 0) return set_error(cudaErrorInvalidValue);
  const int most = device::kMaxBlocksPerMultiprocessor;
  int by_threads = device::kMaxThreadsPerMultiprocessor / threads,
      by_smem = smem ? (int)(device::kSharedPerMultiprocessor / smem) : most;
  *n = std::max(0, std::min(std::min(by_threads, by_smem), most));
  return cudaSuccess;
}
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* n, const void* f, int threads, size_t smem,
                                                                   unsigned) {
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(n, f, threads, smem);
}
cudaError_t cudaLaunchKernel(const void*, dim3, dim3, void**, size_t, cudaStream_t) {
  // Kernels are launched through kb::launch / launch_matmul, which know their argument types.
  return set_error(cudaErrorNotSupported);
}
// The driver entry points the rungs fetch: cuTensorMapEncodeTiled is the executor's (kbsim_hopper.h).
cudaError_t cudaGetDriverEntryPoint(const char* name, void** f, unsigned long long, cudaDriverEntryPointQueryResult* r) {
  *f = driver_entry_point(name);
  if (r) *r = *f ? cudaDriverEntryPointSuccess : cudaDriverEntryPointSymbolNotFound;
  return cudaSuccess;
}
cudaError_t cudaGetDriverEntryPointByVersion(const char* name, void** f, unsigned int, unsigned long long,
                                             cudaDriverEntryPointQueryResult* r) {
  *f = driver_entry_point(name);
  if (r) *r = *f ? cudaDriverEntryPointSuccess : cudaDriverEntryPointSymbolNotFound;
  return cudaSuccess;
}
}  // extern "C"
