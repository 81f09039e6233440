"""A native rung's name is written once: the guard over every tracked file.

Adding a rung takes its source file, one table line and one description line (docs/contributing.md).
That holds only if no other file keeps rung names by hand, so this test reads every file git tracks
(C++, Python, Makefile, docs, tests, data) and allows a native rung's name only in
  - the C++ kernel tables (csrc/<device>/<op>/table.c*),
  - a description line (`describe(...)` in kernelbench/registry/{cpu,cuda}_*.py),
  - the rung's own source file (its own name only; the path follows from the name),
  - a generated block of a Markdown file (between `<!-- kb:...-->` and `<!-- kb:end -->`),
  - files written by tools (GENERATED_DATA), and
  - the short list of EXAMPLES below, each with the reason it may name a rung.
"""
from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path

import kernelbench as kb
from kernelbench.registry.core import source_of

ROOT = Path(__file__).resolve().parent.parent

TABLES = "csrc/*/*/table.c*"
DESCRIPTIONS = "kernelbench/registry/c[pu][ud]*_*.py"   # cpu_matmul.py, cuda_reduce.py, ...
GENERATED_BLOCK = re.compile(r"<!-- kb:[a-z]+:[^>]*-->.*?<!-- kb:end -->", re.S)

# Written by tools, never by hand (a result file, its HTML report, recorded counts): keyed by rung.
GENERATED_DATA = {
    "results/*": "result files and their reports, written by `kernelbench run` / `report`",
    "kernelbench/data/*.json": "recorded counts and compiler facts, written by scripts/",
    "tests/data/*.json": "a result file written by `kernelbench run`, read by the report tests",
}

# Named files that may mention a rung as an example, each with its reason: adding a rung edits
# none of them.  Keep it short; a list of rungs belongs to the registry (derive it: list_impls()).
EXAMPLES = {
    "README.md": "usage examples: each command runs one rung",
    "Makefile": "`RUNG ?=` one rung, the default of `make profile` / `make sass`",
    "docs/matmul.md": "prose: the front-door example, and what one rung does",
    "docs/reduce.md": "prose: what the Kahan rung fixes; the vendor layer's names",
    "docs/sim.md": "commands that run one rung each; the CUB rung's executor note",
    "docs/semantics.md": "the Kahan rung's inf rule",
    "docs/collectives.md": "the reduction rung each backend's ranks use",
    "kernelbench/collectives/world.py": "the CPU reduction rung the Gloo ranks use (one core per rank)",
    "kernelbench/bench/peaks.py": "the docstring of the function that reports one rung's blocking",
    "kernelbench/explain/__init__.py": "docstring example",
    "kernelbench/sim.py": "docstring examples",
    "scripts/ladder_counts.py": "usage example",
    "scripts/ncu_counters.py": "the dim shape of each of the two dim rungs ncu is pointed at",
    # A test names the rung whose behaviour it checks (a refusal, a counter, a recorded case).
    "tests/test_*.py": "a check about one rung names that rung",
}

# A hand-kept list: LIST_SIZE or more distinct rung names within LIST_SIZE consecutive lines, in any
# file the rules above let name rungs (the tables, descriptions and generated text excepted).
LIST_SIZE = 4
LISTS = {
    "tests/test_explain_rungs.py": "published GFLOP/s of the same-idea SGEMM kernels, keyed by rung (data)",
}


def native_names() -> set:
    return {i.name for i in kb.list_impls() if i.native}


def own_names() -> dict:
    """{source path: the names whose file it is} (the path derived from the name)."""
    out: dict = {}
    for i in kb.list_impls():
        if i.native:
            out.setdefault(source_of("matmul" if i.op == "matmul" else "reduce", i.device, i.name, i.traits),
                           set()).add(i.name)
    return out


def _matches(path: str, patterns) -> str | None:
    return next((p for p in patterns if fnmatch.fnmatch(path, p)), None)


