// Argument checks and problem planning shared by the torch, TensorFlow and pybind11 front doors.
#include "kb_plan.h"

#include <cstring>
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

MatmulPlan plan_matmul(const TensorView& a, const TensorView& b, const std::string& impl) {
  MatmulPlan plan;
  const int ra = int(a.sizes.size()), rb = int(b.sizes.size());
  KB_REQUIRE(ra == 2 || ra == 3, "a: expected a 2-D (M, K) or 3-D (batch, M, K) tensor, got " << ra << "-D shape "
                                      << shape_string(a.sizes));
  KB_REQUIRE(rb == 2 || rb == 3, "b: expected a 2-D (K, N) or 3-D (batch, K, N) tensor, got " << rb << "-D shape "
                                      << shape_string(b.sizes));
  KB_REQUIRE(a.dtype == b.dtype, "b: expected the dtype of a (" << dtype_name(a.dtype) << "), got "
                                     << dtype_name(b.dtype));
  KB_REQUIRE(a.device == b.device && a.device_index == b.device_index,
             "b: expected a tensor on the device of a (" << device_name(a.device) << "), got "
                                                         << device_name(b.device));
  require_device_ok(a, "a");
  const kb_int64 m = a.sizes[ra - 2], k = a.sizes[ra - 1];
  const kb_int64 kb = b.sizes[rb - 2], n = b.sizes[rb - 1];
  KB_REQUIRE(k == kb, "b: inner dimensions differ: a is " << shape_string(a.sizes) << " (M, K) with K=" << k
                          << " but b is " << shape_string(b.sizes) << " (K, N) with K=" << kb);
  const kb_int64 ba = ra == 3 ? a.sizes[0] : 1, bb = rb == 3 ? b.sizes[0] : 1;
  KB_REQUIRE(ba == bb || ba == 1 || bb == 1, "b: batch sizes differ: a has " << ba << ", b has " << bb);
  const kb_int64 batch = ba > bb ? ba : bb;

  plan.kernel = lookup(cpu_matmul_kernels(), cuda_matmul_table(), "matmul", impl, a.device, "a");
  require_dtype(plan.kernel->dtypes, a.dtype, impl, "a");
  {  // the table line's preconditions (kb::refuses, kb_tables.cpp), before anything is allocated
    MatmulArgs probe{};
    probe.m = m; probe.n = n; probe.k = k; probe.batch = batch; probe.dtype = a.dtype;
    require_accepts(*plan.kernel, probe);
  }

  const MatrixLayout la = matrix_layout(m, k, a.strides[ra - 2], a.strides[ra - 1]);
  const MatrixLayout lb = matrix_layout(k, n, b.strides[rb - 2], b.strides[rb - 1]);
  plan.copy_a = !la.ok;
  plan.copy_b = !lb.ok;
  if (plan.copy_a || plan.copy_b) return plan;

  MatmulArgs& p = plan.args;
  p.a = a.data; p.b = b.data; p.c = nullptr;
  p.m = m; p.n = n; p.k = k; p.batch = batch;
  p.lda = la.ld; p.ldb = lb.ld; p.ldc = n > 0 ? n : 1;
  p.trans_a = la.trans; p.trans_b = lb.trans;
  p.stride_a = (ra == 3 && ba > 1) ? a.strides[0] : 0;
  p.stride_b = (rb == 3 && bb > 1) ? b.strides[0] : 0;
  p.stride_c = m * n;
  p.dtype = a.dtype;
  if (ra == 3 || rb == 3) plan.out_sizes = {batch, m, n};
  else plan.out_sizes = {m, n};
  return plan;
}

