"""The C++ kernel tables (csrc/*/*/table.c*), read once: every fact about a native rung.

Read from the built pybind11 module (`kernelbench._pybind.tables_json()`, i.e. kb::tables_json()),
else from kernelbench/_kb_tables.json, which setup.py writes at build time from the same function
(the table sources compiled by the host compiler, no nvcc needed).  When the module was built
without CUDA, the CUDA lines come from that file: the rungs are listed, with "this build has no
CUDA kernels" as the reason they cannot run.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

TABLES_JSON = Path(__file__).resolve().parents[1] / "_kb_tables.json"


def from_module():
    """The module's tables (dict), or None when the module is not built or predates tables_json."""
    from .. import _frontdoors
    mod = _frontdoors.pybind()
    if mod is None or not hasattr(mod, "tables_json"):
        return None
    return json.loads(mod.tables_json())


def from_file(path: Path = TABLES_JSON):
    return json.loads(path.read_text()) if path.exists() else None


@functools.lru_cache(maxsize=None)
def load() -> dict:
    """{"kernels": [table lines], "source": "module" | "file" | "module+file" | "none",
    "cuda_built": whether the CUDA kernels are compiled into this build}."""
    mod, file = from_module(), from_file()
    if mod is None and file is None:
        return {"kernels": [], "source": "none", "cuda_built": False}
    if mod is None:
        return {"kernels": file["kernels"], "source": "file", "cuda_built": False}
    out = {"kernels": list(mod["kernels"]), "source": "module", "cuda_built": bool(mod["cuda_tables"])}
    if not mod["cuda_tables"] and file is not None:
        out["kernels"] += [k for k in file["kernels"] if k["device"] == "cuda"]
        out["source"] = "module+file"
    return out


def registry_facts(impl) -> dict:
    """The facts of a registry entry that a C++ table line states, in the table's terms."""
    return {"name": impl.name, "op": "softmax" if impl.op == "log_softmax" else impl.op, "device": impl.device,
            "dtypes": list(impl.dtypes), "variants": list(impl.variants), "traits": list(impl.traits),
            "min_arch": impl.min_arch, "rank": impl.rank, "nvrtc": impl.nvrtc, "probes": dict(impl.probes),
            "layer": impl.layer, "full_only": impl.full_only, "dim_only": impl.dim_only,
            "vector_only": impl.vector_only, "summation": list(impl.summation)}


def line_facts(line: dict) -> dict:
    """The same facts, from a table line (tables_json())."""
    t = line["traits"]
    return {"name": line["name"], "op": line["op"], "device": line["device"], "dtypes": line["dtypes"],
            "variants": line["variants"], "traits": t, "min_arch": line["min_arch"], "rank": line["rank"],
            "nvrtc": line["nvrtc"], "probes": line["probes"],
            "layer": "vendor-library" if "vendor" in t else ("cpu" if line["device"] == "cpu" else "handwritten-cuda"),
            "full_only": "whole_only" in t, "dim_only": "dim_only" in t, "vector_only": "vector_only" in t,
            "summation": [line["summation"][k] for k in ("order", "ways", "columns")] if "summation" in line else []}


def disagreements(tables: dict, impls: list, devices=("cpu", "cuda")) -> list:
    """Every way the registry's native entries and the C++ table lines differ (empty: they agree on
    every fact).  A line with no registry entry, an entry with no line, a fact that differs, a
    missing description: each is one sentence."""
    out = []
    lines = {(k["op"], k["device"], k["name"]): k for k in tables["kernels"] if k["device"] in devices}
    natives = [i for i in impls if i.native and i.device in devices]
    seen = set()
    for i in natives:
        key = ("softmax" if i.op == "log_softmax" else i.op, i.device, i.name)
        seen.add(key)
        line = lines.get(key)
        if line is None:
            out.append(f"{i.op}/{i.device}/{i.name}: in the registry but in no C++ table")
            continue
        want, got = line_facts(line), registry_facts(i)
        for fact in want:
            if want[fact] != got[fact]:
                out.append(f"{i.op}/{i.device}/{i.name}: {fact} is {got[fact]!r} in the registry but "
                           f"{want[fact]!r} in the C++ table")
        if not i.source or i.adds.startswith("(no description"):
            out.append(f"{i.op}/{i.device}/{i.name}: no description (describe() in kernelbench/registry/)")
    for key in lines:
        if key not in seen:
            out.append(f"{key[0]}/{key[1]}/{key[2]}: in the C++ table but not in the registry")
    return out
