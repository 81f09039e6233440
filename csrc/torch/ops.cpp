// The torch front door: schemas in TORCH_LIBRARY(kernelbench), CPU and CUDA impls.
// A thin adapter: describe tensors as kb::TensorViews, let kb_plan check and plan,
// allocate outputs/workspace with torch, launch on torch's current stream.
// Fake (meta) kernels and autograd are registered in Python (kernelbench/torch_ops.py).
#include <torch/extension.h>
#include <torch/library.h>
#ifdef KB_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#endif
#include "../common/kb_error.h"
#include "../common/kb_plan.h"

namespace {

kb::DType to_kb_dtype(const at::Tensor& t, const char* arg) {
  switch (t.scalar_type()) {
    case at::kFloat: return kb::DType::F32;
    case at::kDouble: return kb::DType::F64;
    case at::kHalf: return kb::DType::F16;
    case at::kBFloat16: return kb::DType::BF16;
    default: kb::throw_bad_dtype(arg, std::string(c10::toString(t.scalar_type())));
  }
}

kb::TensorView view_of(const at::Tensor& t, const char* arg) {
  kb::TensorView v;
  TORCH_CHECK_VALUE(t.layout() == at::kStrided, arg, ": expected a dense (strided) tensor, got layout ", t.layout());
  TORCH_CHECK_VALUE(t.device().is_cpu() || t.device().is_cuda(), arg, ": expected a cpu or cuda tensor, got ",
                    t.device());
  v.dtype = to_kb_dtype(t, arg);
  v.device = t.device().is_cuda() ? kb::Device::CUDA : kb::Device::CPU;
  v.device_index = t.device().is_cuda() ? t.device().index() : -1;
  v.data = t.data_ptr();
  v.sizes.assign(t.sizes().begin(), t.sizes().end());
  v.strides.assign(t.strides().begin(), t.strides().end());
  return v;
}

// The stream to launch on: torch's current stream for CUDA, none for CPU.
void* stream_for(const at::Tensor& t) {
#ifdef KB_WITH_CUDA
  if (t.is_cuda()) return at::cuda::getCurrentCUDAStream(t.device().index()).stream();
#endif
  (void)t;
  return nullptr;
}

// kb::ArgumentError -> ValueError, kb::Error -> RuntimeError, with the message intact.
template <typename F>
auto translate(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const kb::ArgumentError& e) {
    TORCH_CHECK_VALUE(false, e.what());
  } catch (const kb::Error& e) {
    TORCH_CHECK(false, e.what());
  }
}

#ifdef KB_WITH_CUDA
#define KB_DEVICE_GUARD(t) c10::OptionalDeviceGuard kb_guard_(t.is_cuda() ? std::optional<c10::Device>(t.device()) : std::nullopt)
#else
#define KB_DEVICE_GUARD(t)
#endif

at::Tensor matmul_impl(const at::Tensor& a_in, const at::Tensor& b_in, c10::string_view impl_sv) {
  return translate([&] {
    const std::string impl(impl_sv);
    at::Tensor a = a_in, b = b_in;
    kb::MatmulPlan plan = kb::plan_matmul(view_of(a, "a"), view_of(b, "b"), impl);
    if (plan.copy_a || plan.copy_b) {
      if (plan.copy_a) a = a.contiguous();
      if (plan.copy_b) b = b.contiguous();
      plan = kb::plan_matmul(view_of(a, "a"), view_of(b, "b"), impl);
      TORCH_CHECK(!plan.copy_a && !plan.copy_b, "kernelbench: contiguous inputs were not accepted (a bug)");
    }
    KB_DEVICE_GUARD(a);
    at::Tensor c = at::empty(plan.out_sizes, a.options());
    if (c.numel() == 0) return c;
    if (plan.fill) return c.zero_();  // K == 0
    plan.args.c = c.data_ptr();
    plan.kernel->fn(plan.args, stream_for(a));
    return c;
  });
}

