// kbsim_access.cpp: the per-access hook layer (kbsim_access.h).  This file is never compiled with
// the hooks' own instrumentation (it would call itself).  GCC's -fsanitize=thread turns every
// load/store of an instrumented object into a call of __tsan_{read,write}N(addr) before the access;
// those are defined at the end of this file, without the ThreadSanitizer runtime.
#include "kbsim_access.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <sstream>

#include "kbsim_internal.h"  // kbsim.h without the CUDA built-in names

namespace kbsim {
namespace {
constexpr int kMaxObservers = 16;
struct Slot {
  AccessObserver fn = nullptr;
  void* user = nullptr;
  unsigned spaces = ~0u;  // bit (1 << Space) per space the observer wants
};
Slot g_obs[kMaxObservers];
int g_nobs = 0;  // highest used slot + 1; 0: the hooks return at once
unsigned g_spaces_wanted = 0;  // union of the observers' spaces
bool g_report_local = false;
bool g_suppress = false;
Slot g_ev[kMaxObservers];
int g_nev = 0;

// The running fiber's memory (set by the executor before each switch to a fiber; no thread_local:
// the executor poisons the module's thread-local storage, where static __shared__ memory lives).
std::uintptr_t g_stack_lo = 0, g_stack_size = 0, g_dyn_lo = 0, g_dyn_size = 0, g_tls_lo = 0, g_tls_size = 0;
// Each worker thread's copy of the module's thread-local storage (static __shared__ memory).  A
// launch's worker threads are new, but may get a finished thread's pthread_t: forgotten per launch.
struct TlsOf {
  pthread_t thread;
  std::uintptr_t lo, size;
};
TlsOf g_tls_cache[8];
thread_local char g_tls_touch;  // one byte in the module's TLS block (poisoned with the shared memory)
unsigned g_tls_n = 0;
bool g_in_fiber = false;

// The module's writable static storage (.data, .bss): the executor's own globals (g_ctx, switches
// that inline code of kbsim.h reads).  Kernels of this project have no __device__ variables there.
std::uintptr_t g_data_lo = 0, g_data_size = 0;
int data_cb(dl_phdr_info* info, std::size_t, void*) {
  const auto anchor = reinterpret_cast<ElfW(Addr)>(&g_data_lo);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const ElfW(Addr) lo = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W) && anchor >= lo && anchor < lo + ph.p_memsz) {
      g_data_lo = lo;
      g_data_size = ph.p_memsz;
      return 1;
    }
  }
  return 0;
}

int tls_cb(dl_phdr_info* info, std::size_t, void* arg) {
  auto* out = static_cast<std::pair<std::uintptr_t, std::uintptr_t>*>(arg);
  const auto anchor = reinterpret_cast<ElfW(Addr)>(&tls_cb);
  bool mine = false;
  std::size_t tls = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && anchor >= info->dlpi_addr + ph.p_vaddr && anchor < info->dlpi_addr + ph.p_vaddr + ph.p_memsz)
      mine = true;
    if (ph.p_type == PT_TLS) tls = ph.p_memsz;
  }
  if (!mine) return 0;
  out->first = reinterpret_cast<std::uintptr_t>(info->dlpi_tls_data);
  out->second = tls;
  return 1;
}

// Not the kernel's memory: the executor's own state the built-ins read (its static storage and the running
// thread's ThreadCtx: threadIdx...) and the launching thread's stack, where the launch's closure
// keeps the kernel arguments (a GPU reads them from the parameter bank, not global memory).
std::uintptr_t g_param_lo = 0, g_param_size = 0;
inline bool executor_state(std::uintptr_t a) {
  return a - g_data_lo < g_data_size || a - reinterpret_cast<std::uintptr_t>(g_ctx) < sizeof(ThreadCtx) ||
         a - g_param_lo < g_param_size;
}

inline Space classify(std::uintptr_t a) {
  if (a - g_stack_lo < g_stack_size) return Space::Local;
  if (a - g_dyn_lo < g_dyn_size || a - g_tls_lo < g_tls_size) return Space::Shared;
  return Space::Global;
}

// The address of the atomic being made: the builtin's own instrumented load/CAS/RMW of it is part
// of the atomic (reported once as Event::Atomic), not a plain access.
std::uintptr_t g_atomic_addr = 0;

