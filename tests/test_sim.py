"""The CPU SIMT executor (csrc/sim, docs/sim.md): every CUDA rung runs on the CPU against float64,
a sanitizer pass (AddressSanitizer, ThreadSanitizer) runs one small shape per rung and dtype, and a
set of broken kernels shows that each check catches what it claims, with its specific diagnosis."""
from __future__ import annotations

import os
import re
import subprocess
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from kernelbench import sim
from kernelbench.registry import list_impls

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(sim.available() is not None, reason=str(sim.available()))


def cuda_rungs(op: str) -> list:
    """Every CUDA rung of the C++ tables for `op` (the CUB rung is a vendor library: nvcc only)."""
    return [i for i in list_impls(op) if i.device == "cuda" and i.native and i.name != "cub_device_reduce"]


def _matrix(lines: list[str], pattern: str) -> dict:
    seen = defaultdict(lambda: defaultdict(set))
    for ln in lines:
        m = re.match(pattern, ln)
        if m:
            seen[m.group("rung")][m.group("dtype")].add(m.group("case").strip())
    return seen


MATRIX_FILE = ROOT / "build" / "sim-matrix.txt"   # printed at the end of the run by conftest.py


def _print_matrix(capsys, title: str, seen: dict) -> None:
    lines = [f"{title}: rung x dtype -> number of shapes checked against float64 on the CPU SIMT executor"]
    for rung in sorted(seen):
        cells = ", ".join(f"{d} {len(cases)}" for d, cases in sorted(seen[rung].items()))
        lines.append(f"  {rung:30s} {cells}")
    with open(MATRIX_FILE, "a") as f:
        f.write("\n".join(lines) + "\n")
    with capsys.disabled():
        print("\n" + "\n".join(lines))


# ------------------------------------------------------------------ every rung, against float64
@pytest.mark.parametrize("rung", [i.name for i in cuda_rungs("matmul")])
def test_every_cuda_matmul_rung_runs_on_the_executor(capsys, rung):
    rc, out = sim.run_driver("none", "matmul", ["check", rung], timeout=1200)
    lines = out.splitlines()
    assert rc == 0, "\n".join(ln for ln in lines if ln.startswith("FAIL"))[:4000] or out[-2000:]
    assert re.search(r"^\d+ passed, 0 failed$", out, re.M), out[-500:]
    seen = _matrix(lines, r"PASS (?P<rung>\S+)\s+(?P<dtype>f32|f64|f16|bf16)\s+(?P<case>.{34})")
    short = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16"}
    assert not re.search(r"^SKIP cuda_\S+ .*sm_", out, re.M), "a rung skipped for its architecture"
    for impl in [i for i in cuda_rungs("matmul") if i.name == rung]:   # 13/14 (sm_90a): csrc/sim/kbsim_hopper.h
        for dt in impl.dtypes:
            cases = seen[impl.name][short[dt]]
            # the odd shapes the issue names: 1, 7, 127/129, K = 1, K = 0, tall-skinny, batched+transposed,
            # base pointer one element off, empty
            for must in ("1x1x1", "7x7x7", "127x129x65", "65x33x1 (K=1)", "300x200x0 (K=0)", "2000x3x5 tall",
                         "3x65x33x17 batched tA tB", "129x128x64 A,B misaligned") if not impl.vector_only else (
                         "1x4096x33", "4096x1x33", "300x1x64 gemv misaligned, padded"):
                assert must in cases, (impl.name, dt, must)
            assert len(cases) >= (3 if impl.vector_only else 20), (impl.name, dt, sorted(cases))
    _print_matrix(capsys, "matmul", seen)


def test_every_cuda_reduction_rung_runs_on_the_executor(capsys):
    rc, out = sim.run_driver("none", "reduce", ["check"], timeout=1200)
    assert rc == 0, "\n".join(ln for ln in out.splitlines() if "FAIL" in ln)[:4000] or out[-2000:]
    assert "PASS: 0 failure(s)" in out
    for op in ("sum",):
        for impl in cuda_rungs(op):
            m = re.search(rf"^PASS {impl.name}: (\d+) cases pass, 0 fail", out, re.M)
            assert m and int(m.group(1)) >= 20, (impl.name, m and m.group(0))
    for op, kind in (("softmax", "softmax"), ("l2norm", "l2norm")):
        for impl in cuda_rungs(op):
            for dt in ("f32", "f64", "f16", "bf16"):
                assert re.search(rf"^PASS {impl.name} {dt}: \d+ shapes", out, re.M), (impl.name, dt)
    lines = ["reductions, softmax, l2norm on the CPU SIMT executor (each case: every op the rung has):"]
    lines += ["  " + ln for ln in out.splitlines() if re.match(r"PASS \S+( \S+)?: \d+ (cases|shapes)", ln)]
    with open(MATRIX_FILE, "a") as f:
        f.write("\n".join(lines) + "\n")
    with capsys.disabled():
        print("\n" + "\n".join(lines))


