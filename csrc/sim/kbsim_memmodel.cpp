// kbsim_memmodel.cpp: the memory model between blocks (kbsim_memmodel.h, docs/sim.md).
#include "kbsim_memmodel.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_set>

#include "kbsim_internal.h"  // kbsim.h without the CUDA built-in names

namespace kbsim {
BlockInterleaver* g_interleaver = nullptr;

namespace {
// A switched-away block publishes each of its uncommitted stores with this probability first
// (stores to different addresses become visible out of program order).
constexpr double kEarlyCommit = 0.125;

// Bytes move through volatile pointers: the executor's own copies are never an access of a kernel.
void copy_bytes(void* d, const void* s, std::size_t n) {
  volatile unsigned char* dd = static_cast<volatile unsigned char*>(d);
  const volatile unsigned char* ss = static_cast<const volatile unsigned char*>(s);
  for (std::size_t i = 0; i < n; ++i) dd[i] = ss[i];
}

unsigned linear_thread() {
  const ThreadCtx* c = g_ctx;
  return c->thread_idx.x + c->block_dim.x * (c->thread_idx.y + c->block_dim.y * c->thread_idx.z);
}

void on_access(const Access& a, void* user) {
  if (a.space != Space::Global) return;  // shared memory is the block's own
  auto* il = static_cast<BlockInterleaver*>(user);
  const unsigned char* p = static_cast<const unsigned char*>(a.addr);
  for (unsigned done = 0; done < a.bytes; done += 16) {  // wider copies: 16-byte pieces
    if (a.store) il->store(p + done, std::min(16u, a.bytes - done), a.site);
    else il->load(p + done, std::min(16u, a.bytes - done), a.site);
  }
}

std::string block_str(const unsigned* b) {
  return "block (" + std::to_string(b[0]) + "," + std::to_string(b[1]) + "," + std::to_string(b[2]) + ")";
}

void on_event(const EventInfo& e, void* user) {
  if (e.kind == Event::Atomic) static_cast<BlockInterleaver*>(user)->atomic_begin(e.addr);
}
}  // namespace

BlockInterleaver::BlockInterleaver(unsigned slots, unsigned long long seed)
    : slots_(slots), rng_(seed) {
  observer_ = add_access_observer(on_access, this);
  event_observer_ = add_event_observer(on_event, this);
}

BlockInterleaver::~BlockInterleaver() {
  remove_access_observer(observer_);
  remove_event_observer(event_observer_);
}

// ---------------------------------------------------------------- the baton
void BlockInterleaver::start() {
  std::lock_guard<std::mutex> g(mu_);
  turn_ = (int)(rng_() % slots_.size());
  cv_.notify_all();
}

void BlockInterleaver::wait_turn(unsigned slot) {
  std::unique_lock<std::mutex> g(mu_);
  cv_.wait(g, [&] { return turn_ == (int)slot; });
}

// A random live block that is not parked; when every one is parked, a random parked one, unparked.
int BlockInterleaver::pick_next() {
  std::vector<unsigned> live, awake;
  for (unsigned i = 0; i < slots_.size(); ++i)
    if (slots_[i].live) {
      live.push_back(i);
      if (!slots_[i].parked) awake.push_back(i);
    }
  if (live.empty()) return kAllFinished;
  if (!awake.empty()) return (int)awake[rng_() % awake.size()];
  const unsigned next = live[rng_() % live.size()];
  slots_[next].parked = false;
  return (int)next;
}

void BlockInterleaver::switch_point(unsigned slot, bool after_atomic) {
  // A block that has just made an atomic waits while the others run: the longest window in which
  // its unpublished stores can be missed by a block that reacts to the atomic (the last block).
  // Its k-th atomic is a switch point with probability 1/k (a block of atomics stays affordable).
  if (after_atomic) {
    Slot& s = slots_[slot];
    if (std::uniform_int_distribution<unsigned>(0, s.atomics++)(rng_) != 0) return;
    s.parked = true;
  }
  const int next = pick_next();
  if (next == (int)slot) return;
  ++switches_;
  // Switched away: publish a random few of the block's stores, hide the rest, then pass the baton.
  Slot& s = slots_[slot];
  std::bernoulli_distribution early(kEarlyCommit);
  commit(s, [&](const Store&) { return early(rng_); });
  hide(s);
  {
    std::unique_lock<std::mutex> g(mu_);
    turn_ = next;
    cv_.notify_all();
    cv_.wait(g, [&] { return turn_ == (int)slot; });
  }
  reveal(s);
}

void BlockInterleaver::finish(unsigned slot) {
  slots_[slot].live = false;
  const int next = pick_next();
  std::lock_guard<std::mutex> g(mu_);
  turn_ = next;
  cv_.notify_all();
}

void BlockInterleaver::wait_all() {
  std::unique_lock<std::mutex> g(mu_);
  cv_.wait(g, [&] { return turn_ == kAllFinished; });
}

// ---------------------------------------------------------------- stores
void BlockInterleaver::store(const void* addr, unsigned bytes, const void* site) {
  if (addr == atomic_) return;  // the atomic's own access: atomics act on memory at once
  const unsigned thread = linear_thread();
  Slot& s = slots_[turn_];
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  auto it = s.at.find(a);
  if (it != s.at.end()) {
    Store& e = s.pending[it->second];
    if (!e.committed && e.bytes == bytes) {  // the same word again: it keeps its first old value
      e.thread = thread;
      e.epoch = s.epoch;
      e.site = site;
      return;
    }
  }
  Store e;
  e.addr = a;
  e.bytes = bytes;
  e.thread = thread;
  e.epoch = s.epoch;
  e.committed = false;
  e.site = site;
  e.block[0] = g_ctx->block_idx.x;
  e.block[1] = g_ctx->block_idx.y;
  e.block[2] = g_ctx->block_idx.z;
  copy_bytes(e.before, addr, bytes);
  s.at[a] = s.pending.size();
  s.pending.push_back(e);
}

void BlockInterleaver::load(const void* addr, unsigned bytes, const void* site) {
  if (stale_read_reported_) return;
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  for (unsigned i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if ((int)i == turn_ || s.pending.empty()) continue;
    for (std::uintptr_t p = a & ~std::uintptr_t(1); p < a + bytes; p += 2) {  // stores start 2-byte aligned
      const auto it = s.at.find(p);
      if (it == s.at.end() || s.pending[it->second].committed) continue;
      const Store& e = s.pending[it->second];
      const ThreadCtx* c = g_ctx;
      const unsigned me[3] = {c->block_idx.x, c->block_idx.y, c->block_idx.z};
      std::fprintf(stderr,
                   "kbsim: memory model between blocks: %s thread %u reads %u bytes at %p (%s) that %s thread %u "
                   "stored (%s) and has not published (no __threadfence by that thread since, and its block has "
                   "not exited): the read sees the old value [KBSIM_SEED=%llu, KBSIM_BLOCKS_IN_FLIGHT=%d]\n",
                   block_str(me).c_str(), linear_thread(), bytes, addr, describe_site(site).c_str(),
                   block_str(e.block).c_str(), e.thread, describe_site(e.site).c_str(), options().seed,
                   options().blocks_in_flight);
      stale_read_reported_ = true;
      return;
    }
  }
}

// Commit the stores pick() chooses, and every earlier store that overlaps one of them (a later
// store to a byte overwrites the earlier ones: publishing it publishes them).  Overlap is judged by
// 16-byte chunks, which errs towards publishing.
template <class Pick> void BlockInterleaver::commit(Slot& s, Pick pick) {
  std::unordered_set<std::uintptr_t> chunks;
  bool any = false;
  for (std::size_t i = s.pending.size(); i-- > 0;) {
    Store& e = s.pending[i];
    if (e.committed) continue;
    const std::uintptr_t c0 = e.addr / 16, c1 = (e.addr + e.bytes - 1) / 16;
    bool take = pick(e);
    if (!take && !chunks.empty()) take = chunks.count(c0) || chunks.count(c1);
    if (!take) continue;
    e.committed = true;
    any = true;
    chunks.insert(c0);
    chunks.insert(c1);
  }
  if (!any) return;
  std::vector<Store> keep;
  keep.reserve(s.pending.size());
  s.at.clear();
  for (Store& e : s.pending)
    if (!e.committed) {
      s.at[e.addr] = keep.size();
      keep.push_back(e);
    }
  s.pending.swap(keep);
}

void BlockInterleaver::hide(Slot& s) {
  for (std::size_t i = s.pending.size(); i-- > 0;) {  // newest first: memory ends at the oldest values
    Store& e = s.pending[i];
    copy_bytes(e.after, reinterpret_cast<void*>(e.addr), e.bytes);
    copy_bytes(reinterpret_cast<void*>(e.addr), e.before, e.bytes);
  }
  hidden_ += s.pending.size();
}

void BlockInterleaver::reveal(Slot& s) {
  for (Store& e : s.pending) copy_bytes(reinterpret_cast<void*>(e.addr), e.after, e.bytes);
}

void BlockInterleaver::barrier(unsigned slot) { ++slots_[slot].epoch; }

void BlockInterleaver::fence(unsigned slot, unsigned thread) {
  Slot& s = slots_[slot];
  const unsigned epoch = s.epoch;
  commit(s, [&](const Store& e) { return e.thread == thread || e.epoch < epoch; });
}

void BlockInterleaver::block_exit(unsigned slot) {
  Slot& s = slots_[slot];
  s.pending.clear();
  s.at.clear();
  s.epoch = 0;
  s.atomics = 0;
  s.parked = false;
}
}  // namespace kbsim
