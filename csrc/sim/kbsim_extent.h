// kbsim_extent.h: memcheck by logical extent.  A launch made through a kernel table entry
// (Kernel::fn, kb_tables.cpp) registers the regions its argument struct says the kernels may touch
// -- for a matmul A, B, C by rows, cols, leading dimension and batch stride; for a reduction the
// input view, the output and the workspace -- and every global access of the executor's hooked
// build (kbsim_access.h) is checked against them.  An access outside every region, inside the
// padding of one (column >= cols), between its batches, or a store into an input fails the launch:
//   kbsim: extent check: read of A[129, 0]: row 129 >= M = 129 (... 03_smem_tiles.cu:41) in kernel ..., block ..., thread ...
// Plain C++ (no CUDA types): kb_tables.cpp includes it in the executor build.
#pragma once
#include <string>
#include <vector>

namespace kb {
struct MatmulArgs;
struct ReduceArgs;
struct RowwiseArgs;
}  // namespace kb

namespace kbsim {

struct Region {
  std::string name;                  // "A", "x", "workspace"
  const void* base = nullptr;
  long long rows = 1, cols = 0, ld = 0;   // elements; ld >= cols
  long long batch = 1, batch_stride = 0;  // elements; 0: one matrix for every batch
  unsigned elem = 1;                 // bytes per element
  std::string row_dim = "rows", col_dim = "cols";  // names in diagnoses ("M", "K")
  bool writable = false;
};

// The regions of each argument struct: the one place they are derived (not per rung).
std::vector<Region> regions_of(const kb::MatmulArgs& p);
std::vector<Region> regions_of(const kb::ReduceArgs& p);
std::vector<Region> regions_of(const kb::RowwiseArgs& p);

// While an ExtentScope lives, launches are checked against its regions (scopes nest: innermost wins).
class ExtentScope {
 public:
  explicit ExtentScope(std::vector<Region> regions);
  ~ExtentScope();
  ExtentScope(const ExtentScope&) = delete;
  ExtentScope& operator=(const ExtentScope&) = delete;
};

// On by default in the hooked build (KBSIM_EXTENT=0 turns it off); no effect without the hooks.
void set_extent_check(bool on);
bool extent_check_on();
long long extent_checked_accesses();  // accesses checked so far (for tests)

// What the check says about one access (empty: inside a region).  Exposed for the tests.
std::string extent_verdict(const std::vector<Region>& regions, const void* addr, unsigned bytes, bool store);
}  // namespace kbsim