# ------------------------------------------------------------------ sanitizer pass
@pytest.mark.parametrize("check", ["memory", "races"])
@pytest.mark.parametrize("driver", ["matmul", "reduce"])
def test_sanitizer_pass_is_clean(driver, check):
    rc, out = sim.run_driver(check, driver, ["sanitize"], timeout=1200)
    reports = re.findall(r"(ERROR: AddressSanitizer: .*|WARNING: ThreadSanitizer: .*)", out)
    assert not reports, "\n".join(reports[:5]) + "\n" + out[-3000:]
    assert rc == 0, out[-3000:]
    assert "FAIL" not in out.replace("0 failed", "").replace("0 failure", ""), out[-3000:]


# ------------------------------------------------------------------ the checks can fail
# The three builds of the executor (csrc/build.json's "sim" variants): plain, AddressSanitizer, ThreadSanitizer.
VARIANTS = {"plain": "sim", "asan": "sim_asan", "tsan": "sim_tsan"}


@pytest.fixture(scope="session")
def broken(tmp_path_factory):
    """tests/sim/broken_kernels.cu built three ways: plain executor, AddressSanitizer, ThreadSanitizer."""
    out = tmp_path_factory.mktemp("broken")
    with ThreadPoolExecutor(len(VARIANTS)) as pool:   # each links its build's executor objects
        built = pool.map(lambda v: sim.build_program(ROOT / "tests/sim/broken_kernels.cu", out, VARIANTS[v],
                                                     name=f"broken_{v}"), VARIANTS)
        return dict(zip(VARIANTS, built))


def run_case(exes, variant: str, case: str) -> str:
    env = dict(os.environ, **sim.SANITIZER_ENV, KBSIM_SEED="1")
    p = subprocess.run([str(exes[variant]), case], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=300, env=env)
    return p.stdout


CAUGHT = [
    # (case, build, every substring the diagnosis must contain)
    ("missing_syncthreads", "tsan", ["WARNING: ThreadSanitizer: data race", "neighbour_sum<false>"]),
    ("missing_syncthreads", "plain", ["RESULT wrong"]),   # poisoned shared memory read: NaN
    ("off_by_one_tile_edge", "asan", ["AddressSanitizer: heap-buffer-overflow", "tile_copy<false>"]),
    ("misaligned_float4", "plain", ["misaligned address", "cudaErrorMisalignedAddress", "kernel vector_load",
                                    "thread (16,0,0)"]),
    ("barrier_in_divergent_branch", "plain", ["barrier divergence", "threads 0-15 wait at __syncthreads",
                                              "threads 16-63 have exited"]),
    ("warp_tree_without_syncwarp", "tsan", ["WARNING: ThreadSanitizer: data race", "warp_tree<false>"]),
    ("warp_tree_without_syncwarp", "plain", ["RESULT wrong"]),
    ("cp_async_read_before_wait", "asan", ["AddressSanitizer: use-after-poison",
                                           "kbsim: cp.async: shared memory read before its cp.async.wait_group",
                                           "async_copy<false>"]),
    ("cp_async_read_before_wait", "plain", ["RESULT wrong"]),
    # a refill issued before the barrier that frees the stage: copies land at random moments up to the wait
    ("cp_async_refill_before_barrier", "plain", ["RESULT wrong"]),
    ("cp_async_refill_before_barrier", "asan", ["AddressSanitizer: use-after-poison", "pipelined_sum<false>",
                                                "kbsim: cp.async: shared memory read before its cp.async.wait_group"]),
    ("shuffle_after_exit", "plain", ["deadlock in kernel shuffle_after_exit",
                                     "wait at __shfl_down_sync", "threads 5 have exited"]),
    ("block_too_large", "plain", ["invalid configuration argument", "block of 2048 threads (at most 1024)"]),
    ("grid_y_too_large", "plain", ["invalid configuration argument", "grid (1,70000,1)"]),
    ("dynamic_smem_without_optin", "plain", ["65536 bytes of dynamic shared memory without cudaFuncSetAttribute"]),
    ("dynamic_smem_above_sm90_limit", "plain", ["invalid argument", "cudaFuncSetAttribute"]),
]

