// The TensorFlow front door: REGISTER_OP + CPU kernels, and GPU kernels when built with
// GOOGLE_CUDA.  A thin adapter over the shared launchers: no CUDA header is included here —
// the GPU kernels take the raw stream from TF's stream executor and pass it on.
#include <string>
#include <vector>

#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#if GOOGLE_CUDA
#include "xla/stream_executor/stream.h"
#endif

#include "../common/kb_error.h"
#include "../common/kb_fpmode.h"
#include "../common/kb_plan.h"

using namespace tensorflow;  // NOLINT
using shape_inference::DimensionHandle;
using shape_inference::InferenceContext;
using shape_inference::ShapeHandle;

REGISTER_OP("KbMatmul")
    .Input("a: T")
    .Input("b: T")
    .Output("c: T")
    .Attr("T: {float, double, half, bfloat16}")
    .Attr("impl: string")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle a = c->input(0), b = c->input(1);
      if (!c->RankKnown(a) || !c->RankKnown(b)) return c->set_output(0, c->UnknownShape()), OkStatus();
      const int ra = c->Rank(a), rb = c->Rank(b);
      if ((ra != 2 && ra != 3) || (rb != 2 && rb != 3))
        return errors::InvalidArgument("a, b: expected 2-D (M, K) / (K, N) or 3-D batched tensors");
      DimensionHandle k;
      TF_RETURN_IF_ERROR(c->Merge(c->Dim(a, ra - 1), c->Dim(b, rb - 2), &k));
      std::vector<DimensionHandle> dims;
      if (ra == 3 && rb == 3) {  // broadcast: a batch of 1 takes the other's (kb::check_matmul)
        DimensionHandle da = c->Dim(a, 0), db = c->Dim(b, 0), batch;
        if (c->ValueKnown(da) && c->Value(da) == 1) batch = db;
        else if (c->ValueKnown(db) && c->Value(db) == 1) batch = da;
        else if (c->ValueKnown(da) && c->ValueKnown(db)) { TF_RETURN_IF_ERROR(c->Merge(da, db, &batch)); }
        else { batch = c->UnknownDim(); }  // one of them may be 1 at run time
        dims.push_back(batch);
      } else if (ra == 3 || rb == 3) {
        dims.push_back(ra == 3 ? c->Dim(a, 0) : c->Dim(b, 0));
      }
      dims.push_back(c->Dim(a, ra - 2));
      dims.push_back(c->Dim(b, rb - 1));
      c->set_output(0, c->MakeShape(dims));
      return OkStatus();
    })
    .Doc("C = A @ B with the kernelbench rung named by impl.");

// The shape functions repeat kb::check_*'s rules on static shapes, with the same messages.
static const char kAtLeast1D[] = "x: expected at least a 1-D tensor, got a 0-D tensor";

static Status AtLeast1DUnchanged(InferenceContext* c) {
  if (c->RankKnown(c->input(0)) && c->Rank(c->input(0)) == 0) return errors::InvalidArgument(kAtLeast1D);
  return shape_inference::UnchangedShape(c);
}

// Reductions to values (sum, mean, max, min); KbArgReduce gives int64 indices.
static Status ReduceShape(InferenceContext* c) {
  int64_t dim;
  bool keepdim, has_dim;
  TF_RETURN_IF_ERROR(c->GetAttr("dim", &dim));
  TF_RETURN_IF_ERROR(c->GetAttr("has_dim", &has_dim));
  TF_RETURN_IF_ERROR(c->GetAttr("keepdim", &keepdim));
  ShapeHandle x = c->input(0);
  if (!c->RankKnown(x)) return c->set_output(0, c->UnknownShape()), OkStatus();
  const int nd = c->Rank(x);
  if (nd == 0) return errors::InvalidArgument(kAtLeast1D);
  std::vector<DimensionHandle> dims;
  if (!has_dim) {
    if (keepdim) for (int i = 0; i < nd; ++i) dims.push_back(c->MakeDim(1));
  } else {
    if (dim < -nd || dim >= nd)
      return errors::InvalidArgument("dim: expected a value in [", -nd, ", ", nd - 1, "] for a ", nd, "-D tensor, got ", dim);
    if (dim < 0) dim += nd;
    for (int i = 0; i < nd; ++i) {
      if (i == dim) { if (keepdim) dims.push_back(c->MakeDim(1)); }
      else dims.push_back(c->Dim(x, i));
    }
  }
  c->set_output(0, c->MakeShape(dims));
  return OkStatus();
}

REGISTER_OP("KbReduce")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, double, half, bfloat16}")
    .Attr("op: {'sum', 'mean', 'max', 'min'}")
    .Attr("has_dim: bool = false")
    .Attr("dim: int = 0")
    .Attr("keepdim: bool = false")
    .Attr("impl: string")
    .SetShapeFn(ReduceShape);

