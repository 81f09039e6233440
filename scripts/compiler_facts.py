#!/usr/bin/env python3
"""Compiler facts of every CUDA kernel, per architecture -> kernelbench/data/compiler_facts.json.

Each csrc/cuda/**/*.cu (the build's list and flags: csrc/build.json) is compiled once by nvcc for
sm_80, sm_86, sm_89 and sm_90a (the architectures of the GPUs in kernelbench/explain/gpus.py) with
`-Xptxas -v` (registers, barriers, spills, stack, static shared memory), then read back with
cuobjdump from the pip wheel nvidia-cuda-cuobjdump: the SASS (instruction mix, innermost loop) and
the ELF attributes (__launch_bounds__ -> max threads per block).

Every file's entry is keyed by a hash of the build flags, the architectures and the text of every
file it includes (nvcc -MD), so a check is cheap:
    scripts/compiler_facts.py --check     exit 1 and name the stale files (no compiler run)
    scripts/compiler_facts.py --check --kernels-only   the same, counting only changes to kernel code
                                          (csrc/cuda/): the test's check; explain() notes the rest
    scripts/compiler_facts.py             recompile only the stale files (MAX_JOBS at a time)
    scripts/compiler_facts.py --all       recompile everything
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from kernelbench.explain import sass  # noqa: E402

OUT = ROOT / "kernelbench" / "data" / "compiler_facts.json"
ARCHS = ("80", "86", "89", "90a")
CFG = json.loads((ROOT / "csrc" / "build.json").read_text())


def sources() -> list:
    files = sorted({f for pat in CFG["cuda_sources"] for f in glob.glob(str(ROOT / pat), recursive=True)})
    # library/ (CUB behind our launcher contract) is vendor code, not a rung: no facts for it.
    return [os.path.relpath(f, ROOT) for f in files
            if not Path(f).match(CFG["exclude"]) and "/library/" not in f]


def flags_text() -> str:
    """The build flags as hashed: {CUDA_HOME} left unexpanded, so the key does not depend on where
    the toolkit lives."""
    return " ".join(CFG["nvcc_flags"]) + " | " + " ".join(ARCHS)


def file_key(deps: list) -> str:
    h = hashlib.sha256(flags_text().encode())
    for d in sorted(deps):
        p = ROOT / d
        h.update(d.encode() + b"\0" + (p.read_bytes() if p.exists() else b"<missing>") + b"\0")
    return h.hexdigest()[:16]


def kernel_deps(deps: list) -> list:
    """The includes that hold kernel code: the rung's file and the headers of csrc/cuda/ (the shared
    plumbing of csrc/common -- error checks, launch helpers, table formats -- changes often and
    rarely changes a kernel's SASS)."""
    return [d for d in deps if d.startswith("csrc/cuda/")]


def stale(facts: dict, kernels_only: bool = False) -> list:
    """Source files whose stored key no longer matches (or that have no entry; or entries whose
    source is gone).  kernels_only: compare the key of the kernel code alone (kernel_deps)."""
    files = facts.get("files", {})
    field, deps = ("kernel_key", kernel_deps) if kernels_only else ("key", lambda d: d)
    out = [s for s in sources() if s not in files or file_key(deps(files[s]["deps"])) != files[s].get(field)]
    return out + [s for s in files if not (ROOT / s).exists()]


def tool(name: str) -> str:
    """nvcc from the toolkit; cuobjdump from the pip wheel (or PATH)."""
    if name == "nvcc":
        exe = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
        return exe
    try:
        import nvidia.cu13 as cu  # nvidia-cuda-cuobjdump / -nvdisasm wheels
        cand = Path(list(cu.__path__)[0]) / "bin" / name
        if cand.exists():
            return str(cand)
    except ImportError:
        pass
    exe = shutil.which(name)
    if not exe:
        raise SystemExit(f"{name} not found: pip install -r requirements-cpu.txt (nvidia-cuda-cuobjdump)")
    return exe