inline void hit(std::uintptr_t a, unsigned bytes, bool store, const void* site) {
  if (!g_nobs || !g_in_fiber || g_suppress) return;
  if (g_atomic_addr) {
    if (a == g_atomic_addr) return;
    g_atomic_addr = 0;
  }
  const Space sp = classify(a);
  const unsigned bit = 1u << (unsigned)sp;
  if (!(g_spaces_wanted & bit) || (sp == Space::Local && !g_report_local) || (sp == Space::Global && executor_state(a)))
    return;
  const Access acc{reinterpret_cast<const void*>(a), bytes, store, site, sp};
  g_suppress = true;  // an observer compiled with the hooks must not report its own accesses
  for (int i = 0; i < g_nobs; ++i)
    if (g_obs[i].fn && (g_obs[i].spaces & bit)) g_obs[i].fn(acc, g_obs[i].user);
  g_suppress = false;
}
}  // namespace

int add_access_observer(AccessObserver fn, void* user) { return add_access_observer(fn, user, ~0u); }
int add_access_observer(AccessObserver fn, void* user, unsigned spaces) {
  std::lock_guard<std::recursive_mutex> g(launch_mutex());
  for (int i = 0; i < kMaxObservers; ++i)
    if (!g_obs[i].fn) {
      g_obs[i] = Slot{fn, user, spaces};
      if (i + 1 > g_nobs) g_nobs = i + 1;
      g_spaces_wanted |= spaces;
      return i;
    }
  throw Failure("kbsim: more than 16 access observers");
}

void remove_access_observer(int id) {
  std::lock_guard<std::recursive_mutex> g(launch_mutex());
  if (id < 0 || id >= kMaxObservers) return;
  g_obs[id] = Slot{};
  while (g_nobs && !g_obs[g_nobs - 1].fn) --g_nobs;
  g_spaces_wanted = 0;
  for (int i = 0; i < g_nobs; ++i)
    if (g_obs[i].fn) g_spaces_wanted |= g_obs[i].spaces;
}

void set_report_local(bool on) { g_report_local = on; }
void access_suppress(bool on) { g_suppress = on; }

int add_event_observer(EventObserver fn, void* user) {
  std::lock_guard<std::recursive_mutex> g(launch_mutex());
  for (int i = 0; i < kMaxObservers; ++i)
    if (!g_ev[i].fn) {
      g_ev[i] = Slot{reinterpret_cast<AccessObserver>(fn), user};
      if (i + 1 > g_nev) g_nev = i + 1;
      return i;
    }
  throw Failure("kbsim: more than 16 event observers");
}
void remove_event_observer(int id) {
  std::lock_guard<std::recursive_mutex> g(launch_mutex());
  if (id < 0 || id >= kMaxObservers) return;
  g_ev[id] = Slot{};
  while (g_nev && !g_ev[g_nev - 1].fn) --g_nev;
}
void notify_event_at(Event kind, const char* file, int line, const void* addr, const void* src, unsigned bytes) {
  if (!g_nev || !g_in_fiber) return;
  const auto key = reinterpret_cast<std::uintptr_t>(file) ^ (static_cast<std::uintptr_t>(line) << 44) ^
                   (static_cast<std::uintptr_t>(kind) << 60);
  notify_event(EventInfo{kind, file, line, addr, src, bytes, reinterpret_cast<const void*>(key)});
}
void note_atomic(const void* p, unsigned bytes, const char* file, int line) {
  g_atomic_addr = reinterpret_cast<std::uintptr_t>(p);
  notify_event_at(Event::Atomic, file, line, p, nullptr, bytes);
}
bool events_wanted() { return g_nev > 0 && g_in_fiber; }
void notify_event(const EventInfo& e) {
  if (!g_nev || !g_in_fiber) return;
  const bool was = g_suppress;
  g_suppress = true;
  for (int i = 0; i < g_nev; ++i)
    if (g_ev[i].fn) reinterpret_cast<EventObserver>(g_ev[i].fn)(e, g_ev[i].user);
  g_suppress = was;
}