CLEAN = [
    ("fixed_syncthreads", "plain"), ("fixed_syncthreads", "tsan"),
    ("fixed_tile_edge", "asan"), ("aligned_float4", "plain"), ("fixed_barrier", "plain"),
    ("warp_tree_with_syncwarp", "plain"), ("warp_tree_with_syncwarp", "tsan"),
    ("cp_async_waited", "asan"), ("cp_async_waited", "tsan"),
    ("cp_async_refill_after_barrier", "plain"), ("cp_async_refill_after_barrier", "asan"),
    ("cp_async_refill_after_barrier", "tsan"), ("dynamic_smem_with_optin", "plain"),
]


@pytest.mark.parametrize("case,variant,expected", CAUGHT, ids=[f"{c}-{v}" for c, v, _ in CAUGHT])
def test_broken_kernel_is_caught(broken, case, variant, expected):
    out = run_case(broken, variant, case)
    for text in expected:
        assert text in out, f"{case} ({variant}): {text!r} not in\n{out[-3000:]}"


@pytest.mark.parametrize("case,variant", CLEAN, ids=[f"{c}-{v}" for c, v in CLEAN])
def test_fixed_kernel_passes_clean(broken, case, variant):
    out = run_case(broken, variant, case)
    assert "RESULT ok" in out, out[-3000:]
    assert "Sanitizer" not in out and "DIAGNOSIS" not in out, out[-3000:]


def test_thread_order_is_reproducible_from_the_seed(broken):
    """The racy warp tree gives the same wrong answer for one seed, every time."""
    runs = {run_case(broken, "plain", "warp_tree_without_syncwarp") for _ in range(3)}
    assert len(runs) == 1, runs


# ------------------------------------------------------------------ from Python, on numpy arrays
def test_python_door_matches_float64_and_reports_no_time():
    mod = sim.module()
    rng = np.random.default_rng(3)
    a = rng.standard_normal((33, 70)).astype(np.float32)
    b = rng.standard_normal((70, 19)).astype(np.float32)
    c, ms = mod.matmul(a, b, "cuda_05_blocktile_2d")
    assert ms is None   # never a performance figure
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    r = sim.check("cuda_11_mma_sync", (2, 37, 41, 29), "bfloat16")
    assert r.ok, r.message
    assert sim.check("cuda_09_warp_shuffle", (1025,), "float16").ok


def test_whole_tensor_rung_refuses_a_dim_case_with_the_reason():
    """The known defect: whole-tensor rungs reduced everything into out[0] on dim cases.  Their table
    line now refuses the layout, with the reason, through the executor's door as through every door."""
    x = np.ones((4, 6), np.float32)
    with pytest.raises(ValueError, match=r"impl: 'cuda_02_tree_divergent' reduces whole tensors only"):
        sim.reduce(x, "sum", 1, impl="cuda_02_tree_divergent")
    with pytest.raises(ValueError, match=r"impl: 'cuda_13_dim_outer' reduces a non-innermost dim only"):
        sim.reduce(x, "sum", 1, impl="cuda_13_dim_outer")
    np.testing.assert_array_equal(sim.reduce(x, "sum", 1, impl="cuda_12_dim_inner"), np.full(4, 6.0))


def test_cli_sim_prints_a_verdict():
    from kernelbench.cli import main
    assert main(["sim", "cuda_07_warptile", "--shape", "29x31x17", "--dtype", "bf16"]) == 0
    assert main(["sim", "cuda_07_warptile", "--shape", "29x31", "--dtype", "bf16"]) == 3   # refused shape
    assert main(["sim", "no_such_rung", "--shape", "2x2x2"]) == 2


def test_executor_shows_the_whole_tensor_defect_and_the_table_guard():
    """The defect found by reading (issue 9): a whole-tensor rung's launcher, run on a dim case, sums
    the whole buffer into out[0] and leaves the rest unwritten.  On the executor the bare launchers
    show it (poisoned NaN), and every table entry's fn() refuses the case with the reason."""
    rc, out = sim.run_driver("none", "reduce", ["unguarded"])
    whole_only = [i for i in cuda_rungs("sum") if "whole_only" in i.traits]
    assert len(whole_only) >= 10
    assert rc == 0, out[-2000:]
    wrong = re.findall(r"^WRONG (\S+) launcher alone.*got \[120, -?nan, -?nan\]", out, re.M)
    assert len(wrong) >= 10, out[-3000:]
    guarded = re.findall(r"^GUARDED (\S+): impl: '\S+' reduces whole tensors only", out, re.M)
    assert sorted(guarded) == sorted(i.name for i in whole_only), out[-3000:]
