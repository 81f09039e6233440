"""Shared fixtures: which front doors and devices exist here, and array makers per front door."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import kernelbench  # noqa: E402
from kernelbench import _frontdoors  # noqa: E402


def setup_py():
    """setup.py as a module: its functions (find_cuda_home, sm90a_for, dump_tables, ...) without a
    build, which it runs only as __main__ (as pip and setuptools run it)."""
    spec = importlib.util.spec_from_file_location("kernelbench_setup", Path(__file__).resolve().parents[1] / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def cuda_skip_reason() -> str | None:
    fd = _frontdoors.frontdoors()
    if not torch_cuda_available():
        return "no CUDA device visible to torch (CUDA rungs are compiled in CI, run on a GPU machine)"
    if not fd["torch"]["cuda"]:
        return "the torch extension was built without CUDA kernels"
    return None


# Front doors a native rung is tested through: (door, device).
CPU_DOORS = ["torch", "tf", "pybind"]
CUDA_DOORS = ["torch", "pybind"]   # no CUDA TensorFlow on any machine of this project


def door_skip_reason(door: str, device: str) -> str | None:
    fd = _frontdoors.frontdoors()[door]
    if not fd["built"]:
        return f"{door} front door not built: {fd['reason']}"
    if device == "cuda":
        if door == "pybind":
            if not fd["cuda"]:
                return "pybind11 module built without CUDA"
            return None if _frontdoors.pybind().cuda_device_count() > 0 else "no CUDA device"
        return cuda_skip_reason()
    return None


def np_dtype(dtype: str):
    if dtype == "bfloat16":
        import ml_dtypes
        return ml_dtypes.bfloat16
    return np.dtype(dtype)


def make_array(rng: np.random.Generator, shape, dtype: str) -> np.ndarray:
    """Random normal values, rounded to `dtype` (never zeros: zeros hide unwritten outputs)."""
    return rng.standard_normal(shape).astype(np_dtype(dtype))


def to_door(x: np.ndarray, door: str, device: str):
    """numpy -> the array type of a front door on a device."""
    if door == "pybind":
        return x
    if door == "torch":
        import torch
        if x.dtype == np_dtype("bfloat16") if x.dtype.name == "bfloat16" else False:
            t = torch.from_numpy(x.astype(np.float32)).to(torch.bfloat16)
        else:
            t = torch.from_numpy(np.ascontiguousarray(x))
        return t.to(device)
    if door == "tf":
        import tensorflow as tf
        if x.dtype.name == "bfloat16":
            return tf.cast(tf.constant(x.astype(np.float32)), tf.bfloat16)
        return tf.constant(x)
    raise ValueError(door)


def to_numpy(y) -> np.ndarray:
    from kernelbench.testing import to_float64
    return to_float64(y)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


_SIM_MATRIX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "sim-matrix.txt")


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput") and os.path.exists(_SIM_MATRIX):
        os.remove(_SIM_MATRIX)   # test_sim.py appends this run's rung x dtype x shape matrix


def pytest_terminal_summary(terminalreporter):
    if os.path.exists(_SIM_MATRIX):
        terminalreporter.section("CUDA rungs on the CPU SIMT executor")
        with open(_SIM_MATRIX) as f:
            terminalreporter.write(f.read())