bool access_hooks_compiled() {
#ifdef KBSIM_ACCESS_HOOKS
  return true;
#else
  return false;
#endif
}

void access_enter_fiber(const void* stack_lo, std::size_t stack_size, const void* dyn, std::size_t dyn_size) {
  g_stack_lo = reinterpret_cast<std::uintptr_t>(stack_lo);
  g_stack_size = stack_size;
  g_dyn_lo = reinterpret_cast<std::uintptr_t>(dyn);
  g_dyn_size = dyn ? dyn_size : 0;
  const pthread_t self = pthread_self();
  unsigned i = 0;
  while (i < g_tls_n && !pthread_equal(g_tls_cache[i].thread, self)) ++i;
  if (i < g_tls_n) {
    g_tls_lo = g_tls_cache[i].lo;
    g_tls_size = g_tls_cache[i].size;
  } else {
    (void)*static_cast<volatile char*>(&g_tls_touch);  // makes this thread's block of a dlopen'ed module exist
    std::pair<std::uintptr_t, std::uintptr_t> r{0, 0};
    dl_iterate_phdr(tls_cb, &r);
    g_tls_lo = r.first;
    g_tls_size = r.first ? r.second : 0;
    if (r.first) g_tls_cache[g_tls_n++ & 7] = TlsOf{self, g_tls_lo, g_tls_size};
    if (g_tls_n > 8) g_tls_n = 8;
  }
  g_atomic_addr = 0;
  g_suppress = false;  // an observer that failed its thread never returned to clear it
  g_in_fiber = true;
}

void access_leave_fiber() { g_in_fiber = false; }

LaunchObserver g_launch_obs = nullptr;
void* g_launch_user = nullptr;
BlockSelector g_selector = nullptr;
void* g_selector_user = nullptr;
void set_launch_observer(LaunchObserver fn, void* user) { g_launch_obs = fn; g_launch_user = user; }
void set_block_selector(BlockSelector fn, void* user) { g_selector = fn; g_selector_user = user; }
void access_select_blocks(dim3 grid, std::vector<uint3>& ids) {
  if (g_selector) g_selector(grid, ids, g_selector_user);
}

void access_begin_launch(const char* kernel, dim3 grid, dim3 block) {
  g_tls_n = 0;
  if (!g_data_size) dl_iterate_phdr(data_cb, nullptr);
  if (g_launch_obs) g_launch_obs(kernel, grid, block, g_launch_user);
  pthread_attr_t attr;
  void* lo = nullptr;
  std::size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &lo, &size);
    pthread_attr_destroy(&attr);
  }
  g_param_lo = reinterpret_cast<std::uintptr_t>(lo);
  g_param_size = size;
}

std::string describe_site(const void* site) {
  static std::mutex mu;
  static std::map<const void*, std::string> cache;
  std::lock_guard<std::mutex> g(mu);
  auto it = cache.find(site);
  if (it != cache.end()) return it->second;
  std::string out;
  Dl_info info;
  // The site is a return address: the access is the call just before it.
  const auto pc = reinterpret_cast<std::uintptr_t>(site) - 1;
  if (dladdr(reinterpret_cast<const void*>(pc), &info) && info.dli_fname) {
    char cmd[4096];
    std::snprintf(cmd, sizeof cmd, "addr2line -e '%s' 0x%lx 2>/dev/null", info.dli_fname,
                  (unsigned long)(pc - reinterpret_cast<std::uintptr_t>(info.dli_fbase)));
    if (FILE* p = popen(cmd, "r")) {
      char line[4096];
      if (std::fgets(line, sizeof line, p)) {
        std::string s(line);
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        const auto disc = s.find(" (discriminator");
        if (disc != std::string::npos) s.erase(disc);
        const auto c = s.rfind("csrc/");
        if (c != std::string::npos) s = s.substr(c);
        if (!s.empty() && s[0] != '?') out = s;
      }
      pclose(p);
    }
    if (out.empty() && info.dli_sname) {
      std::ostringstream o;
      o << info.dli_sname << "+0x" << std::hex << (pc - reinterpret_cast<std::uintptr_t>(info.dli_saddr));
      out = o.str();
    }
  }
  if (out.empty()) {
    std::ostringstream o;
    o << site;
    out = o.str();
  }
  return cache.emplace(site, out).first->second;
}
}  // namespace kbsim

