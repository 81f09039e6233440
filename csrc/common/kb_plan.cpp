// Argument checks and problem planning shared by the torch, TensorFlow and pybind11 front doors.
#include "kb_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include "kb_error.h"

namespace kb {
namespace {

template <typename K>
const K* find_kernel(const std::vector<K>& table, const std::string& impl) {
  for (const K& k : table)
    if (impl == k.name) return &k;
  return nullptr;
}

std::string names_of(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Look the kernel up in the table of x's device; explain device mismatches and unknown names.
template <typename K>
const K* lookup(const std::vector<K>& cpu, const std::vector<K>* cuda, const std::string& op,
                const std::string& impl, Device device, const char* arg) {
  const std::vector<K>& here = device == Device::CPU ? cpu : *cuda;
  if (const K* k = find_kernel(here, impl)) return k;
  const std::vector<K>* other = device == Device::CPU ? cuda : &cpu;
  if (other && find_kernel(*other, impl))
    KB_REQUIRE(false, "impl: '" << impl << "' runs on " << device_name(device == Device::CPU ? Device::CUDA : Device::CPU)
                                << " but " << arg << " is on " << device_name(device));
  KB_REQUIRE(false, "impl: no " << op << " kernel named '" << impl << "' for " << device_name(device)
                                << "; known: " << names_of(kernel_names(op, device)));
  return nullptr;
}

void require_dtype(unsigned mask, DType d, const std::string& impl, const char* arg) {
  KB_REQUIRE(mask & dtype_bit(d), arg << ": impl '" << impl << "' supports " << dtypes_string(mask)
                                      << ", got " << dtype_name(d));
}

void require_device_ok(const TensorView& t, const char* arg) {
#ifndef KB_WITH_CUDA
  KB_REQUIRE(t.device == Device::CPU, arg << ": this build of kernelbench has no CUDA kernels "
                                             "(rebuild with nvcc available and KERNELBENCH_CUDA=1)");
#else
  (void)t; (void)arg;
#endif
}

const std::vector<MatmulKernel>* cuda_matmul_table() {
#ifdef KB_WITH_CUDA
  return &cuda_matmul_kernels();
#else
  return nullptr;
#endif
}
const std::vector<ReduceKernel>* cuda_reduce_table() {
#ifdef KB_WITH_CUDA
  return &cuda_reduce_kernels();
#else
  return nullptr;
#endif
}
const std::vector<RowwiseKernel>* cuda_rowwise_table(bool softmax) {
#ifdef KB_WITH_CUDA
  return softmax ? &cuda_softmax_kernels() : &cuda_l2norm_kernels();
#else
  (void)softmax;
  return nullptr;
#endif
}

struct MatrixLayout {
  bool ok = false, trans = false;
  kb_int64 ld = 0;
};

// A matrix (rows, cols) with element strides (rs, cs) is usable when one of the two is 1
// and the other is a valid leading dimension.  Size-1 dims may carry any stride.
MatrixLayout matrix_layout(kb_int64 rows, kb_int64 cols, kb_int64 rs, kb_int64 cs) {
  MatrixLayout l;
  if (rows == 0 || cols == 0) {  // empty: strides are meaningless
    l.ok = true; l.ld = cols > 1 ? cols : 1;
    return l;
  }
  if (cols <= 1) cs = 1;
  if (rows <= 1) rs = cols > 1 ? cols : 1;
  if (cs == 1 && rs >= (cols > 1 ? cols : 1)) { l.ok = true; l.trans = false; l.ld = rs; return l; }
  if (rows <= 1 || cols <= 1 || rs == 1) {
    // Column-major storage: the matrix is the transpose of a row-major (cols, rows) matrix.
    kb_int64 ld = cols <= 1 ? (rows > 1 ? rows : 1) : cs;
    if (rs == 1 && ld >= (rows > 1 ? rows : 1)) { l.ok = true; l.trans = true; l.ld = ld; return l; }
  }
  return l;
}

kb_int64 numel(const TensorView& t);

bool is_contiguous(const TensorView& t) {
  if (numel(t) == 0) return true;
  kb_int64 expected = 1;
  for (int i = int(t.sizes.size()) - 1; i >= 0; --i) {
    if (t.sizes[i] != 1 && t.strides[i] != expected) return false;
    expected *= t.sizes[i];
  }
  return true;
}

kb_int64 numel(const TensorView& t) {
  kb_int64 n = 1;
  for (kb_int64 s : t.sizes) n *= s;
  return n;
}

}  // namespace

const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

DType parse_dtype(const std::string& name, const char* arg) {
  if (name == "float32") return DType::F32;
  if (name == "float64") return DType::F64;
  if (name == "float16") return DType::F16;
  if (name == "bfloat16") return DType::BF16;
  throw_bad_dtype(arg, name);
}

void throw_bad_dtype(const char* arg, const std::string& got) {
  KB_REQUIRE(false, arg << ": expected a floating-point tensor (float32, float64, float16 or bfloat16), got " << got);
  throw 0;  // unreachable
}

std::string dtypes_string(unsigned mask) {
  std::string s;
  for (int d = 0; d < 4; ++d)
    if (mask & (1u << d)) s += (s.empty() ? "" : ", ") + std::string(dtype_name(DType(d)));
  return s;
}

std::string shape_string(const std::vector<kb_int64>& sizes) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < sizes.size(); ++i) o << (i ? ", " : "") << sizes[i];
  if (sizes.size() == 1) o << ",";
  o << ")";
  return o.str();
}

