// kbsim_launch.cpp: a kernel launch.  The configuration is checked against the simulated device's
// limits (a bad one sets the CUDA error a GPU would); then the blocks run one after another on a
// worker thread (a fresh one per block under ThreadSanitizer), or with KBSIM_BLOCKS_IN_FLIGHT = n
// up to n workers whose blocks interleave under the memory model between blocks (kbsim_memmodel.h).
// Also the executor's options (KBSIM_SEED, KBSIM_SMS, ...) and kernel names for diagnoses.
#include "kbsim_internal.h"
#include "kbsim_memmodel.h"

#include <dlfcn.h>
#include <cxxabi.h>

#include <algorithm>
#include <map>
#include <thread>

namespace kbsim {
namespace internal {
Block* g_block = nullptr;
pthread_t g_block_thread;
volatile bool g_in_block = false;
long long g_launches = 0;
}  // namespace internal
using namespace internal;

namespace {
std::recursive_mutex g_launch_mu;
std::map<const void*, int> g_optin;  // cudaFuncSetAttribute(MaxDynamicSharedMemorySize)
}  // namespace

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

std::string g_last_why;
std::recursive_mutex& launch_mutex() { return g_launch_mu; }
void set_optin(const void* fn, int bytes) { g_optin[fn] = bytes; }

namespace {
cudaError_t check_config(const void* fn, dim3 grid, dim3 block, std::size_t smem, std::string& why) {
  using namespace device;
  std::ostringstream o;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || block.x == 0 || block.y == 0 || block.z == 0)
    o << "a grid or block dimension is 0";
  else if ((unsigned long long)block.x * block.y * block.z > kMaxThreadsPerBlock)
    o << "block of " << (unsigned long long)block.x * block.y * block.z << " threads (at most " << kMaxThreadsPerBlock
      << ")";
  else if (block.x > kMaxBlockDim[0] || block.y > kMaxBlockDim[1] || block.z > kMaxBlockDim[2])
    o << "block dimension (" << block.x << "," << block.y << "," << block.z << ") above (" << kMaxBlockDim[0] << ", "
      << kMaxBlockDim[1] << ", " << kMaxBlockDim[2] << ")";
  else if (grid.x > kMaxGridDim[0] || grid.y > kMaxGridDim[1] || grid.z > kMaxGridDim[2])
    o << "grid (" << grid.x << "," << grid.y << "," << grid.z << ") above (2^31-1, " << kMaxGridDim[1] << ", "
      << kMaxGridDim[2] << ")";
  if (!o.str().empty()) { why = o.str(); return cudaErrorInvalidConfiguration; }
  if (smem > kSharedPerBlock) {
    auto it = g_optin.find(fn);
    const int allowed = it == g_optin.end() ? (int)kSharedPerBlock : it->second;
    if ((std::size_t)allowed < smem) {
      o << smem << " bytes of dynamic shared memory without cudaFuncSetAttribute(MaxDynamicSharedMemorySize) >= "
        << smem << " (" << kSharedPerBlock / 1024 << " KB without the opt-in)";
      why = o.str();
      return cudaErrorInvalidValue;
    }
  }
  return cudaSuccess;
}

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
  install_fault_handlers();
  g_interleaver = &il;
  g_blocks_interleaved = true;
  g_in_block = true;
  std::vector<std::thread> workers;
  for (unsigned slot = 0; slot < slots; ++slot)
    workers.emplace_back([&, slot] {
      SignalStack signal_stack;
      il.wait_turn(slot);
      while (!il.aborted() && next < ids.size()) {
        const std::size_t i = next++;
        Block b;
        b.kernel = kernel_name;
        b.body = &body;
        b.slot = slot;
        if (smem) {
          b.dyn = new_dynamic_shared(smem);
          if (!b.dyn) std::abort();
          b.dyn_size = smem;
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
    });
  il.start();
  il.wait_all();
  for (auto& w : workers) w.join();
  g_in_block = false;
  g_blocks_interleaved = false;
  g_interleaver = nullptr;
  remove_fault_handlers();
}
}  // namespace

void launch(const char* kernel_name, const void* fn, dim3 grid, dim3 block, std::size_t smem,
            const std::function<void()>& body) {
  std::lock_guard<std::recursive_mutex> guard(g_launch_mu);
  install_asan_report();
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
      SignalStack signal_stack;
      g_block_thread = pthread_self();
      install_fault_handlers();
      for (std::size_t i = first; i < first + per_thread && i < ids.size() && error.empty(); ++i) {
        Block b;
        b.kernel = kernel_name;
        b.body = &body;
        if (smem) {
          b.dyn = new_dynamic_shared(smem);
          if (!b.dyn) { error = "kbsim: out of memory for dynamic shared memory"; break; }
          b.dyn_size = smem;
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
      remove_fault_handlers();
    });
    worker.join();
  }
  if (!error.empty()) {
    error += " [KBSIM_SEED=" + std::to_string(options().seed) + "]";
    throw Failure(error);
  }
}
}  // namespace kbsim