// The entry points of GCC's ThreadSanitizer instrumentation (-fsanitize=thread, no TSan runtime):
// every load and store calls __tsan_{read,write}N before it happens -- each one, a read-modify-write
// as a read and a write, thread-local (static __shared__) accesses at constant offsets included --
// and every atomic builtin calls __tsan_atomicN_<op>, done here with the same builtin.  Not in the
// ThreadSanitizer build, whose runtime owns these names.
#if !defined(__SANITIZE_THREAD__) && !defined(KBSIM_TSAN_RUNTIME)
extern "C" {
#define KBSIM_HOOK(n)                                                                                             \
  void __tsan_read##n(void* a) { kbsim::hit(reinterpret_cast<std::uintptr_t>(a), n, false, __builtin_return_address(0)); } \
  void __tsan_write##n(void* a) { kbsim::hit(reinterpret_cast<std::uintptr_t>(a), n, true, __builtin_return_address(0)); } \
  void __tsan_unaligned_read##n(void* a) {                                                                        \
    kbsim::hit(reinterpret_cast<std::uintptr_t>(a), n, false, __builtin_return_address(0));                       \
  }                                                                                                               \
  void __tsan_unaligned_write##n(void* a) {                                                                       \
    kbsim::hit(reinterpret_cast<std::uintptr_t>(a), n, true, __builtin_return_address(0));                        \
  }
KBSIM_HOOK(1)
KBSIM_HOOK(2)
KBSIM_HOOK(4)
KBSIM_HOOK(8)
KBSIM_HOOK(16)
#undef KBSIM_HOOK
void __tsan_read_range(void* a, unsigned long n) {
  kbsim::hit(reinterpret_cast<std::uintptr_t>(a), (unsigned)n, false, __builtin_return_address(0));
}
void __tsan_write_range(void* a, unsigned long n) {
  kbsim::hit(reinterpret_cast<std::uintptr_t>(a), (unsigned)n, true, __builtin_return_address(0));
}
void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}
void __tsan_atomic_thread_fence(int mo) { __atomic_thread_fence(mo); }
void __tsan_atomic_signal_fence(int mo) { __atomic_signal_fence(mo); }

// Atomics (memory orders: TSan's numbering is the builtins' __ATOMIC_*; plain RMWs take seq_cst).
#define KBSIM_ATOMIC(n, T)                                                                                  \
  T __tsan_atomic##n##_load(const volatile T* a, int) { return __atomic_load_n(a, __ATOMIC_SEQ_CST); }      \
  void __tsan_atomic##n##_store(volatile T* a, T v, int) { __atomic_store_n(a, v, __ATOMIC_SEQ_CST); }     \
  T __tsan_atomic##n##_exchange(volatile T* a, T v, int) { return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##n##_fetch_add(volatile T* a, T v, int) { return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##n##_fetch_sub(volatile T* a, T v, int) { return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##n##_fetch_and(volatile T* a, T v, int) { return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##n##_fetch_or(volatile T* a, T v, int) { return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST); }   \
  T __tsan_atomic##n##_fetch_xor(volatile T* a, T v, int) { return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST); } \
  T __tsan_atomic##n##_fetch_nand(volatile T* a, T v, int) { return __atomic_fetch_nand(a, v, __ATOMIC_SEQ_CST); } \
  int __tsan_atomic##n##_compare_exchange_strong(volatile T* a, T* c, T v, int, int) {                     \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                \
  }                                                                                                         \
  int __tsan_atomic##n##_compare_exchange_weak(volatile T* a, T* c, T v, int, int) {                       \
    return __atomic_compare_exchange_n(a, c, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                 \
  }                                                                                                         \
  T __tsan_atomic##n##_compare_exchange_val(volatile T* a, T c, T v, int, int) {                           \
    __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                      \
    return c;                                                                                               \
  }
KBSIM_ATOMIC(8, unsigned char)
KBSIM_ATOMIC(16, unsigned short)
KBSIM_ATOMIC(32, unsigned int)
KBSIM_ATOMIC(64, unsigned long long)
#undef KBSIM_ATOMIC
}
#endif
