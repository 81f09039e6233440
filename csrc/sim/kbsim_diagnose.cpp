// kbsim_diagnose.cpp: how a launch fails -- the text of a diagnosis (kernel, block, threads, call
// sites), ending the failing thread's fiber, the deadlock report of every thread's wait, and faults
// (misaligned vector access, illegal address) and AddressSanitizer reports turned into diagnoses.
#include "kbsim_internal.h"

#include <signal.h>

#include <cstring>
#include <map>

namespace kbsim {
namespace internal {
std::string Block::where(const SimThread& t) const {
  std::ostringstream o;
  o << "kernel " << kernel << ", block (" << t.ctx.block_idx.x << "," << t.ctx.block_idx.y << "," << t.ctx.block_idx.z
    << "), thread (" << t.ctx.thread_idx.x << "," << t.ctx.thread_idx.y << "," << t.ctx.thread_idx.z << ")";
  return o.str();
}

namespace {
std::string short_file(const char* f) {
  std::string s = f ? f : "?";
  const auto p = s.rfind("csrc/");
  if (p != std::string::npos) return s.substr(p);
  const auto q = s.rfind('/');
  return q == std::string::npos ? s : s.substr(q + 1);
}
}  // namespace

std::string site(const char* what, const char* file, int line) {
  std::ostringstream o;
  o << what << " (" << short_file(file) << ":" << line << ")";
  return o.str();
}

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
      o << site(t.coll->kind == CollKind::Gather ? t.coll->what : coll_name(t.coll->kind, t.coll->sub), t.file, t.line)
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

// ---------------------------------------------------------------- faults -> diagnoses
namespace {
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
}  // namespace

void install_fault_handlers() {
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
void remove_fault_handlers() {
  if (!g_handlers) return;
  sigaction(SIGILL, &g_old_ill, nullptr);
  sigaction(SIGBUS, &g_old_bus, nullptr);
#ifndef KBSIM_ASAN
  sigaction(SIGSEGV, &g_old_segv, nullptr);
#endif
  g_handlers = false;
}

// Signals raised by a fiber need a stack of their own.
SignalStack::SignalStack() : mem(1 << 16) {
  stack_t ss;
  ss.ss_sp = mem.data();
  ss.ss_size = mem.size();
  ss.ss_flags = 0;
  sigaltstack(&ss, nullptr);
}
SignalStack::~SignalStack() {
  stack_t ss;
  ss.ss_sp = mem.data();
  ss.ss_size = mem.size();
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, nullptr);
}

#ifdef KBSIM_ASAN
namespace {
// The only memory the executor poisons by hand is an asynchronous copy's destination in flight
// (cp.async, TMA) and a wgmma's accumulators: name it.
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
void install_asan_report() { __asan_set_error_report_callback(asan_report); }
#else
void install_asan_report() {}
#endif
}  // namespace internal

// For the access hooks' observers (kbsim_access.h) and kbsim_hopper.cpp.
void fail_current_thread(const std::string& msg) {
  internal::fail_now(internal::me(), msg);
}
namespace exec {
void fail(const std::string& msg) { internal::fail_now(internal::me(), msg); }
std::string site(const char* what, const char* file, int line) { return internal::site(what, file, line); }
}  // namespace exec
}  // namespace kbsim
