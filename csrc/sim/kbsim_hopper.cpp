// kbsim_hopper.cpp: TMA, mbarrier, wgmma and setmaxnreg on the CPU SIMT executor (see
// kbsim_hopper.h for what is modelled).  Runs on the fibers of the executor; like the executor's
// other rooms it is compiled without ThreadSanitizer's instrumentation (its bookkeeping is shared by
// the fibers of a block) and tells TSan about the edges an mbarrier creates.
#include "kbsim_hopper.h"
#include "kbsim_tensor_core.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <deque>
#include <map>
#include <sstream>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define KBSIM_HOPPER_ASAN 1
#include <sanitizer/asan_interface.h>
#endif

// Under ThreadSanitizer this file is not instrumented, but the runtime still intercepts its
// allocations and memcpy / memmove: a container grown by one fiber and moved by another would be
// reported as a race of the kernel's threads.  Every entry point therefore runs with TSan's
// per-fiber ignores on (Quiet); the real edges (mbarrier, wgmma wait) reach TSan through
// exec::sync_release / sync_acquire (kbsim_scheduler.cpp).
#if defined(KBSIM_TSAN_RUNTIME) || defined(__SANITIZE_THREAD__)
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#define KBSIM_QUIET_BEGIN() (AnnotateIgnoreReadsBegin(__FILE__, __LINE__), AnnotateIgnoreWritesBegin(__FILE__, __LINE__))
#define KBSIM_QUIET_END() (AnnotateIgnoreReadsEnd(__FILE__, __LINE__), AnnotateIgnoreWritesEnd(__FILE__, __LINE__))
#else
#define KBSIM_QUIET_BEGIN() ((void)0)
#define KBSIM_QUIET_END() ((void)0)
#endif

