// The framework-free front door: numpy in, numpy out.
// CPU kernels run on the numpy buffers directly.  CUDA kernels: this file does by hand, in
// plain sight, what the frameworks hide — cudaMalloc, cudaMemcpy host->device, the launch,
// cudaEvent timing around it, cudaMemcpy device->host, cudaFree.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../common/kb_error.h"
#include "../common/kb_plan.h"
#include "../cpu/cpu_caches.h"
#include "../cpu/cpu_isa.h"
#include "../cpu/cpu_probe.h"
#include "../cpu/matmul/matmul_cpu.h"
#ifdef KB_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace py = pybind11;

namespace {

std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

kb::TensorView view_of(const py::array& a, const char* arg, kb::Device device) {
  kb::TensorView v;
  const std::string name = dtype_str(a);
  if (name != "float32" && name != "float64" && name != "float16" && name != "bfloat16")
    kb::throw_bad_dtype(arg, name);
  v.dtype = kb::parse_dtype(name, arg);
  v.device = device;
  v.data = a.data();
  const auto item = a.itemsize();
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    v.sizes.push_back(a.shape(i));
    KB_REQUIRE(a.strides(i) % item == 0, arg << ": strides must be multiples of the item size");
    v.strides.push_back(a.strides(i) / item);
  }
  return v;
}

py::array empty_like_dtype(const std::vector<kb_int64>& sizes, const py::dtype& dt) {
  py::tuple shape(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) shape[i] = py::int_(sizes[i]);
  return py::module_::import("numpy").attr("empty")(shape, dt).cast<py::array>();
}

// A C-contiguous copy when needed, of the same rank (np.ascontiguousarray would make 0-D 1-D).
py::array contiguous(const py::array& a) {
  return py::module_::import("numpy").attr("asarray")(a, py::arg("order") = "C").cast<py::array>();
}

bool is_cuda_kernel(const std::string& op, const std::string& impl) {
  for (const auto& n : kb::kernel_names(op, kb::Device::CUDA))
    if (n == impl) return true;
  return false;
}

