"""Run a CUDA rung on the CPU: the SIMT executor (csrc/sim, docs/sim.md).

The executor compiles the very CUDA sources of the rungs with the host compiler and runs every CUDA
thread as a fiber, with CUDA's barriers, warp shuffles, shared memory and launch limits, and checks
what a GPU would not forgive (deadlocks, divergent barriers, misaligned vector accesses, shuffles of
exited lanes, and -- in its AddressSanitizer / ThreadSanitizer builds -- out-of-bounds accesses,
cp.async reads before their wait, and data races between the threads of a block).

It answers "is my kernel right?", never "how fast is it?": nothing here returns a time, and the
executor is never used in place of a GPU without being asked for by name.

    >>> import numpy as np, kernelbench.sim as sim
    >>> c = sim.matmul(np.ones((129, 65), np.float32), np.ones((65, 127), np.float32), "cuda_07_warptile")
    >>> r = sim.check("cuda_07_warptile", (129, 127, 65), "bfloat16")
    >>> r.ok, r.message
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NATIVE_DIR = ROOT / "build" / "kb_native"
CHECKS = ("none", "memory", "races")
_VARIANT = {"none": "sim", "memory": "sim_asan", "races": "sim_tsan"}


def module():
    """kernelbench._sim: the pybind11 front door compiled against the executor."""
    try:
        from . import _sim
    except ImportError as exc:  # not built (no CUDA headers at build time)
        raise RuntimeError(f"the CPU SIMT executor is not built here ({exc}); it needs the CUDA toolkit's "
                           "headers at build time (nvcc's folder), then `make build`") from None
    return _sim


def available() -> Optional[str]:
    """None when the executor can run here, else why not."""
    try:
        module()
    except RuntimeError as exc:
        return str(exc)
    return None


def set_options(*, seed: Optional[int] = None, sms: Optional[int] = None,
                blocks_in_flight: Optional[int] = None) -> None:
    """Seed of the thread order between barriers (also KBSIM_SEED), the multiprocessor count the
    simulated device reports (also KBSIM_SMS; grid sizes of occupancy-sized rungs follow it), and
    the blocks in flight (also KBSIM_BLOCKS_IN_FLIGHT): 1 runs the blocks one after another; n > 1
    interleaves up to n blocks under the memory model between blocks (docs/sim.md), where a block's
    global stores reach the others only at its __threadfence or exit."""
    module().set_sim_options(seed=seed, sms=sms, blocks_in_flight=blocks_in_flight)


def _dtype_name(x: np.ndarray) -> str:
    return "bfloat16" if x.dtype.name == "bfloat16" else x.dtype.name


def matmul(a: np.ndarray, b: np.ndarray, impl: str) -> np.ndarray:
    """C = A @ B by the CUDA rung `impl`, run on the CPU."""
    return module().matmul(a, b, impl)[0]


def reduce(x: np.ndarray, op: str, dim: Optional[int] = None, keepdim: bool = False, *, impl: str) -> np.ndarray:
    return module().reduce(x, op, dim, keepdim, impl)[0]


def softmax(x: np.ndarray, *, impl: str, log: bool = False) -> np.ndarray:
    return module().softmax(x, log, impl)[0]


def l2norm(x: np.ndarray, *, impl: str) -> np.ndarray:
    return module().l2norm(x, impl)[0]


@dataclass
class SimResult:
    """What one executor run of one rung found: ok, the largest error in units of the tolerance,
    and every diagnosis (executor, AddressSanitizer, ThreadSanitizer) as text."""
    impl: str
    shape: tuple
    dtype: str
    check: str
    ok: bool
    err_ratio: Optional[float] = None
    diagnoses: list = field(default_factory=list)
    message: str = ""


def _impl_of(impl: str, kind: Optional[str]):
    """The CUDA native rung named `impl` (of op `kind` when the name exists for several ops)."""
    from .registry import list_impls
    found = [i for i in list_impls() if i.name == impl and i.device == "cuda" and i.native
             and (kind is None or i.op == kind)]
    if not found:
        names = sorted({i.name for i in list_impls() if i.device == "cuda" and i.native})
        raise ValueError(f"impl: no CUDA rung named {impl!r}" + (f" for op {kind!r}" if kind else "")
                         + f"; CUDA rungs: {', '.join(names)}")
    if len(found) > 1 and {i.op for i in found} == {"softmax", "log_softmax"}:
        found = [i for i in found if i.op == "softmax"]
    if len(found) > 1:
        raise ValueError(f"impl: {impl!r} exists for several ops ({', '.join(i.op for i in found)}): pass kind=")
    return found[0]


def _rng_array(rng, shape, dtype):
    if dtype == "bfloat16":
        import ml_dtypes
        return rng.standard_normal(shape).astype(ml_dtypes.bfloat16)
    return rng.standard_normal(shape).astype(dtype)


def check(impl: str, shape, dtype: str = "float32", *, op: str = "sum", dim: Optional[int] = None,
          check: str = "none", seed: int = 0, kind: Optional[str] = None,
          blocks_in_flight: Optional[int] = None) -> SimResult:
    """Run rung `impl` once on random data of `shape` and compare with float64 (the project's
    tolerances, kernelbench.testing).  matmul shapes are (M, N, K) or (batch, M, N, K); reduction,
    softmax and l2norm shapes are the input's.  check="memory" / "races" runs the rung in the
    AddressSanitizer / ThreadSanitizer build instead (matmul: that build's self-test driver).
    blocks_in_flight=n > 1 runs it under the memory model between blocks (check="none" only)."""
    if check not in CHECKS:
        raise ValueError(f"check: expected one of {', '.join(CHECKS)}, got {check!r}")
    if blocks_in_flight is None:
        return _check_once(impl, shape, dtype, op=op, dim=dim, check=check, seed=seed, kind=kind)
    if blocks_in_flight > 1 and check != "none":
        raise ValueError("blocks_in_flight: the memory model between blocks runs in the plain build (check='none')")
    old = module().sim_options()["blocks_in_flight"]
    module().set_sim_options(blocks_in_flight=blocks_in_flight)
    try:
        return _check_once(impl, shape, dtype, op=op, dim=dim, check=check, seed=seed, kind=kind)
    finally:
        module().set_sim_options(blocks_in_flight=old)


def _check_once(impl: str, shape, dtype: str, *, op: str, dim: Optional[int], check: str, seed: int,
                kind: Optional[str]) -> SimResult:
    shape = tuple(int(s) for s in shape)
    rung = _impl_of(impl, kind)
    kind = rung.op
    if check != "none":
        return _sanitized(impl, kind, shape, dtype, check)
    from . import testing
    rng = np.random.default_rng(seed)
    res = SimResult(impl, shape, dtype, check, ok=False)
    try:
        if kind == "matmul":
            if len(shape) not in (3, 4):
                raise ValueError(f"shape: a matmul shape is (M, N, K) or (batch, M, N, K), got {shape}")
            *batch, m, n, k = shape
            a = _rng_array(rng, (*batch, m, k), dtype)
            b = _rng_array(rng, (*batch, k, n), dtype)
            out = matmul(a, b, impl)
            res.err_ratio = testing.check_matmul(out, a, b, dtype, rung.precision)
        elif kind == "reduce":
            x = _rng_array(rng, shape, dtype)
            out = reduce(x, op, dim, impl=impl)
            testing.check_reduce(out, x, op, dim, False, dtype, rung.summation)
        else:
            x = _rng_array(rng, shape, dtype)
            out = l2norm(x, impl=impl) if kind == "l2norm" else softmax(x, impl=impl, log=kind == "log_softmax")
            testing.check_rowwise(out, x, kind, dtype)
        res.ok = True
        res.message = "matches float64 within the project's tolerance"
    except AssertionError as exc:
        res.message = f"wrong result: {exc}"
    except (ValueError, TypeError) as exc:
        res.message = f"refused: {exc}"
        res.diagnoses.append(str(exc))
    except RuntimeError as exc:
        res.message = str(exc).splitlines()[0]
        res.diagnoses.append(str(exc))
    return res


def _ninja() -> str:
    exe = shutil.which("ninja")
    if exe:
        return exe
    import ninja as ninja_pkg  # the PyPI wheel ships the binary
    return str(Path(ninja_pkg.BIN_DIR) / "ninja")


def _ninja_build(targets: list) -> None:
    """ninja -C build/kb_native TARGETS, one process at a time (parallel test workers share the folder)."""
    import fcntl
    if not (NATIVE_DIR / "build.ninja").exists():
        raise RuntimeError("build/kb_native/build.ninja is missing: run `make build` first")
    with open(NATIVE_DIR / ".ninja-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        p = subprocess.run([_ninja(), "-C", str(NATIVE_DIR), *targets], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        raise RuntimeError(p.stdout[-3000:])


def build_variant(check: str) -> Path:
    """Build (incrementally) the self-test drivers of one executor build; returns its folder."""
    variant = _VARIANT[check]
    _ninja_build([variant.replace("_", "-")])
    return NATIVE_DIR / variant


def variant_objects(variant: str, sources: list) -> list[Path]:
    """The objects of `sources` (repo paths: the executor's, csrc/common's) in one build variant, named by
    build/kb_native/objects.json (setup.py writes it with build.ninja) -- built now if out of date, shared
    with the self-tests and every test driver of that variant."""
    index = NATIVE_DIR / "objects.json"
    if not index.exists():
        raise RuntimeError(f"{index} is missing: run `make build` first")
    built = json.loads(index.read_text()).get(variant, {})
    rel = [Path(src).resolve().relative_to(ROOT).as_posix() for src in sources]
    missing = [src for src in rel if src not in built]
    if missing:
        raise RuntimeError(f"{index} has no {variant} object of {', '.join(missing)}: run `make build` again")
    objs = [NATIVE_DIR / built[src] for src in rel]
    _ninja_build([str(o.relative_to(NATIVE_DIR)) for o in objs])
    return objs


SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0", "TSAN_OPTIONS": "halt_on_error=0"}
_REPORT = re.compile(r"(ERROR: AddressSanitizer: .*|WARNING: ThreadSanitizer: .*|SUMMARY: .*|kbsim: .*)")


def run_driver(check: str, driver: str, args: list[str], timeout: float = 600) -> tuple[int, str]:
    """Run build/kb_native/<variant>/selftest_<driver> with `args`; returns (exit code, output)."""
    exe = build_variant(check) / f"selftest_{driver}"
    env = dict(os.environ, **SANITIZER_ENV)
    p = subprocess.run([str(exe), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout + ("\n" + p.stderr if p.stderr else "")   # never interleaved mid-line


def _sanitized(impl: str, kind: str, shape: tuple, dtype: str, check: str) -> SimResult:
    short = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16"}[dtype]
    if kind == "matmul":
        *batch, m, n, k = shape
        rc, out = run_driver(check, "matmul", ["one", impl, short, str(m), str(n), str(k), str(batch[0] if batch else 1)])
    else:  # the reduce driver's sanitize pass of that rung (its own small shapes, every dtype)
        rc, out = run_driver(check, "reduce", ["sanitize", impl])
    diagnoses = [m.group(1) for m in _REPORT.finditer(out)]
    bad = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
    ok = rc == 0 and not bad and not any("Sanitizer" in d for d in diagnoses)
    lines = [ln for ln in out.splitlines() if ln.startswith(("PASS", "FAIL", "SKIP"))]
    if kind != "matmul":
        shape = ()  # the reduce driver ran its own sanitize shapes: the requested one was not used
    return SimResult(impl, shape, dtype, check, ok, diagnoses=diagnoses + bad,
                     message=(lines[-1] if lines else out.strip().splitlines()[-1] if out.strip() else f"exit {rc}"))


# ------------------------------------------------------------------ memory counters (kbsim_counters.h)
COUNTER_KEYS = ("global_load_requests", "global_load_sectors", "global_store_requests", "global_store_sectors",
                "shared_load_requests", "shared_load_wavefronts", "shared_store_requests", "shared_store_wavefronts",
                "shared_ideal_wavefronts", "ldmatrix", "cp_async_bytes", "atomics", "barriers", "shuffles",
                "unique_bytes_read", "unique_bytes_written", "blocks", "threads_per_block", "kernel")


def counters(impl: str, shape, dtype: str = "float32", *, op: str = "sum", dim: Optional[int] = None,
             sample: bool = True, sms: Optional[int] = None, kind: Optional[str] = None,
             full_if_inexact: bool = True) -> list:
    """Nsight-Compute-style memory counters of rung `impl` at `shape`: one dict per kernel launch
    (keys COUNTER_KEYS and more; the ncu metric each models is in csrc/sim/kbsim_counters.h), with
    'sites': per source site (file:line) its requests, sectors and wavefronts.

    Counts are SOURCE-LEVEL (one C++ access = one instruction): nvcc may merge a thread's
    consecutive accesses into one wider SASS instruction, which Nsight counts once, so requests are
    an upper bound of the SASS's and never a basis for a lower bound on time.
    sample=True runs representative blocks only (first / one interior / last per grid dimension,
    scaled by their class's size; a second interior block checks the first: 'exact' is False when
    they differ; full_if_inexact then reruns every block, e.g. a grid-stride loop whose tail falls
    unevenly: a grid-stride shuffle reduction at 2^28 with sms=132, 22.5 s user time on the 2-vCPU AMD EPYC VM) -- unique
    bytes are -1 on sampled runs (measured on full runs only).  `sms`: the multiprocessor count the
    simulated device reports (grids of occupancy-sized rungs follow it)."""
    shape = tuple(int(s) for s in shape)
    rung = _impl_of(impl, kind)
    m = module()
    old = m.sim_options()
    if sms is not None:
        m.set_sim_options(sms=sms)
    def data(shp):   # the counts do not depend on the values (ones: no NaN, no data-dependent branch)
        if dtype == "bfloat16":
            import ml_dtypes
            return np.ones(shp, ml_dtypes.bfloat16)
        return np.ones(shp, dtype)

    m.counters_start(sample)
    try:
        if rung.op == "matmul":
            *batch, mm, n, k = shape
            matmul(data((*batch, mm, k)), data((*batch, k, n)), impl)
        elif rung.op == "reduce":
            reduce(data(shape), op, dim, impl=impl)
        elif rung.op == "l2norm":
            l2norm(data(shape), impl=impl)
        else:
            softmax(data(shape), impl=impl, log=rung.op == "log_softmax")
    finally:
        launches = m.counters_stop()
        m.set_sim_options(sms=old["sms"])
    for d in launches:
        for key in ("blocks", "threads_per_block"):
            d[key] = int(d[key])
    if sample and full_if_inexact and any(d["sampled"] and not d["exact"] for d in launches):
        return counters(impl, shape, dtype, op=op, dim=dim, sample=False, sms=sms, kind=kind)
    return launches


# The executor's build: sources and flags (csrc/build.json's "sim", which setup.py reads too).
BUILD_SIM = json.loads((ROOT / "csrc" / "build.json").read_text())["sim"]


def executor_sources() -> list[Path]:
    """The executor's own sources (csrc/sim/kbsim_*.cpp, without the Python door's)."""
    return [p for pattern in BUILD_SIM["executor_sources"] for p in sorted(ROOT.glob(pattern))
            if not fnmatch.fnmatch(p.name, BUILD_SIM["executor_exclude"])]


def executor_flags(variant: str) -> tuple[list[str], list[str]]:
    """(kernels, executor) compiler flags of a build variant ("sim", "sim_asan", "sim_tsan"), each with
    the executor's common flags and include paths."""
    cuda_home = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))
    common = [*BUILD_SIM["flags"], f"-I{cuda_home / 'include'}", f"-I{ROOT / 'csrc'}"]
    flags = BUILD_SIM["variants"][variant]
    return common + flags["kernels"], common + flags["executor"]


