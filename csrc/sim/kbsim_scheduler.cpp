// kbsim_scheduler.cpp: one block, start to end.  Its threads are fibers (kbsim_fiber.cpp) that run
// until a synchronisation point: __syncthreads, a warp collective (kbsim_collectives.cpp), a wait on
// a condition (mbarrier, wgmma: kbsim_hopper.cpp), or their end.  When no fiber can run, the
// scheduler completes the collectives whose lanes have all arrived and the block barrier once every
// live thread waits at it, and reports everything else as a deadlock or a divergence.  Runnable
// fibers are picked in a seeded random order (KBSIM_SEED), so results that depend on the order of
// threads between barriers show up as wrong answers, and under ThreadSanitizer as data races: each
// fiber is a TSan fiber, and only the barriers and collectives create happens-before edges.  Under
// the memory model between blocks (kbsim_memmodel.h) a block may also be switched for another at
// its barriers, atomics, fences and exit.
#include "kbsim_internal.h"
#include "kbsim_memmodel.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace kbsim {
namespace internal {
namespace {
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

// Everything blocked: complete what can complete, else diagnose.  Returns false when stuck.
bool resolve(Block* b) {
  if (complete_collectives(b)) return true;
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
      t.vote_result = t.vote_kind == BarrierVote::Count ? count : t.vote_kind == BarrierVote::And ? all : any;
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
}  // namespace

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
  for (auto& t : b->threads) give_stack(t.stack);
}
}  // namespace internal

// ---------------------------------------------------------------- the built-ins (kbsim.h)
using namespace internal;

void syncthreads(const char* file, int line) { (void)syncthreads_vote(BarrierVote::None, 0, file, line); }

int syncthreads_vote(BarrierVote kind, int pred, const char* file, int line) {
  Block* b = g_block;
  SimThread* t = me();
  Barrier* bar = &b->barriers[b->barrier_gen & 1];
  notify_event_at(Event::Barrier, file, line, nullptr, nullptr, 0);
  t->pred = pred;
  t->vote_kind = kind;
  park(t, St::Barrier, file, line, &bar->sync);
  return t->vote_result;
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
}  // namespace exec
}  // namespace kbsim
