// kbsim_async.cpp: cp.async (sm_80's asynchronous copies into shared memory).  A copy is recorded in
// its thread's open group; commit_group closes the group; wait_group N completes every group but the
// newest N.  Adversarially, each copy's data lands at a seeded random moment between its issue and
// that wait, and under AddressSanitizer its destination stays poisoned until the wait.  (TMA copies,
// sm_90's, are kbsim_hopper.cpp's.)
#include "kbsim_internal.h"

namespace kbsim {
namespace internal {
namespace {
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
}  // namespace

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
}  // namespace internal

// ---------------------------------------------------------------- the built-ins (kbsim.h)
using namespace internal;

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
}  // namespace kbsim
