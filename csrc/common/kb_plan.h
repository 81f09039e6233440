// Argument checks and problem planning, written once for every front door.
// A front door describes its arrays as TensorViews; these functions validate them
// (throwing kb::ArgumentError that names the argument and what was expected),
// pick the kernel from the table, and fill the problem struct and output shape.
#pragma once
#include <string>
#include <vector>
#include "kb_tables.h"

namespace kb {

struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  int device_index = -1;
  std::vector<kb_int64> sizes;
  std::vector<kb_int64> strides;   // in elements
};

// Parse "float32" / "float64" / "float16" / "bfloat16"; throws ArgumentError naming `arg`.
DType parse_dtype(const std::string& name, const char* arg);
std::string dtypes_string(unsigned mask);
std::string shape_string(const std::vector<kb_int64>& sizes);
const char* device_name(Device d);
ReduceOp parse_reduce_op(const std::string& op);

// Throws ArgumentError("<arg>: expected ... got <dtype name>") — for dtypes the front door
// cannot even map (int32, complex, ...).
[[noreturn]] void throw_bad_dtype(const char* arg, const std::string& got);

// Shape rules every rung obeys, native or Python-level: the plan_* functions below start with
// them, and the pybind11 module exposes them (check_matmul / check_reduce / check_rowwise) so
// kernelbench/api.py applies the same rules, with the same messages, to numba / numpy / framework
// rungs.  Inputs must be at least 1-D (matmul: 2-D or 3-D); `fill` says the result is a constant
// (K == 0: zeros; a sum over an empty dim: 0, a mean: NaN; L2 norms of empty rows: 0): the front
// door writes it and no kernel runs.  An empty result also runs no kernel.
struct ShapeCheck {
  std::vector<kb_int64> out_sizes;
  bool fill = false;
  double fill_value = 0.0;
  kb_int64 out_numel() const;
};
struct MatmulShape : ShapeCheck {
  kb_int64 batch = 1, m = 0, n = 0, k = 0;
};
MatmulShape check_matmul(const std::vector<kb_int64>& a, const std::vector<kb_int64>& b);
struct ReduceShape : ShapeCheck {
  kb_int64 outer = 1, r = 1, inner = 1, dim = 0;  // dim: normalized to [0, ndim) when has_dim
};
ReduceShape check_reduce(const std::vector<kb_int64>& x, ReduceOp op, bool has_dim, kb_int64 dim, bool keepdim);
struct RowwiseShape : ShapeCheck {
  kb_int64 rows = 0, cols = 0;
};
// kind: "softmax" or "l2norm".
RowwiseShape check_rowwise(const std::vector<kb_int64>& x, const std::string& kind);

// Writes `n` copies of `value` (converted to dtype) to host memory.
void fill_host(void* data, DType dtype, kb_int64 n, double value);

struct MatmulPlan {
  MatmulArgs args{};
  const MatmulKernel* kernel = nullptr;
  std::vector<kb_int64> out_sizes;
  bool copy_a = false, copy_b = false;  // the layout is unsupported: make it contiguous, plan again
  bool fill = false;                    // K == 0: the result is zeros (no kernel runs)
};
MatmulPlan plan_matmul(const TensorView& a, const TensorView& b, const std::string& impl);

struct ReducePlan {
  ReduceArgs args{};
  const ReduceKernel* kernel = nullptr;
  std::vector<kb_int64> out_sizes;
  bool index_output = false;   // argmax/argmin: int64 output
  bool copy_x = false;         // not contiguous: make it contiguous, plan again
  std::size_t workspace_bytes = 0;
  bool fill = false;           // an empty reduced dim: the result is fill_value (no kernel runs)
  double fill_value = 0.0;
};
// dim < 0 counts from the end; has_dim == false reduces every element.
ReducePlan plan_reduce(const TensorView& x, const std::string& op, bool has_dim, kb_int64 dim,
                       bool keepdim, const std::string& impl);

struct RowwisePlan {
  RowwiseArgs args{};
  const RowwiseKernel* kernel = nullptr;
  std::vector<kb_int64> out_sizes;
  bool copy_x = false;
  bool fill = false;           // l2norm of empty rows: zeros (no kernel runs)
};
// kind: "softmax" (log selects log-softmax) or "l2norm"; always over the last dim.
RowwisePlan plan_rowwise(const TensorView& x, const std::string& kind, bool log, const std::string& impl);

// Names in the tables, for the registry consistency test and `kernelbench info`.
std::vector<std::string> kernel_names(const std::string& op, Device device);
bool cuda_compiled();

}  // namespace kb
