"""torch front door: opcheck (schema, fake kernels, autograd registration), gradients through our
own kernels, torch.compile(fullgraph=True), and the current-stream contract."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import kernelbench as kb  # noqa: E402
from kernelbench import _frontdoors  # noqa: E402

pytestmark = pytest.mark.skipif(_frontdoors.torch_ext() is None, reason="torch extension not built")

CPU_MATMUL = [i.name for i in kb.list_impls(op="matmul", device="cpu") if i.native]
CPU_REDUCE = [i for i in kb.list_impls(op="reduce", device="cpu") if i.native]
CPU_SOFTMAX = [i.name for i in kb.list_impls(op="softmax", device="cpu") if i.native]
CPU_L2 = [i.name for i in kb.list_impls(op="l2norm", device="cpu") if i.native]


def devices():
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() and _frontdoors.torch_ext().cuda_compiled() else [])


def first_native(op, device):
    names = [i.name for i in kb.list_impls(op=op, device=device) if i.native and i.refusal("matrix") is None]
    return names[-1] if names else None


@pytest.mark.parametrize("impl", CPU_MATMUL)
def test_opcheck_matmul(impl):
    for a, b in [(torch.randn(5, 3, requires_grad=True), torch.randn(3, 4, requires_grad=True)),
                 (torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True), torch.randn(2, 3, 4, dtype=torch.float64)),
                 (torch.randn(3, 5).t(), torch.randn(3, 4))]:
        torch.library.opcheck(torch.ops.kernelbench.matmul.default, (a, b, impl))


@pytest.mark.parametrize("impl", [i.name for i in CPU_REDUCE])
def test_opcheck_reduce(impl):
    entry = kb.get_impl("reduce", impl)
    x = torch.randn(4, 6, 5, requires_grad=True)
    for op in entry.variants:
        for dim, keepdim in ([(None, False)] if entry.full_only else [(None, False), (1, True), (-1, False)]):
            torch.library.opcheck(torch.ops.kernelbench.reduce.default, (x, op, dim, keepdim, impl))


@pytest.mark.parametrize("impl", CPU_SOFTMAX)
def test_opcheck_softmax(impl):
    for log in (False, True):
        torch.library.opcheck(torch.ops.kernelbench.softmax.default, (torch.randn(6, 33, requires_grad=True), log, impl))


@pytest.mark.parametrize("impl", CPU_L2)
def test_opcheck_l2norm(impl):
    torch.library.opcheck(torch.ops.kernelbench.l2norm.default, (torch.randn(6, 33, requires_grad=True), impl))


@pytest.mark.parametrize("device", devices())
def test_matmul_gradients_match_torch(device):
    impl = first_native("matmul", device)
    a = torch.randn(2, 7, 5, dtype=torch.float64, device=device, requires_grad=True)
    b = torch.randn(5, 3, dtype=torch.float64, device=device, requires_grad=True)
    if "float64" not in kb.get_impl("matmul", impl).dtypes:
        a, b = [t.detach().float().requires_grad_() for t in (a, b)]
    g = torch.randn(2, 7, 3, dtype=a.dtype, device=device)
    kb.matmul(a, b, impl=impl).backward(g)
    a2, b2 = a.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    torch.matmul(a2, b2).backward(g)
    torch.testing.assert_close(a.grad, a2.grad)
    torch.testing.assert_close(b.grad, b2.grad)


def test_gradcheck_cpu_ops():
    mm = first_native("matmul", "cpu")
    a = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: kb.matmul(x, y, impl=mm), (a, b))
    x = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    for entry in CPU_REDUCE:
        if "float64" not in entry.dtypes:
            continue
        for op in ("sum", "mean", "max", "min"):
            if op in entry.variants:
                dim = None if entry.full_only else 1
                assert torch.autograd.gradcheck(lambda t: kb.reduce(t, op, dim=dim, impl=entry.name), (x,))
    for name in CPU_SOFTMAX:
        for log in (False, True):
            assert torch.autograd.gradcheck(lambda t: kb.softmax(t, log=log, impl=name), (x,))
    for name in CPU_L2:
        assert torch.autograd.gradcheck(lambda t: kb.l2norm(t, impl=name), (x,))


def test_max_gradient_goes_to_first_selected_element():
    impl = next(i.name for i in CPU_REDUCE if "max" in i.variants)
    x = torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    kb.reduce(x, "max", dim=1, impl=impl).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_torch_compile_fullgraph_traces_our_ops():
    mm = first_native("matmul", "cpu")
    red = next(i.name for i in CPU_REDUCE if not i.full_only)

    def f(a, b):
        c = torch.ops.kernelbench.matmul(a, b, mm)
        return torch.ops.kernelbench.reduce(c.relu(), "sum", 1, False, red)

    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    a, b = torch.randn(9, 4), torch.randn(4, 6)
    torch.testing.assert_close(compiled(a, b), (a @ b).relu().sum(1), rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_kernels_run_on_the_current_stream():
    impl = first_native("matmul", "cuda")
    s = torch.cuda.Stream()
    a, b = torch.randn(512, 512, device="cuda"), torch.randn(512, 512, device="cuda")
    with torch.cuda.stream(s):
        c = kb.matmul(a, b, impl=impl)
        d = c * 2        # ordered after our kernel only if it ran on stream s
    s.synchronize()
    torch.testing.assert_close(d, 2 * (a @ b), rtol=1e-3, atol=1e-3)


def _kb_pipeline(a, b):
    c = kb.matmul(a, b).relu()
    return kb.reduce(c, "sum", dim=1) + kb.softmax(c).sum(1) + kb.l2norm(c) + kb.reduce(c, "max", dim=-1)


def test_torch_compile_fullgraph_through_the_kb_wrappers():
    """kb.matmul / kb.reduce / kb.softmax / kb.l2norm themselves (not only torch.ops.kernelbench.*)
    trace without a graph break, forward and backward."""
    torch._dynamo.reset()
    compiled = torch.compile(_kb_pipeline, fullgraph=True, backend="aot_eager")
    a = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    out = compiled(a, b)
    ref = _kb_pipeline(a.detach(), b.detach())
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    explanation = torch._dynamo.explain(_kb_pipeline)(torch.randn(5, 4), torch.randn(4, 3))
    assert explanation.graph_break_count == 0


def test_torch_compile_fullgraph_when_kernelbench_is_imported_before_torch():
    """The first kb call happens inside the trace: loading the door is a Dynamo constant."""
    import subprocess
    import sys
    code = ("import kernelbench as kb\nimport torch\n"
            "f = torch.compile(lambda a, b: kb.matmul(a, b).relu().sum(), fullgraph=True, backend='aot_eager')\n"
            "a, b = torch.randn(3, 4), torch.randn(4, 5)\n"
            "torch.testing.assert_close(f(a, b), (a @ b).relu().sum())\nprint('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]


def test_dynamo_constant_flag_is_the_one_torch_sets():
    from kernelbench._frontdoors import torch_ready

    def probe():
        return 1
    before = set(vars(probe))
    torch.compiler.assume_constant_result(probe)
    added = set(vars(probe)) - before
    assert added == {"_dynamo_marked_constant"}
    assert all(getattr(torch_ready, k) is True for k in added)