ReducePlan plan_reduce(const TensorView& x, const std::string& op_name, bool has_dim, kb_int64 dim,
                       bool keepdim, const std::string& impl) {
  ReducePlan plan;
  const ReduceOp op = parse_reduce_op(op_name);
  require_device_ok(x, "x");
  const int nd = int(x.sizes.size());
  kb_int64 outer = 1, r = numel(x), inner = 1;
  if (has_dim) {
    const int lim = nd > 0 ? nd : 1;
    KB_REQUIRE(dim >= -lim && dim < lim, "dim: expected a value in [" << -lim << ", " << lim - 1 << "] for a "
                                            << nd << "-D tensor, got " << dim);
    if (dim < 0) dim += lim;
    if (nd > 0) {
      outer = 1; inner = 1;
      for (int i = 0; i < dim; ++i) outer *= x.sizes[i];
      r = x.sizes[dim];
      for (int i = int(dim) + 1; i < nd; ++i) inner *= x.sizes[i];
    }
    for (int i = 0; i < nd; ++i) {
      if (i == dim) { if (keepdim) plan.out_sizes.push_back(1); }
      else plan.out_sizes.push_back(x.sizes[i]);
    }
  } else if (keepdim) {
    plan.out_sizes.assign(nd, 1);
  }
  const bool needs_elements = op != ReduceOp::Sum && op != ReduceOp::Mean;
  KB_REQUIRE(!(needs_elements && r == 0 && outer * inner > 0),
             "x: " << op_name << " of an empty " << (has_dim ? "dimension" : "tensor") << " is undefined (shape "
                   << shape_string(x.sizes) << "); torch raises here too");

  plan.kernel = lookup(cpu_reduce_kernels(), cuda_reduce_table(), "reduce", impl, x.device, "x");
  require_dtype(plan.kernel->dtypes, x.dtype, impl, "x");
  KB_REQUIRE(plan.kernel->ops & (1u << int(op)), "op: impl '" << impl << "' does not implement " << op_name);
  {  // the table line's preconditions (kb::refuses, kb_tables.cpp), before the workspace is sized
    ReduceArgs probe{};
    probe.outer = outer; probe.r = r; probe.inner = inner; probe.op = op; probe.dtype = x.dtype;
    require_accepts(*plan.kernel, probe);
  }
  plan.copy_x = !is_contiguous(x);
  plan.index_output = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  if (plan.copy_x) return plan;

  ReduceArgs& p = plan.args;
  p.x = x.data; p.out = nullptr;
  p.outer = outer; p.r = r; p.inner = inner;
  p.op = op; p.dtype = x.dtype;
  p.workspace = nullptr;
  p.workspace_bytes = 0;
  if (plan.kernel->workspace && outer * inner > 0) plan.workspace_bytes = plan.kernel->workspace(p);
  p.workspace_bytes = plan.workspace_bytes;
  return plan;
}

RowwisePlan plan_rowwise(const TensorView& x, const std::string& kind, bool log, const std::string& impl) {
  RowwisePlan plan;
  require_device_ok(x, "x");
  const int nd = int(x.sizes.size());
  KB_REQUIRE(nd >= 1, "x: expected at least a 1-D tensor (rows over the last dim), got a 0-D tensor");
  const bool softmax = kind == "softmax";
  plan.kernel = softmax ? lookup(cpu_softmax_kernels(), cuda_rowwise_table(true), "softmax", impl, x.device, "x")
                        : lookup(cpu_l2norm_kernels(), cuda_rowwise_table(false), "l2norm", impl, x.device, "x");
  require_dtype(plan.kernel->dtypes, x.dtype, impl, "x");
  plan.copy_x = !is_contiguous(x);
  const kb_int64 cols = x.sizes[nd - 1];
  const kb_int64 rows = cols > 0 ? numel(x) / cols : [&] { kb_int64 r = 1; for (int i = 0; i < nd - 1; ++i) r *= x.sizes[i]; return r; }();
  plan.out_sizes = x.sizes;
  if (!softmax) plan.out_sizes.pop_back();
  RowwiseArgs& p = plan.args;
  p.x = x.data; p.y = nullptr; p.rows = rows; p.cols = cols; p.log = log; p.dtype = x.dtype;
  require_accepts(*plan.kernel, p);  // the table line's preconditions (kb::refuses, kb_tables.cpp)
  return plan;
}

}  // namespace kb
