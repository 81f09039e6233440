"""No silent garbage on any GPU build (issue 17): a kernel compiled without the features it needs traps
at launch instead of returning unwritten registers, and a requested 9.0 is built as 9.0a.  Checked on
the compiled PTX (nvcc -ptx, a few seconds per file; skipped without nvcc)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import setup_py

ROOT = Path(__file__).resolve().parents[1]
CUDA_HOME = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))
NVCC = shutil.which("nvcc") or (str(CUDA_HOME / "bin" / "nvcc") if (CUDA_HOME / "bin" / "nvcc").exists() else None)
MATMUL = ROOT / "csrc" / "cuda" / "matmul"


def setup_functions() -> dict:
    """sm90a_for / gencode_flags from setup.py."""
    return vars(setup_py())


def test_a_requested_90_is_built_as_90a():
    ns = setup_functions()
    assert ns["sm90a_for"](["9.0"]) == ["9.0a"]
    assert ns["sm90a_for"](["8.0", "9.0"]) == ["8.0", "9.0a"]
    assert ns["sm90a_for"](["9.0a", "10.0"]) == ["9.0a", "10.0"]
    flags = ns["gencode_flags"](ns["sm90a_for"](["9.0+PTX"]))
    assert flags == ["-gencode=arch=compute_90a,code=sm_90a", "-gencode=arch=compute_90,code=compute_90"]


def entries(ptx: str, name_part: str) -> dict:
    """Kernel entry name -> body, for the entries whose mangled name contains name_part."""
    out = {}
    for chunk in ptx.split(".entry ")[1:]:
        name = chunk.split("(", 1)[0].strip()
        if name_part in name:
            out[name] = chunk
    return out


def ptx_of(source: Path, arch: str, tmp_path: Path) -> str:
    out = tmp_path / f"{source.stem}_{arch}.ptx"
    cmd = [NVCC, "-std=c++17", "--expt-relaxed-constexpr", "-DKB_WITH_CUDA", f"-I{CUDA_HOME / 'include' / 'cccl'}",
           f"-arch={arch}", "-ptx", str(source), "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return out.read_text()


needs_nvcc = pytest.mark.skipif(NVCC is None, reason="no nvcc")


@needs_nvcc
@pytest.mark.parametrize("source,kernel", [("13_wgmma_tma.cu", "matmul_13_wgmma_tma_kernel"),
                                           ("14_warp_specialized.cu", "matmul_14_warp_specialized_kernel")])
def test_sm90a_rungs_are_never_empty_kernels(tmp_path, source, kernel):
    """Plain compute_90 (what an unmapped TORCH_CUDA_ARCH_LIST=9.0 gave): every instantiation traps.
    compute_90a: every instantiation issues wgmma and TMA, and none traps."""
    plain = entries(ptx_of(MATMUL / source, "compute_90", tmp_path), kernel)
    assert len(plain) == 8, sorted(plain)   # {fp16, bf16} x A majorness x B majorness
    for name, body in plain.items():
        assert re.search(r"\btrap;", body), f"{name}: no trap in the plain sm_90 body"
        assert "wgmma.mma_async" not in body, name
    full = entries(ptx_of(MATMUL / source, "compute_90a", tmp_path), kernel)
    assert len(full) == 8, sorted(full)
    for name, body in full.items():
        assert "wgmma.mma_async" in body and "cp.async.bulk.tensor" in body and "mbarrier" in body, name
        assert not re.search(r"\btrap;", body), f"{name}: traps in its sm_90a body"


@needs_nvcc
@pytest.mark.parametrize("source,kernel", [("10_wmma.cu", "matmul_10_wmma_kernel"),
                                           ("11_mma_sync.cu", "matmul_11"),
                                           ("15_tf32_mma_sync.cu", "matmul_15")])
def test_tensor_core_rungs_build_for_sm75_and_trap_there(tmp_path, source, kernel):
    """An arch list with 7.5 builds (bf16 WMMA is sm_80+), and the sm_80 rungs' bodies trap there."""
    found = entries(ptx_of(MATMUL / source, "compute_75", tmp_path), kernel)
    assert found, f"no {kernel} entry"
    for name, body in found.items():
        assert re.search(r"\btrap;", body), f"{name}: no trap in its sm_75 body"
        assert "mma.sync" not in body and "wmma.mma" not in body, name
