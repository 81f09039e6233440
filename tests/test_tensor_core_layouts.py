"""The tensor-core emulation of the CPU SIMT executor (csrc/sim/kbsim_tensor_core.h, kbsim_wmma.h)
against the PTX ISA fragment layouts and a reference matmul -- no GPU and no executor needed: a
g++-built driver (tests/tensor_core_layouts.cpp) runs a warp as 32 std::threads."""
from __future__ import annotations

import re
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "tests" / "tensor_core_layouts.cpp"
CXX = shutil.which("g++") or shutil.which("c++")
pytestmark = pytest.mark.skipif(CXX is None, reason="no C++ compiler")


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("tc") / "tensor_core_layouts"
    cuda_include = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "include"   # vector_types.h (dim3)
    r = subprocess.run([CXX, "-std=c++20", "-O1", "-Wall", "-Werror", "-pthread", f"-I{cuda_include}", str(SRC),
                        "-o", str(exe)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 and "barrier" in r.stderr and "No such file" in r.stderr:
        pytest.skip("the C++ library has no <barrier> (C++20)")
    assert r.returncode == 0, r.stderr[-3000:]
    return exe


EXPECTED = [
    "m16n8k16 A layout (ISA table, lanes 0 and 5)",
    "m16n8k16 B layout (ISA table, lanes 5 and 31)",
    "m16n8 C/D layout (ISA table, lane 5)",
    "m16n8k8 tf32 A/B layout (ISA table, lane 5)",
    "ldmatrix element layout, plain and .trans (lane 5)",
    "every fragment layout is a bijection onto its matrix",
    "fp16 -> fp32 (normal, subnormal, max, inf, nan)",
    "bf16 -> fp32",
    "cvt.rna.tf32.f32 rounding (ties away) and tf32 operand truncation",
    "mma.m16n8k16 f16 (whole warp) == reference",
    "mma.m16n8k16 f16: a wrong A register order is caught",
    "mma.m16n8k16 bf16 (whole warp) == reference",
    "mma.m16n8k16 bf16: a wrong A register order is caught",
    "mma.m16n8k8.tf32 (whole warp) == reference on tf32-rounded inputs",
    "mma.m16n8k8.tf32 differs from the fp32 product (a different precision)",
    "ldmatrix (x4, x4.trans, x2, x2.trans) -> mma.sync per lane, f16, 4 layouts",
    "ldmatrix (x4, x4.trans, x2, x2.trans) -> mma.sync per lane, bf16, 4 layouts",
    "mma.m16n8k8.tf32 per lane == reference",
    "wmma 16x16x16 load/mma/store (row- and column-major) == reference",
    "wmma fill_fragment",
]


def test_layouts_and_emulation(driver):
    r = subprocess.run([str(driver), "all"], capture_output=True, text=True, timeout=120)
    lines = r.stdout.splitlines()
    assert [ln for ln in lines if ln.startswith("FAIL")] == []
    assert [ln[3:] for ln in lines if ln.startswith("ok ")] == EXPECTED
    assert lines[-1] == "0 failed" and r.returncode == 0


@pytest.mark.parametrize("case, message", [
    ("ldmatrix_misaligned", r"ldmatrix: row address 0x[0-9a-f]+ of lane 9 is not 16-byte aligned"),
    ("wmma_misaligned", r"wmma::load_matrix_sync: pointer 0x[0-9a-f]+ is not 256-bit \(32-byte\) aligned"),
    ("wmma_ldm", r"wmma::load_matrix_sync: ldm 12 is not a multiple of 16 bytes \(2-byte elements\)"),
    ("wmma_nonuniform", r"wmma::load_matrix_sync: lane 3 passes \(0x[0-9a-f]+, ldm 16\) but lane 0 passes "
                        r"\(0x[0-9a-f]+, ldm 16\): the arguments must be warp-uniform"),
])
def test_misuse_is_reported(driver, case, message):
    r = subprocess.run([str(driver), case], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.fullmatch("report: " + message, r.stdout.strip()), r.stdout


# ---- TF32: a precision of its own (the rungs with the tf32 trait, cublas_tf32_torch) ------------------------
def _tf32(x):
    """cvt.rna.tf32.f32 in numpy: round to nearest (ties away) at mantissa bit 13."""
    import numpy as np
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((u + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)


def test_tf32_tolerance_accepts_tf32_and_only_as_tf32():
    import numpy as np
    from kernelbench.testing import check_matmul
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (64, 1024)).astype(np.float32)
    b = rng.uniform(-1, 1, (1024, 48)).astype(np.float32)
    out = (_tf32(a).astype(np.float64) @ _tf32(b).astype(np.float64)).astype(np.float32)
    assert check_matmul(out, a, b, "float32", precision="tf32") <= 1.0
    with pytest.raises(AssertionError, match=r"max \|err\| / tol = .* \(K=1024, float32\)"):
        check_matmul(out, a, b, "float32")            # TF32 is not fp32: the fp32 check rejects it
    wrong = out.copy()
    wrong[3, 5] += 1e-2 * np.abs(a[3]) @ np.abs(b[:, 5])   # a wrong element is still caught as TF32
    with pytest.raises(AssertionError, match=r"\(K=1024, float32 as tf32\)"):
        check_matmul(wrong, a, b, "float32", precision="tf32")


def test_tf32_rungs_are_measured_only_beside_tf32_rungs():
    from kernelbench.bench.cases import Case
    from kernelbench.bench.suites import applicable
    from kernelbench.registry import get_impl
    ref = get_impl("matmul", "cublas_tf32_torch")
    fp32 = get_impl("matmul", "cublas_torch")
    assert ref.precision == "tf32" and fp32.precision == ""
    case = Case("matmul", "cuda", "float32", (256, 256, 256))
    tf32_case = Case("matmul", "cuda", "float32", (256, 256, 256), precision="tf32")
    assert applicable(fp32, case) and not applicable(ref, case)
    assert applicable(ref, tf32_case) and not applicable(fp32, tf32_case)
    assert tf32_case.key == "matmul/cuda/float32/256x256x256/tf32" and case.key == "matmul/cuda/float32/256x256x256"
    assert Case.from_dict(tf32_case.to_dict()) == tf32_case and "precision" not in case.to_dict()
    assert "(TF32 math)" in tf32_case.label


def test_tf32_bench_tolerance_is_looser_than_fp32_and_scales_with_sqrt_k():
    import math
    from kernelbench import tolerance as figures
    t32 = figures.matmul_tol("float32", 4096, 1.0, 1.0, 0.0)
    ttf = figures.matmul_tol("float32", 4096, 1.0, 1.0, 0.0, precision="tf32")
    assert ttf > 10 * t32
    assert math.isclose(ttf - t32, figures.C_TOL * 2 * 2.0**-11 * 64)


def test_gpu_ladder_measures_tensor_cores_in_bf16_and_tf32_apart():
    from kernelbench.bench.suites import Selection, plan
    from kernelbench.registry import list_impls
    ours = [i for i in list_impls(op="matmul", device="cuda") if i.native]
    if not ours:
        pytest.skip("no CUDA kernel table in this build")
    # from the table lines: tensor-core rungs need sm_80 or newer; the tf32 trait marks TF32 math
    tensor_cores = {i.name for i in ours if i.min_arch >= 80 and i.precision != "tf32"}
    tf32_rungs = {i.name for i in ours if i.precision == "tf32"}
    assert tensor_cores and tf32_rungs
    groups, _ = plan(["ladder"], Selection(ops=("matmul",)), ["cuda"])
    by_key = {g.case.key: g for g in groups}
    fp32 = by_key["matmul/cuda/float32/4096x4096x4096"]
    bf16 = by_key["matmul/cuda/bfloat16/4096x4096x4096"]
    tf32 = by_key["matmul/cuda/float32/4096x4096x4096/tf32"]
    names = lambda g: [i.name for i in g.impls]  # noqa: E731
    assert tensor_cores | {"cublas_torch", "torch_compile_cuda"} <= set(names(bf16))
    assert "cublas_torch" in bf16.references
    assert names(tf32)[0] in tf32_rungs and tf32_rungs <= set(names(tf32)) and tf32.references == ["cublas_tf32_torch"]
    assert not (tf32_rungs | {"cublas_tf32_torch"}) & set(names(fp32))


# ---- GPU only: the sm_90a rungs on the TMA path (never emulated; skipped without an H100/H200) ------
def _sm90():
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_capability() == (9, 0)


def _sm90_rungs():
    from kernelbench.registry import list_impls   # min_arch 90 (sm_90a) in their table lines
    return tuple(i.name for i in list_impls(op="matmul", device="cuda") if i.native and i.min_arch == 90)


SM90_RUNGS = _sm90_rungs()
# Leading dimensions multiples of 8 (the TMA path, not the rung-12 fallback) except A^T with
# M = 129 (that fallback): edges of every tile size, K below one 64-deep tile, one row, batches
# with and without broadcast.
TMA_SHAPES = [(256, 256, 256), (200, 136, 72), (1, 8, 8), (129, 264, 520), (8, 512, 8)]


@pytest.mark.skipif(not _sm90(), reason="needs an sm_90 GPU (H100/H200): wgmma / TMA are not emulated on the CPU")
@pytest.mark.parametrize("rung", SM90_RUNGS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True), (True, False), (True, True)])
def test_sm90a_rungs_on_the_tma_path(rung, dtype, trans_a, trans_b):
    import numpy as np
    import torch
    import kernelbench as kb
    from kernelbench.testing import check_matmul
    tdt = getattr(torch, dtype)
    g = torch.Generator(device="cuda").manual_seed(1)
    for m, n, k in TMA_SHAPES:
        for batch in (None, 3):
            lead = () if batch is None else (batch,)
            a_store = torch.rand(lead + ((k, m) if trans_a else (m, k)), device="cuda", generator=g).sub_(0.5).to(tdt)
            b_store = torch.rand(lead + ((n, k) if trans_b else (k, n)), device="cuda", generator=g).sub_(0.5).to(tdt)
            a = a_store.transpose(-1, -2) if trans_a else a_store
            b = b_store.transpose(-1, -2) if trans_b else b_store
            if batch is not None and trans_b:
                b = b[0]   # a 2-D B broadcast over the batch (batch stride 0: a TMA map without a batch dim)
            out = kb.matmul(a, b, impl=rung)
            a64 = a.float().cpu().numpy()
            b64 = np.broadcast_to(b.float().cpu().numpy(), a64.shape[:-2] + tuple(b.shape[-2:]))
            check_matmul(out.float().cpu().numpy(), a64, b64, dtype)


@pytest.mark.skipif(_sm90() is not False, reason="needs a CUDA GPU other than sm_90 (checks the refusal)")
@pytest.mark.parametrize("rung", SM90_RUNGS)
def test_sm90a_rungs_refuse_other_gpus(rung):
    import torch
    import kernelbench as kb
    from kernelbench.registry import get_impl
    assert get_impl("matmul", rung).unavailable_reason().startswith("needs sm_90a (this GPU is sm_")
    a = torch.ones(64, 64, device="cuda", dtype=torch.bfloat16)
    # the table line's min_arch 90, checked by the dispatcher (MatmulKernel::fn) against the device
    with pytest.raises(ValueError, match=r"needs sm_90a|needs a newer GPU \(its min_arch is above"):
        kb.matmul(a, a, impl=rung)


# ---- the rungs themselves on the CPU SIMT executor (csrc/sim) ------------------------------------
def _sim_rungs():
    """The tensor-core rungs the executor emulates, from their table lines: min_arch 80 (the sm_90a
    ones need TMA / wgmma, not emulated); fp16 and bf16 each, fp32 for TF32 math.  With each rung's
    launcher (matmul_ + the name less cuda_) and source file."""
    from kernelbench.registry import list_impls
    out = []
    for i in list_impls(op="matmul", device="cuda"):
        if i.native and i.min_arch == 80:
            for dt in (("f32",) if i.precision == "tf32" else ("f16", "bf16")):
                out.append(("matmul_" + i.name[len("cuda_"):], dt, i.source))
    return out


SIM_CASES = _sim_rungs()
SIM_RUNGS = [(launcher, dt) for launcher, dt, _ in SIM_CASES]
SIM_PROBLEMS = 11


def _cuda_include():
    for d in ("/usr/local/cuda/include",):
        if (Path(d) / "cuda_runtime.h").exists():
            return d
    try:
        from kernelbench.rungs.cupy_nvrtc import cuda_include_dirs
        return next((d for d in cuda_include_dirs() if (Path(d) / "cuda_runtime.h").exists()), None)
    except Exception:
        return None


@pytest.fixture(scope="module")
def sim_driver(tmp_path_factory) -> Path:
    inc = _cuda_include()
    if not (ROOT / "csrc" / "sim" / "kbsim_scheduler.cpp").exists() or inc is None:
        pytest.skip("no CPU executor sources (csrc/sim/kbsim_*.cpp) or no CUDA headers")
    exe = tmp_path_factory.mktemp("tcsim") / "tensor_core_sim"
    srcs = sorted({ROOT / src for _, _, src in SIM_CASES})
    launchers = " ".join(sorted({f"X({launcher})" for launcher, _ in SIM_RUNGS}))   # the driver's list, from the tables
    cmd = [CXX, "-std=c++17", "-O1", "-DKB_SIM", "-DKB_WITH_CUDA", f"-DKB_SIM_LAUNCHERS={launchers}",
           "-include", str(ROOT / "csrc" / "sim" / "kbsim.h"),
           "-I", inc, "-I", str(ROOT / "csrc"), "-x", "c++", *map(str, srcs),
           str(ROOT / "csrc" / "common" / "kb_common.cpp"),
           *sorted(str(p) for p in (ROOT / "csrc" / "sim").glob("kbsim*.cpp") if p.name != "kbsim_py.cpp"),  # the executor
           str(ROOT / "tests" / "tensor_core_sim.cpp"), "-o", str(exe), "-ldl", "-lpthread"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return exe


@pytest.mark.parametrize("rung, dtype", SIM_RUNGS)
def test_tensor_core_rung_on_the_cpu_executor(sim_driver, rung, dtype):
    """Odd shapes, K = 0 and 1, all four transpose combinations, odd leading dims, a misaligned base,
    batches with B broadcast: every element within its error bound of the float64 result."""
    r = subprocess.run([str(sim_driver), rung, dtype], capture_output=True, text=True, timeout=300)
    lines = r.stdout.splitlines()
    assert [ln for ln in lines if not ln.startswith("ok ")][-1:] == ["0 failed"], r.stdout + r.stderr[-2000:]
    assert sum(ln.startswith("ok ") for ln in lines) == SIM_PROBLEMS and r.returncode == 0


def test_executor_check_catches_a_wrong_element(sim_driver):
    launcher = next(launcher for launcher, dt in SIM_RUNGS if dt == "bf16")
    r = subprocess.run([str(sim_driver), launcher, "bf16", "corrupt"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and r.stdout.splitlines()[-1] == f"{SIM_PROBLEMS} failed", r.stdout
    assert "ok 5x6x0 batch 1" not in r.stdout and "FAIL 129x67x75 batch 2 ta0 tb0" in r.stdout


def test_percent_of_peak_names_the_tensor_core_figure():
    from kernelbench.bench.peaks import lookup_gpu, peak_for
    h200 = lookup_gpu("NVIDIA H200", 141e9)
    p = {"device": "cuda", "flops": h200.flops, "flops_source": "H200 SXM datasheet"}
    assert peak_for(p, "bfloat16") == (989.4e12, "H200 SXM datasheet: bfloat16 tensor cores, dense, 989.4 TFLOP/s")
    assert peak_for(p, "tf32") == (494.7e12, "H200 SXM datasheet: tf32 tensor cores, dense, 494.7 TFLOP/s")
    assert peak_for(p, "float32") == (67e12, "H200 SXM datasheet")
    no_tc = {"device": "cuda", "flops": {"float32": 1e12}, "flops_source": "X datasheet"}
    assert peak_for(no_tc, "float16")[1].endswith("(its fp32 SIMT figure: no tensor-core figure listed for this GPU)")
