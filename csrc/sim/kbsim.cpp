// kbsim.cpp: the CPU SIMT executor.  One launch runs its blocks one after another on a worker
// thread (a fresh one per block under ThreadSanitizer; with KBSIM_BLOCKS_IN_FLIGHT, up to n workers
// whose blocks interleave: run_interleaved, kbsim_memmodel.h); static __shared__ memory lives in that
// thread's thread-local storage and is poisoned at each block's start.  Each CUDA thread of the
// block is a fiber (a register switch on x86-64, ucontext elsewhere) that runs until
// it reaches a synchronisation point: __syncthreads, a warp collective (__syncwarp, shuffles,
// votes, tensor-core fragment exchanges) or its end.  When no fiber can run, the scheduler
// completes the collectives whose lanes have all arrived and the block barrier once every live
// thread waits at it, and reports everything else as a deadlock or a divergence.  Runnable fibers
// are picked in a seeded random order (KBSIM_SEED), so results that depend on the order of threads
// between barriers show up as wrong answers, and under ThreadSanitizer as data races: each fiber
// is a TSan fiber, and only the barriers and collectives create happens-before edges.
#include "kbsim.h"
#include "kbsim_hopper.h"
#include "kbsim_access.h"
#include "kbsim_memmodel.h"
// The executor itself speaks plain C++: no CUDA built-in names here.
#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim
#undef warpSize
#undef __shared__

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <cxxabi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define KBSIM_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
// Under ThreadSanitizer only the kernels are instrumented: this file is compiled without
// -fsanitize=thread (its own bookkeeping, shared by the fibers of a block, would be reported) but
// with KBSIM_TSAN_RUNTIME, and tells TSan about fibers and synchronisation through its interface.
#if defined(__SANITIZE_THREAD__) || defined(KBSIM_TSAN_RUNTIME)
#define KBSIM_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif

