"""Memcheck by logical extent on the CPU SIMT executor (csrc/sim/kbsim_extent.h, issue 21): reads
outside a matrix that change no result are reported with the kernel, block, thread, source line
and the region; their fixed twin runs clean.  (Every CUDA rung runs under the same check in
tests/test_sim.py: each launch through a kernel table entry registers its arguments' regions.)"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kernelbench import sim

ROOT = Path(__file__).resolve().parents[1]
CUDA_HOME = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))

pytestmark = pytest.mark.skipif(not (CUDA_HOME / "include" / "cuda_runtime.h").exists(),
                                reason="the executor needs the CUDA headers")


@pytest.fixture(scope="module")
def extent_exe(tmp_path_factory):
    return sim.build_hooked_program(ROOT / "tests/sim/broken_extent.cu", tmp_path_factory.mktemp("extent"))


def run(exe, case: str, **env) -> str:
    p = subprocess.run([str(exe), case], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120,
                       env=dict(os.environ, KBSIM_SEED="1", **env))
    assert p.returncode == 0, p.stdout[-2000:]
    return p.stdout


CAUGHT = [
    # a 40-row A in 32-row tiles: the second tile's loader reads row 40
    ("row_past_edge", ["extent check: read of A[40, ", "row 40 \u2265 M = 40", "kernel void tile_row_sums<1>",
                       "block (1,0,0)", "broken_extent.cu:"]),
    # K = 20 columns, lda = 24: columns 20-23 of a row are padding
    ("row_padding", ["extent check: read of A[", "\u2265 K = 20 (the padding of a row: ld = 24)",
                     "kernel void tile_row_sums<2>", "broken_extent.cu:"]),
]


@pytest.mark.parametrize("case,needles", CAUGHT, ids=[c for c, _ in CAUGHT])
def test_extent_check_reports_the_read(extent_exe, case, needles):
    out = run(extent_exe, case)
    assert out.startswith("DIAGNOSIS"), out
    for needle in needles:
        assert needle in out, (needle, out)


@pytest.mark.parametrize("case", [c for c, _ in CAUGHT])
def test_the_defect_changes_no_result(extent_exe, case):
    # Without the check the defect is invisible: the result is right (what made it a blind spot).
    assert run(extent_exe, case, KBSIM_EXTENT="0").strip() == "RESULT ok"


def test_fixed_twin_is_clean(extent_exe):
    assert run(extent_exe, "fixed").strip() == "RESULT ok"
