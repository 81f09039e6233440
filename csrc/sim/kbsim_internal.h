// kbsim_internal.h: what the executor's own sources (csrc/sim/kbsim_*.cpp) share -- the simulated
// device's limits, the state of a running block (its threads as fibers, the warp collectives being
// assembled, the cp.async copies in flight) and the functions one room calls in another.  Kernel
// sources never see it: they get kbsim.h only.  Which file holds what: docs/sim.md, "Adding an
// intrinsic".
#pragma once
#include "kbsim.h"
#include "kbsim_access.h"
#include "kbsim_hopper.h"
// The executor itself speaks plain C++: no CUDA built-in names here.
#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim
#undef warpSize
#undef __shared__

#include <pthread.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define KBSIM_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
// Under ThreadSanitizer only the kernels are instrumented: the executor is compiled without
// -fsanitize=thread (its own bookkeeping, shared by the fibers of a block, would be reported) but
// with KBSIM_TSAN_RUNTIME, and tells TSan about fibers and synchronisation through its interface.
#if defined(__SANITIZE_THREAD__) || defined(KBSIM_TSAN_RUNTIME)
#define KBSIM_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif

namespace kbsim {
// ---- the simulated device: sm_90's limits (reported by the runtime, enforced at launch) ---------
namespace device {
constexpr std::size_t kSharedPerBlock = 48 * 1024;        // dynamic shared memory without the opt-in
constexpr std::size_t kSharedPerBlockOptin = 232448;      // 227 KB, cudaFuncSetAttribute(MaxDynamicSharedMemorySize)
constexpr std::size_t kSharedPerMultiprocessor = 233472;  // 228 KB
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxBlockDim[3] = {1024, 1024, 64};
constexpr unsigned kMaxGridDim[3] = {0x7fffffffu, 65535, 65535};
constexpr int kMaxThreadsPerMultiprocessor = 2048;
constexpr int kMaxBlocksPerMultiprocessor = 32;
constexpr int kRegistersPerBlock = 65536;
constexpr int kWarpSize = 32;
constexpr int kComputeMajor = 9, kComputeMinor = 0;
constexpr int kL2CacheBytes = 50 * 1024 * 1024;
constexpr std::size_t kGlobalMemoryBytes = std::size_t(1) << 34;
}  // namespace device

// Fresh memory (cudaMalloc, shared memory at a block's start) holds this byte: NaN in every float type.
constexpr unsigned char kPoisonByte = 0xff;

// Shared with kbsim_access.cpp and kbsim_extent.cpp (kbsim_launch.cpp).
std::recursive_mutex& launch_mutex();  // held by every launch
void set_optin(const void* fn, int bytes);  // cudaFuncSetAttribute(MaxDynamicSharedMemorySize)
extern std::string g_last_why;              // the reason behind the last launch's CUDA error

namespace internal {
// ---- ThreadSanitizer's happens-before edges (no-ops in the other builds) -------------------------
inline void hb_release(void* addr) {
#ifdef KBSIM_TSAN
  __tsan_release(addr);
#else
  (void)addr;
#endif
}
inline void hb_acquire(void* addr) {
#ifdef KBSIM_TSAN
  __tsan_acquire(addr);
#else
  (void)addr;
#endif
}

// Data the executor moves between lanes (shuffles, gathers, cp.async) is copied byte by byte
// through volatile pointers: never turned into a memcpy call, which ThreadSanitizer would check as
// an access of whichever fiber happens to run the copy.
inline void raw_copy(void* d, const void* s, std::size_t n) {
  volatile unsigned char* dd = static_cast<volatile unsigned char*>(d);
  const volatile unsigned char* ss = static_cast<const volatile unsigned char*>(s);
  for (std::size_t i = 0; i < n; ++i) dd[i] = ss[i];
}

// ---- fibers (kbsim_fiber.cpp) --------------------------------------------------------------------
#if defined(KBSIM_ASAN) || defined(KBSIM_TSAN)
constexpr std::size_t kStack = 512 * 1024;
#else
constexpr std::size_t kStack = 128 * 1024;
#endif
struct Context {  // a suspended fiber (or the block's scheduler)
#if defined(__x86_64__)
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
};
char* take_stack();  // kStack bytes with a guard page below, from a free list
void give_stack(char* s);
void ctx_init(Context& c, char* stack, std::size_t size, void (*entry)());
void ctx_switch(Context& from, Context& to);

// ---- the state of a running block ----------------------------------------------------------------
enum class St { Runnable, Barrier, Warp, Wait, Done };  // Wait: on a condition (mbarrier, wgmma, ...)
// A warp collective: __syncwarp, a shuffle (sub: its ShflMode), a vote (sub: its VoteMode), or the
// register exchange of a tensor-core instruction (warp_allgather).
enum class CollKind { Syncwarp, Shfl, Vote, Gather };

struct Copy {  // one cp.async in flight
  unsigned char* dst;
  const unsigned char* src;
  unsigned bytes, src_bytes;
  bool landed;  // its data has arrived (it still counts as in flight until its wait_group)
};

struct Coll {  // one warp collective being assembled
  CollKind kind;
  int sub;
  unsigned mask, arrived = 0;
  unsigned bytes = 0;
  int width = 32;
  int arg[32];  // shuffles: each lane's source lane / delta / lane mask
  const char* file;
  int line;
  const char* what = nullptr;
  unsigned char in[32][16];
  int pred[32];
  const void* gin[32];
  void* gout[32];
  char sync;  // happens-before anchor (ThreadSanitizer)
};

struct Barrier {
  char sync;
};

struct SimThread {
  ThreadCtx ctx;
  unsigned linear = 0, warp = 0, lane = 0;
  St state = St::Runnable;
  Context uc;
  char* stack = nullptr;
  const char* file = "";
  int line = 0;
  int pred = 0, vote_result = 0;
  BarrierVote vote_kind = BarrierVote::None;
  Coll* coll = nullptr;
  unsigned char out[16];
  std::vector<Copy> open_group;
  std::vector<std::vector<Copy>> groups;  // committed, oldest first
  void* asan_fake = nullptr;
  void* tsan_fiber = nullptr;
  // St::Wait (kbsim_hopper.cpp): runnable again once wait_ready(wait_arg); wait_describe for deadlocks.
  bool (*wait_ready)(const void*) = nullptr;
  const void* wait_arg = nullptr;
  std::string (*wait_describe)(const void*) = nullptr;
  const char* wait_what = "";
  const char* cfile = nullptr;  // collective_site(): the kernel line of the next warp_allgather
  int cline = 0;
};

struct Block {
  const char* kernel = "";
  std::vector<SimThread> threads;
  std::vector<std::vector<Coll*>> pending;  // per warp
  // Fibers must not allocate executor state (ThreadSanitizer would see the allocator's accesses as
  // theirs): collectives come from a pool made before the fibers start, barriers alternate.
  std::vector<Coll> coll_pool;
  std::vector<Coll*> free_colls;
  Barrier barriers[2];
  unsigned barrier_gen = 0;
  Context sched;
  SimThread* cur = nullptr;
  const std::function<void()>* body = nullptr;
  bool failed = false;
  std::string error;
  unsigned char* dyn = nullptr;
  std::size_t dyn_size = 0;
  unsigned slot = 0;  // its worker under the memory model between blocks (kbsim_memmodel.h)
  const void* sched_bottom = nullptr;
  std::size_t sched_size = 0;
  void* tsan_sched = nullptr;
  char start_sync, end_sync;
  hopper::BlockState* hopper = nullptr;  // TMA / mbarrier / wgmma state, made on first use
  std::size_t copies_unlanded = 0;       // cp.async copies whose data has not arrived yet
  long long land_countdown = -1;         // (copy, fiber switch) chances left before the next landing
  unsigned char* static_smem = nullptr;  // this worker's static __shared__ (TLS), found on first need
  std::size_t static_smem_size = 0;
  std::string where(const SimThread& t) const;
};

// Set by the launch (kbsim_launch.cpp), read everywhere.
extern Block* g_block;          // the block being run (one at a time: launches are serialised)
extern pthread_t g_block_thread;  // its OS thread (for the fault handler)
extern volatile bool g_in_block;
extern long long g_launches;
extern cudaError_t g_last_error;  // cudaGetLastError (kbsim_runtime.cpp)

// The running CUDA thread; a device built-in called outside a launch is a bug of the caller.
inline SimThread* me() {
  if (!g_block || !g_block->cur) {
    std::fprintf(stderr, "kbsim: a device built-in was called outside a kernel launch\n");
    std::abort();
  }
  return g_block->cur;
}

// kbsim_fiber.cpp: from a fiber back to its block's scheduler (exiting: it is never resumed), and
// from the scheduler into a fiber until it yields.
void yield_fiber(SimThread* t, bool exiting);
void resume(Block* b, SimThread* t);

// A fiber waits at a barrier or warp collective: marked with its state and source site, it
// publishes its writes to `sync` (released), yields, and on resumption sees what the others
// published there (acquired) -- the happens-before edge ThreadSanitizer is told about.
inline void park(SimThread* t, St state, const char* file, int line, void* sync) {
  t->state = state;
  t->file = file;
  t->line = line;
  hb_release(sync);
  yield_fiber(t, false);
  hb_acquire(sync);
}

// kbsim_diagnose.cpp: the text of diagnoses, and faults turned into them.
std::string site(const char* what, const char* file, int line);  // "what (csrc/x.cu:12)"
std::string ranges(const std::vector<unsigned>& ids);             // "0-31, 64, 66-70"
[[noreturn]] void fail_now(SimThread* t, const std::string& msg);  // ends the launch with a diagnosis
std::string describe_waits(Block* b);                             // every thread's wait (deadlocks)
void install_fault_handlers();  // SIGILL (misaligned vector access), SIGBUS, SIGSEGV -> diagnoses
void remove_fault_handlers();
void install_asan_report();     // names the executor's own poison in AddressSanitizer reports
struct SignalStack {            // an alternate signal stack for the worker thread (faults on fibers)
  SignalStack();
  ~SignalStack();
  std::vector<char> mem;
};

// kbsim_scheduler.cpp: one block, start to end.
void run_block(Block* b, dim3 grid, dim3 block, uint3 bidx, std::mt19937_64& rng);

// kbsim_collectives.cpp: completes every pending warp collective whose lanes have all arrived
// (false: none could complete); a collective's name in diagnoses ("__shfl_down_sync").
bool complete_collectives(Block* b);
const char* coll_name(CollKind kind, int sub);

// kbsim_memory.cpp: shared memory and its poison.
void poison_static_shared();                    // this worker's static __shared__ (all of it)
unsigned char* new_dynamic_shared(std::size_t bytes);  // 1024-byte aligned, poisoned; null: no memory

// kbsim_async.cpp: cp.async copies land at seeded random moments (land_some_copies), all that remain
// of a group at its wait_group (apply_copies).
void land_some_copies(Block* b, std::mt19937_64& rng);
void apply_copies(std::vector<Copy>& g);
}  // namespace internal
}  // namespace kbsim
