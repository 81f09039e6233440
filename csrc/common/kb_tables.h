// The kernel tables: name -> launcher, one table per op and device.
// Every front door (torch op, TF op, pybind11 module) looks kernels up here by the
// registry name; tests check that these names and kernelbench/registry agree.
#pragma once
#include <cstddef>
#include <string>
#include <vector>
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

struct MatmulKernel {
  const char* name;
  unsigned dtypes;        // DTypeMask bits
  MatmulFn fn;
  MatmulConfigFn config;  // nullptr when the rung is not one single kernel launch
};

struct ReduceKernel {
  const char* name;
  unsigned dtypes;
  bool full_only;          // true: only outer == inner == 1 (a whole-tensor reduction)
  bool dim_only;           // true: only reductions along a dim (outer*inner > 1 allowed, full too)
  unsigned ops;            // bit (1 << int(ReduceOp)) per supported op
  ReduceFn fn;
  ReduceWorkspaceFn workspace;  // may be nullptr (no workspace)
  ReduceConfigFn config;        // nullptr unless one launch (after zeroing the workspace) does it all
};

struct RowwiseKernel {
  const char* name;
  unsigned dtypes;
  RowwiseFn fn;
};

constexpr unsigned kAllReduceOps = 0x3f;
constexpr unsigned kSumOnly = 1u << int(ReduceOp::Sum);

// Defined in csrc/cpu/*_table.cpp (always) and csrc/cuda/*/table.cu (CUDA builds only).
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
