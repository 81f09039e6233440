"""Every .cu under csrc/ compiles with nvcc for sm_80 and sm_90a (GPU-less CI included), and the
TensorFlow GPU adapter compiles with GOOGLE_CUDA=1 against TF's headers."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import setup_py

ROOT = Path(__file__).resolve().parent.parent
CFG = json.loads((ROOT / "csrc" / "build.json").read_text())
CU_FILES = sorted(p for p in (ROOT / "csrc").rglob("*.cu"))
ARCHS = ["-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90a,code=sm_90a"]


CUDA_HOME = setup_py().find_cuda_home()
needs_nvcc = pytest.mark.skipif(CUDA_HOME is None, reason="nvcc not found")


def nvcc_cmd(src: Path, out: Path) -> list[str]:
    flags = [f.replace("{CUDA_HOME}", CUDA_HOME) for f in CFG["nvcc_flags"]]
    return [f"{CUDA_HOME}/bin/nvcc", *flags, *ARCHS, "-I", str(ROOT / "csrc"), "-c", str(src), "-o", str(out)]


NATIVE = ROOT / "build" / "kb_native"


def _ninja() -> str | None:
    found = shutil.which("ninja")
    if found:
        return found
    try:
        import ninja as ninja_pkg  # the PyPI wheel ships the binary
        return str(Path(ninja_pkg.BIN_DIR) / "ninja")
    except ImportError:
        return None


def _built_by_this_build() -> dict[Path, str]:
    """.cu files the editable build already compiles for both archs: source -> its ninja target.

    `pip install -e .` compiles every non-selftest .cu for sm_80 and sm_90a (no GPU visible) through
    build/kb_native/build.ninja; running ninja on those targets recompiles whatever is stale with the
    same flags, so CI does not pay for nvcc twice.  Anything else is compiled here from scratch."""
    ninja_file = NATIVE / "build.ninja"
    if not ninja_file.exists() or _ninja() is None:
        return {}
    text = ninja_file.read_text()
    nvcc_rule = next((line for line in text.splitlines() if "/bin/nvcc " in line), "")
    if not all(arch in nvcc_rule for arch in ARCHS):
        return {}  # built for other archs (TORCH_CUDA_ARCH_LIST): compile everything here
    targets = {}
    for src in CU_FILES:
        rel = src.relative_to(ROOT).as_posix()
        target = f"kb_cuda/{rel.replace('/', '_')}.o"
        if f"build {target}: nvcc $root/{rel}" in text:
            targets[src] = target
    return targets


@needs_nvcc
def test_every_cu_file_compiles_for_sm80_and_sm90a(tmp_path):
    assert CU_FILES, "no .cu files found"
    jobs = int(os.environ.get("MAX_JOBS", os.cpu_count() or 2))
    built = _built_by_this_build()
    failed = []
    if built:
        r = subprocess.run([_ninja(), "-C", str(NATIVE), "-j", str(jobs), *built.values()],
                           capture_output=True, text=True)
        if r.returncode != 0:
            failed.append(f"ninja (the build's own nvcc rule):\n{r.stdout[-4000:]}{r.stderr[-2000:]}")
        missing = [t for t in built.values() if not (NATIVE / t).exists()]
        assert not missing, f"ninja did not produce {missing}"

    def compile_one(src):
        out = tmp_path / (src.stem + ".o")
        r = subprocess.run(nvcc_cmd(src, out), capture_output=True, text=True)
        return src, r.returncode, r.stderr[-3000:]

    rest = [src for src in CU_FILES if src not in built]
    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(compile_one, rest))
    failed += [f"{src.relative_to(ROOT)}:\n{err}" for src, rc, err in results if rc != 0]
    assert not failed, "nvcc failed:\n" + "\n".join(failed)
    assert len(built) + len(rest) == len(CU_FILES)


@needs_nvcc
def test_tensorflow_gpu_adapter_compiles(tmp_path):
    tf = pytest.importorskip("tensorflow")
    flags = [f for f in tf.sysconfig.get_compile_flags() if not f.startswith("--std")]
    cmd = [os.environ.get("CXX", "g++"), "-std=c++17", "-fPIC", "-O0", "-w", *flags, "-DGOOGLE_CUDA=1",
           "-DKB_WITH_CUDA", f"-I{CUDA_HOME}/include", "-c", str(ROOT / CFG["tf_source"]), "-o",
           str(tmp_path / "tf_gpu.o")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