at::Tensor reduce_impl(const at::Tensor& x_in, c10::string_view op, std::optional<int64_t> dim, bool keepdim,
                       c10::string_view impl_sv) {
  return translate([&] {
    const std::string impl(impl_sv);
    at::Tensor x = x_in;
    auto plan_for = [&](const at::Tensor& t) {
      return kb::plan_reduce(view_of(t, "x"), std::string(op), dim.has_value(), dim.value_or(0), keepdim, impl);
    };
    kb::ReducePlan plan = plan_for(x);
    if (plan.copy_x) {
      x = x.contiguous();
      plan = plan_for(x);
      TORCH_CHECK(!plan.copy_x, "kernelbench: a contiguous input was not accepted (a bug)");
    }
    KB_DEVICE_GUARD(x);
    at::Tensor out = at::empty(plan.out_sizes, plan.index_output ? x.options().dtype(at::kLong) : x.options());
    if (out.numel() == 0) return out;
    if (plan.fill) return out.fill_(plan.fill_value);  // an empty reduced dim
    at::Tensor workspace;
    if (plan.workspace_bytes > 0) {
      workspace = at::empty({(int64_t)plan.workspace_bytes}, x.options().dtype(at::kByte));
      plan.args.workspace = workspace.data_ptr();
    }
    plan.args.out = out.data_ptr();
    plan.kernel->fn(plan.args, stream_for(x));
    return out;
  });
}

at::Tensor rowwise(const at::Tensor& x_in, const std::string& kind, bool log, c10::string_view impl_sv) {
  return translate([&] {
    const std::string impl(impl_sv);
    at::Tensor x = x_in;
    kb::RowwisePlan plan = kb::plan_rowwise(view_of(x, "x"), kind, log, impl);
    if (plan.copy_x) {
      x = x.contiguous();
      plan = kb::plan_rowwise(view_of(x, "x"), kind, log, impl);
      TORCH_CHECK(!plan.copy_x, "kernelbench: a contiguous input was not accepted (a bug)");
    }
    KB_DEVICE_GUARD(x);
    at::Tensor y = at::empty(plan.out_sizes, x.options());
    if (y.numel() == 0) return y;
    if (plan.fill) return y.zero_();  // l2norm of empty rows is 0
    plan.args.y = y.data_ptr();
    plan.kernel->fn(plan.args, stream_for(x));
    return y;
  });
}

at::Tensor softmax_impl(const at::Tensor& x, bool log, c10::string_view impl) { return rowwise(x, "softmax", log, impl); }
at::Tensor l2norm_impl(const at::Tensor& x, c10::string_view impl) { return rowwise(x, "l2norm", false, impl); }

}  // namespace

TORCH_LIBRARY(kernelbench, m) {
  m.def("matmul(Tensor a, Tensor b, str impl) -> Tensor");
  m.def("reduce(Tensor x, str op, int? dim, bool keepdim, str impl) -> Tensor");
  m.def("softmax(Tensor x, bool log, str impl) -> Tensor");
  m.def("l2norm(Tensor x, str impl) -> Tensor");
}

TORCH_LIBRARY_IMPL(kernelbench, CPU, m) {
  m.impl("matmul", &matmul_impl);
  m.impl("reduce", &reduce_impl);
  m.impl("softmax", &softmax_impl);
  m.impl("l2norm", &l2norm_impl);
}

#ifdef KB_WITH_CUDA
TORCH_LIBRARY_IMPL(kernelbench, CUDA, m) {
  m.impl("matmul", &matmul_impl);
  m.impl("reduce", &reduce_impl);
  m.impl("softmax", &softmax_impl);
  m.impl("l2norm", &l2norm_impl);
}
#endif

PYBIND11_MODULE(TORCH_EXTENSION_NAME, mod) {
  mod.doc() = "kernelbench torch front door: ops live in torch.ops.kernelbench";
  mod.def("kernel_names", [](const std::string& op, const std::string& device) {
    return kb::kernel_names(op, device == "cuda" ? kb::Device::CUDA : kb::Device::CPU);
  });
  mod.def("cuda_compiled", &kb::cuda_compiled);
}
