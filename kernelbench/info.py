"""`kernelbench info`: the machine, the toolchain, the frameworks and the front doors built."""
from __future__ import annotations

import contextlib
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent

# TensorFlow 2.21 logs through absl before absl is initialised, straight to file descriptor 2, and
# ignores TF_CPP_MIN_LOG_LEVEL for these lines; loading our op library repeats them.  They are
# information, not problems: the lines below are dropped, anything else TF writes is passed on.
TF_NOISE = (re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"),
            re.compile(r"^I\d{4} [\d:. ]+\d+ \w+\.cc:\d+\] "),       # absl INFO lines (oneDNN, cpu_feature_guard)
            re.compile(r"^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.$"))


@contextlib.contextmanager
def quiet_tf_logs():
    """Around `import tensorflow` / `tf.load_op_library`: capture what native code writes to
    stderr (fd 2), drop TF's start-up INFO lines (TF_NOISE), pass every other line on.
    KB_TF_LOGS=1 keeps everything."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ.get("KB_TF_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):     # no real fd 2 (an embedded interpreter): nothing to do
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            keep = [ln for ln in text.splitlines() if ln.strip() and not any(rx.search(ln) for rx in TF_NOISE)]
            if keep:
                sys.stderr.write("\n".join(keep) + "\n")


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_info() -> dict:
    model, flags, mhz = platform.processor() or platform.machine(), set(), None
    try:
        text = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        model = m.group(1).strip() if m else model
        f = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        flags = set(f.group(1).split()) if f else set()
        c = re.search(r"^cpu MHz\s*:\s*([\d.]+)$", text, re.M)
        mhz = float(c.group(1)) if c else None
    except OSError:
        pass
    simd = [s for s in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "amx_tile")
            if s in flags]
    out = {"model": model, "cores": os.cpu_count(), "threads_available": len(os.sched_getaffinity(0))
           if hasattr(os, "sched_getaffinity") else os.cpu_count(), "mhz": mhz, "simd": simd}
    try:   # what the CPU rungs derive from this machine (csrc/cpu/cpu_caches.h, cpu_05's blocking)
        from .bench.peaks import _native, matmul_blocking
        nat = _native()
        if nat is not None:
            out.update(caches=nat.cpu_caches(), isa=nat.cpu_isa(), matmul_blocking=matmul_blocking())
    except Exception as exc:  # noqa: BLE001 - a report must not fail on it
        out["caches_error"] = f"{type(exc).__name__}: {exc}"
    return out


def gpu_info() -> Optional[dict]:
    """First CUDA device, through torch if it sees one, else nvidia-smi; None without a GPU."""
    try:
        import torch
        if torch.cuda.is_available():
            p = torch.cuda.get_device_properties(0)
            return {"name": p.name, "sm_count": p.multi_processor_count,
                    "memory_gb": round(p.total_memory / 2**30, 1), "cc": f"{p.major}.{p.minor}",
                    "l2_mb": round(getattr(p, "L2_cache_size", 0) / 2**20, 1),
                    "driver": _run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]) or None,
                    "cuda_runtime": torch.version.cuda}
    except ImportError:
        pass
    if shutil.which("nvidia-smi"):
        out = _run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version,compute_cap",
                    "--format=csv,noheader"])
        if out:
            name, mem, driver, cc = [s.strip() for s in out.splitlines()[0].split(",")]
            return {"name": name, "memory": mem, "driver": driver, "cc": cc, "sm_count": None}
    return None


def _version(module: str) -> Optional[str]:
    try:
        mod = __import__(module)
        return getattr(mod, "__version__", "?")
    except Exception:  # noqa: BLE001 - an optional framework may fail to import in many ways
        return None


def toolchain() -> dict:
    nvcc = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if Path("/usr/local/cuda/bin/nvcc").exists() else None)
    nvcc_v = _run([nvcc, "--version"]).splitlines()[-1] if nvcc else None
    cxx = _run([os.environ.get("CXX", "g++"), "--version"]).splitlines()
    return {"nvcc": nvcc_v, "cxx": cxx[0] if cxx else None, "python": platform.python_version()}


def git() -> dict:
    """{commit, dirty} of this checkout (None where git cannot say): a result file's "git"."""
    commit = _run(["git", "-C", str(ROOT), "rev-parse", "HEAD"]) or None
    dirty = bool(_run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"])) if commit else None
    return {"commit": commit, "dirty": dirty}


def collect() -> dict[str, Any]:
    from ._frontdoors import build_info, frontdoors
    with quiet_tf_logs():
        versions = {m: _version(m) for m in ("numpy", "torch", "tensorflow", "numba", "cupy")}
        fds = frontdoors()
    try:
        import torch
        versions["torch_cuda"] = torch.version.cuda
        versions["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(), "os": platform.platform(), "cpu": cpu_info(), "gpu": gpu_info(),
            "toolchain": toolchain(), "versions": versions, "frontdoors": fds,
            "build": build_info()}


def print_info() -> None:
    from rich.console import Console
    from rich.table import Table

    info = collect()
    console = Console()
    cpu = info["cpu"]
    console.print(f"[bold]CPU[/]  {cpu['model']} — {cpu['cores']} cores, SIMD: {' '.join(cpu['simd']) or 'none'}")
    if cpu.get("caches"):
        c = cpu["caches"]
        lv = [f"{k} {v['bytes'] >> 10} KB {v['ways']}-way" for k, v in c.items() if isinstance(v, dict)]
        console.print(f"     caches ({c['source']}): {', '.join(lv)}")
        for dt, b in (cpu.get("matmul_blocking") or {}).items():
            console.print(f"     cpu_05 {dt}: {b['isa']} {b['mr']}x{b['nr']} tile, MC {b['mc']} KC {b['kc']} "
                          f"NC {b['nc']} ({b['source']})")
    gpu = info["gpu"]
    if gpu:
        console.print(f"[bold]GPU[/]  {gpu['name']} — {gpu.get('sm_count')} SMs, {gpu.get('memory_gb', gpu.get('memory'))}"
                      f" GB, compute capability {gpu['cc']}, driver {gpu.get('driver')}")
    else:
        console.print("[bold]GPU[/]  none visible")
    tc = info["toolchain"]
    console.print(f"[bold]nvcc[/] {tc['nvcc'] or 'not found'}   [bold]C++[/] {tc['cxx']}   [bold]Python[/] {tc['python']}")
    console.print("[bold]versions[/] " + ", ".join(f"{k} {v or '-'}" for k, v in info["versions"].items()))
    b = info["build"]
    if b:
        console.print(f"[bold]build[/] CUDA kernels: {'yes, archs ' + ';'.join(b['archs']) if b.get('cuda') else 'no'}")
        if b.get("cuda") and any(a.startswith("9.0a") for a in b.get("archs", [])):
            console.print("      (a requested 9.0 is built as 9.0a: rungs 13/14 need sm_90a's wgmma / TMA; "
                          "their bodies trap in plain sm_90 code)")
    table = Table(title="front doors")
    for col in ("front door", "built", "CPU kernels", "CUDA kernels", "note"):
        table.add_column(col)
    yes = lambda v: "[green]yes[/]" if v else "[red]no[/]"  # noqa: E731
    for name, fd in info["frontdoors"].items():
        table.add_row(name, yes(fd["built"]), yes(fd["cpu"]), yes(fd["cuda"]), fd.get("reason", ""))
    console.print(table)
