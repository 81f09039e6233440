"""The one registry: every implementation of every op, whatever its layer.

Tests, the benchmark, the CLI and the docs are all driven from `list_impls()`.
Adding a rung = one kernel file + one entry in the module of its family below
(native rungs also get one line in the C++ kernel table of their op; a test checks both agree).
"""
from __future__ import annotations

from .core import Impl, LAYERS, get_impl, list_impls, register  # noqa: F401

# Each family lives in its own module; importing it registers its entries.
from . import cpu_matmul, cpu_reduce, cuda_matmul, cuda_reduce  # noqa: F401,E402
from . import python_rungs  # noqa: F401,E402