def cuda_home() -> str:
    """The toolkit root, found as setup.py finds it: CUDA_HOME, else nvcc's folder, else /usr/local/cuda."""
    nvcc = Path(tool("nvcc"))
    for home in (os.environ.get("CUDA_HOME"), nvcc.parent.parent, nvcc.resolve().parent.parent, "/usr/local/cuda"):
        if home and (Path(home) / "include" / "cuda_runtime.h").exists():
            return str(home)
    return str(nvcc.resolve().parent.parent)


_PTXAS_FN = re.compile(r"Compiling entry function '(\S+)' for '(sm_\w+)'")
_PTXAS_PROPS = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_PTXAS_USED = re.compile(r"Used (\d+) registers(?:, used (\d+) barriers)?(?:, (\d+) bytes smem)?")


def parse_ptxas(text: str) -> dict:
    """{(arch, mangled): {registers, barriers, static_smem, stack_bytes, spill_*_bytes}}."""
    out, cur = {}, None
    for line in text.splitlines():
        m = _PTXAS_FN.search(line)
        if m:
            cur = out.setdefault((m.group(2), m.group(1)), {})
            continue
        if cur is None:
            continue
        m = _PTXAS_PROPS.search(line)
        if m:
            cur.update(stack_bytes=int(m.group(1)), spill_store_bytes=int(m.group(2)),
                       spill_load_bytes=int(m.group(3)))
        m = _PTXAS_USED.search(line)
        if m:
            cur.update(registers=int(m.group(1)), barriers=int(m.group(2) or 0), static_smem=int(m.group(3) or 0))
    return out


def parse_max_threads(elf_text: str) -> dict:
    """{(arch, mangled): launch-bounds threads} from cuobjdump -elf (EIATTR_MAX_THREADS)."""
    out, arch, fn = {}, None, None
    lines = elf_text.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"arch = (sm_\w+)", line)
        if m:
            arch = m.group(1)
        m = re.match(r"^\.nv\.info\.(\S+)", line)
        if m:
            fn = m.group(1)
        if "EIATTR_MAX_THREADS" in line and fn:
            for nxt in lines[i + 1:i + 4]:
                v = re.search(r"Value:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)", nxt)
                if v:
                    x, y, z = (int(g, 16) for g in v.groups())
                    out[(arch, fn)] = x * y * z
                    break
    return out


def demangle(names: list) -> dict:
    if not names:
        return {}
    p = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True)
    return dict(zip(names, p.stdout.splitlines())) if p.returncode == 0 else {n: n for n in names}


def compile_one(src: str) -> dict:
    home = cuda_home()
    flags = [f.replace("{CUDA_HOME}", home) for f in CFG["nvcc_flags"]]
    gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in ARCHS]
    with tempfile.TemporaryDirectory(prefix="kb-facts-") as tmp:
        obj, dep = Path(tmp) / "k.o", Path(tmp) / "k.d"
        p = subprocess.run([tool("nvcc"), *flags, *gencode, "-Xptxas", "-v", "-MD", "-MF", str(dep), "-c",
                            str(ROOT / src), "-o", str(obj)], capture_output=True, text=True, cwd=ROOT)
        if p.returncode != 0:
            raise RuntimeError(f"nvcc failed on {src}:\n{p.stderr[-3000:]}")
        ptxas = parse_ptxas(p.stderr)
        text = dep.read_text().replace("\\\n", " ")
        deps = sorted({os.path.relpath(Path(d).resolve(), ROOT) for d in text.split(":", 1)[1].split()
                       if Path(d).resolve().is_relative_to(ROOT)})
        code = subprocess.run([tool("cuobjdump"), "-sass", str(obj)], capture_output=True, text=True, check=True).stdout
        elf = subprocess.run([tool("cuobjdump"), "-elf", str(obj)], capture_output=True, text=True, check=True).stdout
    funcs = sass.parse(code)
    bounds = parse_max_threads(elf)
    names = demangle(sorted({fn for _, fn in funcs}))
    kernels = []
    for (arch, fn), instrs in sorted(funcs.items()):
        facts = ptxas.get((arch, fn), {})
        loop = sass.innermost_loop(instrs)
        kernels.append({"mangled": fn, "name": names.get(fn, fn), "arch": arch, **facts,
                        "max_threads": bounds.get((arch, fn)), "mix": sass.mix(instrs),
                        "loop": loop["mix"] if loop else None})
    return {"key": file_key(deps), "kernel_key": file_key(kernel_deps(deps)), "deps": deps, "kernels": kernels}


