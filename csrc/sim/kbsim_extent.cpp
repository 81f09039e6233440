// kbsim_extent.cpp: memcheck by logical extent (kbsim_extent.h), an observer of the access hooks.
#include "kbsim_extent.h"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "common/kb_types.h"
#include "kbsim_internal.h"

namespace kbsim {

namespace {
unsigned dtype_bytes(kb::DType d) {
  switch (d) {
    case kb::DType::F64: return 8;
    case kb::DType::F16:
    case kb::DType::BF16: return 2;
    default: return 4;
  }
}

Region matrix(const char* name, const void* base, long long rows, long long cols, long long ld, long long batch,
              long long stride, unsigned elem, const char* rdim, const char* cdim, bool writable) {
  Region r;
  r.name = name;
  r.base = base;
  r.rows = rows;
  r.cols = cols;
  r.ld = ld;
  r.batch = batch;
  r.batch_stride = stride;
  r.elem = elem;
  r.row_dim = rdim;
  r.col_dim = cdim;
  r.writable = writable;
  return r;
}
Region vec(const char* name, const void* base, long long n, unsigned elem, const char* dim, bool writable) {
  return matrix(name, base, 1, n, n, 1, 0, elem, "", dim, writable);
}

// A region in the form the per-access check wants: byte offsets, no strings.
struct Fast {
  std::uintptr_t base, span;
  long long elem, ld, cols, rows, stride;
  bool writable;
};
struct State {
  std::vector<std::vector<Region>> scopes;
  std::vector<Fast> fast;          // of scopes.back()
  // the valid bytes of the rows the last accesses were in (a thread walks a row of A and one of B)
  struct Row {
    std::uintptr_t lo = 1, hi = 0;
    bool writable = false;
  } rows[4];
  unsigned next_row = 0;
  bool on = true;
  int observer = -1;
  long long checked = 0;
};
State* g_state = nullptr;
State& st() {
  if (!g_state) {
    g_state = new State;
    const char* e = std::getenv("KBSIM_EXTENT");
    g_state->on = !(e && e[0] == '0');
  }
  return *g_state;
}

// Bytes from base to the end of the last element of the region (0 when it has none).
long long span_bytes(const Region& r) {
  if (r.rows <= 0 || r.cols <= 0 || r.batch <= 0) return 0;
  const long long last = (r.batch_stride > 0 ? (r.batch - 1) * r.batch_stride : 0) + (r.rows - 1) * r.ld + r.cols;
  return last * (long long)r.elem;
}

std::string coords(const Region& r, long long b, long long row, long long col) {
  std::ostringstream o;
  o << r.name;
  if (r.batch > 1 && r.batch_stride > 0) o << "[" << b << "]";
  if (r.row_dim.empty()) o << "[" << col << "]";
  else o << "[" << row << ", " << col << "]";
  return o.str();
}

// Where element offset `off` (>= 0) of region r falls: "" when inside, else why not.
std::string place(const Region& r, long long off, long long& b, long long& row, long long& col) {
  b = r.batch_stride > 0 ? off / r.batch_stride : 0;
  const long long rem = r.batch_stride > 0 ? off - b * r.batch_stride : off;
  row = r.ld > 0 ? rem / r.ld : 0;
  col = r.ld > 0 ? rem - row * r.ld : rem;
  std::ostringstream o;
  if (r.batch_stride > 0 && b >= r.batch) o << "batch " << b << " \u2265 " << r.batch;
  else if (r.row_dim.empty() && col >= r.cols) o << "index " << col << " \u2265 " << r.col_dim << " = " << r.cols;
  else if (row >= r.rows) o << "row " << row << " \u2265 " << r.row_dim << " = " << r.rows;
  else if (col >= r.cols)
    o << "column " << col << " \u2265 " << r.col_dim << " = " << r.cols << " (the padding of a row: ld = " << r.ld << ")";
  return o.str();
}

// Whether [p, p + bytes) lies in the valid elements of one row of a region (and may be written);
// remembers that row, where the next accesses of a thread usually fall.
bool fast_ok(State& s, std::uintptr_t p, unsigned bytes, bool store) {
  for (const State::Row& r : s.rows)
    if (p >= r.lo && p + bytes <= r.hi && (!store || r.writable)) return true;
  for (const Fast& f : s.fast) {
    const std::uintptr_t off = p - f.base;
    if (p < f.base || off + bytes > f.span) continue;
    const long long e = (long long)off / f.elem;
    const long long in_batch = f.stride > 0 ? e % f.stride : e;
    const long long row = in_batch / f.ld, col = in_batch - row * f.ld;
    if (row >= f.rows || col >= f.cols) return false;
    const std::uintptr_t lo = p - (std::uintptr_t)(col * f.elem) - (off % f.elem), hi = lo + (std::uintptr_t)(f.cols * f.elem);
    if (p + bytes > hi || (store && !f.writable)) return false;
    s.rows[s.next_row++ & 3] = State::Row{lo, hi, f.writable};
    return true;
  }
  return false;
}

void set_fast(State& s) {
  s.fast.clear();
  for (State::Row& r : s.rows) r = State::Row{};
  if (s.scopes.empty()) return;
  for (const Region& r : s.scopes.back())
    s.fast.push_back(Fast{reinterpret_cast<std::uintptr_t>(r.base), (std::uintptr_t)span_bytes(r), (long long)r.elem,
                          r.ld > 0 ? r.ld : 1, r.cols, r.rows, r.batch_stride, r.writable});
}

void on_access(const Access& a, void*) {
  State& s = st();
  if (a.space != Space::Global || !s.on || s.scopes.empty()) return;
  ++s.checked;
  if (fast_ok(s, reinterpret_cast<std::uintptr_t>(a.addr), a.bytes, a.store)) return;
  const std::string why = extent_verdict(s.scopes.back(), a.addr, a.bytes, a.store);
  if (why.empty()) return;
  std::ostringstream o;
  o << "extent check: " << why << " (" << a.bytes << "-byte access at " << a.addr << ", " << describe_site(a.site)
    << ")";
  fail_current_thread(o.str());
}
}  // namespace

std::string extent_verdict(const std::vector<Region>& regions, const void* addr, unsigned bytes, bool store) {
  const auto p = reinterpret_cast<std::uintptr_t>(addr);
  const char* what = store ? "write of " : "read of ";
  const Region* nearest = nullptr;
  for (const Region& r : regions) {
    const auto base = reinterpret_cast<std::uintptr_t>(r.base);
    if (p < base) continue;
    if (!nearest || base > reinterpret_cast<std::uintptr_t>(nearest->base)) nearest = &r;
    const long long span = span_bytes(r);
    if (p + bytes > base + (std::uintptr_t)span) continue;
    // inside the span: the first and the last element of the access must both be valid
    const long long first = (long long)(p - base) / r.elem, last = (long long)(p + bytes - 1 - base) / r.elem;
    long long b, row, col, b2, row2, col2;
    std::string why = place(r, first, b, row, col);
    if (why.empty()) {
      why = place(r, last, b2, row2, col2);
      if (!why.empty()) b = b2, row = row2, col = col2;
    }
    if (!why.empty()) return what + coords(r, b, row, col) + ": " + why;
    if (store && !r.writable) return what + coords(r, b, row, col) + ": " + r.name + " is an input (read-only)";
    return "";
  }
  std::ostringstream o;
  if (nearest) {
    const auto base = reinterpret_cast<std::uintptr_t>(nearest->base);
    const long long off = (long long)(p - base) / nearest->elem;
    const long long span = span_bytes(*nearest);
    if ((long long)(p - base) < span + 64 * (long long)nearest->ld * nearest->elem + 4096) {
      long long b, row, col;
      std::string why = place(*nearest, off, b, row, col);
      if (why.empty()) why = "past the end of " + nearest->name;
      o << what << coords(*nearest, b, row, col) << ": " << why;
      return o.str();
    }
    o << what << "address " << addr << ": outside every region of the launch (" << (p - base - span)
      << " bytes past the end of " << nearest->name << ")";
    return o.str();
  }
  o << what << "address " << addr << ": outside every region of the launch (below all of them)";
  return o.str();
}

std::vector<Region> regions_of(const kb::MatmulArgs& p) {
  const unsigned e = dtype_bytes(p.dtype);
  return {
      p.trans_a ? matrix("A", p.a, p.k, p.m, p.lda, p.batch, p.stride_a, e, "K", "M", false)
                : matrix("A", p.a, p.m, p.k, p.lda, p.batch, p.stride_a, e, "M", "K", false),
      p.trans_b ? matrix("B", p.b, p.n, p.k, p.ldb, p.batch, p.stride_b, e, "N", "K", false)
                : matrix("B", p.b, p.k, p.n, p.ldb, p.batch, p.stride_b, e, "K", "N", false),
      matrix("C", p.c, p.m, p.n, p.ldc, p.batch, p.stride_c, e, "M", "N", true),
  };
}

std::vector<Region> regions_of(const kb::ReduceArgs& p) {
  const bool arg = p.op == kb::ReduceOp::ArgMax || p.op == kb::ReduceOp::ArgMin;
  std::vector<Region> r = {vec("x", p.x, p.outer * p.r * p.inner, dtype_bytes(p.dtype), "n", false),
                           vec("out", p.out, p.outer * p.inner, arg ? 8 : dtype_bytes(p.dtype), "outputs", true)};
  if (p.workspace && p.workspace_bytes) r.push_back(vec("workspace", p.workspace, (long long)p.workspace_bytes, 1, "bytes", true));
  return r;
}

// y: rows x cols for softmax; an L2 norm writes y[0 .. rows), one per row even when cols = 0.  The
// struct does not say which op it is, so y is rows x max(cols, 1): as loose as softmax there.
std::vector<Region> regions_of(const kb::RowwiseArgs& p) {
  const unsigned e = dtype_bytes(p.dtype);
  const long long ycols = p.cols > 0 ? p.cols : 1;
  return {matrix("x", p.x, p.rows, p.cols, p.cols, 1, 0, e, "rows", "cols", false),
          matrix("y", p.y, p.rows, ycols, ycols, 1, 0, e, "rows", "cols", true)};
}

ExtentScope::ExtentScope(std::vector<Region> regions) {
  std::lock_guard<std::recursive_mutex> g(launch_mutex());
  State& s = st();
  if (s.observer < 0 && access_hooks_compiled())
    s.observer = add_access_observer(on_access, nullptr, 1u << (unsigned)Space::Global);
  s.scopes.push_back(std::move(regions));
  set_fast(s);
}
ExtentScope::~ExtentScope() {
  std::lock_guard<std::recursive_mutex> g(launch_mutex());
  State& s = st();
  if (!s.scopes.empty()) s.scopes.pop_back();
  set_fast(s);
}

void set_extent_check(bool on) { st().on = on; }
bool extent_check_on() { return st().on; }
long long extent_checked_accesses() { return st().checked; }
}  // namespace kbsim
