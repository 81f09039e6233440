// kbsim.h: the CPU SIMT executor's view of CUDA, force-included (g++ -include) before every CUDA
// rung source when it is compiled for the CPU.  The kernel sources stay single: this header maps
// CUDA's built-ins (threadIdx..., __syncthreads, warp shuffles and votes, atomics, __shared__)
// onto the executor (csrc/sim/kbsim_*.cpp, docs/sim.md), which runs each CUDA thread as a fiber, the blocks one after
// another, and checks what a GPU would not forgive (see docs/sim.md).
// What it models: grids, blocks, warps of 32; block and warp barriers; shuffles exactly as the
// PTX ISA defines shfl.sync (width, clamping, own value for out-of-range lanes); votes; atomics;
// static + dynamic shared memory private to a block and poisoned at its start; cp.async groups;
// CUDA's launch limits; with KBSIM_BLOCKS_IN_FLIGHT, blocks interleaved under a memory model between
// blocks (kbsim_memmodel.h).  What it does not: timing, coalescing, bank conflicts, caches, the PTX
// memory model beyond that (docs/sim.md).
#pragma once
#ifndef KB_SIM
#define KB_SIM 1
#endif
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <type_traits>

// Execution-space keywords mean nothing to the host compiler.
#undef __global__
#define __global__
#undef __device__
#define __device__
#undef __host__
#define __host__
#undef __launch_bounds__
#define __launch_bounds__(...)
#undef __grid_constant__
#define __grid_constant__

