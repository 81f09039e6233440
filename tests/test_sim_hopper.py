"""The CPU SIMT executor's sm_90a model (csrc/sim/kbsim_hopper.h) and its tensor-core collectives: TMA,
mbarrier, wgmma and ldmatrix mistakes in tests/sim/broken_hopper.cu are each caught with their
diagnosis, in the plain executor or its AddressSanitizer build, and the fixed kernels pass clean in
all three builds.  Rungs 13 and 14
themselves run in tests/test_sim.py's matrix and sanitizer pass."""
from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kernelbench import sim

ROOT = Path(__file__).resolve().parents[1]
CUDA_HOME = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))

# Needs only the CUDA headers and the host compiler (not the built module).
pytestmark = pytest.mark.skipif(not (CUDA_HOME / "include" / "cuda_runtime.h").exists(),
                                reason="no CUDA headers (CUDA_HOME)")

# The three builds of the executor (csrc/build.json's "sim" variants: (kernels, executor) flags).
VARIANTS = {"plain": "sim", "asan": "sim_asan", "tsan": "sim_tsan"}


@pytest.fixture(scope="session")
def hopper(tmp_path_factory):
    """tests/sim/broken_hopper.cu built against every executor source, three ways."""
    out = tmp_path_factory.mktemp("hopper")
    common = (ROOT / "csrc/common/kb_common.cpp",)
    with ThreadPoolExecutor(len(VARIANTS)) as pool:   # each links its build's executor and kb_common objects
        built = pool.map(lambda v: sim.build_program(ROOT / "tests/sim/broken_hopper.cu", out, VARIANTS[v],
                                                     extra=common, flags=("-Wno-psabi",),
                                                     name=f"broken_hopper_{v}"), VARIANTS)
        return dict(zip(VARIANTS, built))


def run_case(exes, variant: str, case: str) -> str:
    env = dict(os.environ, **sim.SANITIZER_ENV, KBSIM_SEED="1")
    p = subprocess.run([str(exes[variant]), case], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=300, env=env)
    return p.stdout


CAUGHT = [
    # (case, build, every substring the diagnosis must contain)
    ("wrong_swizzle_bit", "plain", ["RESULT wrong"]),
    ("sbo_off_by_one", "plain", ["RESULT wrong"]),
    ("tma_box_too_large", "plain", ["DIAGNOSIS kbsim: cp.async.bulk.tensor (broken_hopper.cu:",
                                    "the box (64 x 128 x 1 elements of 2 bytes = 16384 bytes) at shared 0x4000",
                                    "runs past the block's 24592 bytes of dynamic shared memory"]),
    ("missing_expect_tx", "plain", ["deadlock in kernel void pipeline<4>",
                                    "threads 128-255 wait at mbarrier.try_wait.parity (broken_hopper.cu:",
                                    "1 of 1 arrivals pending, tx-count -24576",
                                    "complete_tx of 24576 bytes with no arrive.expect_tx for them"]),
    ("wrong_parity", "plain", ["deadlock in kernel void pipeline<5>",
                               "threads 0 wait at mbarrier.try_wait.parity (broken_hopper.cu:",
                               "[parity 0; mbarrier in phase 0: 4 of 4 arrivals pending, tx-count 0]"]),
    ("tma_read_before_barrier", "plain", ["RESULT wrong", "probe -nan"]),   # poisoned shared memory
    ("tma_read_before_barrier", "asan", ["AddressSanitizer: use-after-poison", "pipeline<6>",
                                         "kbsim: TMA (cp.async.bulk.tensor): shared memory read before its "
                                         "mbarrier phase completed"]),
    ("wgmma_read_before_wait", "plain", ["RESULT wrong"]),
    ("wgmma_read_before_wait", "asan", ["AddressSanitizer: use-after-poison", "store_accumulators",
                                        "kbsim: wgmma.mma_async: accumulator registers read before "
                                        "wgmma.wait_group"]),
    # tensor-core collectives: every lane at the same instruction (kind, shape, site), on shared memory
    ("ldmatrix_mixed_shapes", "plain", ["warp divergence in a tensor-core collective", "issues ldmatrix.x4",
                                        "issued ldmatrix.x2 (broken_hopper.cu:"]),
    ("ldmatrix_two_sites", "plain", ["warp divergence in a tensor-core collective",
                                     "issued it at ldmatrix.x4 (broken_hopper.cu:"]),
    ("ldmatrix_from_global", "plain", ["ldmatrix.x4 (broken_hopper.cu:", "is not in shared memory"]),
]


@pytest.mark.parametrize("case,variant,expected", CAUGHT, ids=[f"{c}-{v}" for c, v, _ in CAUGHT])
def test_broken_hopper_kernel_is_caught(hopper, case, variant, expected):
    out = run_case(hopper, variant, case)
    for text in expected:
        assert text in out, f"{case} ({variant}): {text!r} not in\n{out[-3000:]}"


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("case", ["fixed", "ldmatrix_fixed"])
def test_fixed_twins_pass_clean(hopper, variant, case):
    out = run_case(hopper, variant, case)
    assert "RESULT ok" in out, out[-3000:]
    assert "Sanitizer" not in out and "DIAGNOSIS" not in out, out[-3000:]


