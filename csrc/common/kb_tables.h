// The kernel tables: one table per op and device, one line per rung, and that line is the
// rung's whole description.  Everything else is derived from these tables: the front doors look
// kernels up here by name, kernelbench/registry reads every fact below (through the pybind11
// module, or kernelbench/_kb_tables.json written at build time), the CuPy/NVRTC list, the
// default rung of `impl=None`, the benchmark's applicability rules and the docs' rung tables.
// Python adds only a one-line description (kernelbench/registry/*.py); the source path follows from the name.
//
// A table line, in order (positional aggregate initializer; keep one line per rung):
//   matmul:  {name, dtypes, traits, min_arch, rank, launcher, config}
//   reduce:  {name, dtypes, ops, traits, min_arch, rank, launcher, workspace, config[, summation]}
//   rowwise: {name, dtypes, traits, min_arch, rank, launcher}
//     dtypes    DTypeMask bits (kF32 | kF64 | kF16 | kBF16)
//     ops       reduce: bit (1 << int(ReduceOp)) per supported op (kSumMean, kAllReduceOps)
//     traits    layout preconditions (kWholeOnly, kDimOnly, kInnerOne, kInnerMany, kVectorOnly)
//               and kVendor (a vendor library behind our launcher contract, e.g. CUB), kTF32 (TF32
//               math on fp32 data: a precision of its own); 0: none
//     min_arch  minimum compute capability as 10*major+minor: 0 any, 80 sm_80; 90 is sm_90a, and
//               exact (arch-specific features: refused on sm_100 / sm_120 with the reason)
//     rank      0: never picked by impl=None; 1, 2, ...: the order impl=None tries them in
//     config    non-null: the one launch the CuPy/NVRTC twin repeats (see LaunchConfig)
//     summation reduce: the order of its sums, {SumOrder::KWay, 64} etc. (kb_tolerance.h); left out:
//               sequential, the loosest bound (valid for any order)
// kb::refuses() (kb_tables.cpp) is the one check of those preconditions; a kernel's `fn` member
// calls it (with the current device's arch when min_arch > 0) before its launcher, so no caller
// can run a rung on a problem its line refuses, and no launcher or plan function re-checks them.
// The CuPy/NVRTC door asks `config` through the same check (csrc/pybind/module.cpp).
// Where a rung's source is: csrc/<device>/<dir>/<name without "<device>_">.<cu|cpp>, <dir> being
// the table's folder (matmul, reduce) or library/ for kVendor lines (kernelbench/registry/core.py).
#pragma once
#include <cstddef>
#include <string>
#include <vector>
#include "kb_tolerance.h"
#include "kb_types.h"