namespace kbsim {

// The CUDA thread now running (one at a time per executor: kernels see it through the macros).
struct ThreadCtx {
  uint3 thread_idx, block_idx;
  dim3 block_dim, grid_dim;
};
extern ThreadCtx* g_ctx;

// ---- block and warp synchronisation (file/line name the call site in diagnoses) --------------
// What a block barrier computes from the threads' predicates: nothing (__syncthreads), or
// __syncthreads_count / _and / _or.
enum class BarrierVote : int { None = -1, Count, And, Or };
// Which lane a shuffle reads (PTX shfl.sync's modes): __shfl_sync, _up, _down, _xor.
enum class ShflMode : int { Idx, Up, Down, Bfly };
// A warp vote: __ballot_sync, __any_sync, __all_sync.
enum class VoteMode : int { Ballot, Any, All };
void syncthreads(const char* file, int line);
int syncthreads_vote(BarrierVote kind, int pred, const char* file, int line);
void syncwarp(unsigned mask, const char* file, int line);
// shfl.sync: `bytes` of `in` (<= 16) per lane.
void shfl(ShflMode mode, unsigned mask, const void* in, void* out, unsigned bytes, int lane_arg, int width,
          const char* file, int line);
unsigned vote(VoteMode mode, unsigned mask, int pred, const char* file, int line);
// Warp-collective exchange for instructions that read other lanes' registers (ldmatrix, mma.sync,
// wmma): every lane of the warp must call it; on return all[i * bytes ...] holds lane i's bytes.
void warp_allgather(const void* mine, void* all, std::size_t bytes, const char* what);
// The kernel line of this thread's next warp_allgather (tensor-core wrappers set it): every lane of a
// tensor-core collective must be at the same instruction (kind, shape, site) -- else a divergence.
void collective_site(const char* file, int line);
// Fails with a diagnosis unless [p, p + bytes) lies in the block's shared memory (static or dynamic).
void require_shared(const void* p, std::size_t bytes, const char* what, const char* file, int line);
unsigned lane_id();
void* dynamic_shared();
void threadfence();

// ---- cp.async: copies are applied when their group is waited for --------------------------------
void cp_async(void* dst, const void* src, unsigned bytes, unsigned src_bytes, const char* file, int line);
void cp_async_commit();
void cp_async_wait(int pending, const char* file, int line);

// ---- launch --------------------------------------------------------------------------------------
// Runs body() once per CUDA thread of grid x block.  Errors in the configuration become the CUDA
// error a GPU would give (cudaGetLastError); errors found while running throw kbsim::Failure.
void launch(const char* kernel_name, const void* fn, dim3 grid, dim3 block, std::size_t dynamic_smem,
            const std::function<void()>& body);
const char* kernel_name_of(const void* fn);

// Diagnosis of a kernel run (deadlock, divergent barrier, shuffle misuse, misaligned or illegal
// access, launch configuration): the message names the kernel, block and threads.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Checks and reproducibility, settable from Python (kernelbench.sim) and the environment:
// KBSIM_SEED (thread order), KBSIM_SMS (multiprocessors the simulated device reports),
// KBSIM_BLOCKS_IN_FLIGHT (the memory model between blocks, kbsim_memmodel.h).
struct Options {
  unsigned long long seed;
  int sms;
  bool shuffle_order;
  bool poison_shared;
  // 1: the blocks of a launch run one after another (the default).  n > 1: up to n blocks are in
  // flight, switched at barriers, atomics, fences and exits in a seeded order, and a block's global
  // stores reach the other blocks only at its __threadfence or exit.  Needs the plain `sim` build.
  int blocks_in_flight;
};
Options& options();
long long launches();  // kernel launches run so far (for tests)

// Atomics tell the access hooks' event observers (kbsim_access.h) first: site = the caller's line.
void note_atomic(const void* p, unsigned bytes, const char* file, int line);
// The memory model between blocks may switch blocks after an atomic (kbsim_memmodel.h).
extern bool g_blocks_interleaved;
void after_atomic();
namespace atom {
struct Done {
  ~Done() { if (g_blocks_interleaved) after_atomic(); }
};
template <typename T> inline T add(T* p, T v, const char* f = nullptr, int l = 0) {
  note_atomic(p, sizeof(T), f, l);
  Done done;
  return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
template <typename T, typename F> inline T cas_loop(T* p, F f, const char* file = nullptr, int line = 0) {
  note_atomic(p, sizeof(T), file, line);
  Done done;
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "4- or 8-byte atomics");
  typedef typename std::conditional<sizeof(T) == 4, unsigned, unsigned long long>::type U;
  U* q = reinterpret_cast<U*>(p);
  U old = __atomic_load_n(q, __ATOMIC_SEQ_CST), nu;
  T o;
  do {
    std::memcpy(&o, &old, sizeof(T));
    const T n = f(o);
    std::memcpy(&nu, &n, sizeof(T));
  } while (!__atomic_compare_exchange_n(q, &old, nu, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
  return o;
}
}  // namespace atom
}  // namespace kbsim

// ---- built-in variables ------------------------------------------------------------------------
#define threadIdx (::kbsim::g_ctx->thread_idx)
#define blockIdx (::kbsim::g_ctx->block_idx)
#define blockDim (::kbsim::g_ctx->block_dim)
#define gridDim (::kbsim::g_ctx->grid_dim)
#ifndef warpSize
#define warpSize 32
#endif

// Static shared memory: thread-local storage of the worker thread that runs the blocks, poisoned by
// the executor at each block's start; dynamic shared memory: KB_DYNAMIC_SHARED.
#undef __shared__
#define __shared__ static thread_local

// ---- barriers, warps -----------------------------------------------------------------------------
inline void __syncthreads(const char* f = __builtin_FILE(), int l = __builtin_LINE()) { kbsim::syncthreads(f, l); }
inline int __syncthreads_count(int p, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return kbsim::syncthreads_vote(kbsim::BarrierVote::Count, p, f, l);
}
inline int __syncthreads_and(int p, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return kbsim::syncthreads_vote(kbsim::BarrierVote::And, p, f, l);
}
inline int __syncthreads_or(int p, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return kbsim::syncthreads_vote(kbsim::BarrierVote::Or, p, f, l);
}
inline void __syncwarp(unsigned mask = 0xffffffffu, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  kbsim::syncwarp(mask, f, l);
}
template <typename T>
inline T kbsim_shfl(kbsim::ShflMode mode, unsigned mask, T v, int lane_arg, int width, const char* f, int l) {
  static_assert(sizeof(T) <= 16, "shuffles move at most 16 bytes");
  T r;
  kbsim::shfl(mode, mask, &v, &r, sizeof(T), lane_arg, width, f, l);
  return r;
}
template <typename T>
inline T __shfl_sync(unsigned m, T v, int src, int w = 32, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return kbsim_shfl(kbsim::ShflMode::Idx, m, v, src, w, f, l);
}
template <typename T>
inline T __shfl_up_sync(unsigned m, T v, unsigned d, int w = 32, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return kbsim_shfl(kbsim::ShflMode::Up, m, v, (int)d, w, f, l);
}
template <typename T>
inline T __shfl_down_sync(unsigned m, T v, unsigned d, int w = 32, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return kbsim_shfl(kbsim::ShflMode::Down, m, v, (int)d, w, f, l);
}
template <typename T>
inline T __shfl_xor_sync(unsigned m, T v, int lm, int w = 32, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return kbsim_shfl(kbsim::ShflMode::Bfly, m, v, lm, w, f, l);
}
inline unsigned __ballot_sync(unsigned m, int p, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return kbsim::vote(kbsim::VoteMode::Ballot, m, p, f, l);
}
inline int __any_sync(unsigned m, int p, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return (int)kbsim::vote(kbsim::VoteMode::Any, m, p, f, l);
}
inline int __all_sync(unsigned m, int p, const char* f = __builtin_FILE(), int l = __builtin_LINE()) {
  return (int)kbsim::vote(kbsim::VoteMode::All, m, p, f, l);
}
inline unsigned __activemask() { return 0xffffffffu; }
inline void __threadfence() { kbsim::threadfence(); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }  // block scope: publishes nothing

// ---- atomics (real atomics, so ThreadSanitizer sees them as such) --------------------------------
inline int atomicAdd(int* p, int v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) { return kbsim::atom::add(p, v, f_, l_); }
inline unsigned atomicAdd(unsigned* p, unsigned v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) { return kbsim::atom::add(p, v, f_, l_); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) {
  return kbsim::atom::add(p, v, f_, l_);
}
inline float atomicAdd(float* p, float v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) {
  return kbsim::atom::cas_loop(p, [v](float o) { return o + v; }, f_, l_);
}
inline double atomicAdd(double* p, double v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) {
  return kbsim::atom::cas_loop(p, [v](double o) { return o + v; }, f_, l_);
}
inline int atomicSub(int* p, int v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) { return kbsim::atom::add(p, -v, f_, l_); }
inline unsigned atomicSub(unsigned* p, unsigned v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) { return kbsim::atom::add(p, 0u - v, f_, l_); }
template <typename T> inline T atomicExch(T* p, T v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) {
  return kbsim::atom::cas_loop(p, [v](T) { return v; }, f_, l_);
}
template <typename T> inline T atomicMax(T* p, T v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) {
  return kbsim::atom::cas_loop(p, [v](T o) { return o < v ? v : o; }, f_, l_);
}
template <typename T> inline T atomicMin(T* p, T v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) {
  return kbsim::atom::cas_loop(p, [v](T o) { return v < o ? v : o; }, f_, l_);
}
template <typename T> inline T atomicCAS(T* p, T cmp, T v, const char* f_ = __builtin_FILE(), int l_ = __builtin_LINE()) {
  kbsim::note_atomic(p, sizeof(T), f_, l_);
  kbsim::atom::Done done;
  __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return cmp;
}

// ---- loads with cache hints, bit casts, fast math -----------------------------------------------
template <typename T> inline T __ldg(const T* p) { return *p; }
template <typename T> inline T __ldcg(const T* p) { return *p; }
template <typename T> inline T __ldcs(const T* p) { return *p; }
template <typename T> inline T __ldca(const T* p) { return *p; }
template <typename T> inline void __stcg(T* p, T v) { *p = v; }
template <typename T> inline void __stcs(T* p, T v) { *p = v; }
inline float __uint_as_float(unsigned v) { float f; std::memcpy(&f, &v, 4); return f; }
inline unsigned __float_as_uint(float v) { unsigned u; std::memcpy(&u, &v, 4); return u; }
inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
inline int __float_as_int(float v) { int u; std::memcpy(&u, &v, 4); return u; }
inline int __double2hiint(double d) { long long b; std::memcpy(&b, &d, 8); return (int)(b >> 32); }
inline int __double2loint(double d) { long long b; std::memcpy(&b, &d, 8); return (int)(b & 0xffffffffLL); }
inline double __hiloint2double(int hi, int lo) {
  const unsigned long long b = ((unsigned long long)(unsigned)hi << 32) | (unsigned)lo;
  double d; std::memcpy(&d, &b, 8); return d;
}
inline double __longlong_as_double(long long v) { double d; std::memcpy(&d, &v, 8); return d; }
inline long long __double_as_longlong(double v) { long long b; std::memcpy(&b, &v, 8); return b; }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __ffs(int v) { return __builtin_ffs(v); }
inline int __clz(int v) { return v == 0 ? 32 : __builtin_clz((unsigned)v); }
