"""One build description: setup.py's ninja file and CMake read csrc/build.json, and compile every
source of the executor's builds with the same flags.

CMake is only configured here (a few seconds): its compile commands are compared, source by
source and variant by variant, with the ones setup.py writes into build/kb_native/build.ninja.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NINJA = ROOT / "build" / "kb_native" / "build.ninja"

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("ninja") is None,
                                reason="cmake and ninja are needed to configure the CMake build")

# Tokens that name files or outputs rather than say how to compile: not compared.
_PATHLIKE = re.compile(r"^(-o|-c|-MD|-MMD|-MF|-MT|-I.*|-include|-x|c\+\+|.*\.(o|d|cu|cpp|h))$")


def _flags(tokens: list) -> tuple:
    out, skip = [], False
    for tok in tokens:
        if skip:
            skip = False
            continue
        if tok in ("-o", "-MF", "-MT", "-include"):
            skip = True
            continue
        if not _PATHLIKE.match(tok) and tok not in ("$flags", "$in", "$out", "$out.d"):
            out.append(tok)
    return tuple(sorted(out))


def ninja_flags() -> dict:
    """{(variant, source path): flags} of setup.py's executor builds."""
    text = NINJA.read_text()
    rules = {m.group(1): m.group(2).split()[1:]
             for m in re.finditer(r"^rule (sim\w+)\n  command = (.*)$", text, re.M)}
    out = {}
    for m in re.finditer(r"^build (\w+)/\S+\.o: (sim\w+) \$root/(\S+)\n  flags = (.*)$", text, re.M):
        variant, rule, src, flags = m.groups()
        out[(variant, src)] = _flags(rules[rule] + flags.split())
    return out


def cmake_flags(build: Path) -> dict:
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja", "-DKB_SIM=ON",
                    "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON", "-DCMAKE_BUILD_TYPE="],
                   check=True, capture_output=True, text=True)
    out = {}
    for cmd in json.loads((build / "compile_commands.json").read_text()):
        m = re.search(r"CMakeFiles/(\w+?)(?:_kernels|_common|_executor|_selftest_\w+)\.dir/", cmd["command"])
        if m is None:
            continue   # kb_cpu, kb_common_host, selftest_cpu: not the executor's builds
        src = str(Path(cmd["file"]).resolve().relative_to(ROOT))
        tokens = cmd["command"].split()[1:]
        if m.group(0).endswith("_selftest_matmul.dir/") or m.group(0).endswith("_selftest_reduce.dir/"):
            tokens = [t for t in tokens if t != "-fopenmp"]   # OpenMP's compile flag reaches them through kb_cpu
        out[(m.group(1), src)] = _flags(tokens)
    return out


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    if not NINJA.exists():
        pytest.skip("build/kb_native/build.ninja not written yet (make build)")
    return ninja_flags(), cmake_flags(tmp_path_factory.mktemp("cmake-sim"))


def test_cmake_and_setup_py_compile_the_executor_builds_alike(both):
    ninja, cmake = both
    assert set(ninja) == set(cmake), sorted(set(ninja) ^ set(cmake))[:10]
    differ = {k: (ninja[k], cmake[k]) for k in ninja if ninja[k] != cmake[k]}
    assert not differ, next(iter(differ.items()))
    variants = {v for v, _ in ninja}
    assert variants == set(json.loads((ROOT / "csrc" / "build.json").read_text())["sim"]["variants"])
    hooked = [k for k in ninja if k[0] == "sim" and k[1].endswith(".cu") and "selftest" not in k[1]]
    assert hooked and all("-fsanitize=thread" in ninja[k] for k in hooked)


def test_the_comparison_sees_a_changed_flag(both):
    """Negative: one flag more on one source, and the two builds no longer compare equal."""
    ninja, cmake = both
    key = next(k for k in ninja if k[0] == "sim_asan")
    edited = dict(cmake)
    edited[key] = tuple(sorted(cmake[key] + ("-O3",)))
    assert edited != ninja
    assert _flags("-O2 -c x.cu -o x.o -Iy -include z.h --param a=1".split()) == ("--param", "-O2", "a=1")
