"""The one registry: every implementation of every op, whatever its layer.

Tests, the benchmark, the CLI and the docs are all driven from `list_impls()`.
A native rung (one present in a C++ kernel table, csrc/*/*/table.c*) is registered from its table
line, which carries every fact; Python adds only its one-line description (describe() in the
module of its family below); its source path follows from its name (core.source_of).
Python-level rungs are registered in python_rungs.
"""
from __future__ import annotations

from .core import Impl, LAYERS, get_impl, list_impls, register  # noqa: F401

# Descriptions of the native rungs, then the native rungs from the tables, then Python-level rungs.
from . import cpu_matmul, cpu_reduce, cuda_matmul, cuda_reduce  # noqa: F401,E402
from . import core as _core, tables as _tables  # noqa: E402

UNMATCHED_DESCRIPTIONS = _core.register_tables(_tables.load())   # tests/test_registry.py: must be empty
from . import python_rungs  # noqa: F401,E402