namespace kbsim {
ThreadCtx* g_ctx = nullptr;
constexpr std::size_t kOptinSmemLimitPublic = 232448;  // sm_90: 227 KB of shared memory per block
std::recursive_mutex& launch_mutex();
void set_optin(const void* fn, int bytes);
extern std::string g_last_why;

namespace {
// ---------------------------------------------------------------- sanitizer annotations
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
void raw_copy(void* d, const void* s, std::size_t n) {
  volatile unsigned char* dd = static_cast<volatile unsigned char*>(d);
  const volatile unsigned char* ss = static_cast<const volatile unsigned char*>(s);
  for (std::size_t i = 0; i < n; ++i) dd[i] = ss[i];
}

std::string short_file(const char* f) {
  std::string s = f ? f : "?";
  const auto p = s.rfind("csrc/");
  if (p != std::string::npos) return s.substr(p);
  const auto q = s.rfind('/');
  return q == std::string::npos ? s : s.substr(q + 1);
}
std::string site(const char* what, const char* file, int line) {
  std::ostringstream o;
  o << what << " (" << short_file(file) << ":" << line << ")";
  return o.str();
}

// "0-31, 64, 66-70"
std::string ranges(const std::vector<unsigned>& ids) {
  std::ostringstream o;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (i) o << ", ";
    o << ids[i];
    if (j > i) o << "-" << ids[j];
    i = j + 1;
  }
  return o.str();
}

// ---------------------------------------------------------------- fibers' stacks
#if defined(KBSIM_ASAN) || defined(KBSIM_TSAN)
constexpr std::size_t kStack = 512 * 1024;
#else
constexpr std::size_t kStack = 128 * 1024;
#endif
std::mutex g_stack_mu;
std::vector<char*> g_stacks;  // free list; each stack has a guard page below it
char* take_stack() {
  {
    std::lock_guard<std::mutex> g(g_stack_mu);
    if (!g_stacks.empty()) {
      char* s = g_stacks.back();
      g_stacks.pop_back();
      return s;
    }
  }
  const long page = sysconf(_SC_PAGESIZE);
  void* m = mmap(nullptr, kStack + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) throw Failure("kbsim: out of memory for fiber stacks");
  mprotect(m, page, PROT_NONE);
  return static_cast<char*>(m) + page;
}
void give_stack(char* s) {
  std::lock_guard<std::mutex> g(g_stack_mu);
  g_stacks.push_back(s);
}

// ---------------------------------------------------------------- context switch
// x86-64: a switch saves the callee-saved registers and the FP control words on the old stack
// and loads the new stack pointer (no system call, unlike swapcontext's signal-mask update).
struct Context {
#if defined(__x86_64__)
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
};
#if defined(__x86_64__)
extern "C" void kbsim_ctx_switch(void** save_sp, void* load_sp);
asm(R"(
.text
.globl kbsim_ctx_switch
.hidden kbsim_ctx_switch
.type kbsim_ctx_switch,@function
kbsim_ctx_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size kbsim_ctx_switch,.-kbsim_ctx_switch
)");
void ctx_init(Context& c, char* stack, std::size_t size, void (*entry)()) {
#ifdef KBSIM_ASAN
  ASAN_UNPOISON_MEMORY_REGION(stack, size);  // a reused stack may hold an abandoned fiber's redzones
#endif
  auto top = reinterpret_cast<std::uintptr_t>(stack + size) & ~std::uintptr_t(15);
  auto* w = reinterpret_cast<std::uint64_t*>(top);
  w[-1] = 0;                                            // fake return address of the entry
  w[-2] = reinterpret_cast<std::uint64_t>(entry);       // `ret` lands here, rsp % 16 == 8
  for (int i = 3; i <= 8; ++i) w[-i] = 0;               // rbp rbx r12 r13 r14 r15
  w[-9] = 0x037F00001F80ull;                            // mxcsr (low), x87 control word (high)
  c.sp = &w[-9];
}
inline void ctx_switch(Context& from, Context& to) { kbsim_ctx_switch(&from.sp, to.sp); }
#else
void ctx_init(Context& c, char* stack, std::size_t size, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
}
inline void ctx_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
#endif

// ---------------------------------------------------------------- block state
enum class St { Runnable, Barrier, Warp, Wait, Done };  // Wait: on a condition (mbarrier, wgmma, ...)
enum CollKind { kSyncwarp = 0, kShfl = 1, kVote = 2, kGather = 3 };
const char* coll_name(int kind, int sub) {
  switch (kind) {
    case kSyncwarp: return "__syncwarp";
    case kShfl: return sub == 0 ? "__shfl_sync" : sub == 1 ? "__shfl_up_sync" : sub == 2 ? "__shfl_down_sync" : "__shfl_xor_sync";
    case kVote: return sub == 0 ? "__ballot_sync" : sub == 1 ? "__any_sync" : "__all_sync";
    default: return "warp-collective";
  }
}

struct Copy {
  unsigned char* dst;
  const unsigned char* src;
  unsigned bytes, src_bytes;
  bool landed;  // its data has arrived (it still counts as in flight until its wait_group)
};

struct Coll {  // one warp collective being assembled
  int kind, sub;
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
  int pred = 0, vote_kind = -1, vote_result = 0;
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
  std::string where(const SimThread& t) const {
    std::ostringstream o;
    o << "kernel " << kernel << ", block (" << t.ctx.block_idx.x << "," << t.ctx.block_idx.y << "," << t.ctx.block_idx.z
      << "), thread (" << t.ctx.thread_idx.x << "," << t.ctx.thread_idx.y << "," << t.ctx.thread_idx.z << ")";
    return o.str();
  }
};

Block* g_block = nullptr;           // the block being run (one at a time: launches are serialised)
pthread_t g_block_thread;           // its OS thread (for the fault handler)
volatile bool g_in_block = false;
std::recursive_mutex g_launch_mu;
long long g_launches = 0;
std::map<const void*, int> g_optin;  // cudaFuncSetAttribute(MaxDynamicSharedMemorySize)
cudaError_t g_last_error = cudaSuccess;

SimThread* me() {
  if (!g_block || !g_block->cur) {
    std::fprintf(stderr, "kbsim: a device built-in was called outside a kernel launch\n");
    std::abort();
  }
  return g_block->cur;
}

// ---------------------------------------------------------------- switching
void fail_now(SimThread* t, const std::string& msg);

void yield_fiber(SimThread* t, bool exiting) {
  Block* b = g_block;
#ifdef KBSIM_ASAN
  __sanitizer_start_switch_fiber(exiting ? nullptr : &t->asan_fake, b->sched_bottom, b->sched_size);
#endif
#ifdef KBSIM_TSAN
  __tsan_switch_to_fiber(b->tsan_sched, __tsan_switch_to_fiber_no_sync);
#endif
  ctx_switch(t->uc, b->sched);
  (void)exiting;
#ifdef KBSIM_ASAN
  __sanitizer_finish_switch_fiber(t->asan_fake, nullptr, nullptr);
#endif
}

void resume(Block* b, SimThread* t) {
  b->cur = t;
  g_ctx = &t->ctx;
#ifdef KBSIM_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, t->stack, kStack);
#endif
#ifdef KBSIM_TSAN
  __tsan_switch_to_fiber(t->tsan_fiber, __tsan_switch_to_fiber_no_sync);
#endif
  access_enter_fiber(t->stack, kStack, b->dyn, b->dyn_size);  // the access hooks' address spaces
  ctx_switch(b->sched, t->uc);
  access_leave_fiber();
#ifdef KBSIM_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  b->cur = nullptr;
  g_ctx = nullptr;
}

// A cp.async copy's data arrives.  Under AddressSanitizer its destination stays poisoned until the
// wait_group that covers it.
void land_copy(Copy& c) {
#ifdef KBSIM_ASAN
  ASAN_UNPOISON_MEMORY_REGION(c.dst, c.bytes);
#endif
  raw_copy(c.dst, c.src, c.src_bytes);
  volatile unsigned char* tail = c.dst;
  for (unsigned i = c.src_bytes; i < c.bytes; ++i) tail[i] = 0;
#ifdef KBSIM_ASAN
  ASAN_POISON_MEMORY_REGION(c.dst, c.bytes);
#endif
  c.landed = true;
  --g_block->copies_unlanded;
}
// The wait_group that covers the copies: the rest land now, and their destinations become readable.
void apply_copies(std::vector<Copy>& g) {
  for (Copy& c : g) {
    if (!c.landed) land_copy(c);
#ifdef KBSIM_ASAN
    ASAN_UNPOISON_MEMORY_REGION(c.dst, c.bytes);
#endif
  }
  g.clear();
}
// Adversarial cp.async: each copy in flight lands at a seeded random moment between its issue and
// the wait_group that covers it -- at each switch between fibers with probability 1 / (threads of
// the block), about once a scheduling round -- so a stage refilled while another warp still reads
// it shows up as a wrong result on most seeds, and so does a read before the wait.  Drawn as a
// geometric countdown over (copy in flight, switch) chances: no work at a switch where none lands.
void land_some_copies(Block* b, std::mt19937_64& rng) {
  if (b->copies_unlanded == 0) return;
  const double p = 1.0 / (double)b->threads.size();
  if (b->land_countdown < 0) b->land_countdown = 1 + std::geometric_distribution<long long>(p)(rng);  // first draw
  b->land_countdown -= (long long)b->copies_unlanded;
  while (b->land_countdown <= 0 && b->copies_unlanded) {
    std::size_t r = rng() % b->copies_unlanded;  // the r-th copy not landed yet, in thread order
    Copy* pick = nullptr;
    for (auto& t : b->threads) {
      for (auto& g : t.groups)
        for (Copy& c : g)
          if (!pick && !c.landed && r-- == 0) pick = &c;
      for (Copy& c : t.open_group)
        if (!pick && !c.landed && r-- == 0) pick = &c;
      if (pick) break;
    }
    if (!pick) break;
    land_copy(*pick);
    b->land_countdown += 1 + std::geometric_distribution<long long>(p)(rng);
  }
}

void fiber_main() {
  Block* b = g_block;
  SimThread* t = b->cur;
#ifdef KBSIM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &b->sched_bottom, &b->sched_size);
#endif
  hb_acquire(&b->start_sync);
  (*b->body)();
  // Copies still in flight land anyway (the kernel never read them).
  for (auto& g : t->groups) apply_copies(g);
  apply_copies(t->open_group);
  t->state = St::Done;
  hb_release(&b->end_sync);
  yield_fiber(t, true);
  std::abort();  // never resumed
}

// ---------------------------------------------------------------- faults -> diagnoses
struct sigaction g_old_ill, g_old_bus, g_old_segv;
bool g_handlers = false;

void fault_handler(int sig, siginfo_t* si, void*) {
  Block* b = g_block;
  if (!g_in_block || !b || !b->cur || !pthread_equal(pthread_self(), g_block_thread)) {
    // Not ours: fall back to the previous disposition.
    const struct sigaction* old = sig == SIGILL ? &g_old_ill : sig == SIGBUS ? &g_old_bus : &g_old_segv;
    sigaction(sig, old, nullptr);
    return;  // the fault repeats under the old handler
  }
  std::ostringstream o;
  if (sig == SIGILL)
    o << "kbsim: misaligned address: a vector access (e.g. float4 / uint4) needs an address aligned to its size"
         " (CUDA: cudaErrorMisalignedAddress)";
  else
    o << "kbsim: illegal memory access at address " << si->si_addr << " (CUDA: cudaErrorIllegalAddress)";
  o << " in " << b->where(*b->cur);
  b->failed = true;
  b->error = o.str();
  b->cur->state = St::Done;
  Context dead;
#ifdef KBSIM_ASAN
  __sanitizer_start_switch_fiber(nullptr, b->sched_bottom, b->sched_size);
#endif
#ifdef KBSIM_TSAN
  __tsan_switch_to_fiber(b->tsan_sched, __tsan_switch_to_fiber_no_sync);
#endif
  ctx_switch(dead, b->sched);  // abandon the fiber (and this signal frame); the launch fails
}

void install_handlers() {
  if (g_handlers) return;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fault_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGILL, &sa, &g_old_ill);
  sigaction(SIGBUS, &sa, &g_old_bus);
#ifndef KBSIM_ASAN
  sigaction(SIGSEGV, &sa, &g_old_segv);
#endif
  g_handlers = true;
}
void remove_handlers() {
  if (!g_handlers) return;
  sigaction(SIGILL, &g_old_ill, nullptr);
  sigaction(SIGBUS, &g_old_bus, nullptr);
#ifndef KBSIM_ASAN
  sigaction(SIGSEGV, &g_old_segv, nullptr);
#endif
  g_handlers = false;
}