#ifdef KB_WITH_CUDA
#define CUDA_OK(expr)                                                                        \
  do {                                                                                       \
    cudaError_t e_ = (expr);                                                                 \
    if (e_ != cudaSuccess) throw kb::Error(std::string(#expr) + ": " + cudaGetErrorString(e_)); \
  } while (0)

// One device buffer; freed when it goes out of scope, even when a launch throws.
struct DeviceBuffer {
  void* ptr = nullptr;
  explicit DeviceBuffer(std::size_t bytes) { if (bytes) CUDA_OK(cudaMalloc(&ptr, bytes)); }
  ~DeviceBuffer() { if (ptr) cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

DeviceBuffer* to_device(const py::array& host, std::vector<std::unique_ptr<DeviceBuffer>>& keep) {
  keep.emplace_back(new DeviceBuffer(host.nbytes()));
  if (host.nbytes()) CUDA_OK(cudaMemcpy(keep.back()->ptr, host.data(), host.nbytes(), cudaMemcpyHostToDevice));
  return keep.back().get();
}

// Launch `body` between two events on a fresh stream; returns milliseconds.  Under the CPU SIMT
// executor (KB_SIM) it returns None: the executor's run time is never a performance figure.
template <typename F>
py::object timed_launch(F&& body) {
#ifdef KB_SIM
  body(nullptr);
  return py::none();
#endif
  cudaStream_t stream;
  cudaEvent_t start, stop;
  CUDA_OK(cudaStreamCreate(&stream));
  CUDA_OK(cudaEventCreate(&start));
  CUDA_OK(cudaEventCreate(&stop));
  float ms = 0.f;
  try {
    CUDA_OK(cudaEventRecord(start, stream));
    body(static_cast<void*>(stream));
    CUDA_OK(cudaEventRecord(stop, stream));
    CUDA_OK(cudaEventSynchronize(stop));
    CUDA_OK(cudaEventElapsedTime(&ms, start, stop));
  } catch (...) {
    cudaStreamSynchronize(stream);
    cudaEventDestroy(start); cudaEventDestroy(stop); cudaStreamDestroy(stream);
    throw;
  }
  cudaEventDestroy(start); cudaEventDestroy(stop); cudaStreamDestroy(stream);
  return py::float_(ms);
}
#endif

void require_cuda_device() {
#ifdef KB_WITH_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0)
    throw kb::Error("impl: this is a CUDA kernel but no CUDA device is visible");
#else
  throw kb::Error("impl: this is a CUDA kernel but the module was built without CUDA");
#endif
}

// Returns (result, kernel milliseconds or None).
py::tuple matmul(py::array a, py::array b, const std::string& impl) {
  const bool cuda = is_cuda_kernel("matmul", impl);
  const kb::Device dev = cuda ? kb::Device::CUDA : kb::Device::CPU;
  if (cuda) { a = contiguous(a); b = contiguous(b); }
  kb::MatmulPlan plan = kb::plan_matmul(view_of(a, "a", dev), view_of(b, "b", dev), impl);
  if (plan.copy_a || plan.copy_b) {
    a = contiguous(a); b = contiguous(b);
    plan = kb::plan_matmul(view_of(a, "a", dev), view_of(b, "b", dev), impl);
    if (plan.copy_a || plan.copy_b) throw kb::Error("contiguous inputs were not accepted (a bug)");
  }
  py::array c = empty_like_dtype(plan.out_sizes, a.dtype());
  if (c.size() == 0) return py::make_tuple(c, py::none());
  if (plan.fill) {  // K == 0
    std::memset(c.mutable_data(), 0, c.nbytes());
    return py::make_tuple(c, py::none());
  }
  if (!cuda) {
    plan.args.c = c.mutable_data();
    {
      py::gil_scoped_release release;  // only around the kernel: Python objects need the GIL
      plan.kernel->fn(plan.args, nullptr);
    }
    return py::make_tuple(c, py::none());
  }
  require_cuda_device();
#ifdef KB_WITH_CUDA
  std::vector<std::unique_ptr<DeviceBuffer>> keep;
  plan.args.a = to_device(a, keep)->ptr;
  plan.args.b = to_device(b, keep)->ptr;
  DeviceBuffer dc(c.nbytes());
  plan.args.c = dc.ptr;
  const py::object ms = timed_launch([&](void* s) { plan.kernel->fn(plan.args, s); });
  CUDA_OK(cudaMemcpy(c.mutable_data(), dc.ptr, c.nbytes(), cudaMemcpyDeviceToHost));
  return py::make_tuple(c, ms);
#else
  return py::make_tuple(c, py::none());
#endif
}

py::tuple reduce(py::array x, const std::string& op, std::optional<kb_int64> dim, bool keepdim,
                 const std::string& impl) {
  const bool cuda = is_cuda_kernel("reduce", impl);
  const kb::Device dev = cuda ? kb::Device::CUDA : kb::Device::CPU;
  if (cuda) x = contiguous(x);
  auto plan_for = [&](const py::array& t) {
    return kb::plan_reduce(view_of(t, "x", dev), op, dim.has_value(), dim.value_or(0), keepdim, impl);
  };
  kb::ReducePlan plan = plan_for(x);
  if (plan.copy_x) { x = contiguous(x); plan = plan_for(x); }
  if (plan.copy_x) throw kb::Error("a contiguous input was not accepted (a bug)");
  py::array out = empty_like_dtype(plan.out_sizes, plan.index_output ? py::dtype("int64") : x.dtype());
  if (out.size() == 0) return py::make_tuple(out, py::none());
  if (plan.fill) {  // an empty reduced dim (sum and mean only)
    kb::fill_host(out.mutable_data(), kb::parse_dtype(dtype_str(x), "x"), out.size(), plan.fill_value);
    return py::make_tuple(out, py::none());
  }
  if (!cuda) {
    std::vector<unsigned char> workspace(plan.workspace_bytes);
    plan.args.workspace = workspace.data();
    plan.args.out = out.mutable_data();
    {
      py::gil_scoped_release release;  // only around the kernel: Python objects need the GIL
      plan.kernel->fn(plan.args, nullptr);
    }
    return py::make_tuple(out, py::none());
  }
  require_cuda_device();
#ifdef KB_WITH_CUDA
  std::vector<std::unique_ptr<DeviceBuffer>> keep;
  plan.args.x = to_device(x, keep)->ptr;
  DeviceBuffer dout(out.nbytes()), dwork(plan.workspace_bytes);
  plan.args.out = dout.ptr;
  plan.args.workspace = dwork.ptr;
  const py::object ms = timed_launch([&](void* s) { plan.kernel->fn(plan.args, s); });
  CUDA_OK(cudaMemcpy(out.mutable_data(), dout.ptr, out.nbytes(), cudaMemcpyDeviceToHost));
  return py::make_tuple(out, ms);
#else
  return py::make_tuple(out, py::none());
#endif
}

py::tuple rowwise(py::array x, const std::string& kind, bool log, const std::string& impl) {
  const std::string table = kind == "softmax" ? "softmax" : "l2norm";
  const bool cuda = is_cuda_kernel(table, impl);
  const kb::Device dev = cuda ? kb::Device::CUDA : kb::Device::CPU;
  if (cuda) x = contiguous(x);
  kb::RowwisePlan plan = kb::plan_rowwise(view_of(x, "x", dev), kind, log, impl);
  if (plan.copy_x) {
    x = contiguous(x);
    plan = kb::plan_rowwise(view_of(x, "x", dev), kind, log, impl);
    if (plan.copy_x) throw kb::Error("a contiguous input was not accepted (a bug)");
  }
  py::array y = empty_like_dtype(plan.out_sizes, x.dtype());
  if (y.size() == 0) return py::make_tuple(y, py::none());
  if (plan.fill) {  // l2norm of empty rows is 0
    std::memset(y.mutable_data(), 0, y.nbytes());
    return py::make_tuple(y, py::none());
  }
  if (!cuda) {
    plan.args.y = y.mutable_data();
    {
      py::gil_scoped_release release;  // only around the kernel: Python objects need the GIL
      plan.kernel->fn(plan.args, nullptr);
    }
    return py::make_tuple(y, py::none());
  }
  require_cuda_device();
#ifdef KB_WITH_CUDA
  std::vector<std::unique_ptr<DeviceBuffer>> keep;
  plan.args.x = to_device(x, keep)->ptr;
  DeviceBuffer dy(y.nbytes());
  plan.args.y = dy.ptr;
  const py::object ms = timed_launch([&](void* s) { plan.kernel->fn(plan.args, s); });
  CUDA_OK(cudaMemcpy(y.mutable_data(), dy.ptr, y.nbytes(), cudaMemcpyDeviceToHost));
  return py::make_tuple(y, ms);
#else
  return py::make_tuple(y, py::none());
#endif
}

py::object config_dict(const kb::LaunchConfig& c) {
  py::dict d;
  d["kernel"] = c.kernel;
  d["grid"] = py::make_tuple(c.grid[0], c.grid[1], c.grid[2]);
  d["block"] = py::make_tuple(c.block[0], c.block[1], c.block[2]);
  d["shared_bytes"] = c.shared_bytes;
  return d;
}

py::object matmul_config(const std::string& impl, kb_int64 m, kb_int64 n, kb_int64 k, kb_int64 batch, kb_int64 lda,
                         kb_int64 ldb, kb_int64 ldc, kb_int64 stride_a, kb_int64 stride_b, kb_int64 stride_c,
                         bool trans_a, bool trans_b, const std::string& dtype) {
#ifdef KB_WITH_CUDA
  for (const auto& k_ : kb::cuda_matmul_kernels()) {
    if (impl != k_.name) continue;
    if (!k_.config) return py::none();
    kb::MatmulArgs p{};
    p.m = m; p.n = n; p.k = k; p.batch = batch; p.lda = lda; p.ldb = ldb; p.ldc = ldc;
    p.stride_a = stride_a; p.stride_b = stride_b; p.stride_c = stride_c;
    p.trans_a = trans_a; p.trans_b = trans_b; p.dtype = kb::parse_dtype(dtype, "dtype");
    kb::require_accepts(k_, p);  // the table line's check, as every launch has (plan functions do not re-check)
    return config_dict(k_.config(p));
  }
#endif
  throw kb::ArgumentError("impl: no CUDA matmul kernel named '" + impl + "' in this build");
}

py::object reduce_config(const std::string& impl, kb_int64 outer, kb_int64 r, kb_int64 inner, const std::string& op,
                         const std::string& dtype) {
#ifdef KB_WITH_CUDA
  for (const auto& k_ : kb::cuda_reduce_kernels()) {
    if (impl != k_.name) continue;
    if (!k_.config) return py::none();
    kb::ReduceArgs p{};
    p.outer = outer; p.r = r; p.inner = inner;
    p.op = kb::parse_reduce_op(op); p.dtype = kb::parse_dtype(dtype, "dtype");
    kb::require_accepts(k_, p);
    p.workspace_bytes = k_.workspace ? k_.workspace(p) : 0;
    py::dict d = config_dict(k_.config(p));
    d["workspace_bytes"] = p.workspace_bytes;
    return d;
  }
#endif
  throw kb::ArgumentError("impl: no CUDA reduce kernel named '" + impl + "' in this build");
}

#define KB_FIELD(S, f) d[#f] = py::make_tuple(offsetof(S, f), sizeof(S::f))
py::dict struct_layout() {
  py::dict out;
  {
    py::dict d;
    KB_FIELD(kb::MatmulArgs, a); KB_FIELD(kb::MatmulArgs, b); KB_FIELD(kb::MatmulArgs, c);
    KB_FIELD(kb::MatmulArgs, m); KB_FIELD(kb::MatmulArgs, n); KB_FIELD(kb::MatmulArgs, k);
    KB_FIELD(kb::MatmulArgs, batch); KB_FIELD(kb::MatmulArgs, lda); KB_FIELD(kb::MatmulArgs, ldb);
    KB_FIELD(kb::MatmulArgs, ldc); KB_FIELD(kb::MatmulArgs, stride_a); KB_FIELD(kb::MatmulArgs, stride_b);
    KB_FIELD(kb::MatmulArgs, stride_c); KB_FIELD(kb::MatmulArgs, trans_a); KB_FIELD(kb::MatmulArgs, trans_b);
    KB_FIELD(kb::MatmulArgs, dtype);
    out["MatmulArgs"] = py::dict(py::arg("size") = sizeof(kb::MatmulArgs), py::arg("fields") = d);
  }
  {
    py::dict d;
    KB_FIELD(kb::ReduceArgs, x); KB_FIELD(kb::ReduceArgs, out); KB_FIELD(kb::ReduceArgs, outer);
    KB_FIELD(kb::ReduceArgs, r); KB_FIELD(kb::ReduceArgs, inner); KB_FIELD(kb::ReduceArgs, op);
    KB_FIELD(kb::ReduceArgs, dtype); KB_FIELD(kb::ReduceArgs, workspace); KB_FIELD(kb::ReduceArgs, workspace_bytes);
    out["ReduceArgs"] = py::dict(py::arg("size") = sizeof(kb::ReduceArgs), py::arg("fields") = d);
  }
  return out;
}

// The shared shape rules, for the Python-level rungs: (output shape, fill value or None).
py::tuple shape_result(const kb::ShapeCheck& s) {
  py::tuple shape(s.out_sizes.size());
  for (size_t i = 0; i < s.out_sizes.size(); ++i) shape[i] = py::int_(s.out_sizes[i]);
  return py::make_tuple(shape, s.fill ? py::object(py::float_(s.fill_value)) : py::object(py::none()));
}

int cuda_device_count() {
#ifdef KB_WITH_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
#else
  return 0;
#endif
}

}  // namespace

#ifndef KB_PYBIND_NAME
#define KB_PYBIND_NAME _pybind
#endif
#ifdef KB_SIM
void kbsim_bind(py::module_& m);  // csrc/sim/kbsim_py.cpp: the executor's own switches
#endif

PYBIND11_MODULE(KB_PYBIND_NAME, m) {
  m.doc() = "kernelbench framework-free front door: numpy in, numpy out";
  py::register_exception<kb::ArgumentError>(m, "ArgumentError", PyExc_ValueError);
  py::register_exception<kb::Error>(m, "KernelError", PyExc_RuntimeError);
  m.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::arg("impl"),
        "C = A @ B with the named rung; returns (C, kernel_ms or None)");
  m.def("reduce", &reduce, py::arg("x"), py::arg("op"), py::arg("dim") = py::none(), py::arg("keepdim") = false,
        py::arg("impl"));
  m.def("softmax", [](py::array x, bool log, const std::string& impl) { return rowwise(x, "softmax", log, impl); },
        py::arg("x"), py::arg("log"), py::arg("impl"));
  m.def("l2norm", [](py::array x, const std::string& impl) { return rowwise(x, "l2norm", false, impl); },
        py::arg("x"), py::arg("impl"));
  m.def("kernel_names", [](const std::string& op, const std::string& device) {
    return kb::kernel_names(op, device == "cuda" ? kb::Device::CUDA : kb::Device::CPU);
  });
  m.def("cuda_compiled", &kb::cuda_compiled);
  m.def("cuda_device_count", &cuda_device_count);
#ifdef KB_SIM
  kbsim_bind(m);
#endif
  m.def("check_matmul", [](const std::vector<kb_int64>& a, const std::vector<kb_int64>& b) {
    return shape_result(kb::check_matmul(a, b));
  }, py::arg("a_shape"), py::arg("b_shape"), "shared matmul shape rules: (out_shape, fill or None)");
  m.def("check_reduce", [](const std::vector<kb_int64>& x, const std::string& op, std::optional<kb_int64> dim,
                           bool keepdim) {
    return shape_result(kb::check_reduce(x, kb::parse_reduce_op(op), dim.has_value(), dim.value_or(0), keepdim));
  }, py::arg("shape"), py::arg("op"), py::arg("dim"), py::arg("keepdim"));
  m.def("check_rowwise", [](const std::vector<kb_int64>& x, const std::string& kind) {
    return shape_result(kb::check_rowwise(x, kind));
  }, py::arg("shape"), py::arg("kind"));
  m.def("matmul_config", &matmul_config);
  m.def("reduce_config", &reduce_config);
  m.def("struct_layout", &struct_layout);
  m.def("tables_json", &kb::tables_json,
        "every kernel table line with all its facts, as JSON (read by kernelbench/registry)");
  // The CPU as the CPU rungs see it (csrc/cpu/cpu_caches.h, cpu_probe.h; kernelbench/bench/peaks.py).
  m.def("cpu_caches", [] {
    const kb::CpuCaches& c = kb::cpu_caches();
    auto level = [](const kb::CacheLevel& l) {
      py::dict d;
      d["bytes"] = l.bytes, d["ways"] = l.ways, d["line"] = l.line, d["shared_cpus"] = l.shared_cpus;
      return d;
    };
    py::dict d;
    d["L1d"] = level(c.l1d), d["L2"] = level(c.l2), d["L3"] = c.l3.bytes > 0 ? py::object(level(c.l3)) : py::none();
    d["source"] = c.source;
    return d;
  }, "data caches of CPU 0 as the OS reports them (sysfs, else sysconf, else assumed sizes)");
  m.def("cpu_isa", [] { return std::string(kb::cpu_isa_name(kb::cpu_isa())); },
        "the vector ISA the CPU rungs use (after the KB_CPU_ISA cap)");
  m.def("cpu_isa_hardware", [] { return std::string(kb::cpu_isa_hardware_name()); },
        "the widest vector ISA of this CPU");
  m.def("cpu_matmul_blocking", [](const std::string& dtype) {
    const kb::CpuGemmBlocking b = kb::cpu_matmul_05_blocking(kb::parse_dtype(dtype, "dtype"));
    py::dict d;
    d["isa"] = b.isa, d["mr"] = b.mr, d["nr"] = b.nr, d["mc"] = b.mc, d["kc"] = b.kc, d["nc"] = b.nc;
    d["source"] = b.source, d["caches"] = b.caches;
    return d;
  }, py::arg("dtype"), "register tile and MC/KC/NC of the analytic-blocking CPU rung for float32/float64");
  m.def("cpu_probe_fma", [](const std::string& isa, bool f64, int threads, double seconds) {
    py::gil_scoped_release release;
    return kb::probe_fma_flops(isa.c_str(), f64, threads, seconds);
  }, py::arg("isa"), py::arg("f64"), py::arg("threads"), py::arg("seconds"),
        "measured FMA throughput (FLOP/s) of isa 'avx2' or 'avx512'; threads <= 0: all");
  m.def("cpu_probe_read", [](std::size_t bytes, int threads, double seconds) {
    py::gil_scoped_release release;
    return kb::probe_read_bandwidth(bytes, threads, seconds);
  }, py::arg("bytes"), py::arg("threads"), py::arg("seconds"),
        "measured read bandwidth (bytes/s) over a working set of `bytes` split among the threads");
}