ReduceOp parse_reduce_op(const std::string& op) {
  for (int i = 0; i < 6; ++i)
    if (op == reduce_op_name(ReduceOp(i))) return ReduceOp(i);
  KB_REQUIRE(false, "op: expected one of sum, mean, max, min, argmax, argmin, got '" << op << "'");
  return ReduceOp::Sum;
}

bool cuda_compiled() {
#ifdef KB_WITH_CUDA
  return true;
#else
  return false;
#endif
}

std::vector<std::string> kernel_names(const std::string& op, Device device) {
  std::vector<std::string> out;
  auto add = [&](const auto* table) {
    if (table)
      for (const auto& k : *table) out.push_back(k.name);
  };
  const bool cpu = device == Device::CPU;
  if (op == "matmul") add(cpu ? &cpu_matmul_kernels() : cuda_matmul_table());
  else if (op == "reduce") add(cpu ? &cpu_reduce_kernels() : cuda_reduce_table());
  else if (op == "softmax" || op == "log_softmax") add(cpu ? &cpu_softmax_kernels() : cuda_rowwise_table(true));
  else if (op == "l2norm") add(cpu ? &cpu_l2norm_kernels() : cuda_rowwise_table(false));
  else KB_REQUIRE(false, "op: unknown op '" << op << "'");
  return out;
}

kb_int64 ShapeCheck::out_numel() const {
  kb_int64 n = 1;
  for (kb_int64 s : out_sizes) n *= s;
  return n;
}

namespace {
void require_at_least_1d(const std::vector<kb_int64>& x, const char* arg) {
  KB_REQUIRE(!x.empty(), arg << ": expected at least a 1-D tensor, got a 0-D tensor");
}
void require_sizes(const std::vector<kb_int64>& x, const char* arg) {
  for (kb_int64 s : x) KB_REQUIRE(s >= 0, arg << ": negative size in shape " << shape_string(x));
}
}  // namespace

MatmulShape check_matmul(const std::vector<kb_int64>& a, const std::vector<kb_int64>& b) {
  MatmulShape s;
  const int ra = int(a.size()), rb = int(b.size());
  KB_REQUIRE(ra == 2 || ra == 3, "a: expected a 2-D (M, K) or 3-D (batch, M, K) tensor, got " << ra << "-D shape "
                                      << shape_string(a));
  KB_REQUIRE(rb == 2 || rb == 3, "b: expected a 2-D (K, N) or 3-D (batch, K, N) tensor, got " << rb << "-D shape "
                                      << shape_string(b));
  require_sizes(a, "a");
  require_sizes(b, "b");
  s.m = a[ra - 2];
  s.k = a[ra - 1];
  s.n = b[rb - 1];
  KB_REQUIRE(s.k == b[rb - 2], "b: inner dimensions differ: a is " << shape_string(a) << " (M, K) with K=" << s.k
                                   << " but b is " << shape_string(b) << " (K, N) with K=" << b[rb - 2]);
  const kb_int64 ba = ra == 3 ? a[0] : 1, bb = rb == 3 ? b[0] : 1;
  KB_REQUIRE(ba == bb || ba == 1 || bb == 1, "b: batch sizes differ: a has " << ba << ", b has " << bb);
  s.batch = ba == 1 ? bb : ba;  // broadcasting: a batch of 1 takes the other's, including 0
  if (ra == 3 || rb == 3) s.out_sizes = {s.batch, s.m, s.n};
  else s.out_sizes = {s.m, s.n};
  s.fill = s.k == 0;  // an empty sum: zeros
  return s;
}