namespace kb {

enum class Device : int { CPU = 0, CUDA = 1 };

// `stream` is a cudaStream_t for CUDA kernels and nullptr for CPU kernels.
using MatmulFn = void (*)(const MatmulArgs&, void* stream);
using ReduceFn = void (*)(const ReduceArgs&, void* stream);
using ReduceWorkspaceFn = std::size_t (*)(const ReduceArgs&);
using RowwiseFn = void (*)(const RowwiseArgs&, void* stream);

// How a rung launches its (single) kernel for a problem, so the CuPy/NVRTC front door can
// compile the same source at run time and launch it identically.  `kernel` is the C++ name
// expression of the template instantiation, e.g. "kb::matmul_05_kernel<float, 128, 128, 8>",
// and the kernel's only parameter is the Args struct by value.
struct LaunchConfig {
  std::string kernel;
  unsigned grid[3];
  unsigned block[3];
  std::size_t shared_bytes;
};
using MatmulConfigFn = LaunchConfig (*)(const MatmulArgs&);
using ReduceConfigFn = LaunchConfig (*)(const ReduceArgs&);

// Traits: layout preconditions (what the launcher refuses) and where the code comes from.
enum Traits : unsigned {
  kWholeOnly = 1u << 0,    // reduce: whole-tensor reductions only (outer == inner == 1)
  kDimOnly = 1u << 1,      // reduce: along a dim only (refuses outer == inner == 1)
  kInnerOne = 1u << 2,     // reduce: the reduced dim is the innermost one (inner == 1)
  kInnerMany = 1u << 3,    // reduce: the reduced dim is not the innermost one (inner > 1)
  kVectorOnly = 1u << 4,   // matmul: matrix-vector shapes only (M == 1 or N == 1)
  kVendor = 1u << 5,       // a vendor library (CUB, cuBLAS, ...) behind our launcher contract
  kTF32 = 1u << 6,         // matmul: fp32 data, TF32 math (inputs rounded to 10 mantissa bits): another
                           // precision, checked and compared with TF32 rungs only ("tf32" in Python)
};

constexpr unsigned kAllReduceOps = 0x3f;
constexpr unsigned kSumOnly = 1u << int(ReduceOp::Sum);
constexpr unsigned kSumMean = (1u << int(ReduceOp::Sum)) | (1u << int(ReduceOp::Mean));
constexpr unsigned kAllTypes = kF32 | kF64 | kF16 | kBF16;

struct MatmulKernel {
  const char* name;
  unsigned dtypes;
  unsigned traits;
  int min_arch;
  int rank;
  MatmulFn launch;
  MatmulConfigFn config;  // nullptr when the rung is not one single kernel launch
  // refuses() first (kb::ArgumentError with the reason), then launch.
  void fn(const MatmulArgs& p, void* stream) const;
};

struct ReduceKernel {
  const char* name;
  unsigned dtypes;
  unsigned ops;
  unsigned traits;
  int min_arch;
  int rank;
  ReduceFn launch;
  ReduceWorkspaceFn workspace;  // may be nullptr (no workspace)
  ReduceConfigFn config;        // nullptr unless one launch (after zeroing the workspace) does it all
  tol::Summation summation{};   // its sums' order (kb_tolerance.h): the checkers' error bound follows it
  void fn(const ReduceArgs& p, void* stream) const;
};

struct RowwiseKernel {
  const char* name;
  unsigned dtypes;
  unsigned traits;
  int min_arch;
  int rank;
  RowwiseFn launch;
  void fn(const RowwiseArgs& p, void* stream) const;
};

// The one precondition check per op: nullptr when the kernel's table line accepts the problem,
// else why it refuses (a static sentence, e.g. "reduces whole tensors only (outer == inner == 1)").
// `arch` is the device's compute capability (10*major+minor); pass -1 when unknown (no GPU, or a
// CPU kernel): the min_arch check is then skipped.  No CUDA dependency (kb_tables.cpp).
const char* refuses(const MatmulKernel& k, const MatmulArgs& p, int arch = -1);
const char* refuses(const ReduceKernel& k, const ReduceArgs& p, int arch = -1);
const char* refuses(const RowwiseKernel& k, const RowwiseArgs& p, int arch = -1);
// Same, but throws kb::ArgumentError "impl: '<name>' <reason>; got <the sizes>" (every front door
// maps it to ValueError).
void require_accepts(const MatmulKernel& k, const MatmulArgs& p, int arch = -1);
void require_accepts(const ReduceKernel& k, const ReduceArgs& p, int arch = -1);
void require_accepts(const RowwiseKernel& k, const RowwiseArgs& p, int arch = -1);

// Every table, every fact, as JSON (read by kernelbench/registry; the pybind11 module returns it
// and setup.py writes it to kernelbench/_kb_tables.json).  Each entry also carries what
// refuses() says on one representative problem per layout class ("probes").
std::string tables_json();

// Defined in csrc/cpu/*/table.cpp (always) and csrc/cuda/*/table.cu (CUDA builds only).
const std::vector<MatmulKernel>& cpu_matmul_kernels();
const std::vector<ReduceKernel>& cpu_reduce_kernels();
const std::vector<RowwiseKernel>& cpu_softmax_kernels();
const std::vector<RowwiseKernel>& cpu_l2norm_kernels();
#ifdef KB_WITH_CUDA
const std::vector<MatmulKernel>& cuda_matmul_kernels();
const std::vector<ReduceKernel>& cuda_reduce_kernels();
const std::vector<RowwiseKernel>& cuda_softmax_kernels();
const std::vector<RowwiseKernel>& cuda_l2norm_kernels();
#endif

inline unsigned dtype_bit(DType d) { return 1u << int(d); }
const char* dtype_name(DType d);
const char* reduce_op_name(ReduceOp op);

}  // namespace kb

// Facts-only builds (setup.py's table dump, compiled by the host compiler without the kernels):
// launcher declarations marked KB_LAUNCHER get a stub body, so the tables link and every fact,
// including "has a config", reads the same as in the real build.
#ifdef KB_FACTS_ONLY
#define KB_LAUNCHER inline
#define KB_STUB { throw 0; }
#else
#define KB_LAUNCHER
#define KB_STUB
#endif
