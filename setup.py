"""Build kernelbench: native kernel libraries once, then three thin front doors over them.

    pip install -e . --no-build-isolation

1. csrc/ kernels are compiled ONCE (ninja, MAX_JOBS in parallel) into static libraries:
   libkb_cpu.a (CPU rungs), libkb_cuda.a (CUDA rungs, when CUDA is on), libkb_common[_cuda].a.
2. Front doors link them:  kernelbench._torch_ext (TORCH_LIBRARY ops), kernelbench._tf_ops
   (tf.load_op_library), kernelbench._pybind (numpy in / numpy out).  Each is skipped, with
   one line saying why, when its framework is absent.
Switches: KERNELBENCH_CUDA=auto|0|1, TORCH_CUDA_ARCH_LIST (default 8.0;9.0a with no GPU
visible), MAX_JOBS, CUDA_HOME.  Sources and flags come from csrc/build.json (CMake reads it too).
"""
from __future__ import annotations

import fnmatch
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
CFG = json.loads((ROOT / "csrc" / "build.json").read_text())
NATIVE_DIR = ROOT / "build" / "kb_native"


def log(msg: str) -> None:
    print(f"kernelbench: {msg}", file=sys.stderr, flush=True)


def sources(key: str) -> list[str]:
    out: list[str] = []
    for pattern in CFG[key]:
        for path in sorted(glob.glob(str(ROOT / pattern), recursive=True)):
            if not fnmatch.fnmatch(os.path.basename(path), CFG["exclude"]):
                out.append(os.path.relpath(path, ROOT))
    return out


def find_cuda_home() -> str | None:
    """The CUDA toolkit root: CUDA_HOME, else the folder of nvcc on PATH, else /usr/local/cuda."""
    candidates = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH")]
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates += [str(Path(nvcc).parent.parent), str(Path(nvcc).resolve().parent.parent)]
    candidates.append("/usr/local/cuda")
    for home in filter(None, candidates):
        if (Path(home) / "bin" / "nvcc").exists() and (Path(home) / "include" / "cuda_runtime.h").exists():
            return home
    return None


def cuda_setting() -> str:
    value = os.environ.get("KERNELBENCH_CUDA", "auto").strip().lower()
    if value not in ("auto", "0", "1"):
        raise SystemExit(f"KERNELBENCH_CUDA: expected auto, 0 or 1, got {value!r}")
    return value


