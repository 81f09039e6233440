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

struct MatmulPlan {
  MatmulArgs args{};
  const MatmulKernel* kernel = nullptr;
  std::vector<kb_int64> out_sizes;
  bool copy_a = false, copy_b = false;  // the layout is unsupported: make it contiguous, plan again
};
MatmulPlan plan_matmul(const TensorView& a, const TensorView& b, const std::string& impl);

struct ReducePlan {
  ReduceArgs args{};
  const ReduceKernel* kernel = nullptr;
  std::vector<kb_int64> out_sizes;
  bool index_output = false;   // argmax/argmin: int64 output
  bool copy_x = false;         // not contiguous: make it contiguous, plan again
  std::size_t workspace_bytes = 0;
};
// dim < 0 counts from the end; has_dim == false reduces every element.
ReducePlan plan_reduce(const TensorView& x, const std::string& op, bool has_dim, kb_int64 dim,
                       bool keepdim, const std::string& impl);

struct RowwisePlan {
  RowwiseArgs args{};
  const RowwiseKernel* kernel = nullptr;
  std::vector<kb_int64> out_sizes;
  bool copy_x = false;
};
// kind: "softmax" (log selects log-softmax) or "l2norm"; always over the last dim.
RowwisePlan plan_rowwise(const TensorView& x, const std::string& kind, bool log, const std::string& impl);

// Names in the tables, for the registry consistency test and `kernelbench info`.
std::vector<std::string> kernel_names(const std::string& op, Device device);
bool cuda_compiled();

}  // namespace kb
