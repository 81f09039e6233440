"""The memory model between blocks (KBSIM_BLOCKS_IN_FLIGHT, csrc/sim/kbsim_memmodel.h, docs/sim.md):
a single-pass reduction without its __threadfence gives a wrong result on most seeds while its fixed
twin is right on every seed, and the rungs whose blocks communicate (rung 11's last block, rung 01's
atomics) pass their whole self-test under it.  Time: ~25 s of CPU on a 2-vCPU VM (builds included)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from kernelbench import sim

ROOT = Path(__file__).resolve().parents[1]
SEEDS = 20

pytestmark = pytest.mark.skipif(sim.available() is not None, reason=str(sim.available()))

# The rungs whose blocks communicate within a launch: their self-test runs under the model in CI.
COMMUNICATING_RUNGS = ("cuda_11_single_pass", "cuda_01_atomic")


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    """tests/sim/broken_memmodel.cu built like the plain executor build: hooks in the kernels."""
    return sim.build_hooked_program(ROOT / "tests/sim/broken_memmodel.cu", tmp_path_factory.mktemp("memmodel"))


def run_seeds(exe: Path, case: str, in_flight: int) -> tuple[int, list[str]]:
    """(seeds with a wrong sum, the stale-read diagnoses printed)"""
    env = dict(os.environ, KBSIM_BLOCKS_IN_FLIGHT=str(in_flight))
    p = subprocess.run([str(exe), case, str(SEEDS)], capture_output=True, text=True, timeout=120, env=env)
    m = re.search(rf"^RESULT (ok|wrong): wrong in (\d+) of {SEEDS} seeds", p.stdout, re.M)
    assert m, p.stdout + p.stderr
    return int(m.group(2)), re.findall(r"^kbsim: memory model between blocks: .*", p.stderr, re.M)


def _line_of(text: str) -> int:
    lines = (ROOT / "tests/sim/broken_memmodel.cu").read_text().splitlines()
    return next(i + 1 for i, ln in enumerate(lines) if text in ln)


@pytest.mark.parametrize("in_flight", [4, 8])
def test_single_pass_without_fence_is_wrong_on_most_seeds(broken, in_flight):
    wrong, stale = run_seeds(broken, "single_pass_without_fence", in_flight)
    assert wrong > SEEDS // 2
    # each wrong seed names the read, the unpublished store and their lines (one report per launch)
    assert len(stale) >= wrong, stale
    store, read = _line_of("partial[blockIdx.x] = s[0];"), _line_of("sum += partial[b];")
    for d in stale:
        assert re.search(rf"block \(\d+,0,0\) thread 0 reads 4 bytes at 0x[0-9a-f]+ \(\S*broken_memmodel.cu:{read}\) "
                         rf"that block \(\d+,0,0\) thread 0 stored \(\S*broken_memmodel.cu:{store}\) and has not "
                         r"published", d), d


@pytest.mark.parametrize("in_flight", [2, 4, 16])
def test_single_pass_with_fence_is_right_on_every_seed(broken, in_flight):
    assert run_seeds(broken, "single_pass_with_fence", in_flight) == (0, [])


def test_blocks_one_after_another_cannot_see_the_missing_fence(broken):
    """Why the model exists: the default executor runs blocks in order, where every store is visible."""
    assert run_seeds(broken, "single_pass_without_fence", 1) == (0, [])


def test_the_interleaving_is_reproducible_from_the_seed(broken):
    runs = set()
    for _ in range(2):
        p = subprocess.run([str(broken), "single_pass_without_fence", str(SEEDS)], capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, KBSIM_BLOCKS_IN_FLIGHT="4"))
        runs.add(p.stdout)
    assert len(runs) == 1, runs


@pytest.mark.parametrize("rung", COMMUNICATING_RUNGS)
def test_communicating_rungs_pass_their_self_test_under_the_model(rung, monkeypatch):
    """The reduction self-test's every size (0 to 65539, misaligned, NaN), op and dtype, each call
    twice (rung 11 resets its counter); ~6 s of CPU per rung."""
    monkeypatch.setenv("KBSIM_BLOCKS_IN_FLIGHT", "8")
    monkeypatch.setenv("KBSIM_SEED", "1")
    rc, out = sim.run_driver("none", "reduce", ["check", rung], timeout=600)
    assert rc == 0, "\n".join(ln for ln in out.splitlines() if "FAIL" in ln)[:3000] or out[-2000:]
    m = re.search(rf"^PASS {rung}: (\d+) cases pass, 0 fail", out, re.M)
    assert m and int(m.group(1)) >= 20, out[-2000:]


def test_python_door_and_cli_take_the_option():
    r = sim.check("cuda_11_single_pass", (70001,), "bfloat16", op="argmax", blocks_in_flight=8)
    assert r.ok, r.message
    assert sim.module().sim_options()["blocks_in_flight"] == int(os.environ.get("KBSIM_BLOCKS_IN_FLIGHT", "1"))
    with pytest.raises(ValueError, match="plain build"):
        sim.check("cuda_11_single_pass", (100,), check="memory", blocks_in_flight=4)
    from kernelbench.cli import main
    assert main(["sim", "cuda_11_single_pass", "--shape", "5000", "--blocks-in-flight", "8"]) == 0