# ------------------------------------------------------------------ tensor-core accumulation models
# fp16 inputs, same sign, K = 16384: the error model's sqrt(K) term assumes roundings of random sign,
# which truncation does not give.  The argument that the tolerance still holds: with the block-FMA
# model (blocks of 8 products and the running sum c, aligned to the largest exponent with 3 extra
# bits, truncated; the block's sum truncated to fp32) a block errs by < 9 * 2^-26 |c| + 2^-23 |c|
# = 2.5e-7 |c|, always toward zero; over K / 8 = 2048 blocks whose |c| grows to |C| that is
# < 2.5e-7 * |C| * 2048 / 2 = 2.6e-4 |C|.  The stored fp16 result adds half an ulp, <= 2^-11 |C| =
# 4.9e-4 |C|: 7.5e-4 |C| in all, inside the tolerance (with l2 = sum |t| = |C| for same-sign terms)
# 4 * 2^-23 * sqrt(16384) |C| + 2^-10 |C| = 1.04e-3 |C|.  With round-to-nearest the accumulation
# error is far smaller.  Both models run here: KBSIM_TC_TRUNCATE=1 is the stricter one.
LARGE_K_PROBE = """
import numpy as np, sys
from kernelbench import sim, testing
rng = np.random.default_rng(5)
m, n, k = {m}, {n}, 16384
a = rng.uniform(0.5, 1.0, (m, k)).astype(np.float16)
b = rng.uniform(0.5, 1.0, (k, n)).astype(np.float16)
c = sim.matmul(a, b, "{rung}")
print("RATIO", testing.check_matmul(c, a, b, "float16"))
"""


def test_large_k_same_sign_fp16_accumulation_within_tolerance_under_both_models(hopper):
    """The emulation itself (a chain of 1024 mma.sync m16n8k16, the kernels' fp16 store), both models."""
    ratios = {}
    for model in ("0", "1"):
        env = dict(os.environ, KBSIM_TC_TRUNCATE=model)
        p = subprocess.run([str(hopper["plain"]), "accumulate"], capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == 0, p.stdout + p.stderr   # exit 3: a ratio above 1
        ratios[model] = float(p.stdout.split("RATIO")[1].split()[0])
    assert ratios["1"] > ratios["0"], ratios   # truncation is biased: the stricter model errs more
    assert max(ratios.values()) <= 1.0, ratios


# The same through whole rungs on the executor (K = 16384: ~30 s for both models on 2 vCPUs, since the
# tensor-core emulation is not instrumented with the access hooks).
@pytest.mark.skipif(sim.available() is not None, reason=str(sim.available()))
@pytest.mark.parametrize("rung,m,n", [("cuda_11_mma_sync", 16, 16), ("cuda_13_wgmma_tma", 64, 64)])
def test_large_k_same_sign_fp16_within_tolerance_under_both_accumulation_models(rung, m, n):
    ratios = {}
    for model in ("0", "1"):
        # the accumulation is under test here; the extent check (kbsim_extent.h) has its own tests
        env = dict(os.environ, KBSIM_TC_TRUNCATE=model, KBSIM_EXTENT="0")
        p = subprocess.run([os.sys.executable, "-c", LARGE_K_PROBE.format(m=m, n=n, rung=rung)], env=env,
                           capture_output=True, text=True, timeout=900, cwd=ROOT)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
        ratios[model] = float(p.stdout.split("RATIO")[-1])
    # the stricter model errs more (truncation is biased), and both stay inside the tolerance
    assert ratios["1"] > ratios["0"], ratios
    assert ratios["1"] <= 1.0 and ratios["0"] <= 1.0, ratios


# Issue 17's acceptance run (what `kernelbench sim RUNG --shape 129x127x200 --dtype bf16 --check C`
# runs): the sm_90a rungs at an odd shape in bf16, every layout (A, B each
# row-major or transposed), on the AddressSanitizer and ThreadSanitizer builds (~5 s each).
@pytest.mark.skipif(sim.available() is not None, reason=str(sim.available()))
@pytest.mark.parametrize("check", ["memory", "races"])
@pytest.mark.parametrize("rung", ["cuda_13_wgmma_tma", "cuda_14_warp_specialized"])
def test_sm90a_rung_passes_every_layout_under_the_sanitizers(rung, check):
    rc, out = sim.run_driver(check, "matmul", ["one", rung, "bf16", "129", "127", "200"])
    assert rc == 0, out[-3000:]
    for layout in ("", " tA", " tB", " tA tB"):
        assert re.search(rf"^PASS {rung}\s+bf16\s+129x127x200{layout}\s+max rel err", out, re.M), (layout, out[-3000:])