ReduceShape check_reduce(const std::vector<kb_int64>& x, ReduceOp op, bool has_dim, kb_int64 dim, bool keepdim) {
  ReduceShape s;
  require_at_least_1d(x, "x");
  require_sizes(x, "x");
  const int nd = int(x.size());
  kb_int64 total = 1;
  for (kb_int64 v : x) total *= v;
  s.r = total;
  if (has_dim) {
    KB_REQUIRE(dim >= -nd && dim < nd, "dim: expected a value in [" << -nd << ", " << nd - 1 << "] for a " << nd
                                          << "-D tensor, got " << dim);
    if (dim < 0) dim += nd;
    s.dim = dim;
    for (int i = 0; i < dim; ++i) s.outer *= x[i];
    s.r = x[dim];
    for (int i = int(dim) + 1; i < nd; ++i) s.inner *= x[i];
    for (int i = 0; i < nd; ++i) {
      if (i == dim) { if (keepdim) s.out_sizes.push_back(1); }
      else s.out_sizes.push_back(x[i]);
    }
  } else if (keepdim) {
    s.out_sizes.assign(nd, 1);
  }
  const bool sum_like = op == ReduceOp::Sum || op == ReduceOp::Mean;
  KB_REQUIRE(sum_like || s.r > 0 || s.outer * s.inner == 0,
             "x: " << reduce_op_name(op) << " of an empty " << (has_dim ? "dimension" : "tensor") << " is undefined (shape "
                   << shape_string(x) << "); torch raises here too");
  if (s.r == 0) {  // sum of nothing: 0; mean of nothing: 0 / 0
    s.fill = true;
    s.fill_value = op == ReduceOp::Mean ? std::numeric_limits<double>::quiet_NaN() : 0.0;
  }
  return s;
}

RowwiseShape check_rowwise(const std::vector<kb_int64>& x, const std::string& kind) {
  RowwiseShape s;
  KB_REQUIRE(kind == "softmax" || kind == "l2norm", "kind: expected softmax or l2norm, got '" << kind << "'");
  require_at_least_1d(x, "x");
  require_sizes(x, "x");
  const int nd = int(x.size());
  s.cols = x[nd - 1];
  s.rows = 1;
  for (int i = 0; i < nd - 1; ++i) s.rows *= x[i];
  s.out_sizes = x;
  if (kind == "l2norm") {
    s.out_sizes.pop_back();
    s.fill = s.cols == 0;  // the norm of an empty row is 0
  }
  return s;
}

void fill_host(void* data, DType dtype, kb_int64 n, double value) {
  switch (dtype) {
    case DType::F32: std::fill_n(static_cast<float*>(data), n, static_cast<float>(value)); return;
    case DType::F64: std::fill_n(static_cast<double*>(data), n, value); return;
    case DType::F16:
    case DType::BF16: {
      // Only the constants plans produce: 0 and NaN.
      KB_REQUIRE(value == 0.0 || std::isnan(value), "fill_host: unsupported 16-bit constant " << value);
      const std::uint16_t bits = value == 0.0 ? 0 : (dtype == DType::F16 ? 0x7e00 : 0x7fc0);
      std::fill_n(static_cast<std::uint16_t*>(data), n, bits);
      return;
    }
  }
}