// ---------------------------------------------------------------- static shared memory poison
thread_local unsigned char tls_anchor;
struct TlsFind {
  const void* anchor_fn;
  unsigned char* data = nullptr;
  std::size_t size = 0;
};
int tls_cb(dl_phdr_info* info, std::size_t, void* arg) {
  TlsFind* f = static_cast<TlsFind*>(arg);
  bool mine = false;
  std::size_t tls = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD) {
      const auto lo = info->dlpi_addr + ph.p_vaddr, hi = lo + ph.p_memsz;
      const auto a = reinterpret_cast<ElfW(Addr)>(f->anchor_fn);
      if (a >= lo && a < hi) mine = true;
    }
    if (ph.p_type == PT_TLS) tls = ph.p_memsz;
  }
  if (!mine) return 0;
  f->data = static_cast<unsigned char*>(info->dlpi_tls_data);
  f->size = tls;
  return 1;
}
// This OS thread's copy of the module's thread-local storage: the static __shared__ variables of
// every kernel (and nothing else: the executor keeps no other thread_local state).
TlsFind static_shared_here() {
  tls_anchor = 1;  // make sure this thread's block exists
  TlsFind f;
  f.anchor_fn = reinterpret_cast<const void*>(&tls_cb);
  dl_iterate_phdr(tls_cb, &f);
  return f;
}
void poison_static_shared() {
  const TlsFind f = static_shared_here();
  if (f.data && f.size) std::memset(f.data, 0xff, f.size);
}

// ---------------------------------------------------------------- collectives
void complete_coll(Block* b, Coll* c, unsigned warp) {
  std::vector<SimThread*> lanes(32, nullptr);
  const unsigned base = warp * 32;
  for (unsigned l = 0; l < 32; ++l)
    if (base + l < b->threads.size()) lanes[l] = &b->threads[base + l];
  if (c->kind == kShfl) {
    const int w = c->width;
    const unsigned segmask = (unsigned)(32 - w) & 31u;
    const unsigned cval = c->sub == 1 ? 0u : 31u;
    for (unsigned l = 0; l < 32; ++l) {
      if (!(c->mask >> l & 1u)) continue;
      SimThread* t = lanes[l];
      const int bval = c->arg[l] & 31;  // the lane's own operand: only its low 5 bits count
      const int max_lane = (int)((l & segmask) | (cval & ~segmask)), min_lane = (int)(l & segmask);
      int j = 0;
      bool pval = true;
      switch (c->sub) {
        case 1: j = (int)l - bval; pval = j >= max_lane; break;
        case 2: j = (int)l + bval; pval = j <= max_lane; break;
        case 3: j = (int)l ^ bval; pval = j <= max_lane; break;
        default: j = min_lane | (bval & (int)~segmask & 31); pval = j <= max_lane; break;
      }
      if (!pval) j = (int)l;
      if (!(c->mask >> j & 1u)) {
        fail_now(t, site(coll_name(c->kind, c->sub), c->file, c->line) + ": lane " + std::to_string(l) +
                        " reads lane " + std::to_string(j) + ", which is not in the mask (undefined on a GPU)");
        return;
      }
      raw_copy(t->out, c->in[j], c->bytes);
    }
  } else if (c->kind == kVote) {
    unsigned ballot = 0;
    for (unsigned l = 0; l < 32; ++l)
      if ((c->mask >> l & 1u) && c->pred[l]) ballot |= 1u << l;
    const unsigned r = c->sub == 0 ? ballot : c->sub == 1 ? (ballot != 0) : (ballot == c->mask);
    for (unsigned l = 0; l < 32; ++l)
      if (c->mask >> l & 1u) raw_copy(lanes[l]->out, &r, sizeof r);
  } else if (c->kind == kGather) {
    for (unsigned l = 0; l < 32; ++l) {
      if (!(c->mask >> l & 1u)) continue;
      for (unsigned s = 0; s < 32; ++s)
        raw_copy(static_cast<unsigned char*>(c->gout[l]) + s * c->bytes, c->gin[s], c->bytes);
    }
  }
  for (unsigned l = 0; l < 32; ++l)
    if ((c->mask >> l & 1u) && lanes[l] && lanes[l]->state == St::Warp) {
      lanes[l]->state = St::Runnable;
      lanes[l]->coll = nullptr;
    }
  auto& pend = b->pending[warp];
  pend.erase(std::remove(pend.begin(), pend.end(), c), pend.end());
  b->free_colls.push_back(c);
}

unsigned exited_lanes(Block* b, unsigned warp) {
  unsigned m = 0;
  for (unsigned l = 0; l < 32; ++l) {
    const unsigned id = warp * 32 + l;
    if (id >= b->threads.size() || b->threads[id].state == St::Done) m |= 1u << l;
  }
  return m;
}