def offenders(files: dict, names: set, own: dict) -> dict:
    """{path: sorted rung names it may not hold} over `files` ({path: text}): a name outside its
    places, or a list of names (LIST_SIZE of them within LIST_SIZE lines) even where examples are allowed."""
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b")
    out = {}
    for path, text in sorted(files.items()):
        if fnmatch.fnmatch(path, TABLES) or _matches(path, GENERATED_DATA):
            continue
        if path.endswith(".md"):   # generated blocks blanked, line numbers kept
            text = GENERATED_BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        if fnmatch.fnmatch(path, DESCRIPTIONS):   # a description line names its rung; nothing else does
            text = "\n".join("" if ln.startswith("describe(") else ln for ln in text.splitlines())
        lines = [set(pattern.findall(ln)) - own.get(path, set()) for ln in text.splitlines()]
        found = set().union(*lines) if lines else set()
        if not found:
            continue
        if not _matches(path, EXAMPLES):
            out[path] = sorted(found)
        elif path not in LISTS:
            lists = [set().union(*lines[k:k + LIST_SIZE]) for k in range(len(lines))]
            listed = next((w for w in lists if len(w) >= LIST_SIZE), None)
            if listed:
                out[path] = sorted(listed)
    return out


def tracked_files() -> dict:
    paths = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    files = {}
    for p in filter(None, paths):
        try:
            files[p] = (ROOT / p).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue   # binary (a PNG), or deleted in the working tree
    return files


def test_no_file_names_a_rung_outside_its_places():
    files = tracked_files()
    assert len(files) > 100 and "csrc/cuda/matmul/table.cu" in files and "README.md" in files
    assert offenders(files, native_names(), own_names()) == {}


def test_the_guard_reports_a_planted_name():
    """Negative test: a rung name planted in prose, code, a Makefile, a docs paragraph, a test, or
    another rung's file is reported; the same name in its own places is not."""
    names, own = native_names(), own_names()
    rung = "cuda_05_blocktile_2d"
    assert rung in names
    planted = {
        "csrc/cpu/selftest_cpu.cpp": f'const bool slow = name < "{rung}";',
        "csrc/cuda/matmul/01_naive.cu": f"// faster than {rung}",         # another rung's own file
        "kernelbench/bench/suites.py": f'DEFAULT = "{rung}"',
        "docs/contributing.md": f"add it after `{rung}`",
        "GNUmakefile": f"RUNG = {rung}",
        "kernelbench/registry/cuda_matmul.py": f'_ORDER = ["{rung}"]\ndescribe("matmul", "{rung}", "x")',
        "docs/new.md": f"<!-- kb:rungs:matmul-cuda -->\n{rung}\n<!-- kb:end -->\nthen {rung} again",
    }
    got = offenders(planted, names, own)
    assert got == {p: [rung] for p in planted}
    ladder = sorted(i.name for i in kb.list_impls(op="matmul", device="cuda") if i.native)[:LIST_SIZE]
    a_list = {"tests/test_new.py": "SLOW = (\n" + "".join(f'    "{n}",\n' for n in ladder) + ")\n",
              "README.md": "Rungs: " + ", ".join(ladder)}
    assert offenders(a_list, names, own) == {p: ladder for p in a_list}   # a list, even where examples may be
    fine = {
        "csrc/cuda/matmul/table.cu": f'{{"{rung}", kAllTypes}}',
        "csrc/cuda/matmul/05_blocktile_2d.cu": f"// {rung}: 8x8 results per thread",
        "kernelbench/registry/cuda_matmul.py": f'describe("matmul", "{rung}", "x")',
        "docs/new.md": f"<!-- kb:rungs:matmul-cuda -->\n{rung}\n<!-- kb:end -->\n",
        "results/x/ladder.json": f'{{"impl": "{rung}"}}',
        "README.md": f"kernelbench sim {rung}",
    }
    assert offenders(fine, names, own) == {}


def test_every_allowance_is_used():
    """No stale entry: each pattern of GENERATED_DATA and EXAMPLES matches a tracked file that names
    a rung (else it only widens the guard)."""
    files = tracked_files()
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in native_names()) + r")\b")
    naming = [p for p, t in files.items() if pattern.search(t)]
    unused = [pat for pat in list(GENERATED_DATA) + list(EXAMPLES) + list(LISTS)
              if not any(fnmatch.fnmatch(p, pat) for p in naming)]
    assert unused == []
