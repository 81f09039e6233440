"""The CPU SIMT executor's sm_90a model (csrc/sim/kbsim_hopper.h): TMA, mbarrier and wgmma mistakes in
tests/sim/broken_hopper.cu are each caught with their diagnosis, in the plain executor or its
AddressSanitizer build, and the fixed kernel passes clean in all three builds.  Rungs 13 and 14
themselves run in tests/test_sim.py's matrix and sanitizer pass."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kernelbench import sim

ROOT = Path(__file__).resolve().parents[1]
CUDA_HOME = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))

# Needs only the CUDA headers and the host compiler (not the built module).
pytestmark = pytest.mark.skipif(not (CUDA_HOME / "include" / "cuda_runtime.h").exists(),
                                reason="no CUDA headers (CUDA_HOME)")

# (kernels, executor) flags; the executor is never instrumented by ThreadSanitizer (docs/sim.md).
VARIANTS = {
    "plain": ("-O2 -g", "-O2 -g"),
    "asan": ("-O1 -g -fsanitize=address", "-O1 -g -fsanitize=address"),
    "tsan": ("-O1 -g -fsanitize=thread", "-O1 -g -DKBSIM_TSAN_RUNTIME"),
}


@pytest.fixture(scope="session")
def hopper(tmp_path_factory):
    """tests/sim/broken_hopper.cu built against every executor source, three ways."""
    out = tmp_path_factory.mktemp("hopper")
    common = ["-std=c++17", "-fsanitize=alignment", "-fsanitize-undefined-trap-on-error", "-Wno-psabi",
              "-DKB_WITH_CUDA", "-DKB_SIM", f"-I{CUDA_HOME / 'include'}", f"-I{ROOT / 'csrc'}"]
    executor = sorted(p for p in (ROOT / "csrc" / "sim").glob("kbsim*.cpp") if p.name != "kbsim_py.cpp")
    exes, procs = {}, []
    for variant, (kflags, eflags) in VARIANTS.items():
        objs = [out / f"{p.stem}_{variant}.o" for p in executor]
        steps = [f"g++ {' '.join(common)} {eflags} -c {src} -o {obj}" for src, obj in zip(executor, objs)]
        steps.append(f"g++ {' '.join(common)} {kflags} -c {ROOT / 'csrc/common/kb_common.cpp'} "
                     f"-o {out / f'kb_common_{variant}.o'}")
        exe = out / f"broken_hopper_{variant}"
        steps.append(f"g++ {' '.join(common)} {kflags} -x c++ -include {ROOT / 'csrc/sim/kbsim.h'} "
                     f"{ROOT / 'tests/sim/broken_hopper.cu'} -x none {' '.join(map(str, objs))} "
                     f"{out / f'kb_common_{variant}.o'} -o {exe} -rdynamic -lpthread")
        procs.append(subprocess.Popen(" && ".join(steps), shell=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
        exes[variant] = exe
    for p in procs:
        log, _ = p.communicate()
        assert p.returncode == 0, log[-3000:]
    return exes


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
]


@pytest.mark.parametrize("case,variant,expected", CAUGHT, ids=[f"{c}-{v}" for c, v, _ in CAUGHT])
def test_broken_hopper_kernel_is_caught(hopper, case, variant, expected):
    out = run_case(hopper, variant, case)
    for text in expected:
        assert text in out, f"{case} ({variant}): {text!r} not in\n{out[-3000:]}"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fixed_pipeline_passes_clean(hopper, variant):
    out = run_case(hopper, variant, "fixed")
    assert "RESULT ok" in out, out[-3000:]
    assert "Sanitizer" not in out and "DIAGNOSIS" not in out, out[-3000:]