// Arrive at a warp collective and wait for it to complete.
void warp_op(int kind, int sub, unsigned mask, const char* file, int line, const std::function<void(Coll*, unsigned)>& fill) {
  Block* b = g_block;
  SimThread* t = me();
  const unsigned lane = t->lane;
  if (!(mask >> lane & 1u)) {
    fail_now(t, site(coll_name(kind, sub), file, line) + ": the calling lane " + std::to_string(lane) +
                    " is not in the mask 0x" + [&] { std::ostringstream o; o << std::hex << mask; return o.str(); }());
    return;
  }
  Coll* c = nullptr;
  for (Coll* p : b->pending[t->warp]) {
    if (p->mask == mask && !(p->arrived >> lane & 1u)) { c = p; break; }
    if ((p->mask & mask) && p->mask != mask && (p->mask >> lane & 1u)) {
      std::ostringstream o;
      o << site(coll_name(kind, sub), file, line) << ": lane " << lane << " uses mask 0x" << std::hex << mask
        << " while lanes 0x" << p->arrived << " wait at " << std::dec << site(coll_name(p->kind, p->sub), p->file, p->line)
        << " with mask 0x" << std::hex << p->mask << " (every lane named in a mask must use the same mask)";
      fail_now(t, o.str());
      return;
    }
  }
  if (!c) {
    if (b->free_colls.empty()) {
      fail_now(t, site(coll_name(kind, sub), file, line) + ": more than 33 warp collectives pending in one warp");
      return;
    }
    c = b->free_colls.back();
    b->free_colls.pop_back();
    c->arrived = 0; c->bytes = 0; c->width = 32; c->what = nullptr;
    c->kind = kind; c->sub = sub; c->mask = mask; c->file = file; c->line = line;
    b->pending[t->warp].push_back(c);
  } else if (c->kind != kind || c->sub != sub || (kind == kShfl && c->bytes == 0)) {
    std::ostringstream o;
    o << "warp divergence in " << site(coll_name(kind, sub), file, line) << ": lane " << lane << " is here while lanes "
      << "of mask 0x" << std::hex << mask << std::dec << " wait at " << site(coll_name(c->kind, c->sub), c->file, c->line);
    fail_now(t, o.str());
    return;
  }
  if (kind != kGather)
    notify_event_at(kind == kShfl ? Event::Shuffle : kind == kVote ? Event::Vote : Event::Syncwarp, file, line, nullptr,
                    nullptr, 0);
  c->arrived |= 1u << lane;
  fill(c, lane);
  t->state = St::Warp;
  t->coll = c;
  t->file = file;
  t->line = line;
  hb_release(&c->sync);
  yield_fiber(t, false);
  hb_acquire(&c->sync);
}

void fail_now(SimThread* t, const std::string& msg) {
  Block* b = g_block;
  b->failed = true;
  b->error = "kbsim: " + msg + " in " + b->where(*t);
  t->state = St::Done;
  yield_fiber(t, true);
  std::abort();
}

std::string describe_waits(Block* b) {
  std::map<std::string, std::vector<unsigned>> by;
  std::vector<unsigned> done;
  for (auto& t : b->threads) {
    if (t.state == St::Done) { done.push_back(t.linear); continue; }
    std::string w;
    if (t.state == St::Barrier) w = site("__syncthreads", t.file, t.line);
    else if (t.state == St::Warp) {
      std::ostringstream o;
      o << site(t.coll->kind == kGather ? t.coll->what : coll_name(t.coll->kind, t.coll->sub), t.file, t.line)
        << " [mask 0x" << std::hex << t.coll->mask << "]";
      w = o.str();
    } else if (t.state == St::Wait) {
      w = site(t.wait_what, t.file, t.line) + " " + t.wait_describe(t.wait_arg);
    } else w = "running";
    by[w].push_back(t.linear);
  }
  std::ostringstream o;
  bool first = true;
  for (auto& kv : by) {
    o << (first ? "" : "; ") << "threads " << ranges(kv.second) << " wait at " << kv.first;
    first = false;
  }
  if (!done.empty()) o << (first ? "" : "; ") << "threads " << ranges(done) << " have exited";
  return o.str();
}