def version(exe: str) -> str:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    m = re.findall(r"release [\d.]+, V([\d.]+)|Cuda compilation tools, release ([\d.]+)", out)
    return next((a or b for a, b in m), out.strip().splitlines()[-1] if out.strip() else "?")


def load() -> dict:
    return json.loads(OUT.read_text()) if OUT.exists() else {}


def write(facts: dict) -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    files = facts["files"]
    # One kernel per line: the file diffs readably and stays small.
    lines = ["{", f'  "_comment": {json.dumps(facts["_comment"])},', f'  "archs": {json.dumps(facts["archs"])},',
             f'  "flags": {json.dumps(facts["flags"])},', f'  "nvcc": {json.dumps(facts["nvcc"])},',
             f'  "cuobjdump": {json.dumps(facts["cuobjdump"])},', '  "files": {']
    for i, src in enumerate(sorted(files)):
        f = files[src]
        lines.append(f'    {json.dumps(src)}: {{"key": {json.dumps(f["key"])}, "kernel_key": {json.dumps(f.get("kernel_key"))}, '
                     f'"deps": {json.dumps(f["deps"])}, "kernels": [')
        ks = [f"      {json.dumps(k, sort_keys=True)}" for k in f["kernels"]]
        lines.append(",\n".join(ks))
        lines.append("    ]}" + ("," if i + 1 < len(files) else ""))
    lines += ["  }", "}", ""]
    OUT.write_text("\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="exit 1 when any entry is stale; compile nothing")
    ap.add_argument("--kernels-only", action="store_true", help="with --check: only changes to kernel code "
                    "(csrc/cuda/) count, not to the shared plumbing of csrc/common")
    ap.add_argument("--all", action="store_true", help="recompile every file")
    ap.add_argument("files", nargs="*", help="only these sources (repo-relative)")
    args = ap.parse_args(argv)
    facts = load()
    todo = stale(facts)
    if args.check:
        todo = stale(facts, args.kernels_only)
        if todo:
            print("compiler facts are stale for: " + ", ".join(todo) + "\nrun scripts/compiler_facts.py")
            return 1
        print(f"compiler facts current ({len(facts.get('files', {}))} files)")
        return 0
    if args.all:
        todo = sources()
    if args.files:
        todo = [f for f in args.files]
    files = {k: v for k, v in facts.get("files", {}).items() if (ROOT / k).exists()}
    jobs = max(1, int(os.environ.get("MAX_JOBS", "2")))
    print(f"compiling {len(todo)} file(s) for sm_{', sm_'.join(ARCHS)} ({jobs} at a time)", flush=True)
    head = {"_comment": "Generated by scripts/compiler_facts.py (nvcc -Xptxas -v + cuobjdump): do not edit.",
            "archs": [f"sm_{a}" for a in ARCHS], "flags": CFG["nvcc_flags"], "nvcc": version(tool("nvcc")),
            "cuobjdump": version(tool("cuobjdump"))}
    with ThreadPoolExecutor(jobs) as pool:
        for src, res in zip(todo, pool.map(compile_one, todo)):
            files[src] = res
            print(f"  {src}: {len(res['kernels'])} kernel x arch entries", flush=True)
            write({**head, "files": files})   # after each file: an interrupted run keeps what it did
    write({**head, "files": files})
    return 0


if __name__ == "__main__":
    sys.exit(main())
