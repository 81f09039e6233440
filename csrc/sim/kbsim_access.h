// kbsim_access.h: the executor's per-access hooks.  The CUDA rung objects of the plain executor
// build (`sim`: libsim.a, kernelbench._sim, build/kb_native/sim/selftest_*) are compiled with GCC's
// -fsanitize=thread instrumentation, so every load and store the kernel code makes calls
// __tsan_{read,write}N (no TSan runtime: kbsim_access.cpp defines them; each access of a
// read-modify-write is reported, and so are constant-offset accesses to static __shared__ arrays,
// which GCC's AddressSanitizer instrumentation skips).  They become an Access passed to every
// registered observer, BEFORE the access happens, on the fiber of the CUDA thread that makes it
// (kbsim::g_ctx says which thread and block).  Host code in the same objects (launchers) is
// instrumented too but never reported: only accesses inside a launch are.
// The ASan and TSan variants are not instrumented with hooks (observers are never called there).
// Consumers: the counters (kbsim_counters.*), the extent check (kbsim_extent.*), the memory model
// between blocks (kbsim_memmodel.*).
#pragma once
#include <vector_types.h>  // dim3, uint3 (CUDA headers)

#include <cstddef>
#include <string>
#include <vector>

namespace kbsim {

// Which memory an address lies in, as the executor lays it out: shared = static __shared__
// (thread-local storage of the worker thread) or the block's dynamic shared memory; local = the
// running fiber's own stack (CUDA registers / local memory); global = everything else.
enum class Space : unsigned char { Global = 0, Shared = 1, Local = 2 };

struct Access {
  const void* addr;
  unsigned bytes;
  bool store;
  const void* site;   // code address of the access (a return address into the kernel's code)
  Space space;
};
using AccessObserver = void (*)(const Access&, void* user);

int add_access_observer(AccessObserver fn, void* user);  // returns an id (>= 0)
// The same for accesses to some spaces only: bit (1 << Space) set for each space wanted.
int add_access_observer(AccessObserver fn, void* user, unsigned spaces);
void remove_access_observer(int id);
// "csrc/cuda/matmul/01_naive.cu:23" when the debug info knows the site (addr2line), else "fn+0x1c".
std::string describe_site(const void* site);
// True when the running build has the hooks compiled in (the plain `sim` variant).
bool access_hooks_compiled();
// Local (fiber stack) accesses are not reported unless asked for (they are registers on a GPU).
void set_report_local(bool on);

// ---- events that are not plain loads/stores (counters, memory model) ---------------------------
// Called per CUDA thread, on its fiber, before the operation: barriers, warp collectives, atomics
// (addr/bytes), cp.async (addr = shared destination, src = global source, bytes = bytes read),
// ldmatrix (addr = this lane's row address, or null for lanes whose address is not used; bytes = 16).
// While the emulation of an instruction reads memory on the lane's behalf (ldmatrix), plain access
// hooks are suppressed: the instruction is reported once per lane as its event instead.
enum class Event : unsigned char { Barrier, Shuffle, Vote, Syncwarp, Atomic, CpAsync, Ldmatrix, Mma };
struct EventInfo {
  Event kind;
  const char* file;   // source site (file/line of the call in the kernel), may be null for emulations
  int line;
  const void* addr;
  const void* src;
  unsigned bytes;
  const void* site;   // a unique key of the site (code address), used to group lanes into warp requests
};
using EventObserver = void (*)(const EventInfo&, void* user);
int add_event_observer(EventObserver fn, void* user);
void remove_event_observer(int id);
void notify_event(const EventInfo& e);   // for the executor and the emulations
// notify_event for a site named by file/line (the key groups the lanes of a warp).
void notify_event_at(Event kind, const char* file, int line, const void* addr, const void* src, unsigned bytes);
bool events_wanted();                    // any event observer registered (skip building EventInfo)
void access_suppress(bool on);           // plain hooks off while an emulation reads for a lane

// An observer's way to fail the launch (a diagnosis): ends the running CUDA thread; the message gets
// the kernel, block and thread appended (kbsim_diagnose.cpp).  Never returns.
[[noreturn]] void fail_current_thread(const std::string& msg);

// ---- for the executor (kbsim_fiber.cpp, kbsim_launch.cpp): where the running fiber's memory lies ---
// resume() calls this before switching to a fiber: its stack and its block's dynamic shared memory.
void access_enter_fiber(const void* stack_lo, std::size_t stack_size, const void* dyn, std::size_t dyn_size);
void access_leave_fiber();
// launch() calls this on the launching thread: its stack holds the kernel arguments (not reported).
void access_begin_launch(const char* kernel, dim3 grid, dim3 block);
// launch() passes the block list through the selector (the counters may keep a representative subset).
void access_select_blocks(dim3 grid, std::vector<uint3>& ids);
// Observers of launches and a block selector (one at a time), for the counters (kbsim_counters.h).
using LaunchObserver = void (*)(const char* kernel, dim3 grid, dim3 block, void* user);
using BlockSelector = void (*)(dim3 grid, std::vector<uint3>& ids, void* user);
void set_launch_observer(LaunchObserver fn, void* user);
void set_block_selector(BlockSelector fn, void* user);
}  // namespace kbsim