// Everything blocked: complete what can complete, else diagnose.  Returns false when stuck.
bool resolve(Block* b) {
  bool progressed = false;
  for (unsigned w = 0; w < b->pending.size(); ++w) {
    const unsigned gone = exited_lanes(b, w);
    for (std::size_t i = 0; i < b->pending[w].size();) {
      Coll* c = b->pending[w][i];
      const unsigned need = c->kind == kSyncwarp ? (c->mask & ~gone) : c->mask;
      if ((c->arrived & need) == need && (c->kind == kSyncwarp || !(c->mask & gone))) {
        complete_coll(b, c, w);
        if (b->failed) return true;
        progressed = true;
      } else {
        ++i;
      }
    }
  }
  if (progressed) return true;
  // The block barrier: every thread must be there (checked without building strings: hot path).
  std::size_t at_n = 0, done_n = 0;
  SimThread* first = nullptr;
  bool same_site = true;
  for (auto& t : b->threads) {
    if (t.state == St::Barrier) {
      ++at_n;
      if (!first) first = &t;
      else if (t.line != first->line || std::strcmp(t.file, first->file) != 0) same_site = false;
    } else if (t.state == St::Done) {
      ++done_n;
    }
  }
  if (at_n && at_n + done_n == b->threads.size()) {
    std::vector<unsigned> at, done;
    if (done_n || !same_site)
      for (auto& t : b->threads) (t.state == St::Barrier ? at : done).push_back(t.linear);
    SimThread& t0 = *first;
    if (!done.empty()) {
      b->failed = true;
      b->error = "kbsim: __syncthreads in divergent code (barrier divergence): in kernel " + std::string(b->kernel) +
                 ", block (" + std::to_string(t0.ctx.block_idx.x) + "," + std::to_string(t0.ctx.block_idx.y) + "," +
                 std::to_string(t0.ctx.block_idx.z) + ") threads " + ranges(at) + " wait at " +
                 site("__syncthreads", t0.file, t0.line) + " but threads " + ranges(done) +
                 " have exited without reaching it";
      return true;
    }
    if (!same_site) {
      std::map<std::string, std::vector<unsigned>> sites;
      for (unsigned id : at) sites[site("__syncthreads", b->threads[id].file, b->threads[id].line)].push_back(id);
      std::ostringstream o;
      o << "kbsim: divergent barrier: the threads of one block wait at different __syncthreads in kernel " << b->kernel
        << ", block (" << t0.ctx.block_idx.x << "," << t0.ctx.block_idx.y << "," << t0.ctx.block_idx.z << "): ";
      bool first_site = true;
      for (auto& kv : sites) { o << (first_site ? "" : "; ") << "threads " << ranges(kv.second) << " at " << kv.first; first_site = false; }
      b->failed = true;
      b->error = o.str();
      return true;
    }
    // Release: votes, then everyone runs again.
    int count = 0, all = 1, any = 0;
    for (auto& t : b->threads) { count += t.pred != 0; all &= t.pred != 0; any |= t.pred != 0; }
    for (auto& t : b->threads) {
      t.vote_result = t.vote_kind == 0 ? count : t.vote_kind == 1 ? all : any;
      t.state = St::Runnable;
    }
    ++b->barrier_gen;  // the next barrier uses the other sync object
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- the memory model between blocks
// A switch point of the running block (kbsim_memmodel.h): other blocks may run meanwhile, each on
// its own worker thread; when the baton is back, this block's view of the executor is restored.
void block_switch_point(Block* b, bool after_atomic = false) {
  SimThread* t = b->cur;  // null in the block's scheduler
  ThreadCtx* ctx = g_ctx;
  g_interleaver->switch_point(b->slot, after_atomic);
  g_block = b;
  g_ctx = ctx;
  g_block_thread = pthread_self();
  if (t) access_enter_fiber(t->stack, kStack, b->dyn, b->dyn_size);
  else access_leave_fiber();
  if (g_interleaver->aborted() && !b->failed) {  // another block failed: this one ends here
    b->failed = true;
    if (t) {
      t->state = St::Done;
      yield_fiber(t, true);
      std::abort();  // never resumed
    }
  }
}

// ---------------------------------------------------------------- one block
void run_block(Block* b, dim3 grid, dim3 block, uint3 bidx, std::mt19937_64& rng) {
  const unsigned n = block.x * block.y * block.z;
  b->threads.resize(n);
  const unsigned warps = (n + 31) / 32;
  b->pending.assign(warps, {});
  for (auto& p : b->pending) p.reserve(33);
  b->coll_pool.resize(warps * 33);
  b->free_colls.reserve(b->coll_pool.size());
  for (auto& c : b->coll_pool) b->free_colls.push_back(&c);
  for (unsigned i = 0; i < n; ++i) {
    SimThread& t = b->threads[i];
    t.linear = i;
    t.warp = i / 32;
    t.lane = i % 32;
    t.ctx.thread_idx = make_uint3(i % block.x, (i / block.x) % block.y, i / (block.x * block.y));
    t.ctx.block_idx = bidx;
    t.ctx.block_dim = block;
    t.ctx.grid_dim = grid;
  }
  if (options().poison_shared) poison_static_shared();
  hb_release(&b->start_sync);
#ifdef KBSIM_TSAN
  b->tsan_sched = __tsan_get_current_fiber();
#endif
  for (auto& t : b->threads) {
    t.stack = take_stack();
    ctx_init(t.uc, t.stack, kStack, fiber_main);
#ifdef KBSIM_TSAN
    // TSan fibers are made once per thread slot and reused by later blocks (creating 1024 of them
    // per block dominated the sanitizer pass); a block's threads never share a slot.
    static std::vector<void*> tsan_fibers;
    while (tsan_fibers.size() <= t.linear) tsan_fibers.push_back(__tsan_create_fiber(0));
    t.tsan_fiber = tsan_fibers[t.linear];
#endif
  }
  std::vector<SimThread*> runnable;
  runnable.reserve(n);
  while (!b->failed) {
    runnable.clear();
    for (auto& t : b->threads) {
      if (t.state == St::Wait && t.wait_ready(t.wait_arg)) t.state = St::Runnable;
      if (t.state == St::Runnable) runnable.push_back(&t);
    }
    // Asynchronous copies (TMA) land at seeded random moments, all of them once nothing else can run.
    if (hopper::progress(b->hopper, rng, runnable.empty())) continue;
    land_some_copies(b, rng);
    if (runnable.empty()) {
      bool all_done = true;
      for (auto& t : b->threads) all_done &= t.state == St::Done;
      if (all_done) break;
      const unsigned gen = b->barrier_gen;
      if (!resolve(b)) {
        b->failed = true;
        SimThread& t0 = b->threads[0];
        std::ostringstream o;
        o << "kbsim: deadlock in kernel " << b->kernel << ", block (" << t0.ctx.block_idx.x << "," << t0.ctx.block_idx.y
          << "," << t0.ctx.block_idx.z << "): " << describe_waits(b);
        b->error = o.str();
      } else if (g_interleaver && b->barrier_gen != gen) {  // a barrier completed: a switch point
        g_interleaver->barrier(b->slot);
        block_switch_point(b);
      }
      continue;
    }
    if (options().shuffle_order) std::shuffle(runnable.begin(), runnable.end(), rng);
    for (SimThread* t : runnable) {
      if (b->failed) break;
      if (t->state == St::Runnable) resume(b, t);
      land_some_copies(b, rng);  // between any two fibers
    }
  }
  hb_acquire(&b->end_sync);
  if (b->hopper) hopper::end_block(b->hopper);
  b->hopper = nullptr;
  for (auto& t : b->threads) {
    give_stack(t.stack);

  }
}
}  // namespace

// ---------------------------------------------------------------- device built-ins
void syncthreads(const char* file, int line) { (void)syncthreads_vote(-1, 0, file, line); }

int syncthreads_vote(int kind, int pred, const char* file, int line) {
  Block* b = g_block;
  SimThread* t = me();
  Barrier* bar = &b->barriers[b->barrier_gen & 1];
  notify_event_at(Event::Barrier, file, line, nullptr, nullptr, 0);
  t->state = St::Barrier;
  t->file = file;
  t->line = line;
  t->pred = pred;
  t->vote_kind = kind;
  hb_release(&bar->sync);
  yield_fiber(t, false);
  hb_acquire(&bar->sync);
  return t->vote_result;
}

void syncwarp(unsigned mask, const char* file, int line) {
  warp_op(kSyncwarp, 0, mask, file, line, [](Coll*, unsigned) {});
}

void shfl(int kind, unsigned mask, const void* in, void* out, unsigned bytes, int lane_arg, int width, const char* file,
          int line) {
  SimThread* t = me();
  if (width <= 0 || width > 32 || (width & (width - 1))) {
    fail_now(t, site(coll_name(kShfl, kind), file, line) + ": width " + std::to_string(width) +
                    " is not a power of two in [1, 32]");
    return;
  }
  warp_op(kShfl, kind, mask, file, line, [&](Coll* c, unsigned lane) {
    if (c->bytes && (c->bytes != bytes || c->width != width)) {
      fail_now(t, site(coll_name(kShfl, kind), file, line) + ": lanes disagree on the width or the operand size");
      return;
    }
    c->bytes = bytes;
    c->width = width;
    raw_copy(c->in[lane], in, bytes);
    c->arg[lane] = lane_arg;
  });
  raw_copy(out, t->out, bytes);
}

unsigned vote(int kind, unsigned mask, int pred, const char* file, int line) {
  SimThread* t = me();
  warp_op(kVote, kind, mask, file, line, [&](Coll* c, unsigned lane) { c->pred[lane] = pred; });
  unsigned r;
  raw_copy(&r, t->out, sizeof r);
  return r;
}

void warp_allgather(const void* mine, void* all, std::size_t bytes, const char* what) {
  SimThread* t = me();
  Block* b = g_block;
  unsigned mask = 0;
  for (unsigned l = 0; l < 32; ++l)
    if (t->warp * 32 + l < b->threads.size()) mask |= 1u << l;
  const char* file = t->cfile ? t->cfile : what;
  const int line = t->cfile ? t->cline : 0;
  t->cfile = nullptr;
  warp_op(kGather, 0, mask, file, line, [&](Coll* c, unsigned lane) {
    if (c->what && (std::strcmp(c->what, what) != 0 || c->bytes != bytes)) {
      std::ostringstream o;
      o << "warp divergence in a tensor-core collective: lane " << lane << " issues " << site(what, file, line)
        << " while lanes 0x" << std::hex << (c->arrived & ~(1u << lane)) << std::dec << " issued "
        << site(c->what, c->file, c->line) << " (every lane of an ldmatrix / mma / wmma must execute the same "
        << "instruction)";
      fail_now(t, o.str());
    }
    if (c->what && (c->line != line || std::strcmp(c->file, file) != 0)) {
      std::ostringstream o;
      o << "warp divergence in a tensor-core collective: lane " << lane << " issues " << site(what, file, line)
        << " while lanes 0x" << std::hex << (c->arrived & ~(1u << lane)) << std::dec << " issued it at "
        << site(c->what, c->file, c->line) << " (every lane must execute the same instruction)";
      fail_now(t, o.str());
    }
    c->what = what;
    c->bytes = (unsigned)bytes;
    c->gin[lane] = mine;
    c->gout[lane] = all;
  });
}

unsigned lane_id() { return me()->lane; }
void collective_site(const char* file, int line) {
  SimThread* t = me();
  t->cfile = file;
  t->cline = line;
}
void require_shared(const void* p, std::size_t bytes, const char* what, const char* file, int line) {
  SimThread* t = me();
  Block* b = g_block;
  const unsigned char* q = static_cast<const unsigned char*>(p);
  if (b->dyn && q >= b->dyn && q + bytes <= b->dyn + b->dyn_size) return;
  if (!b->static_smem) {
    const TlsFind f = static_shared_here();
    b->static_smem = f.data;
    b->static_smem_size = f.size;
  }
  if (b->static_smem && q >= b->static_smem && q + bytes <= b->static_smem + b->static_smem_size) return;
  std::ostringstream o;
  o << site(what, file, line) << ": address " << p << " is not in shared memory (it reads " << bytes
    << " bytes of shared memory per lane; this is global or local memory)";
  fail_now(t, o.str());
}
void fail_current_thread(const std::string& msg) {
  fail_now(me(), msg);
  std::abort();  // never reached: the fiber is abandoned
}

// ---------------------------------------------------------------- for kbsim_hopper.cpp
namespace exec {
hopper::BlockState*& hopper_state() {
  (void)me();
  return g_block->hopper;
}
unsigned char* shared_window(std::size_t* bytes) {
  *bytes = g_block ? g_block->dyn_size : 0;
  return g_block ? g_block->dyn : nullptr;
}
unsigned thread_linear() { return me()->linear; }
unsigned block_threads() { return (unsigned)g_block->threads.size(); }
void fail(const std::string& msg) {
  fail_now(me(), msg);
  std::abort();
}
void wait_until(bool (*ready)(const void*), const void* arg, std::string (*describe)(const void*), const char* what,
                const char* file, int line) {
  SimThread* t = me();
  t->state = St::Wait;
  t->wait_ready = ready;
  t->wait_arg = arg;
  t->wait_describe = describe;
  t->wait_what = what;
  t->file = file;
  t->line = line;
  yield_fiber(t, false);
}
void sync_release(void* addr) { hb_release(addr); }
void sync_acquire(void* addr) { hb_acquire(addr); }
std::string site(const char* what, const char* file, int line) { return ::kbsim::site(what, file, line); }
}  // namespace exec
void* dynamic_shared() {
  (void)me();
  return g_block->dyn;
}
void threadfence() {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (g_interleaver) {  // the thread's stores (and its block's before the last barrier) reach the others
    SimThread* t = me();
    g_interleaver->fence(g_block->slot, t->linear);
    block_switch_point(g_block);
  }
}
bool g_blocks_interleaved = false;
void after_atomic() {
  if (!g_interleaver) return;
  g_interleaver->atomic_done();
  if (g_block && g_block->cur) block_switch_point(g_block, true);
}

void cp_async(void* dst, const void* src, unsigned bytes, unsigned src_bytes, const char* file, int line) {
  SimThread* t = me();
  if ((reinterpret_cast<std::uintptr_t>(dst) | reinterpret_cast<std::uintptr_t>(src)) % bytes)
    fail_now(t, site("cp.async", file, line) + ": misaligned address (a " + std::to_string(bytes) +
                    "-byte cp.async needs " + std::to_string(bytes) + "-byte aligned source and destination)");
  if (src_bytes > bytes) fail_now(t, site("cp.async", file, line) + ": src-size larger than cp-size");
  notify_event_at(Event::CpAsync, file, line, dst, src, src_bytes);
  // The destination is unreadable until the group is waited for (AddressSanitizer reports a read as
  // use-after-poison); the data lands at a random moment up to the wait (land_some_copies), so an
  // early read sees stale or new data.
#ifdef KBSIM_ASAN
  ASAN_POISON_MEMORY_REGION(dst, bytes);
#endif
  ++g_block->copies_unlanded;
  t->open_group.push_back(
      Copy{static_cast<unsigned char*>(dst), static_cast<const unsigned char*>(src), bytes, src_bytes, false});
}
void cp_async_commit() {
  SimThread* t = me();
  t->groups.push_back(std::move(t->open_group));
  t->open_group.clear();
}
void cp_async_wait(int pending, const char* file, int line) {
  SimThread* t = me();
  (void)file; (void)line;
  const int done = (int)t->groups.size() - pending;
  if (done <= 0) return;
  for (int g = 0; g < done; ++g) apply_copies(t->groups[g]);
  t->groups.erase(t->groups.begin(), t->groups.begin() + done);
}

// ---------------------------------------------------------------- options, names, launch
Options& options() {
  static Options o = [] {
    Options d;
    const char* s = std::getenv("KBSIM_SEED");
    d.seed = s ? std::strtoull(s, nullptr, 10) : 1;
    const char* m = std::getenv("KBSIM_SMS");
    d.sms = m ? std::max(1, std::atoi(m)) : 4;
    d.shuffle_order = true;
    d.poison_shared = true;
    const char* f = std::getenv("KBSIM_BLOCKS_IN_FLIGHT");
    d.blocks_in_flight = f ? std::max(1, std::atoi(f)) : 1;
    return d;
  }();
  return o;
}
long long launches() { return g_launches; }

const char* kernel_name_of(const void* fn) {
  static std::map<const void*, std::string> names;
  std::lock_guard<std::recursive_mutex> g(g_launch_mu);
  auto it = names.find(fn);
  if (it != names.end()) return it->second.c_str();
  Dl_info info;
  std::string name;
  if (dladdr(fn, &info) && info.dli_sname) {
    int st = 0;
    char* d = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &st);
    name = st == 0 && d ? d : info.dli_sname;
    std::free(d);
    const auto paren = name.find('(');
    if (paren != std::string::npos) name = name.substr(0, paren);
  } else {
    std::ostringstream o;
    o << "kernel@" << fn;
    name = o.str();
  }
  return names.emplace(fn, name).first->second.c_str();
}

