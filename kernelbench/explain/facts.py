"""Compiler facts of the CUDA kernels (kernelbench/data/compiler_facts.json, written by
scripts/compiler_facts.py): look-up by rung source file, kernel name, dtype and architecture."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Optional

FACTS_JSON = Path(__file__).resolve().parents[1] / "data" / "compiler_facts.json"
_CTYPE = {"float32": "float", "float64": "double", "float16": "__half", "bfloat16": "__nv_bfloat16"}


@functools.lru_cache(maxsize=None)
def load(path: Path = FACTS_JSON) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"files": {}}


def short_name(name: str) -> str:
    """'void kb::f<float, 8>(kb::MatmulArgs)' -> 'kb::f<float, 8>' (how the executor names a launch
    too), spaces normalised."""
    name = re.sub(r"^void\s+", "", name.strip())
    depth, cut = 0, len(name)
    for i, ch in enumerate(name):   # the parameter list: the first '(' outside template brackets
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "(" and depth == 0:
            cut = i
            break
    return re.sub(r"\s+", " ", name[:cut]).strip()


def first_template_arg(name: str) -> Optional[str]:
    m = re.search(r"<\s*([^,<>]+)", name)
    return m.group(1).strip() if m else None


def rung_stem(impl_name: str) -> str:
    """cuda_NN_<technique> -> NN_: kernels of a rung carry its number (matmul_05_..., softmax_14_...)."""
    m = re.match(r"cuda_(\d\d)_", impl_name)
    return f"_{m.group(1)}_" if m else ""


def kernels(source: str, arch: str, dtype: Optional[str] = None, impl_name: str = "") -> tuple[list, list]:
    """(the rung's own kernels, helper kernels it may launch) compiled from `source` for `arch`,
    filtered by dtype (the first template argument) when given."""
    entry = load()["files"].get(source)
    if not entry:
        return [], []
    ks = [k for k in entry["kernels"] if k["arch"] == arch]
    if dtype:
        want = _CTYPE.get(dtype, "float" if dtype == "tf32" else dtype)
        types = set(_CTYPE.values())   # a kernel whose first template argument is no type takes any dtype
        ks = [k for k in ks if first_template_arg(k["name"]) == want or first_template_arg(k["name"]) not in types]
    stem = rung_stem(impl_name)
    own = [k for k in ks if stem and stem in k["name"].split("(")[0]]
    return (own, [k for k in ks if k not in own]) if own else (ks, [])


def _typeless(name: str) -> str:
    """The name with every template argument that is a type written as T (the executor's host build
    may spell __half / __nv_bfloat16 its own way)."""
    return re.sub(r"(?<=[<,])\s*[A-Za-z_][\w:]*(?:\s*\*)?\s*(?=[,>])", "T", short_name(name))


def by_name(name: str, arch: str, dtype: Optional[str] = None) -> Optional[dict]:
    """The facts of one kernel, by its (demangled or executor) name; with `dtype`, a name whose type
    arguments are spelled differently still finds the kernel of that dtype."""
    want = short_name(name)
    alike = []
    for entry in load()["files"].values():
        for k in entry["kernels"]:
            if k["arch"] != arch:
                continue
            if short_name(k["name"]) == want:
                return k
            alike.append(k)
    if dtype:
        ctype = _CTYPE.get(dtype, "float" if dtype == "tf32" else dtype)
        loose = _typeless(name)
        for k in alike:
            first = first_template_arg(k["name"])
            if _typeless(k["name"]) == loose and (first == ctype or first not in set(_CTYPE.values())):
                return k
    return None


@functools.lru_cache(maxsize=None)
def _script():
    import importlib.util
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("kb_compiler_facts", root / "scripts" / "compiler_facts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stale(kernels_only: bool = False) -> list:
    """Source files whose facts are out of date (scripts/compiler_facts.py --check)."""
    return _script().stale(load(), kernels_only)


@functools.lru_cache(maxsize=None)
def staleness(source: str) -> Optional[str]:
    """None when the facts of `source` were taken from the code as it is; else what changed since."""
    entry = load()["files"].get(source)
    if not entry:
        return None
    mod = _script()
    if mod.file_key(mod.kernel_deps(entry["deps"])) != entry.get("kernel_key"):
        return f"the compiler facts of {source} predate a change to its kernel code: run scripts/compiler_facts.py"
    if mod.file_key(entry["deps"]) != entry["key"]:
        return (f"the compiler facts of {source} predate a change to the shared headers it includes (csrc/common); "
                "its kernels are unchanged")
    return None
