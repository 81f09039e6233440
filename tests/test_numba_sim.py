"""The Numba CUDA rungs, run by the Numba CUDA simulator (no GPU needed) on small odd shapes.

The simulator has to be switched on before numba is first imported, and other tests import numba,
so each check runs in a fresh interpreter with NUMBA_ENABLE_CUDASIM=1.  The simulator runs every
thread as a Python thread: shapes stay tiny.  Warp shuffles do not exist there, so
numba_03_shuffle_grid_stride must report itself unavailable.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("numba")

PRELUDE = """
import os, time
assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
import numpy as np
import kernelbench as kb
from kernelbench.testing import check_matmul, check_reduce
rng = np.random.default_rng(0)
def run(name, family, *args, **kw):
    entry = kb.get_impl(family, name)
    assert entry.unavailable_reason() is None, (name, entry.unavailable_reason())
    return entry.fn(*args, **kw)
"""

MATMUL = """
shapes = [(1, 1, 1), (7, 5, 3), (33, 17, 65), (65, 33, 9)]
for name in ("numba_01_naive", "numba_02_smem_tiles", "numba_03_blocktile_2d"):
    for m, n, k in shapes:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        out = run(name, "matmul", a, b)
        assert isinstance(out, np.ndarray), type(out)   # host in -> host out
        check_matmul(out, a, b, "float32")
    # fp64, and a batched product with a broadcast B
    a = rng.standard_normal((7, 3))
    b = rng.standard_normal((3, 5))
    check_matmul(run(name, "matmul", a, b), a, b, "float64")
    a = rng.standard_normal((2, 5, 3)).astype(np.float32)
    b = rng.standard_normal((1, 3, 4)).astype(np.float32)
    check_matmul(run(name, "matmul", a, b), a, np.broadcast_to(b, (2, 3, 4)), "float32")
    print(name, "ok", flush=True)
"""

REDUCE = """
from kernelbench.registry.core import REDUCE_OPS
for name, ops in (("numba_01_atomic", ("sum",)), ("numba_02_smem_tree", ("sum", "mean"))):
    for n in (1, 33, 1025):
        x = rng.standard_normal(n).astype(np.float32)
        for op in ops:
            check_reduce(run(name, "reduce", x, op=op), x, op, None, False, "float32")
    x = rng.standard_normal((3, 11))
    check_reduce(run(name, "reduce", x, op="sum", keepdim=True), x, "sum", None, True, "float64")
    print(name, "ok", flush=True)

reason = kb.get_impl("reduce", "numba_03_shuffle_grid_stride").unavailable_reason()
assert reason and "simulator" in reason, reason

# numba_04_dim: the row path (reduced dim innermost) and the column path, all six ops.
cases = [((4, 33), 1, False), ((5, 7, 3), 1, True), ((5, 7, 3), 0, False), ((2, 3), -1, True)]
for shape, dim, keepdim in cases:
    x = rng.standard_normal(shape).astype(np.float32)
    for op in REDUCE_OPS:
        check_reduce(run("numba_04_dim", "reduce", x, op=op, dim=dim, keepdim=keepdim), x, op, dim, keepdim, "float32")
# ties take the first index, NaN wins max/min and argmax/argmin (first NaN), like torch
ties = np.array([[1, 3, 3, 0], [2, 5, 5, -1], [0, 0, 0, 0]], dtype=np.float32)
nans = np.array([[1, 3, 3, 0], [2, np.nan, 5, np.nan], [0, 0, 0, 0]], dtype=np.float32)
for x, ops in ((ties, REDUCE_OPS), (nans, ("max", "min", "argmax", "argmin"))):
    for op in ops:
        for dim in (0, 1):
            check_reduce(run("numba_04_dim", "reduce", x, op=op, dim=dim), x, op, dim, False, "float32")
print("numba_04_dim ok", flush=True)
"""


def _start(body: str) -> subprocess.Popen:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(PRELUDE + body)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def simulations():
    """Both simulations start at once: the simulator is single-threaded Python, so two processes
    use two cores and the module takes as long as the slower one."""
    procs = {"matmul": _start(MATMUL), "reduce": _start(REDUCE)}
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _wait(proc: subprocess.Popen) -> None:
    try:
        out, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"simulation timed out after 600 s\nstdout:\n{out[-3000:]}")
    assert proc.returncode == 0, f"stdout:\n{out[-3000:]}\nstderr:\n{err[-6000:]}"


def test_numba_cuda_matmul_in_the_simulator(simulations):
    _wait(simulations["matmul"])


def test_numba_cuda_reduce_in_the_simulator(simulations):
    _wait(simulations["reduce"])