namespace {
constexpr std::size_t kStaticSmemLimit = 48 * 1024;     // without the opt-in
cudaError_t check_config(const void* fn, dim3 grid, dim3 block, std::size_t smem, std::string& why) {
  std::ostringstream o;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0)
    o << "a grid or block dimension is 0";
  else if ((unsigned long long)block.x * block.y * block.z > 1024)
    o << "block of " << (unsigned long long)block.x * block.y * block.z << " threads (at most 1024)";
  else if (block.x > 1024 || block.y > 1024 || block.z > 64)
    o << "block dimension (" << block.x << "," << block.y << "," << block.z << ") above (1024, 1024, 64)";
  else if (grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535)
    o << "grid (" << grid.x << "," << grid.y << "," << grid.z << ") above (2^31-1, 65535, 65535)";
  if (!o.str().empty()) { why = o.str(); return cudaErrorInvalidConfiguration; }
  if (smem > kStaticSmemLimit) {
    auto it = g_optin.find(fn);
    const int allowed = it == g_optin.end() ? (int)kStaticSmemLimit : it->second;
    if ((std::size_t)allowed < smem) {
      o << smem << " bytes of dynamic shared memory without cudaFuncSetAttribute(MaxDynamicSharedMemorySize) >= "
        << smem << " (48 KB without the opt-in)";
      why = o.str();
      return cudaErrorInvalidValue;
    }
  }
  return cudaSuccess;
}
}  // namespace
std::string g_last_why;
std::recursive_mutex& launch_mutex() { return g_launch_mu; }
void set_optin(const void* fn, int bytes) { g_optin[fn] = bytes; }