MatmulPlan plan_matmul(const TensorView& a, const TensorView& b, const std::string& impl) {
  MatmulPlan plan;
  const MatmulShape s = check_matmul(a.sizes, b.sizes);
  const int ra = int(a.sizes.size()), rb = int(b.sizes.size());
  KB_REQUIRE(a.dtype == b.dtype, "b: expected the dtype of a (" << dtype_name(a.dtype) << "), got "
                                     << dtype_name(b.dtype));
  KB_REQUIRE(a.device == b.device && a.device_index == b.device_index,
             "b: expected a tensor on the device of a (" << device_name(a.device) << "), got "
                                                         << device_name(b.device));
  require_device_ok(a, "a");
  plan.kernel = lookup(cpu_matmul_kernels(), cuda_matmul_table(), "matmul", impl, a.device, "a");
  require_dtype(plan.kernel->dtypes, a.dtype, impl, "a");
  {  // the table line's preconditions (kb::refuses, kb_tables.cpp), before anything is allocated
    MatmulArgs probe{};
    probe.m = s.m; probe.n = s.n; probe.k = s.k; probe.batch = s.batch; probe.dtype = a.dtype;
    require_accepts(*plan.kernel, probe);
  }
  plan.out_sizes = s.out_sizes;
  plan.fill = s.fill;
  const kb_int64 m = s.m, n = s.n, k = s.k;
  // Nothing is read when the result is empty or all zeros: any layout will do (numpy gives
  // empty arrays all-zero strides).
  if (s.fill || s.out_numel() == 0) return plan;

  const MatrixLayout la = matrix_layout(m, k, a.strides[ra - 2], a.strides[ra - 1]);
  const MatrixLayout lb = matrix_layout(k, n, b.strides[rb - 2], b.strides[rb - 1]);
  plan.copy_a = !la.ok;
  plan.copy_b = !lb.ok;
  if (plan.copy_a || plan.copy_b) return plan;

  const kb_int64 ba = ra == 3 ? a.sizes[0] : 1, bb = rb == 3 ? b.sizes[0] : 1;
  MatmulArgs& p = plan.args;
  p.a = a.data; p.b = b.data; p.c = nullptr;
  p.m = m; p.n = n; p.k = k; p.batch = s.batch;
  p.lda = la.ld; p.ldb = lb.ld; p.ldc = n > 0 ? n : 1;
  p.trans_a = la.trans; p.trans_b = lb.trans;
  p.stride_a = (ra == 3 && ba > 1) ? a.strides[0] : 0;
  p.stride_b = (rb == 3 && bb > 1) ? b.strides[0] : 0;
  p.stride_c = m * n;
  p.dtype = a.dtype;
  return plan;
}

ReducePlan plan_reduce(const TensorView& x, const std::string& op_name, bool has_dim, kb_int64 dim,
                       bool keepdim, const std::string& impl) {
  ReducePlan plan;
  const ReduceOp op = parse_reduce_op(op_name);
  require_device_ok(x, "x");
  const ReduceShape s = check_reduce(x.sizes, op, has_dim, dim, keepdim);
  plan.out_sizes = s.out_sizes;
  plan.fill = s.fill;
  plan.fill_value = s.fill_value;

  plan.kernel = lookup(cpu_reduce_kernels(), cuda_reduce_table(), "reduce", impl, x.device, "x");
  require_dtype(plan.kernel->dtypes, x.dtype, impl, "x");
  KB_REQUIRE(plan.kernel->ops & (1u << int(op)), "op: impl '" << impl << "' does not implement " << op_name);
  {  // the table line's preconditions (kb::refuses, kb_tables.cpp), before the workspace is sized
    ReduceArgs probe{};
    probe.outer = s.outer; probe.r = s.r; probe.inner = s.inner; probe.op = op; probe.dtype = x.dtype;
    require_accepts(*plan.kernel, probe);
  }
  plan.index_output = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  if (s.fill || s.out_numel() == 0) return plan;
  plan.copy_x = !is_contiguous(x);
  if (plan.copy_x) return plan;

  ReduceArgs& p = plan.args;
  p.x = x.data; p.out = nullptr;
  p.outer = s.outer; p.r = s.r; p.inner = s.inner;
  p.op = op; p.dtype = x.dtype;
  p.workspace = nullptr;
  p.workspace_bytes = 0;
  if (plan.kernel->workspace) plan.workspace_bytes = plan.kernel->workspace(p);
  p.workspace_bytes = plan.workspace_bytes;
  return plan;
}

RowwisePlan plan_rowwise(const TensorView& x, const std::string& kind, bool log, const std::string& impl) {
  RowwisePlan plan;
  require_device_ok(x, "x");
  const RowwiseShape s = check_rowwise(x.sizes, kind);
  const bool softmax = kind == "softmax";
  plan.kernel = softmax ? lookup(cpu_softmax_kernels(), cuda_rowwise_table(true), "softmax", impl, x.device, "x")
                        : lookup(cpu_l2norm_kernels(), cuda_rowwise_table(false), "l2norm", impl, x.device, "x");
  require_dtype(plan.kernel->dtypes, x.dtype, impl, "x");
  {  // the table line's preconditions (kb::refuses, kb_tables.cpp)
    RowwiseArgs probe{};
    probe.rows = s.rows; probe.cols = s.cols; probe.log = log; probe.dtype = x.dtype;
    require_accepts(*plan.kernel, probe);
  }
  plan.out_sizes = s.out_sizes;
  plan.fill = s.fill;
  if (s.fill || s.out_numel() == 0) return plan;
  plan.copy_x = !is_contiguous(x);
  RowwiseArgs& p = plan.args;
  p.x = x.data; p.y = nullptr; p.rows = s.rows; p.cols = s.cols; p.log = log; p.dtype = x.dtype;
  return plan;
}

}  // namespace kb