def visible_gpu_arch() -> str | None:
    """Compute capability of the first visible GPU via nvidia-smi (never via torch)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=compute_cap", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return out[0] if out else None


def cuda_archs() -> list[str]:
    env = os.environ.get("TORCH_CUDA_ARCH_LIST")
    if env:
        return sm90a_for(env.replace(",", ";").replace(" ", ";").split(";"))
    gpu = visible_gpu_arch()
    if gpu:
        return sm90a_for([gpu])
    return sm90a_for(CFG["default_cuda_archs"].split(";"))


def sm90a_for(archs: list[str]) -> list[str]:
    """A requested 9.0 is built as 9.0a (TORCH_CUDA_ARCH_LIST="9.0" is common in PyTorch images):
    rungs 13 and 14 need sm_90a's arch-specific wgmma, TMA and setmaxnreg, and their bodies in a plain
    9.0 build trap.  "9.0+PTX" keeps forward-compatible compute_90 PTX beside the sm_90a code."""
    return ["9.0a" + a[3:] if a.removesuffix("+PTX") == "9.0" else a for a in archs if a]


def gencode_flags(archs: list[str]) -> list[str]:
    flags = []
    for arch in filter(None, archs):
        ptx = arch.endswith("+PTX")
        arch = arch.removesuffix("+PTX")
        num = arch.replace(".", "")
        flags.append(f"-gencode=arch=compute_{num},code=sm_{num}")
        if ptx:  # arch-specific PTX (compute_90a) runs on its own GPU only: the forward-compatible one
            flags.append(f"-gencode=arch=compute_{num.removesuffix('a')},code=compute_{num.removesuffix('a')}")
    return flags


def write_ninja(cuda_home: str | None, archs: list[str]) -> Path:
    """build.ninja for the static kernel libraries; ninja gives parallelism and incremental rebuilds."""
    NATIVE_DIR.mkdir(parents=True, exist_ok=True)
    cxx = os.environ.get("CXX", "g++")
    cxx_flags = " ".join(CFG["cxx_flags"])
    lines = [
        "ninja_required_version = 1.5",
        f"root = {ROOT}",
        f"rule cxx\n  command = {cxx} {cxx_flags} $extra -MMD -MF $out.d -c $in -o $out\n  depfile = $out.d\n  deps = gcc\n  description = CXX $in",
        "rule ar\n  command = rm -f $out && ar rcs $out $in\n  description = AR $out",
    ]
    libs: dict[str, list[str]] = {}

    def add(lib: str, srcs: list[str], rule: str, extra: str = "") -> None:
        objs = []
        for src in srcs:
            obj = object_path(lib, src)
            lines.append(f"build {obj}: {rule} $root/{src}\n  extra = {extra}")
            objs.append(obj)
        lines.append(f"build lib{lib}.a: ar {' '.join(objs)}")
        libs[lib] = objs

    add("kb_common", sources("common_sources"), "cxx")
    add("kb_cpu", sources("cpu_sources"), "cxx")
    if cuda_home:
        nvcc_flags = " ".join(f.replace("{CUDA_HOME}", cuda_home) for f in CFG["nvcc_flags"])
        lines.append(f"rule nvcc\n  command = {cuda_home}/bin/nvcc {nvcc_flags} {' '.join(gencode_flags(archs))} "
                     f"-MD -MF $out.d -c $in -o $out\n  depfile = $out.d\n  deps = gcc\n  description = NVCC $in")
        add("kb_common_cuda", sources("common_sources"), "cxx", f"-DKB_WITH_CUDA -I{cuda_home}/include")
        add("kb_cuda", sources("cuda_sources"), "nvcc")
    defaults = [f"lib{lib}.a" for lib in libs]
    if cuda_home:
        defaults += write_sim_ninja(lines, add, cuda_home)
    lines.append("default " + " ".join(defaults))
    (NATIVE_DIR / "build.ninja").write_text("\n".join(lines) + "\n")
    (NATIVE_DIR / "objects.json").write_text(json.dumps(OBJECTS, indent=1) + "\n")   # read by kernelbench.sim
    return NATIVE_DIR


OBJECTS: dict[str, dict[str, str]] = {}   # {variant: {source: its object}}, as build.ninja builds them


def object_path(variant: str, src: str) -> str:
    """The one naming rule of an object file (build/kb_native/<variant>/<source path with / as _>.o)."""
    obj = f"{variant}/{src.replace('/', '_')}.o"
    OBJECTS.setdefault(variant, {})[src] = obj
    return obj


# The CPU SIMT executor (csrc/sim, docs/sim.md): the same CUDA rung sources compiled by the host
# compiler against kbsim.h.  Misaligned vector accesses trap (UBSan alignment check, trap mode: no
# runtime library), so they fail like on a GPU.  Variants: plain (libsim.a, the _sim module,
# sim/selftest_*), and AddressSanitizer / ThreadSanitizer builds of the self-tests, built on
# demand (`ninja -C build/kb_native sim-asan sim-tsan`, as tests/test_sim.py does).  Their sources and
# flags (kernels, executor) are csrc/build.json's "sim"; in the plain variant the CUDA sources also
# get the per-access hooks' flags (csrc/sim/kbsim_access.h: every load and store calls kbsim's
# __tsan_{read,write}N, GCC's ThreadSanitizer instrumentation without its runtime; vectorizing and
# store merging off so that a source-level access stays one access; loops of constant trip count
# unrolled, what `#pragma unroll` asks nvcc for, so that register tiles stay registers: rung 05 at
# 513x511x257 runs in 0.58 s instead of 1.30 s, unhooked 0.21 s; 2-vCPU Xeon, user time).
SIM = CFG["sim"]


def sim_executor_sources() -> list[str]:
    return [src for pattern in SIM["executor_sources"] for src in sorted(glob.glob(pattern, root_dir=ROOT))
            if not fnmatch.fnmatch(os.path.basename(src), SIM["executor_exclude"])]


def sim_sources() -> list[str]:
    return sources("cuda_sources") + sources("common_sources") + sim_executor_sources()


def write_sim_ninja(lines: list[str], add, cuda_home: str) -> list[str]:
    cxx = os.environ.get("CXX", "g++")
    base = " ".join(SIM["flags"]) + f" -I{cuda_home}/include -I$root/csrc"
    lines.append(f"rule simcxx\n  command = {cxx} {base} $flags -MMD -MF $out.d -c $in -o $out\n"
                 "  depfile = $out.d\n  deps = gcc\n  description = SIM $in")
    lines.append(f"rule simcu\n  command = {cxx} {base} $flags -x c++ -include $root/csrc/sim/kbsim.h "
                 "-MMD -MF $out.d -c $in -o $out\n  depfile = $out.d\n  deps = gcc\n  description = SIM $in")
    lines.append(f"rule simlink\n  command = {cxx} $flags -o $out $in -rdynamic -fopenmp -lpthread\n"
                 "  description = LINK $out")
    selftests = sorted(glob.glob("csrc/cuda/*/selftest_*.cu", root_dir=ROOT))
    defaults = []
    executor = sim_executor_sources()
    for variant, variant_flags in SIM["variants"].items():
        flags, executor_flags = " ".join(variant_flags["kernels"]), " ".join(variant_flags["executor"])
        objs = []
        for src in sim_sources() + selftests:
            obj = object_path(variant, src)
            rule = "simcu" if src.endswith(".cu") else "simcxx"
            own = executor_flags if src in executor else flags
            if variant == "sim" and src.endswith(".cu") and src not in selftests:  # self-tests: host code only
                own += " " + " ".join(SIM["access_hook_flags"])
            lines.append(f"build {obj}: {rule} $root/{src}\n  flags = {own}")
            if src not in selftests:
                objs.append(obj)
        lines.append(f"build lib{variant}.a: ar {' '.join(objs)}")
        exes = []
        for src in selftests:
            exe = f"{variant}/{Path(src).stem}"
            lines.append(f"build {exe}: simlink {OBJECTS[variant][src]} lib{variant}.a libkb_cpu.a\n"
                         f"  flags = {flags}")
            exes.append(exe)
        lines.append(f"build {variant.replace('_', '-')}: phony {' '.join(exes)} lib{variant}.a")
        if variant == "sim":
            defaults += [f"lib{variant}.a"] + exes
    return defaults


def run_ninja(directory: Path) -> None:
    ninja = shutil.which("ninja")
    if ninja is None:
        try:
            import ninja as ninja_pkg  # the PyPI wheel ships the binary
            ninja = str(Path(ninja_pkg.BIN_DIR) / "ninja")
        except ImportError:
            raise SystemExit("kernelbench: ninja is required to build (pip install ninja)")
    cmd = [ninja, "-C", str(directory)]
    if os.environ.get("MAX_JOBS"):
        cmd += ["-j", os.environ["MAX_JOBS"]]
    log("building the kernel libraries: " + " ".join(cmd))
    subprocess.run(cmd, check=True)


TABLES_JSON = ROOT / "kernelbench" / "_kb_tables.json"


def dump_tables(csrc: Path = ROOT / "csrc", work: Path = NATIVE_DIR, out: Path = TABLES_JSON) -> bool:
    """kernelbench/_kb_tables.json: every kernel table line with all its facts, for a Python that has
    no built module (or one without CUDA).  The table sources are compiled by the host compiler in
    facts-only mode (KB_FACTS_ONLY: launchers declared KB_LAUNCHER get stub bodies, so no nvcc is
    needed) and the program prints kb::tables_json(), the function the pybind11 module exposes.
    tests/test_registry.py calls this on an edited copy of csrc/."""
    cxx = os.environ.get("CXX", "g++")
    main = work / "kb_tables_dump.cpp"
    main.write_text('#include <iostream>\n#include "common/kb_tables.h"\n'
                    "int main() { std::cout << kb::tables_json(); return 0; }\n")
    tables = sorted(glob.glob(str(csrc / "*" / "*" / "table.c*")))
    exe = work / "kb_tables_dump"
    cmd = [cxx, "-std=c++17", "-DKB_WITH_CUDA", "-DKB_FACTS_ONLY", f"-I{csrc}",
           str(csrc / "common" / "kb_tables.cpp"), str(csrc / "common" / "kb_common.cpp"),
           "-x", "c++", *tables, "-x", "none", str(main), str(NATIVE_DIR / "libkb_cpu.a"), "-fopenmp", "-o", str(exe)]
    try:
        subprocess.run(cmd, check=True)
        out.write_text(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout)
        return True
    except (OSError, subprocess.CalledProcessError) as exc:
        out.unlink(missing_ok=True)   # never leave a stale copy behind
        log(f"WARNING: could not write {out.name} ({exc}); the registry will read the tables from the "
            "built module only (a new launcher declared without KB_LAUNCHER ... KB_STUB?)")
        return False


def static_libs(cuda: bool) -> list[str]:
    names = ["kb_common_cuda", "kb_cpu", "kb_cuda"] if cuda else ["kb_common", "kb_cpu"]
    return [str(NATIVE_DIR / f"lib{n}.a") for n in names]


def link_args(cuda: bool, cuda_home: str | None) -> list[str]:
    args = ["-Wl,--start-group", *static_libs(cuda), "-Wl,--end-group", "-fopenmp"]
    if cuda:
        args += [f"-L{cuda_home}/lib64", "-lcudart", f"-Wl,-rpath,{cuda_home}/lib64"]
    return args


def plan_extensions() -> tuple[list[Extension], dict]:
    """Decide which front doors to build, and with or without CUDA; print why for each skip."""
    setting = cuda_setting()
    cuda_home = find_cuda_home() if setting != "0" else None
    if setting == "1" and cuda_home is None:
        raise SystemExit("KERNELBENCH_CUDA=1 but nvcc was not found (set CUDA_HOME or put nvcc on PATH)")
    if setting == "auto" and cuda_home is None:
        log("nvcc not found: building CPU kernels only")
    archs = cuda_archs() if cuda_home else []
    state = {"cuda_home": cuda_home, "archs": archs}
    exts: list[Extension] = []
    cxx = [f for f in CFG["cxx_flags"] if f != "-Wall"]

    # pybind11: framework-free; CUDA whenever nvcc exists.
    try:
        import pybind11
        exts.append(Extension(
            "kernelbench._pybind", [CFG["pybind_source"]], language="c++",
            include_dirs=[pybind11.get_include()] + ([f"{cuda_home}/include"] if cuda_home else []),
            define_macros=[("KB_WITH_CUDA", "1")] if cuda_home else [],
            extra_compile_args=cxx, extra_link_args=link_args(bool(cuda_home), cuda_home)))
    except ImportError:
        log("skipping the pybind11 module: pybind11 is not installed")

    # The CPU SIMT executor's front door: the pybind11 module's own source, CUDA kernels run on the CPU.
    if cuda_home:
        try:
            import pybind11
            exts.append(Extension(
                "kernelbench._sim", [CFG["pybind_source"], SIM["pybind_source"]], language="c++",
                include_dirs=[pybind11.get_include(), f"{cuda_home}/include", "csrc"],
                define_macros=[("KB_WITH_CUDA", "1"), ("KB_SIM", "1"), ("KB_PYBIND_NAME", "_sim")],
                extra_compile_args=cxx + ["-fsanitize=alignment", "-fsanitize-undefined-trap-on-error"],
                extra_link_args=["-Wl,--start-group", str(NATIVE_DIR / "libsim.a"), str(NATIVE_DIR / "libkb_cpu.a"),
                                 "-Wl,--end-group", "-fopenmp", "-lpthread"]))
        except ImportError:
            pass
    else:
        log("skipping the CPU SIMT executor module: it needs the CUDA headers (nvcc's toolkit)")

    # torch: CUDA only when torch itself is a CUDA build (torch.version.cuda) and nvcc exists.
    try:
        import torch
        from torch.utils import cpp_extension
        torch_cuda = bool(cuda_home) and torch.version.cuda is not None
        if cuda_home and not torch_cuda:
            log(f"torch {torch.__version__} is a CPU build: its extension gets CPU kernels only")
        std = "-std=c++20" if tuple(int(x) for x in torch.__version__.split(".")[:2]) >= (2, 14) else "-std=c++17"
        flags = [f for f in cxx if not f.startswith("-std=")] + [
            std, f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}",
            "-DTORCH_EXTENSION_NAME=_torch_ext", "-DTORCH_API_INCLUDE_EXTENSION_H"]
        if torch_cuda:
            os.environ.setdefault("CUDA_HOME", cuda_home)
            make = cpp_extension.CUDAExtension
            flags.append("-DKB_WITH_CUDA")
        else:
            make = cpp_extension.CppExtension
        exts.append(make("kernelbench._torch_ext", [CFG["torch_source"]], extra_compile_args=flags,
                         extra_link_args=link_args(torch_cuda, cuda_home)))
        state["torch_cuda"] = torch_cuda
    except ImportError:
        log("skipping the torch extension: torch is not importable")

    # TensorFlow: GPU kernels only when TF is a CUDA build and nvcc exists.
    try:
        import tensorflow as tf
        tf_cuda = bool(cuda_home) and tf.test.is_built_with_cuda()
        if cuda_home and not tf_cuda:
            log(f"tensorflow {tf.__version__} is not a CUDA build: its op library gets CPU kernels only")
        compile_flags = [f for f in tf.sysconfig.get_compile_flags() if not f.startswith("--std")]
        flags = [f for f in cxx] + compile_flags + ["-w"]
        if tf_cuda:
            flags += ["-DGOOGLE_CUDA=1", "-DKB_WITH_CUDA", f"-I{cuda_home}/include"]
        exts.append(Extension("kernelbench._tf_ops", [CFG["tf_source"]], language="c++", extra_compile_args=flags,
                              extra_link_args=link_args(tf_cuda, cuda_home) + tf.sysconfig.get_link_flags()))
        state["tf_cuda"] = tf_cuda
    except ImportError:
        log("skipping the TensorFlow op library: tensorflow is not importable")
    return exts, state


class BuildNativeThenExtensions(build_ext):
    """Compile the kernel libraries once with ninja, then the thin front-door extensions."""

    def run(self):
        run_ninja(write_ninja(STATE["cuda_home"], STATE["archs"]))
        dump_tables()
        (ROOT / "kernelbench" / "_build_info.json").write_text(json.dumps({
            "cuda": bool(STATE["cuda_home"]), "cuda_home": STATE["cuda_home"], "archs": STATE["archs"],
            "torch_cuda": STATE.get("torch_cuda", False), "tf_cuda": STATE.get("tf_cuda", False),
            "extensions": [e.name for e in self.extensions]}, indent=1))
        if self.parallel is None and os.environ.get("MAX_JOBS"):
            self.parallel = int(os.environ["MAX_JOBS"])
        super().run()

    def build_extension(self, ext):
        for lib in static_libs(True):  # relink when a kernel library changed
            if Path(lib).exists():
                ext.depends.append(lib)
        super().build_extension(ext)


# pip and setuptools run this file as __main__; the tests import it for its functions (no build then).
if __name__ == "__main__":
    EXTENSIONS, STATE = plan_extensions()
    setup(ext_modules=EXTENSIONS, cmdclass={"build_ext": BuildNativeThenExtensions})