def build_program(source: Path, out_dir: Path, variant: str = "sim", *, hooks: bool = False, extra: tuple = (),
                  flags: tuple = (), name: Optional[str] = None) -> Path:
    """Compile a standalone .cu program (with its own main) for one executor build ("sim", "sim_asan",
    "sim_tsan"), linked with that build's objects of the executor and of `extra` sources
    (variant_objects: build/kb_native's, made now if out of date); `hooks`: its kernels get the
    per-access hooks (counters, extent check).  The executable goes to out_dir.  Raises
    RuntimeError with the compiler's log."""
    kernel_flags, _ = executor_flags(variant)
    out_dir.mkdir(parents=True, exist_ok=True)
    objs = variant_objects(variant, [*executor_sources(), *extra])
    exe = out_dir / (name or Path(source).stem)
    p = subprocess.run(["g++", *kernel_flags, *(BUILD_SIM["access_hook_flags"] if hooks else ()), *flags,
                        "-x", "c++", "-include", str(ROOT / "csrc/sim/kbsim.h"), str(source), "-x", "none",
                        *map(str, objs), "-o", str(exe), "-rdynamic", "-lpthread"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        raise RuntimeError(p.stdout[-3000:])
    return exe


def build_hooked_program(source: Path, out_dir: Path, name: Optional[str] = None) -> Path:
    """build_program for the plain build, kernels with the per-access hooks."""
    return build_program(source, out_dir, "sim", hooks=True, name=name)