namespace kbsim {
namespace tc {
// The tensor cores' accumulation (wgmma here, mma.sync in kbsim_tensor_core.h): c + sum a[q] b[q].
// Default: the products (exact in fp32 for fp16 / bf16 inputs) added in q order with fp32
// round-to-nearest.  KBSIM_TC_TRUNCATE=1: the stricter model published measurements of NVIDIA
// tensor cores describe (block FMA: blocks of 8 products with the running sum, aligned to the
// largest exponent, truncated).
bool truncating_accumulation() {
  static const bool on = [] {
    const char* e = std::getenv("KBSIM_TC_TRUNCATE");
    return e && *e && *e != '0';
  }();
  return on;
}
// One block: c and up to 8 products, aligned to the largest exponent among them, each truncated
// to 3 bits below fp32's last place there, summed exactly, the sum truncated (toward zero) to fp32.
float truncating_block(const float* a, const float* b, int k, float c) {
  double terms[9];
  int n = 0, emax = -100000;
  terms[n++] = c;
  for (int q = 0; q < k; ++q) terms[n++] = (double)a[q] * (double)b[q];  // exact for fp16 / bf16 / tf32
  for (int i = 0; i < n; ++i)
    if (terms[i] != 0 && std::isfinite(terms[i])) emax = std::max(emax, std::ilogb(terms[i]));
  double s = 0;
  if (emax == -100000) {
    for (int i = 0; i < n; ++i) s += terms[i];
    return (float)s;
  }
  const double ulp = std::ldexp(1.0, emax - 23 - 3);
  for (int i = 0; i < n; ++i) s += std::trunc(terms[i] / ulp) * ulp;  // exact in double: 9 terms of <= 27 bits
  float f = (float)s;
  if (std::fabs((double)f) > std::fabs(s)) f = std::nextafter(f, 0.f);
  return f;
}
float truncating_dot(const float* a, const float* b, int k, float c) {
  for (int q = 0; q < k; q += 8) c = truncating_block(a + q, b + q, std::min(8, k - q), c);
  return c;
}
// Installed for every tensor-core emulation (mma.sync, wmma, wgmma) before any kernel runs.
const bool g_truncating_installed = [] {
  if (truncating_accumulation()) dot_model() = truncating_dot;
  return true;
}();
}  // namespace tc
namespace hopper {
namespace {
typedef std::uint64_t u64;
typedef std::uint32_t u32;

std::string hex(u64 v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

// ---------------------------------------------------------------- tensor maps
// What encode_tiled stores in the 128 opaque bytes of a CUtensorMap.
struct TensorMap {
  u32 magic;
  std::uint8_t dtype, rank, interleave, swizzle, l2, oob, esize, pad;
  u64 address;
  u64 dim[5];
  u64 stride[5];  // bytes; stride[0] is the element size
  std::uint16_t box[5];
  std::uint8_t estride[5];
};
static_assert(sizeof(TensorMap) <= 128, "a CUtensorMap is 128 bytes");
constexpr u32 kMagic = 0x4d54424bu;  // "KBTM"

int elem_size(int dtype) {
  static const int sizes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  return dtype >= 0 && dtype < 13 ? sizes[dtype] : 0;
}
bool is_float(int dtype) { return dtype >= 6 && dtype <= 12; }
int swizzle_bits(int swizzle) { return swizzle == 1 ? 1 : swizzle == 2 ? 2 : swizzle == 3 ? 3 : 0; }
const char* swizzle_name(int s) {
  static const char* n[] = {"NONE", "32B", "64B", "128B", "128B_ATOM_32B", "128B_ATOM_32B_FLIP_8B", "128B_ATOM_64B"};
  return s >= 0 && s < 7 ? n[s] : "?";
}
std::string g_encode_error;

// ---------------------------------------------------------------- block state
struct Mbar {
  unsigned expected = 0, pending = 0;
  long long tx = 0;
  unsigned phase = 0;
  char sync = 0;
};
struct TmaOp {
  TensorMap map;
  int coords[5];
  u32 dst;           // shared-window address
  void* bar;
  unsigned bytes;
};
struct WgOp {
  int n = 0, scale_d = 0, ta = 0, tb = 0;
  bool bf16 = false, done = false;
  u64 da = 0, db = 0;
  const char* file = "";
  int line = 0;
  unsigned arrived = 0;
  float* d[128] = {};
  char sync = 0;
};
struct WgThread {
  std::size_t issued = 0;             // wgmma issued so far
  std::vector<std::size_t> groups;    // committed groups: index one past their last wgmma
  bool fenced = false;
};
struct Warpgroup {
  std::deque<WgOp> ops;  // every wgmma the warpgroup issued, in order (stable addresses: waiters point here)
  // setmaxnreg in progress
  unsigned nreg_arrived = 0, nreg_value = 0, nreg_gen = 0;
  bool nreg_inc = false;
  const char* nreg_file = "";
  int nreg_line = 0;
  unsigned regs = 0;  // registers per thread now
};
}  // namespace

struct BlockState {
  std::vector<int> quiet;  // per CUDA thread: Quiet guards open (a failing fiber closes them)
  std::map<const void*, Mbar> bars;
  std::vector<TmaOp> in_flight;
  std::vector<Warpgroup> wgs;
  std::vector<WgThread> threads;
  unsigned char* smem = nullptr;
  std::size_t smem_bytes = 0;
};

namespace {
BlockState* state() {
  BlockState*& s = exec::hopper_state();
  if (!s) {
    s = new BlockState;
    s->smem = exec::shared_window(&s->smem_bytes);
    const unsigned n = exec::block_threads();
    s->threads.resize(n);
    s->quiet.assign(n, 0);
    s->wgs.resize((n + 127) / 128);
    // The register cap at kernel entry: the register file (64K) shared by the block's threads,
    // in multiples of 8, at most 255 (what ptxas gives a __launch_bounds__(threads, 1) kernel).
    const unsigned cap = std::min(255u, (65536u / std::max(n, 1u)) & ~7u);
    for (auto& w : s->wgs) w.regs = cap;
  }
  return s;
}

// An entry point called on a fiber; die() instead of exec::fail inside one.
struct Quiet {
  int* depth;
  Quiet() {
    KBSIM_QUIET_BEGIN();
    depth = &state()->quiet[exec::thread_linear()];
    ++*depth;
  }
  ~Quiet() {
    --*depth;
    KBSIM_QUIET_END();
  }
};
[[noreturn]] void die(const std::string& msg) {
  for (int& d = state()->quiet[exec::thread_linear()]; d > 0; --d) KBSIM_QUIET_END();  // the fiber is abandoned
  exec::fail(msg);
}
// Entry points that run on the scheduler (no fiber): the ignores only.
struct QuietScheduler {
  QuietScheduler() { KBSIM_QUIET_BEGIN(); }
  ~QuietScheduler() { KBSIM_QUIET_END(); }
};

Mbar& bar_of(BlockState* s, const void* bar, const char* what, const char* file, int line) {
  auto it = s->bars.find(bar);
  if (it == s->bars.end())
    die(exec::site(what, file, line) + ": mbarrier at shared " + hex(smem_addr(bar, file, line)) +
               " used before mbarrier.init");
  return it->second;
}

std::string bar_state(const void* bar_ptr, const Mbar& b) {
  std::ostringstream o;
  o << "mbarrier " << (bar_ptr ? "" : "?") << "in phase " << b.phase << ": " << b.pending << " of " << b.expected
    << " arrivals pending, tx-count " << b.tx;
  if (b.tx < 0) o << " (complete_tx of " << -b.tx << " bytes with no arrive.expect_tx for them)";
  else if (b.tx > 0) o << " (" << b.tx << " expected bytes never arrived)";
  return o.str();
}

void complete_if_done(Mbar& b) {
  if (b.pending == 0 && b.tx == 0) {
    ++b.phase;
    b.pending = b.expected;
  }
}

// Every 16-byte chunk a TMA box writes: fn(shared-window address after the swizzle, offset in the box).
template <typename F>
void for_each_chunk(const TmaOp& op, F fn) {
  for (u32 off = 0; off < op.bytes; off += 16) fn(swizzle_address(op.dst + off, swizzle_bits(op.map.swizzle)), off);
}

void land(BlockState* s, TmaOp& op) {
  const TensorMap& m = op.map;
  const int es = m.esize, rank = m.rank;
  unsigned n[5] = {1, 1, 1, 1, 1}, es_[5] = {1, 1, 1, 1, 1};
  for (int d = 0; d < rank; ++d) {
    es_[d] = (d == 0 && m.interleave == 0) ? 1 : m.estride[d];
    n[d] = (m.box[d] + es_[d] - 1) / es_[d];
  }
  unsigned char fill[8];
  std::memset(fill, 0, sizeof fill);
  if (m.oob == 1) {  // NaN_REQUEST_ZERO_FMA: the type's canonical NaN
    const u64 nan = es == 2 ? 0x7fffu : es == 4 ? 0x7fffffffu : 0x7fffffffffffffffull;
    std::memcpy(fill, &nan, es);
  }
#ifdef KBSIM_HOPPER_ASAN
  for_each_chunk(op, [&](u32 phys, u32) { ASAN_UNPOISON_MEMORY_REGION(s->smem + phys, 16); });
#endif
  const int bits = swizzle_bits(m.swizzle);
  u32 at = 0;  // byte offset in the dense box; the swizzle moves whole 16-byte chunks
  for (unsigned i4 = 0; i4 < n[4]; ++i4)
    for (unsigned i3 = 0; i3 < n[3]; ++i3)
      for (unsigned i2 = 0; i2 < n[2]; ++i2)
        for (unsigned i1 = 0; i1 < n[1]; ++i1)
          for (unsigned i0 = 0; i0 < n[0]; ++i0, at += es) {
            const unsigned idx[5] = {i0, i1, i2, i3, i4};
            const unsigned char* src = fill;
            u64 addr = m.address;
            for (int d = 0; d < rank; ++d) {
              const long long g = (long long)op.coords[d] + (long long)idx[d] * es_[d];
              if (g < 0 || (u64)g >= m.dim[d]) { addr = 0; break; }
              addr += (u64)g * m.stride[d];
            }
            if (addr) src = reinterpret_cast<const unsigned char*>(addr);
            volatile unsigned char* dst = s->smem + swizzle_address(op.dst + at, bits);
            for (int i = 0; i < es; ++i) dst[i] = src[i];
          }
  auto it = s->bars.find(op.bar);
  if (it != s->bars.end()) {
    it->second.tx -= op.bytes;
    complete_if_done(it->second);
  }
}

// ---------------------------------------------------------------- wgmma operands
// Byte address (shared window) of element (mn, k) of a 16-bit operand described by `desc`.
u32 operand_address(u64 desc, bool mn_major, int mn, int k) {
  const u32 start = (u32)(desc & 0x3fff) << 4;
  const u32 lbo = (u32)((desc >> 16) & 0x3fff) << 4;
  const u32 sbo = (u32)((desc >> 32) & 0x3fff) << 4;
  const int mode = (int)(desc >> 62);
  const int bits = mode == 1 ? 3 : mode == 2 ? 2 : mode == 3 ? 1 : 0;  // 128B, 64B, 32B, none
  u32 off;
  if (bits == 0) {  // core matrices of 8 rows x 16 bytes
    off = mn_major ? (u32)((mn % 8) * 2 + (mn / 8) * sbo + (k % 8) * 16 + (k / 8) * lbo)
                   : (u32)((mn % 8) * 16 + (mn / 8) * sbo + (k % 8) * 2 + (k / 8) * lbo);
  } else {
    const u32 row = 16u << bits;  // bytes of one swizzle-atom row: 32, 64, 128
    off = mn_major ? (u32)((mn % (row / 2)) * 2 + (mn / (row / 2)) * lbo + (k % 8) * row + (k / 8) * sbo)
                   : (u32)((mn % 8) * row + (mn / 8) * sbo + k * 2);
  }
  return swizzle_address(start + off, bits);
}

float load16(BlockState* s, u32 addr, bool bf16, const WgOp& op, const char* which) {
  if ((std::size_t)addr + 2 > s->smem_bytes) {
    std::ostringstream o;
    o << exec::site("wgmma.mma_async", op.file, op.line) << ": matrix " << which << " reads shared " << hex(addr)
      << ", outside the block's " << s->smem_bytes << " bytes of dynamic shared memory (descriptor "
      << hex(which[0] == 'A' ? op.da : op.db) << ")";
    die(o.str());
  }
  std::uint16_t h;
  std::memcpy(&h, s->smem + addr, 2);
  if (bf16) {
    const u32 u = (u32)h << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  // IEEE binary16 -> fp32 (exact)
  const u32 sign = (u32)(h & 0x8000u) << 16;
  u32 e = (h >> 10) & 0x1f, man = h & 0x3ff, u;
  if (e == 0x1f) u = sign | 0x7f800000u | (man << 13);
  else if (e == 0) {
    if (man == 0) u = sign;
    else {
      int sh = -1;
      do { man <<= 1; ++sh; } while (!(man & 0x400u));
      u = sign | ((u32)(127 - 15 - sh) << 23) | ((man & 0x3ffu) << 13);
    }
  } else u = sign | ((e + 112) << 23) | (man << 13);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void check_desc(const WgOp& op, u64 desc, const char* which) {
  const int base_offset = (int)((desc >> 49) & 7);
  if (base_offset != 0)
    die(exec::site("wgmma.mma_async", op.file, op.line) + ": matrix " + which + " descriptor " + hex(desc) +
               " has base offset " + std::to_string(base_offset) +
               ": not modelled (keep swizzled tiles aligned to the swizzle's repeat, 256/512/1024 bytes, so it is 0)");
}

// D (64 x n) = A (64 x 16) * B (16 x n) [+ D] for the 128 threads of a warpgroup.
void compute(BlockState* s, WgOp& op) {
  check_desc(op, op.da, "A");
  check_desc(op, op.db, "B");
  float A[64][16], B[128 * 2][16];  // B stored transposed: B[col][k]
  for (int i = 0; i < 64; ++i)
    for (int k = 0; k < 16; ++k) A[i][k] = load16(s, operand_address(op.da, op.ta, i, k), op.bf16, op, "A");
  for (int j = 0; j < op.n; ++j)
    for (int k = 0; k < 16; ++k) B[j][k] = load16(s, operand_address(op.db, op.tb, j, k), op.bf16, op, "B");
  const int regs = op.n / 2;
  for (int x = 0; x < 128; ++x) {
    float* d = op.d[x];
#ifdef KBSIM_HOPPER_ASAN
    ASAN_UNPOISON_MEMORY_REGION(d, regs * sizeof(float));
#endif
    const int w = x / 32, l = x % 32;
    for (int r = 0; r < regs; ++r) {
      const int row = 16 * w + l / 4 + 8 * ((r / 2) % 2), col = 8 * (r / 4) + 2 * (l % 4) + r % 2;
      const float c = op.scale_d ? d[r] : 0.f;
      d[r] = tc::dot(A[row], B[col], 16, c);
    }
  }
  op.done = true;
}

bool op_issued_by_all(const void* p) { return static_cast<const WgOp*>(p)->arrived == 128; }
std::string describe_op(const void* p) {
  const WgOp* op = static_cast<const WgOp*>(p);
  std::ostringstream o;
  o << "[the wgmma.mma_async of " << exec::site("", op->file, op->line).substr(1) << " issued by " << op->arrived
    << " of the warpgroup's 128 threads]";
  return o.str();
}

struct BarWait {
  const Mbar* bar;
  const void* ptr;
  unsigned parity;
};
bool bar_ready(const void* p) {
  const BarWait* w = static_cast<const BarWait*>(p);
  return (w->bar->phase & 1u) != w->parity;
}
std::string describe_bar(const void* p) {
  const BarWait* w = static_cast<const BarWait*>(p);
  return "[parity " + std::to_string(w->parity) + "; " + bar_state(w->ptr, *w->bar) + "]";
}

struct NregWait {
  const Warpgroup* wg;
  unsigned gen;
  const BlockState* s;
  unsigned regs;
};
bool nreg_all_arrived(const void* p) {
  const NregWait* w = static_cast<const NregWait*>(p);
  return w->wg->nreg_gen != w->gen;
}
std::string describe_nreg(const void* p) {
  const NregWait* w = static_cast<const NregWait*>(p);
  return "[setmaxnreg reached by " + std::to_string(w->wg->nreg_arrived) + " of the warpgroup's 128 threads]";
}
unsigned regs_in_use(const BlockState* s) {
  unsigned total = 0;
  for (const auto& w : s->wgs) total += 128 * w.regs;
  return total;
}
bool regs_free(const void* p) {
  const NregWait* w = static_cast<const NregWait*>(p);
  return regs_in_use(w->s) - 128 * w->wg->regs + 128 * w->regs <= 65536;
}
std::string describe_regs(const void* p) {
  const NregWait* w = static_cast<const NregWait*>(p);
  return "[setmaxnreg.inc to " + std::to_string(w->regs) + " waits for registers: " +
         std::to_string(regs_in_use(w->s)) + " of 65536 in use]";
}
}  // namespace

// ================================================================ device side
unsigned smem_addr(const void* p, const char* file, int line) {
  Quiet quiet;
  std::size_t n = 0;
  const unsigned char* base = exec::shared_window(&n);
  const unsigned char* q = static_cast<const unsigned char*>(p);
  if (!base || q < base || q >= base + n)
    die(exec::site("__cvta_generic_to_shared", file, line) + ": " + hex(reinterpret_cast<std::uintptr_t>(p)) +
               " is not in the block's dynamic shared memory (the executor models TMA, mbarrier and wgmma "
               "operands there)");
  return (unsigned)(q - base);
}

void mbar_init(void* bar, unsigned count, const char* file, int line) {
  Quiet quiet;
  BlockState* s = state();
  const unsigned a = smem_addr(bar, file, line);
  if (a % 8) die(exec::site("mbarrier.init", file, line) + ": mbarrier at shared " + hex(a) + " not 8-byte aligned");
  if (count == 0 || count >= (1u << 20))
    die(exec::site("mbarrier.init", file, line) + ": arrival count " + std::to_string(count) +
               " outside [1, 2^20 - 1]");
  Mbar& b = s->bars[bar];
  b.expected = b.pending = count;
  b.tx = 0;
  b.phase = 0;
  std::memset(bar, 0, 8);  // the object exists in shared memory (its contents are the executor's)
}

void mbar_arrive(void* bar, bool expect_tx, unsigned tx_bytes, const char* file, int line) {
  Quiet quiet;
  BlockState* s = state();
  const char* what = expect_tx ? "mbarrier.arrive.expect_tx" : "mbarrier.arrive";
  Mbar& b = bar_of(s, bar, what, file, line);
  if (expect_tx) {
    b.tx += tx_bytes;
    if (b.tx >= (1ll << 20))
      die(exec::site(what, file, line) + ": tx-count " + std::to_string(b.tx) + " above 2^20 - 1");
  }
  exec::sync_release(&b.sync);
  --b.pending;
  complete_if_done(b);
}

void mbar_wait(void* bar, unsigned parity, const char* file, int line) {
  Quiet quiet;
  BlockState* s = state();
  Mbar& b = bar_of(s, bar, "mbarrier.try_wait.parity", file, line);
  BarWait w{&b, bar, parity & 1u};
  if (!bar_ready(&w)) exec::wait_until(bar_ready, &w, describe_bar, "mbarrier.try_wait.parity", file, line);
  exec::sync_acquire(&b.sync);
}

void fence_barrier_init() {}
void fence_proxy_async() {}

void tma_load(void* dst, const void* tmap, void* bar, int rank, const int* coords, const char* file, int line) {
  Quiet quiet;
  BlockState* s = state();
  // No std::string on the paths that succeed: the fibers' allocations would be ThreadSanitizer's.
  auto where = [&] { return exec::site("cp.async.bulk.tensor", file, line); };
  TmaOp op;
  std::memcpy(&op.map, tmap, sizeof op.map);
  if (op.map.magic != kMagic)
    die(where() + ": the tensor map was not made by cuTensorMapEncodeTiled (or was overwritten)");
  if (op.map.rank != rank)
    die(where() + ": a " + std::to_string(rank) + "-d copy with a tensor map of rank " +
               std::to_string(op.map.rank));
  op.dst = smem_addr(dst, file, line);
  op.bar = bar;
  std::memcpy(op.coords, coords, sizeof(int) * rank);
  (void)bar_of(s, bar, "cp.async.bulk.tensor", file, line);
  const u32 align = op.map.swizzle ? (128u << swizzle_bits(op.map.swizzle)) : 128u;
  if (op.dst % align)
    die(where() + ": destination shared " + hex(op.dst) + " is not " + std::to_string(align) +
               "-byte aligned (" + (op.map.swizzle ? std::string("the ") + swizzle_name(op.map.swizzle) +
               " swizzle's repeat" : std::string("TMA's minimum")) + ")");
  unsigned elems = 1, n[5];
  for (int d = 0; d < rank; ++d) {
    const unsigned e = (d == 0 && op.map.interleave == 0) ? 1 : op.map.estride[d];
    n[d] = (op.map.box[d] + e - 1) / e;
    elems *= n[d];
  }
  op.bytes = elems * op.map.esize;
  for_each_chunk(op, [&](u32 phys, u32) {
    if ((std::size_t)phys + 16 > s->smem_bytes) {
      std::ostringstream o, shape;
      for (int d = 0; d < rank; ++d) shape << (d ? " x " : "") << n[d];
      o << where() << ": the box (" << shape.str() << " elements of " << int(op.map.esize) << " bytes = " << op.bytes
        << " bytes) at shared " << hex(op.dst) << " runs past the block's " << s->smem_bytes
        << " bytes of dynamic shared memory";
      die(o.str());
    }
  });
#ifdef KBSIM_HOPPER_ASAN
  for_each_chunk(op, [&](u32 phys, u32) { ASAN_POISON_MEMORY_REGION(s->smem + phys, 16); });
#endif
  s->in_flight.push_back(op);
}

void wgmma_fence(const char*, int) {
  Quiet quiet;
  BlockState* s = state();
  s->threads[exec::thread_linear()].fenced = true;
}

void wgmma(float* d, int n, u64 desc_a, u64 desc_b, int scale_d, bool bf16, int trans_a, int trans_b, const char* file,
           int line) {
  Quiet quiet;
  BlockState* s = state();
  const unsigned t = exec::thread_linear(), nthreads = exec::block_threads();
  auto where = [&] { return exec::site("wgmma.mma_async", file, line); };
  if (nthreads % 128)
    die(where() + ": a warpgroup is 4 whole warps; a block of " + std::to_string(nthreads) +
               " threads has an incomplete one");
  if (n < 8 || n > 256 || n % 8) die(where() + ": n = " + std::to_string(n) + " (8..256, multiple of 8)");
  WgThread& th = s->threads[t];
  if (!th.fenced)
    die(where() + ": no wgmma.fence since this thread last touched its registers (the PTX ISA requires one "
                       "before the first wgmma.mma_async and after any access to its accumulators)");
  Warpgroup& wg = s->wgs[t / 128];
  const std::size_t idx = th.issued++;
  if (idx == wg.ops.size()) {
    wg.ops.emplace_back();
    WgOp& op = wg.ops.back();
    op.n = n; op.scale_d = scale_d != 0; op.ta = trans_a; op.tb = trans_b; op.bf16 = bf16;
    op.da = desc_a; op.db = desc_b; op.file = file; op.line = line;
  }
  WgOp& op = wg.ops[idx];
  if (op.n != n || op.bf16 != bf16 || op.ta != trans_a || op.tb != trans_b || op.da != desc_a || op.db != desc_b ||
      op.scale_d != (scale_d != 0) || op.line != line || std::strcmp(op.file, file) != 0) {
    std::ostringstream o;
    o << "warpgroup divergence in " << where() << ": thread " << t << " issues m64n" << n << "k16 (descriptors "
      << hex(desc_a) << ", " << hex(desc_b) << ") as the warpgroup's wgmma #" << idx << ", which other threads issued at "
      << exec::site("wgmma.mma_async", op.file, op.line) << " as m64n" << op.n << "k16 (descriptors " << hex(op.da)
      << ", " << hex(op.db) << "): every thread of a warpgroup must issue the same wgmma";
    die(o.str());
  }
  op.d[t % 128] = d;
  ++op.arrived;
#ifdef KBSIM_HOPPER_ASAN
  ASAN_POISON_MEMORY_REGION(d, (n / 2) * sizeof(float));  // unreadable until wgmma.wait_group
#endif
}

void wgmma_commit(const char*, int) {
  Quiet quiet;
  BlockState* s = state();
  WgThread& th = s->threads[exec::thread_linear()];
  th.groups.push_back(th.issued);  // an empty group is legal
}

void wgmma_wait(int pending, const char* file, int line) {
  Quiet quiet;
  BlockState* s = state();
  const unsigned t = exec::thread_linear();
  WgThread& th = s->threads[t];
  th.fenced = false;
  if ((int)th.groups.size() <= pending) return;
  const std::size_t upto = th.groups[th.groups.size() - pending - 1];
  Warpgroup& wg = s->wgs[t / 128];
  for (std::size_t i = 0; i < upto; ++i) {
    WgOp& op = wg.ops[i];
    if (op.done) continue;
    if (op.arrived < 128) exec::wait_until(op_issued_by_all, &op, describe_op, "wgmma.wait_group", file, line);
    if (!op.done) compute(s, op);
    exec::sync_release(&op.sync);
    exec::sync_acquire(&op.sync);
  }
  th.groups.erase(th.groups.begin(), th.groups.end() - pending);
}

void setmaxnreg(bool inc, unsigned regs, const char* file, int line) {
  Quiet quiet;
  BlockState* s = state();
  const unsigned t = exec::thread_linear(), nthreads = exec::block_threads();
  const char* what = inc ? "setmaxnreg.inc" : "setmaxnreg.dec";
  auto where = [&] { return exec::site(what, file, line); };
  if (nthreads % 128)
    die(where() + ": setmaxnreg is executed by whole warpgroups; a block of " + std::to_string(nthreads) +
               " threads has an incomplete one");
  if (regs < 24 || regs > 256 || regs % 8)
    die(where() + ": " + std::to_string(regs) + " registers (24..256, a multiple of 8)");
  Warpgroup& wg = s->wgs[t / 128];
  if (wg.nreg_arrived == 0) {
    wg.nreg_value = regs; wg.nreg_inc = inc; wg.nreg_file = file; wg.nreg_line = line;
  } else if (wg.nreg_value != regs || wg.nreg_inc != inc || wg.nreg_line != line || std::strcmp(wg.nreg_file, file)) {
    die("warpgroup divergence in " + where() + ": thread " + std::to_string(t) + " asks for " +
               std::to_string(regs) + " registers while other threads of its warpgroup wait at " +
               exec::site(wg.nreg_inc ? "setmaxnreg.inc" : "setmaxnreg.dec", wg.nreg_file, wg.nreg_line) +
               " for " + std::to_string(wg.nreg_value) + " (every thread of a warpgroup must execute the same setmaxnreg)");
  }
  NregWait w{&wg, wg.nreg_gen, s, regs};
  if (++wg.nreg_arrived < 128) {
    exec::wait_until(nreg_all_arrived, &w, describe_nreg, what, file, line);
    return;
  }
  // The last thread of the warpgroup: apply it.
  if (inc && regs < wg.regs)
    die(where() + ": setmaxnreg.inc to " + std::to_string(regs) + " below the current " + std::to_string(wg.regs));
  if (!inc && regs > wg.regs)
    die(where() + ": setmaxnreg.dec to " + std::to_string(regs) + " above the current " + std::to_string(wg.regs));
  if (inc && !regs_free(&w)) exec::wait_until(regs_free, &w, describe_regs, what, file, line);
  wg.regs = regs;
  wg.nreg_arrived = 0;
  ++wg.nreg_gen;
}

// ================================================================ executor hooks
void end_block(BlockState* s) {
  QuietScheduler quiet;
#ifdef KBSIM_HOPPER_ASAN
  for (auto& op : s->in_flight)
    for_each_chunk(op, [&](u32 phys, u32) { ASAN_UNPOISON_MEMORY_REGION(s->smem + phys, 16); });
#endif
  delete s;
}

bool progress(BlockState* s, std::mt19937_64& rng, bool stalled) {
  QuietScheduler quiet;
  if (!s || s->in_flight.empty()) return false;
  bool any = false;
  for (std::size_t i = 0; i < s->in_flight.size();) {
    if (stalled || (rng() & 1)) {
      TmaOp op = s->in_flight[i];
      s->in_flight.erase(s->in_flight.begin() + i);
      land(s, op);
      any = true;
    } else {
      ++i;
    }
  }
  return any;
}

const char* in_flight_kind(BlockState* s, const void* addr) {
  QuietScheduler quiet;
  if (!s) return nullptr;
  const unsigned char* p = static_cast<const unsigned char*>(addr);
  for (auto& op : s->in_flight) {
    bool hit = false;
    for_each_chunk(op, [&](u32 phys, u32) { hit |= p >= s->smem + phys && p < s->smem + phys + 16; });
    if (hit) return "TMA (cp.async.bulk.tensor): shared memory";
  }
  for (auto& wg : s->wgs)
    for (auto& op : wg.ops) {
      if (op.done) continue;
      for (float* d : op.d)
        if (d && p >= reinterpret_cast<const unsigned char*>(d) &&
            p < reinterpret_cast<const unsigned char*>(d + op.n / 2))
          return "wgmma.mma_async: accumulator registers";
    }
  return nullptr;
}

// ================================================================ host side
const std::string& last_encode_error() { return g_encode_error; }

int encode_tiled(void* tensor_map, int dtype, unsigned rank, void* global_address, const u64* dim, const u64* strides,
                 const unsigned* box, const unsigned* estr, int interleave, int swizzle, int l2, int oob) {
  constexpr int kInvalid = 1;  // CUDA_ERROR_INVALID_VALUE
  std::ostringstream why;
  const int es = elem_size(dtype);
  const std::uintptr_t addr = reinterpret_cast<std::uintptr_t>(global_address);
  auto bad = [&](const std::string& w) {
    g_encode_error = "cuTensorMapEncodeTiled: " + w;
    return kInvalid;
  };
  if (!tensor_map || reinterpret_cast<std::uintptr_t>(tensor_map) % 64) return bad("tensorMap not 64-byte aligned");
  if (dtype >= 13 && dtype <= 15) return bad("packed 4/6-bit types are not modelled by the executor");
  if (es == 0) return bad("tensorDataType " + std::to_string(dtype) + " is not a CUtensorMapDataType");
  if (rank == 0 || rank > 5) return bad("tensorRank " + std::to_string(rank) + " outside 1..5");
  if (interleave < 0 || interleave > 2) return bad("interleave " + std::to_string(interleave) + " is not a CUtensorMapInterleave");
  if (interleave != 0 && rank < 3) return bad("an interleaved layout needs tensorRank >= 3");
  if (addr % 16 || (interleave == 2 && addr % 32))
    return bad("globalAddress not " + std::string(interleave == 2 ? "32" : "16") + "-byte aligned");
  for (unsigned d = 0; d < rank; ++d)
    if (dim[d] == 0 || dim[d] > (1ull << 32)) return bad("globalDim[" + std::to_string(d) + "] outside 1..2^32");
  for (unsigned d = 0; d + 1 < rank; ++d) {
    if (strides[d] % 16 || (interleave == 2 && strides[d] % 32))
      return bad("globalStrides[" + std::to_string(d) + "] = " + std::to_string(strides[d]) + " not a multiple of " +
                 (interleave == 2 ? "32" : "16"));
    if (strides[d] >= (1ull << 40)) return bad("globalStrides[" + std::to_string(d) + "] not below 2^40");
  }
  for (unsigned d = 0; d < rank; ++d) {
    if (box[d] == 0 || box[d] > 256) return bad("boxDim[" + std::to_string(d) + "] outside 1..256");
    if (estr[d] == 0 || estr[d] > 8) return bad("elementStrides[" + std::to_string(d) + "] outside 1..8");
  }
  if (interleave == 0 && (box[0] * es) % 16)
    return bad("boxDim[0] * element size = " + std::to_string(box[0] * es) + " bytes, not a multiple of 16");
  if (swizzle < 0 || swizzle > 6) return bad("swizzle " + std::to_string(swizzle) + " is not a CUtensorMapSwizzle");
  if (swizzle >= 4) return bad(std::string("swizzle ") + swizzle_name(swizzle) + " is not modelled by the executor");
  if (interleave == 0 && swizzle != 0 && box[0] * (unsigned)es > (16u << swizzle_bits(swizzle)))
    return bad("the box's inner dimension (" + std::to_string(box[0] * es) + " bytes) exceeds the " +
               swizzle_name(swizzle) + " swizzle span");
  if (interleave == 2 && swizzle != 1) return bad("INTERLEAVE_32B requires SWIZZLE_32B");
  if (l2 < 0 || l2 > 3) return bad("l2Promotion " + std::to_string(l2) + " is not a CUtensorMapL2promotion");
  if (oob < 0 || oob > 1) return bad("oobFill " + std::to_string(oob) + " is not a CUtensorMapFloatOOBfill");
  if (oob == 1 && !is_float(dtype)) return bad("OOB_FILL_NAN_REQUEST_ZERO_FMA needs a floating-point type");
  TensorMap m;
  std::memset(&m, 0, sizeof m);
  m.magic = kMagic;
  m.dtype = (std::uint8_t)dtype; m.rank = (std::uint8_t)rank; m.interleave = (std::uint8_t)interleave;
  m.swizzle = (std::uint8_t)swizzle; m.l2 = (std::uint8_t)l2; m.oob = (std::uint8_t)oob; m.esize = (std::uint8_t)es;
  m.address = addr;
  for (unsigned d = 0; d < rank; ++d) {
    m.dim[d] = dim[d];
    m.stride[d] = d == 0 ? (u64)es : strides[d - 1];
    m.box[d] = (std::uint16_t)box[d];
    m.estride[d] = (std::uint8_t)estr[d];
  }
  std::memset(tensor_map, 0, 128);
  std::memcpy(tensor_map, &m, sizeof m);
  g_encode_error.clear();
  return 0;
}

}  // namespace hopper
}  // namespace kbsim
