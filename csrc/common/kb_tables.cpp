// The one precondition check of a table line (refuses), the checked launch every caller goes
// through (Kernel::fn), and the tables as JSON for kernelbench/registry.  No CUDA dependency:
// the CPU SIMT executor and the facts-only table dump compile this file with the host compiler.
#include "kb_tables.h"

#include <sstream>
#include "kb_error.h"
#if defined(KB_WITH_CUDA) && !defined(KB_FACTS_ONLY)
#include <cuda_runtime.h>  // the device's compute capability, for the min_arch column (the executor fakes sm_90)
#endif
#ifdef KB_SIM
#include "../sim/kbsim_extent.h"  // the executor checks every launch against the regions of its arguments
#define KB_EXTENT_SCOPE(p) const kbsim::ExtentScope extent_scope(kbsim::regions_of(p))
#else
#define KB_EXTENT_SCOPE(p) (void)0
#endif

namespace kb {
namespace {

// min_arch 90 is sm_90a: arch-specific features (wgmma, TMA, setmaxnreg) that sm_100 / sm_120 lack,
// so it is the exact architecture, not a lower bound (as kernelbench/registry reads it).
bool arch_too_old(int min_arch, int arch) {
  return arch >= 0 && min_arch > 0 && (min_arch == 90 ? arch != 90 : arch < min_arch);
}

// The current CUDA device's compute capability (10*major+minor); -1 when unknown (no device, or a
// build without CUDA): the min_arch check is then left to the front door's availability check.
int current_device_arch() {
#if defined(KB_WITH_CUDA) && !defined(KB_FACTS_ONLY)
  int dev = 0, major = 0, minor = 0;
  if (cudaGetDevice(&dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess)
    return -1;
  return 10 * major + minor;
#else
  return -1;
#endif
}

// The arch a launch is checked against: asked of the device only for lines with a min_arch.
int launch_arch(int min_arch) { return min_arch > 0 ? current_device_arch() : -1; }

constexpr const char* kWhyDtype = "does not take this dtype";
constexpr const char* kWhyArch = "needs a newer GPU (its min_arch is above this device's compute capability)";
constexpr const char* kWhySm90a = "needs sm_90a exactly (wgmma, TMA and setmaxnreg are arch-specific: other GPUs, "
                                  "sm_100 and sm_120 included, lack them)";

}  // namespace

const char* refuses(const MatmulKernel& k, const MatmulArgs& p, int arch) {
  if (!(k.dtypes & dtype_bit(p.dtype))) return kWhyDtype;
  if ((k.traits & kVectorOnly) && !(p.m == 1 || p.n == 1))
    return "takes matrix-vector shapes only (M == 1 or N == 1)";
  if (arch_too_old(k.min_arch, arch)) return k.min_arch == 90 ? kWhySm90a : kWhyArch;
  return nullptr;
}

const char* refuses(const ReduceKernel& k, const ReduceArgs& p, int arch) {
  if (!(k.dtypes & dtype_bit(p.dtype))) return kWhyDtype;
  if (!(k.ops & (1u << int(p.op)))) return "does not implement this reduction op";
  const bool whole = p.outer == 1 && p.inner == 1;
  if ((k.traits & kWholeOnly) && !whole)
    return "reduces whole tensors only (outer == inner == 1): pass dim=None or choose a dim rung";
  if ((k.traits & kDimOnly) && whole) return "reduces along a dim only (not outer == inner == 1)";
  if ((k.traits & kInnerOne) && p.inner != 1) return "reduces the innermost dim only (inner == 1)";
  if ((k.traits & kInnerMany) && !(p.inner > 1)) return "reduces a non-innermost dim only (inner > 1)";
  if (arch_too_old(k.min_arch, arch)) return kWhyArch;
  return nullptr;
}

const char* refuses(const RowwiseKernel& k, const RowwiseArgs& p, int arch) {
  if (!(k.dtypes & dtype_bit(p.dtype))) return kWhyDtype;
  if (arch_too_old(k.min_arch, arch)) return kWhyArch;
  return nullptr;
}

void require_accepts(const MatmulKernel& k, const MatmulArgs& p, int arch) {
  if (const char* why = refuses(k, p, arch))
    KB_REQUIRE(false, "impl: '" << k.name << "' " << why << "; got M=" << p.m << ", N=" << p.n << ", K=" << p.k
                                << ", " << dtype_name(p.dtype));
}

void require_accepts(const ReduceKernel& k, const ReduceArgs& p, int arch) {
  if (const char* why = refuses(k, p, arch))
    KB_REQUIRE(false, "impl: '" << k.name << "' " << why << "; got " << reduce_op_name(p.op) << " of a "
                                << dtype_name(p.dtype) << " (outer, r, inner) = (" << p.outer << ", " << p.r
                                << ", " << p.inner << ")");
}

void require_accepts(const RowwiseKernel& k, const RowwiseArgs& p, int arch) {
  if (const char* why = refuses(k, p, arch))
    KB_REQUIRE(false, "impl: '" << k.name << "' " << why << "; got " << p.rows << " rows of " << p.cols << ", "
                                << dtype_name(p.dtype));
}

// The dispatcher: every launch checks the table line (dtypes, layout, min_arch) here, so launchers
// and plan functions never re-check what the line says.
void MatmulKernel::fn(const MatmulArgs& p, void* stream) const {
  require_accepts(*this, p, launch_arch(min_arch));
  KB_EXTENT_SCOPE(p);
  launch(p, stream);
}
void ReduceKernel::fn(const ReduceArgs& p, void* stream) const {
  require_accepts(*this, p, launch_arch(min_arch));
  KB_EXTENT_SCOPE(p);
  launch(p, stream);
}
void RowwiseKernel::fn(const RowwiseArgs& p, void* stream) const {
  require_accepts(*this, p, launch_arch(min_arch));
  KB_EXTENT_SCOPE(p);
  launch(p, stream);
}

// ------------------------------------------------------------------------------------- JSON
namespace {

std::string quoted(const char* s) {
  if (!s) return "null";
  std::string o = "\"";
  for (const char* c = s; *c; ++c) {
    if (*c == '"' || *c == '\\') o += '\\';
    o += *c;
  }
  return o + "\"";
}

DType first_dtype(unsigned mask) {
  for (int d = 0; d < 4; ++d)
    if (mask & (1u << d)) return DType(d);
  return DType::F32;
}

std::string dtypes_json(unsigned mask) {
  std::string s = "[";
  for (int d = 0; d < 4; ++d)
    if (mask & (1u << d)) s += (s.size() > 1 ? ", " : "") + quoted(dtype_name(DType(d)));
  return s + "]";
}

std::string traits_json(unsigned t) {
  static const struct { unsigned bit; const char* name; } names[] = {
      {kWholeOnly, "whole_only"}, {kDimOnly, "dim_only"},       {kInnerOne, "inner_one"},
      {kInnerMany, "inner_many"}, {kVectorOnly, "vector_only"}, {kVendor, "vendor"},
      {kTF32, "tf32"}};
  std::string s = "[";
  for (const auto& n : names)
    if (t & n.bit) s += (s.size() > 1 ? ", " : "") + quoted(n.name);
  return s + "]";
}

template <typename K>
void common_json(std::ostringstream& o, const K& k, const char* op, const char* device) {
  o << "{\"name\": " << quoted(k.name) << ", \"op\": " << quoted(op) << ", \"device\": " << quoted(device)
    << ", \"dtypes\": " << dtypes_json(k.dtypes) << ", \"traits\": " << traits_json(k.traits)
    << ", \"min_arch\": " << k.min_arch << ", \"rank\": " << k.rank;
}

// One representative problem per layout class: what refuses() says on it is recorded with the
// entry, so Python decides applicability with this very function, never with a copy of it.
void matmul_json(std::ostringstream& o, const MatmulKernel& k, const char* device) {
  common_json(o, k, "matmul", device);
  MatmulArgs p{};
  p.k = 4; p.batch = 1; p.lda = p.ldb = p.ldc = 4; p.dtype = first_dtype(k.dtypes);
  p.m = 4; p.n = 4;
  const char* matrix = refuses(k, p);
  p.m = 1;
  const char* vector = refuses(k, p);
  o << ", \"variants\": [], \"nvrtc\": " << (k.config ? "true" : "false") << ", \"workspace\": false"
    << ", \"probes\": {\"matrix\": " << quoted(matrix) << ", \"vector\": " << quoted(vector) << "}}";
}

void reduce_json(std::ostringstream& o, const ReduceKernel& k, const char* device) {
  common_json(o, k, "reduce", device);
  o << ", \"summation\": {\"order\": " << quoted(tol::sum_order_name(k.summation.order))
    << ", \"ways\": " << k.summation.ways << ", \"columns\": " << quoted(tol::sum_order_name(k.summation.columns)) << "}";
  o << ", \"variants\": [";
  bool first = true;
  int op0 = -1;
  for (int i = 0; i < 6; ++i)
    if (k.ops & (1u << i)) {
      o << (first ? "" : ", ") << quoted(reduce_op_name(ReduceOp(i)));
      first = false;
      if (op0 < 0) op0 = i;
    }
  ReduceArgs p{};
  p.r = 8; p.op = ReduceOp(op0 < 0 ? 0 : op0); p.dtype = first_dtype(k.dtypes);
  const kb_int64 shapes[3][2] = {{1, 1}, {4, 1}, {4, 3}};   // (outer, inner): whole, rows, columns
  const char* why[3];
  for (int s = 0; s < 3; ++s) {
    p.outer = shapes[s][0]; p.inner = shapes[s][1];
    why[s] = refuses(k, p);
  }
  o << "], \"nvrtc\": " << (k.config ? "true" : "false") << ", \"workspace\": " << (k.workspace ? "true" : "false")
    << ", \"probes\": {\"whole\": " << quoted(why[0]) << ", \"rows\": " << quoted(why[1])
    << ", \"columns\": " << quoted(why[2]) << "}}";
}

void rowwise_json(std::ostringstream& o, const RowwiseKernel& k, const char* op, const char* device) {
  common_json(o, k, op, device);
  RowwiseArgs p{};
  p.rows = 4; p.cols = 8; p.dtype = first_dtype(k.dtypes);
  o << ", \"variants\": [], \"nvrtc\": false, \"workspace\": false, \"probes\": {\"rows\": "
    << quoted(refuses(k, p)) << "}}";
}

}  // namespace

std::string tables_json() {
  std::ostringstream o;
  bool first = true;
  auto sep = [&] { o << (first ? "\n  " : ",\n  "); first = false; };
  o << "{\"schema\": 1";
#ifdef KB_FACTS_ONLY
  o << ", \"facts_only\": true";
#else
  o << ", \"facts_only\": false";
#endif
#ifdef KB_WITH_CUDA
  o << ", \"cuda_tables\": true";
#else
  o << ", \"cuda_tables\": false";
#endif
  {  // the tolerance model's constants (kb_tolerance.h), so Python never parses the header
    std::ostringstream t;
    t.precision(17);
    t << ", \"tolerance\": {\"kAccFactor\": " << tol::kAccFactor << ", \"kOutFactor\": " << tol::kOutFactor
      << ", \"kTF32Roundoff\": " << tol::kTF32Roundoff << ", \"kEpsFloat64\": " << tol::kEpsFloat64
      << ", \"kEpsFloat32\": " << tol::kEpsFloat32 << ", \"kEpsFloat16\": " << tol::kEpsFloat16
      << ", \"kEpsBfloat16\": " << tol::kEpsBfloat16 << ", \"kDenormFloat64\": " << tol::kDenormFloat64
      << ", \"kDenormFloat32\": " << tol::kDenormFloat32 << ", \"kDenormFloat16\": " << tol::kDenormFloat16
      << ", \"kDenormBfloat16\": " << tol::kDenormBfloat16 << "}";
    o << t.str();
  }
  o << ", \"kernels\": [";
  auto devices = [&](const char* device, const std::vector<MatmulKernel>& mm, const std::vector<ReduceKernel>& rd,
                     const std::vector<RowwiseKernel>& sm, const std::vector<RowwiseKernel>& l2) {
    for (const auto& k : mm) { sep(); matmul_json(o, k, device); }
    for (const auto& k : rd) { sep(); reduce_json(o, k, device); }
    for (const auto& k : sm) { sep(); rowwise_json(o, k, "softmax", device); }
    for (const auto& k : l2) { sep(); rowwise_json(o, k, "l2norm", device); }
  };
  devices("cpu", cpu_matmul_kernels(), cpu_reduce_kernels(), cpu_softmax_kernels(), cpu_l2norm_kernels());
#ifdef KB_WITH_CUDA
  devices("cuda", cuda_matmul_kernels(), cuda_reduce_kernels(), cuda_softmax_kernels(), cuda_l2norm_kernels());
#endif
  o << "\n]}\n";
  return o.str();
}

}  // namespace kb