REGISTER_OP("KbArgReduce")
    .Input("x: T")
    .Output("y: int64")
    .Attr("T: {float, double, half, bfloat16}")
    .Attr("op: {'argmax', 'argmin'}")
    .Attr("has_dim: bool = false")
    .Attr("dim: int = 0")
    .Attr("keepdim: bool = false")
    .Attr("impl: string")
    .SetShapeFn(ReduceShape);

REGISTER_OP("KbSoftmax")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, double, half, bfloat16}")
    .Attr("log: bool = false")
    .Attr("impl: string")
    .SetShapeFn(AtLeast1DUnchanged);

REGISTER_OP("KbL2Norm")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, double, half, bfloat16}")
    .Attr("impl: string")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle x = c->input(0), out;
      if (!c->RankKnown(x)) return c->set_output(0, c->UnknownShape()), OkStatus();
      if (c->Rank(x) < 1) return errors::InvalidArgument(kAtLeast1D);
      TF_RETURN_IF_ERROR(c->Subshape(x, 0, -1, &out));
      c->set_output(0, out);
      return OkStatus();
    });

namespace {

template <typename Device> constexpr kb::Device kb_device();
template <> constexpr kb::Device kb_device<Eigen::ThreadPoolDevice>() { return kb::Device::CPU; }

kb::TensorView view_of(const Tensor& t, kb::Device device, const char* arg = "x") {
  kb::TensorView v;
  switch (t.dtype()) {
    case DT_FLOAT: v.dtype = kb::DType::F32; break;
    case DT_DOUBLE: v.dtype = kb::DType::F64; break;
    case DT_HALF: v.dtype = kb::DType::F16; break;
    case DT_BFLOAT16: v.dtype = kb::DType::BF16; break;
    default: kb::throw_bad_dtype(arg, DataTypeString(t.dtype()));
  }
  v.device = device;
  v.device_index = device == kb::Device::CPU ? -1 : 0;
  v.data = t.data();
  kb_int64 stride = 1;
  v.sizes.resize(t.dims());
  v.strides.resize(t.dims());
  for (int i = t.dims() - 1; i >= 0; --i) {   // TF tensors are dense row-major
    v.sizes[i] = t.dim_size(i);
    v.strides[i] = stride;
    stride *= t.dim_size(i);
  }
  return v;
}

TensorShape shape_of(const std::vector<kb_int64>& sizes) {
  TensorShape s;
  for (kb_int64 d : sizes) s.AddDim(d);
  return s;
}

// CPU: no stream.  GPU: the raw CUDA stream behind TF's stream executor.
void* stream_of(OpKernelContext* ctx, kb::Device device) {
#if GOOGLE_CUDA
  if (device == kb::Device::CUDA) return ctx->op_device_context()->stream()->platform_specific_handle().stream;
#endif
  (void)ctx; (void)device;
  return nullptr;
}

// A plan's constant result (K == 0, an empty reduced dim, empty L2 rows): no kernel runs.
void fill_output(OpKernelContext* ctx, kb::Device device, Tensor* t, kb::DType dtype, double value) {
  if (device == kb::Device::CPU) return kb::fill_host(t->data(), dtype, t->NumElements(), value);
#if GOOGLE_CUDA
  if (value == 0.0) {
    stream_executor::DeviceMemoryBase mem(t->data(), t->TotalBytes());
    OP_REQUIRES_OK(ctx, ctx->op_device_context()->stream()->MemZero(&mem, t->TotalBytes()));
    return;
  }
#endif
  (void)ctx;
  throw kb::Error("kernelbench TF op: a constant result other than 0 is not implemented on this device");
}

// kb::ArgumentError -> InvalidArgument, kb::Error -> Internal; the op fails, the process lives.
// Our kernels run in IEEE mode (kb_fpmode.h: TF's threads flush subnormals to zero).
template <typename F>
void guarded(OpKernelContext* ctx, F&& f) {
  try {
    const kb::IeeeFloatMode ieee;
    f();
  } catch (const kb::ArgumentError& e) {
    ctx->SetStatus(errors::InvalidArgument(e.what()));
  } catch (const std::exception& e) {
    ctx->SetStatus(errors::Internal(e.what()));
  }
}

template <kb::Device D>
class KbMatmulOp : public OpKernel {
 public:
  explicit KbMatmulOp(OpKernelConstruction* c) : OpKernel(c) { OP_REQUIRES_OK(c, c->GetAttr("impl", &impl_)); }
  void Compute(OpKernelContext* ctx) override {
    guarded(ctx, [&] {
      const kb::TensorView va = view_of(ctx->input(0), D, "a"), vb = view_of(ctx->input(1), D, "b");
      kb::MatmulPlan plan = kb::plan_matmul(va, vb, impl_);
      if (plan.copy_a || plan.copy_b) throw kb::Error("dense TF tensors were not accepted (a bug)");
      Tensor* c = nullptr;
      OP_REQUIRES_OK(ctx, ctx->allocate_output(0, shape_of(plan.out_sizes), &c));
      if (c->NumElements() == 0) return;
      if (plan.fill) return fill_output(ctx, D, c, va.dtype, 0.0);  // K == 0
      plan.args.c = c->data();
      plan.kernel->fn(plan.args, stream_of(ctx, D));
    });
  }
 private:
  std::string impl_;
};

template <kb::Device D>
class KbReduceOp : public OpKernel {
 public:
  explicit KbReduceOp(OpKernelConstruction* c) : OpKernel(c) {
    OP_REQUIRES_OK(c, c->GetAttr("impl", &impl_));
    OP_REQUIRES_OK(c, c->GetAttr("op", &op_));
    OP_REQUIRES_OK(c, c->GetAttr("has_dim", &has_dim_));
    OP_REQUIRES_OK(c, c->GetAttr("dim", &dim_));
    OP_REQUIRES_OK(c, c->GetAttr("keepdim", &keepdim_));
  }
  void Compute(OpKernelContext* ctx) override {
    guarded(ctx, [&] {
      const kb::TensorView vx = view_of(ctx->input(0), D);
      kb::ReducePlan plan = kb::plan_reduce(vx, op_, has_dim_, dim_, keepdim_, impl_);
      if (plan.copy_x) throw kb::Error("a dense TF tensor was not accepted (a bug)");
      Tensor* y = nullptr;
      OP_REQUIRES_OK(ctx, ctx->allocate_output(0, shape_of(plan.out_sizes), &y));
      if (y->NumElements() == 0) return;
      if (plan.fill) return fill_output(ctx, D, y, vx.dtype, plan.fill_value);  // sum / mean of nothing
      Tensor workspace;
      if (plan.workspace_bytes > 0) {
        OP_REQUIRES_OK(ctx, ctx->allocate_temp(DT_INT8, TensorShape({(int64_t)plan.workspace_bytes}), &workspace));
        plan.args.workspace = workspace.data();
      }
      plan.args.out = y->data();
      plan.kernel->fn(plan.args, stream_of(ctx, D));
    });
  }
 private:
  std::string impl_, op_;
  bool has_dim_, keepdim_;
  int64_t dim_;
};

template <kb::Device D>
class KbRowwiseOp : public OpKernel {
 public:
  explicit KbRowwiseOp(OpKernelConstruction* c) : OpKernel(c) {
    OP_REQUIRES_OK(c, c->GetAttr("impl", &impl_));
    kind_ = c->def().op() == "KbSoftmax" ? "softmax" : "l2norm";
    if (kind_ == "softmax") OP_REQUIRES_OK(c, c->GetAttr("log", &log_));
  }
  void Compute(OpKernelContext* ctx) override {
    guarded(ctx, [&] {
      const kb::TensorView vx = view_of(ctx->input(0), D);
      kb::RowwisePlan plan = kb::plan_rowwise(vx, kind_, log_, impl_);
      if (plan.copy_x) throw kb::Error("a dense TF tensor was not accepted (a bug)");
      Tensor* y = nullptr;
      OP_REQUIRES_OK(ctx, ctx->allocate_output(0, shape_of(plan.out_sizes), &y));
      if (y->NumElements() == 0) return;
      if (plan.fill) return fill_output(ctx, D, y, vx.dtype, 0.0);  // L2 norms of empty rows
      plan.args.y = y->data();
      plan.kernel->fn(plan.args, stream_of(ctx, D));
    });
  }
 private:
  std::string impl_, kind_;
  bool log_ = false;
};

}  // namespace

#define KB_REGISTER(DEV, KD)                                                                        \
  REGISTER_KERNEL_BUILDER(Name("KbMatmul").Device(DEV), KbMatmulOp<KD>);                            \
  REGISTER_KERNEL_BUILDER(Name("KbReduce").Device(DEV), KbReduceOp<KD>);                            \
  REGISTER_KERNEL_BUILDER(Name("KbArgReduce").Device(DEV), KbReduceOp<KD>);                         \
  REGISTER_KERNEL_BUILDER(Name("KbSoftmax").Device(DEV), KbRowwiseOp<KD>);                          \
  REGISTER_KERNEL_BUILDER(Name("KbL2Norm").Device(DEV), KbRowwiseOp<KD>);

KB_REGISTER(DEVICE_CPU, kb::Device::CPU)
#if GOOGLE_CUDA
KB_REGISTER(DEVICE_GPU, kb::Device::CUDA)
#endif