#ifdef KBSIM_ASAN
namespace {
// The only memory the executor poisons by hand is a cp.async destination in flight: name it.
void asan_report(const char* report) {
  const char* at = std::strstr(report, "on address 0x");
  const void* addr = at ? reinterpret_cast<const void*>(std::strtoull(at + 11, nullptr, 16)) : nullptr;
  const char* kind = g_block && addr ? hopper::in_flight_kind(g_block->hopper, addr) : nullptr;
  if (kind && std::strstr(report, "use-after-poison"))
    std::fprintf(stderr, "kbsim: %s read before %s in kernel %s\n", kind,
                 std::strstr(kind, "wgmma") ? "wgmma.wait_group" : "its mbarrier phase completed", g_block->kernel);
  else if (std::strstr(report, "use-after-poison"))
    std::fprintf(stderr, "kbsim: cp.async: shared memory read before its cp.async.wait_group (the copy was still in "
                         "flight) in kernel %s\n", g_block ? g_block->kernel : "?");
}
}  // namespace
#endif

namespace {
// The memory model between blocks (Options::blocks_in_flight > 1, kbsim_memmodel.h): each of up to N
// workers runs blocks one after another, and a baton lets one of them run at a time.
void run_interleaved(const char* kernel_name, dim3 grid, dim3 block, std::size_t smem,
                     const std::function<void()>& body, const std::vector<uint3>& ids, std::string& error) {
  if (!access_hooks_compiled())
    throw Failure("kbsim: KBSIM_BLOCKS_IN_FLIGHT > 1 (the memory model between blocks) needs the access hooks of "
                  "the plain executor build (sim); this build has none");
  const unsigned slots = (unsigned)std::min<std::size_t>((std::size_t)options().blocks_in_flight, ids.size());
  if (slots == 0) return;
  BlockInterleaver il(slots, options().seed * 0xbf58476d1ce4e5b9ull + (unsigned long long)g_launches);
  std::size_t next = 0;  // the next block to start (taken by the baton holder)
  install_handlers();
  g_interleaver = &il;
  g_blocks_interleaved = true;
  g_in_block = true;
  std::vector<std::thread> workers;
  for (unsigned slot = 0; slot < slots; ++slot)
    workers.emplace_back([&, slot] {
      stack_t ss;  // signals raised by a fiber need a stack of their own
      std::vector<char> alt(1 << 16);
      ss.ss_sp = alt.data();
      ss.ss_size = alt.size();
      ss.ss_flags = 0;
      sigaltstack(&ss, nullptr);
      il.wait_turn(slot);
      while (!il.aborted() && next < ids.size()) {
        const std::size_t i = next++;
        Block b;
        b.kernel = kernel_name;
        b.body = &body;
        b.slot = slot;
        if (smem) {
          void* p = nullptr;
          if (posix_memalign(&p, 1024, smem)) std::abort();
          b.dyn = static_cast<unsigned char*>(p);
          b.dyn_size = smem;
          std::memset(b.dyn, 0xff, smem);
        }
        g_block = &b;
        g_block_thread = pthread_self();
        try {
          run_block(&b, grid, block, ids[i], il.rng());
        } catch (const std::exception& ex) {
          b.failed = true;
          b.error = ex.what();
        }
        g_block = nullptr;
        il.block_exit(slot);  // all its stores reach the other blocks
        std::free(b.dyn);
        if (b.failed) {
          if (error.empty()) error = b.error;
          il.abort();
        }
        il.switch_point(slot);
      }
      il.finish(slot);
      ss.ss_flags = SS_DISABLE;
      sigaltstack(&ss, nullptr);
    });
  il.start();
  il.wait_all();
  for (auto& w : workers) w.join();
  g_in_block = false;
  g_blocks_interleaved = false;
  g_interleaver = nullptr;
  remove_handlers();
}
}  // namespace

