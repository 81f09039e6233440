"""torch.library registrations for the ops defined in csrc/torch/ops.cpp:
fake (meta) kernels so torch.compile(fullgraph=True) can trace them, and autograd formulas
whose backward passes call our own kernels (dA = dC @ B^T, dB = A^T @ dC with the same rung)."""
from __future__ import annotations

import torch

_done = False


def _reduced_shape(x, dim, keepdim):
    if dim is None:
        return [1] * x.dim() if keepdim else []
    d = dim % max(x.dim(), 1)
    return [1 if i == d else s for i, s in enumerate(x.shape) if keepdim or i != d]


def register() -> None:
    global _done
    if _done:
        return
    _done = True
    lib = "kernelbench::"

    @torch.library.register_fake(lib + "matmul")
    def _(a, b, impl):
        torch._check(a.dim() in (2, 3), lambda: "a: expected a 2-D or 3-D tensor")
        torch._check(b.dim() in (2, 3), lambda: "b: expected a 2-D or 3-D tensor")
        torch._check(a.shape[-1] == b.shape[-2], lambda: "b: inner dimensions differ")
        if a.dim() == 3 or b.dim() == 3:
            batch = a.shape[0] if a.dim() == 3 and (b.dim() == 2 or a.shape[0] != 1) else b.shape[0]
            return a.new_empty((batch, a.shape[-2], b.shape[-1]))
        return a.new_empty((a.shape[0], b.shape[1]))

    def at_least_1d(x):  # kb_plan's rule and message (the C++ kernels raise the same)
        if x.dim() == 0:
            raise ValueError("x: expected at least a 1-D tensor, got a 0-D tensor")

    @torch.library.register_fake(lib + "reduce")
    def _(x, op, dim, keepdim, impl):
        at_least_1d(x)
        shape = _reduced_shape(x, dim, keepdim)
        return x.new_empty(shape, dtype=torch.int64 if op in ("argmax", "argmin") else x.dtype)

    @torch.library.register_fake(lib + "softmax")
    def _(x, log, impl):
        at_least_1d(x)
        return torch.empty_like(x, memory_format=torch.contiguous_format)

    @torch.library.register_fake(lib + "l2norm")
    def _(x, impl):
        at_least_1d(x)
        return x.new_empty(x.shape[:-1])

    # --- autograd -------------------------------------------------------------------------
    def matmul_setup(ctx, inputs, output):
        a, b, impl = inputs
        ctx.save_for_backward(a, b)
        ctx.impl = impl

    def matmul_backward(ctx, grad):
        a, b = ctx.saved_tensors
        mm = torch.ops.kernelbench.matmul
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = mm(grad, b.transpose(-1, -2), ctx.impl)
            if grad_a.dim() > a.dim() or (a.dim() == 3 and a.shape[0] == 1 and grad_a.shape[0] != 1):
                grad_a = grad_a.sum(0).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            grad_b = mm(a.transpose(-1, -2), grad, ctx.impl)
            if grad_b.dim() > b.dim() or (b.dim() == 3 and b.shape[0] == 1 and grad_b.shape[0] != 1):
                grad_b = grad_b.sum(0).reshape(b.shape)
        return grad_a, grad_b, None

    torch.library.register_autograd(lib + "matmul", matmul_backward, setup_context=matmul_setup)

    def reduce_setup(ctx, inputs, output):
        x, op, dim, keepdim, impl = inputs
        ctx.op, ctx.dim, ctx.keepdim, ctx.impl = op, dim, keepdim, impl
        ctx.shape = x.shape
        if op in ("max", "min"):
            arg = "argmax" if op == "max" else "argmin"
            try:
                idx = torch.ops.kernelbench.reduce(x.detach(), arg, dim, True, impl)
            except (ValueError, RuntimeError):  # the rung has no arg op: use torch's (same tie rule)
                fn = torch.argmax if op == "max" else torch.argmin
                idx = fn(x.detach(), dim=dim, keepdim=True) if dim is not None else fn(x.detach()).reshape(
                    [1] * x.dim())
            ctx.save_for_backward(idx)
        ctx.count = (x.numel() if dim is None else x.shape[dim]) if x.dim() else 1

    def reduce_backward(ctx, grad):
        op, dim, shape = ctx.op, ctx.dim, ctx.shape
        if op in ("argmax", "argmin"):
            return None, None, None, None, None
        if not ctx.keepdim:
            grad = grad.reshape(_reduced_shape(torch.empty(shape, device="meta"), dim, True))
        if op in ("sum", "mean"):
            g = grad.expand(shape)
            if op == "mean":
                g = g / ctx.count
            return g.contiguous(), None, None, None, None
        (idx,) = ctx.saved_tensors
        out = grad.new_zeros(shape)
        if dim is None:
            out.view(-1)[idx.view(-1)] = grad.reshape(-1)
        else:
            out.scatter_(dim, idx, grad)
        return out, None, None, None, None

    torch.library.register_autograd(lib + "reduce", reduce_backward, setup_context=reduce_setup)

    def softmax_setup(ctx, inputs, output):
        x, log, impl = inputs
        ctx.log = log
        ctx.save_for_backward(output)

    def softmax_backward(ctx, grad):
        (y,) = ctx.saved_tensors
        if ctx.log:
            return grad - torch.exp(y) * grad.sum(-1, keepdim=True), None, None
        return y * (grad - (grad * y).sum(-1, keepdim=True)), None, None

    torch.library.register_autograd(lib + "softmax", softmax_backward, setup_context=softmax_setup)

    def l2norm_setup(ctx, inputs, output):
        x, impl = inputs
        ctx.save_for_backward(x, output)

    def l2norm_backward(ctx, grad):
        x, norm = ctx.saved_tensors
        safe = torch.where(norm == 0, torch.ones_like(norm), norm)
        return x * (grad / safe).unsqueeze(-1), None

    torch.library.register_autograd(lib + "l2norm", l2norm_backward, setup_context=l2norm_setup)
