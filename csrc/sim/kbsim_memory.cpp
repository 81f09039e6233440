// kbsim_memory.cpp: a block's shared memory and its poison.  Static __shared__ variables live in the
// worker thread's thread-local storage (kbsim.h) and are poisoned at each block's start; dynamic
// shared memory is a fresh poisoned buffer per block, 1024-byte aligned (the alignment TMA's swizzles
// need); kPoisonByte (0xff) reads as NaN in every float type.  require_shared checks that an address
// an instruction reads as shared memory (ldmatrix) is one.
#include "kbsim_internal.h"

#include <link.h>

#include <cstring>

namespace kbsim {
namespace internal {
namespace {
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
}  // namespace

void poison_static_shared() {
  const TlsFind f = static_shared_here();
  if (f.data && f.size) std::memset(f.data, kPoisonByte, f.size);
}

unsigned char* new_dynamic_shared(std::size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 1024, bytes)) return nullptr;
  std::memset(p, kPoisonByte, bytes);
  return static_cast<unsigned char*>(p);
}
}  // namespace internal

// ---------------------------------------------------------------- the built-ins (kbsim.h)
using namespace internal;

void* dynamic_shared() {
  (void)me();
  return g_block->dyn;
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
}  // namespace kbsim