void launch(const char* kernel_name, const void* fn, dim3 grid, dim3 block, std::size_t smem,
            const std::function<void()>& body) {
  std::lock_guard<std::recursive_mutex> guard(g_launch_mu);
#ifdef KBSIM_ASAN
  __asan_set_error_report_callback(asan_report);
#endif
  std::string why;
  const cudaError_t e = check_config(fn, grid, block, smem, why);
  if (e != cudaSuccess) {
    g_last_error = e;
    g_last_why = std::string(e == cudaErrorInvalidValue ? "invalid argument" : "invalid configuration argument") +
                 " (kbsim: launch of " + kernel_name + ": " + why + ")";
    return;
  }
  ++g_launches;
  access_begin_launch(kernel_name, grid, block);
  std::mt19937_64 rng(options().seed * 0x9e3779b97f4a7c15ull + (unsigned long long)g_launches);
  std::string error;
  // Blocks one after another on a worker thread.  Under ThreadSanitizer each block gets a fresh
  // thread: TSan forgets what a finished thread did to its thread-local storage, where static
  // __shared__ memory lives, so one block's accesses are never compared with the next block's.
  std::vector<uint3> ids;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) ids.push_back(make_uint3(bx, by, bz));
  access_select_blocks(grid, ids);  // the counters may run a representative subset (kbsim_counters.h)
#ifdef KBSIM_TSAN
  const std::size_t per_thread = 1;
#else
  const std::size_t per_thread = ids.size();
#endif
  const bool serial = options().blocks_in_flight <= 1;
  if (!serial) run_interleaved(kernel_name, grid, block, smem, body, ids, error);
  for (std::size_t first = 0; serial && first < ids.size() && error.empty(); first += per_thread) {
    std::thread worker([&] {
      stack_t ss;  // signals raised by a fiber need a stack of their own
      std::vector<char> alt(1 << 16);
      ss.ss_sp = alt.data();
      ss.ss_size = alt.size();
      ss.ss_flags = 0;
      sigaltstack(&ss, nullptr);
      g_block_thread = pthread_self();
      install_handlers();
      for (std::size_t i = first; i < first + per_thread && i < ids.size() && error.empty(); ++i) {
        Block b;
        b.kernel = kernel_name;
        b.body = &body;
        if (smem) {
          void* p = nullptr;
          if (posix_memalign(&p, 1024, smem)) { error = "kbsim: out of memory for dynamic shared memory"; break; }
          b.dyn = static_cast<unsigned char*>(p);
          b.dyn_size = smem;
          std::memset(b.dyn, 0xff, smem);
        }
        g_block = &b;
        g_in_block = true;
        try {
          run_block(&b, grid, block, ids[i], rng);
        } catch (const std::exception& ex) {
          b.failed = true;
          b.error = ex.what();
        }
        g_in_block = false;
        g_block = nullptr;
        std::free(b.dyn);
        if (b.failed) error = b.error;
      }
      remove_handlers();
      ss.ss_flags = SS_DISABLE;
      sigaltstack(&ss, nullptr);
    });
    worker.join();
  }
  if (!error.empty()) {
    error += " [KBSIM_SEED=" + std::to_string(options().seed) + "]";
    throw Failure(error);
  }
}
}  // namespace kbsim

// ===================================================================== the CUDA runtime, simulated
// The subset the launchers, front doors and self-tests call.  Memory is host memory; streams and
// events are placeholders (everything runs at launch), and timing is refused: the executor's run
// time is never a performance figure.
using kbsim::g_last_error;
namespace {
std::mutex g_mem_mu;
std::map<void*, std::size_t> g_allocs;
cudaError_t set_error(cudaError_t e) {
  if (e != cudaSuccess) g_last_error = e;
  return e;
}
}  // namespace

extern "C" {
cudaError_t cudaMalloc(void** p, size_t n) {
  void* q = nullptr;
  if (posix_memalign(&q, 256, n ? n : 1)) return set_error(cudaErrorMemoryAllocation);
  std::memset(q, 0xff, n);  // fresh device memory holds garbage: NaN for floats
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
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = 232448; return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock: *v = 48 * 1024; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerBlock: *v = 1024; return cudaSuccess;
    case cudaDevAttrWarpSize: *v = 32; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor: *v = 9; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *v = 0; return cudaSuccess;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *v = 2048; return cudaSuccess;
    case cudaDevAttrL2CacheSize: *v = 50 * 1024 * 1024; return cudaSuccess;
    default: *v = 0; return set_error(cudaErrorInvalidValue);
  }
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "kbsim (CPU SIMT executor, no timing)");
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = kbsim::options().sms;
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = 232448;
  p->sharedMemPerMultiprocessor = 233472;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsPerMultiProcessor = 2048;
  p->warpSize = 32;
  p->regsPerBlock = 65536;
  p->totalGlobalMem = (size_t)1 << 34;
  p->l2CacheSize = 50 * 1024 * 1024;
  p->maxGridSize[0] = 0x7fffffff; p->maxGridSize[1] = 65535; p->maxGridSize[2] = 65535;
  p->maxThreadsDim[0] = 1024; p->maxThreadsDim[1] = 1024; p->maxThreadsDim[2] = 64;
  return cudaSuccess;
}
cudaError_t cudaFuncSetAttribute(const void* fn, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || (size_t)value > kbsim::kOptinSmemLimitPublic) return set_error(cudaErrorInvalidValue);
    std::lock_guard<std::recursive_mutex> g(kbsim::launch_mutex());
    kbsim::set_optin(fn, value);
  }
  return cudaSuccess;
}
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* n, const void*, int threads, size_t smem) {
  if (threads <= 0) return set_error(cudaErrorInvalidValue);
  int by_threads = 2048 / threads, by_smem = smem ? (int)(233472 / smem) : 32;
  *n = std::max(0, std::min(std::min(by_threads, by_smem), 32));
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
  *f = nullptr;
  if (name && std::strcmp(name, "cuTensorMapEncodeTiled") == 0) *f = reinterpret_cast<void*>(&kbsim::hopper::encode_tiled);
  if (r) *r = *f ? cudaDriverEntryPointSuccess : cudaDriverEntryPointSymbolNotFound;
  return cudaSuccess;
}
cudaError_t cudaGetDriverEntryPointByVersion(const char* name, void** f, unsigned int, unsigned long long flags,
                                             cudaDriverEntryPointQueryResult* r) {
  (void)flags;
  *f = nullptr;
  if (name && std::strcmp(name, "cuTensorMapEncodeTiled") == 0) *f = reinterpret_cast<void*>(&kbsim::hopper::encode_tiled);
  if (r) *r = *f ? cudaDriverEntryPointSuccess : cudaDriverEntryPointSymbolNotFound;
  return cudaSuccess;
}
}  // extern "C"
