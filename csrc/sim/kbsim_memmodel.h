// kbsim_memmodel.h: the memory model between blocks (Options::blocks_in_flight > 1, docs/sim.md).
// Up to N blocks of a launch are in flight, each on a worker thread of its own (so each has its own
// static __shared__ memory); a baton says which one runs, so kernel code still runs one thread at a
// time.  At each switch point -- a block barrier released, an atomic, a __threadfence, a block's
// exit -- the baton goes to a seeded random block in flight (possibly the same one).
// A block's global stores stay private to it until they are committed: by a __threadfence of the
// storing thread (with the block's stores made before the last __syncthreads: the fence is
// cumulative over what the thread has observed), by the block's exit, or early, at random, when the
// block is switched away from.  While another block runs, the uncommitted stores are hidden: the old
// bytes are put back and the new ones kept aside, to be put back when the block runs again.  So a
// load of another block's unfenced store sees the old value, and stores to different addresses
// become visible in a random order.  Atomics act on memory at once (they are never held back).
// Stores are seen through the per-access hooks (kbsim_access.h): only the plain `sim` build has them.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

namespace kbsim {

class BlockInterleaver {
 public:
  BlockInterleaver(unsigned slots, unsigned long long seed);
  ~BlockInterleaver();
  BlockInterleaver(const BlockInterleaver&) = delete;
  BlockInterleaver& operator=(const BlockInterleaver&) = delete;

  // ---- the baton (each slot is one worker thread running one block after another) -------------
  void start();                      // launch thread: the baton goes to a random slot
  void wait_turn(unsigned slot);     // worker: returns when the baton is at `slot`
  // The running slot: maybe pass the baton on; returns when it is back.
  void switch_point(unsigned slot, bool after_atomic = false);
  void finish(unsigned slot);        // worker: no more blocks for this slot; the baton passes on for good
  void wait_all();                   // launch thread: returns when every slot has finished
  void abort() { aborted_ = true; }  // a block failed: every other block stops at its next switch point
  bool aborted() const { return aborted_; }
  std::mt19937_64& rng() { return rng_; }  // used by the baton holder only: runs are reproducible

  // ---- stores of the block that holds the baton ---------------------------------------------------
  void store(const void* addr, unsigned bytes, const void* site);  // called before the store happens
  // A load of bytes another block in flight has stored and not published: the first one of a launch
  // is reported on stderr (it reads the old value; the wrong result it may cause is the check).
  void load(const void* addr, unsigned bytes, const void* site);
  void barrier(unsigned slot);                 // a __syncthreads of the block completed
  void fence(unsigned slot, unsigned thread);  // __threadfence by `thread` (linear id in its block)
  void block_exit(unsigned slot);              // every store of the block becomes visible
  void atomic_begin(const void* addr) { atomic_ = addr; }  // its access is not a store to hold back
  void atomic_done() { atomic_ = nullptr; }
  unsigned long long switches() const { return switches_; }
  unsigned long long stores_hidden() const { return hidden_; }

 private:
  struct Store {
    std::uintptr_t addr;
    unsigned bytes, thread, epoch;
    bool committed;
    const void* site;
    unsigned block[3];
    unsigned char before[16], after[16];
  };
  struct Slot {
    std::vector<Store> pending;                      // in program order (of the block)
    std::unordered_map<std::uintptr_t, std::size_t> at;  // address -> its latest entry in pending
    unsigned epoch = 0;                              // block barriers completed
    unsigned atomics = 0;                            // atomics made by the block
    bool live = true;
    bool parked = false;  // made an atomic: runs again only when every live block is parked
  };
  template <class Pick> void commit(Slot& s, Pick pick);
  void hide(Slot& s);
  void reveal(Slot& s);
  int pick_next();  // a random live slot, or kAllFinished
  static constexpr int kAllFinished = -2;

  std::vector<Slot> slots_;
  std::mt19937_64 rng_;
  std::mutex mu_;
  std::condition_variable cv_;
  int turn_ = -1;  // the slot holding the baton; -1: nobody yet
  bool aborted_ = false;
  int observer_ = -1, event_observer_ = -1;
  const void* atomic_ = nullptr;
  bool stale_read_reported_ = false;
  unsigned long long switches_ = 0, hidden_ = 0;
};

// Non-null while an interleaved launch runs (kbsim_launch.cpp sets it).
extern BlockInterleaver* g_interleaver;
}  // namespace kbsim
