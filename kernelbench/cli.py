"""The `kernelbench` command: run, show, report, compare, tables, list, info.

    kernelbench run [--suite ladder|sweep|shapes|overhead|layers|all] [--op OP] [--impl GLOB]
                    [--dtype DT] [--device cpu|cuda] [--sizes SPEC] [--quick] [--out PATH]
    kernelbench show RESULTS...                      (re-print the tables of result files)
    kernelbench report RESULTS... [--out DIR]
    kernelbench compare A.json B.json
    kernelbench tables RESULTS... --readme README.md [--docs docs] [--check]
    kernelbench list [--op OP] [--device DEV] [--layer LAYER]
    kernelbench info
    kernelbench --version

Exit codes: 0 done; 1 `compare --fail-on-regression` found a regression, or `tables --check` found a
stale table; 2 a bad invocation or an unreadable result file (one line on stderr, no traceback);
3 `run` measured, but some rung FAILED its check or raised (see the status column); 130 interrupted.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

REDUCE_VARIANTS = ("sum", "mean", "max", "min", "argmax", "argmin")
EXIT_USAGE = 2
EXIT_RUNG_ERRORS = 3


class UsageError(Exception):
    """A bad invocation: printed as one line, exit code 2."""


def _fail(msg: str):
    raise UsageError(msg)


def _quiet_frameworks() -> None:
    # Before TensorFlow is imported: no C++ info logs, and no grabbing all GPU memory at start-up.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")


def _split(values) -> list:
    out = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def _ops(values) -> tuple:
    from .bench.suites import OPS
    ops = []
    for o in _split(values):
        o = {"sum": "reduce", "reduction": "reduce", "reductions": "reduce"}.get(o, o)
        if o in REDUCE_VARIANTS:
            o = "reduce"
        if o not in OPS:
            _fail(f"--op: unknown op {o!r} (one of {', '.join(OPS)})")
        ops.append(o)
        if o == "softmax":
            ops.append("log_softmax")
    return tuple(dict.fromkeys(ops)) or OPS


def _console():
    """rich console; wide tables when the output is a file or a pipe (logs, CI)."""
    from rich.console import Console
    c = Console()
    return c if c.is_terminal else Console(width=160)


def cmd_run(args) -> int:
    from .bench.results import check_writable
    from .bench.run import run
    from .bench.suites import SUITES, Selection, parse_sizes
    if args.strict:
        print("kernelbench run: --strict is deprecated and does nothing: a rung that FAILED or raised always "
              "exits 3", file=sys.stderr)
    suites = _split(args.suite)
    if args.suite is not None and not suites:
        _fail(f"--suite: empty (one of {', '.join(SUITES)}, all)")
    suites = suites or ["ladder"]
    if "collectives" in suites:   # starts its own ranks (kernelbench/collectives, docs/collectives.md)
        if len(suites) > 1:
            _fail("--suite: collectives runs alone (it starts its own ranks)")
        from .collectives.cli import run_suite
        return run_suite(args, _fail)
    if "all" in suites:
        suites = list(SUITES)
    for s in suites:
        if s not in SUITES:
            _fail(f"--suite: unknown suite {s!r} (one of {', '.join(SUITES)}, all)")
    devices = tuple(_split(args.device))
    if args.device is not None and not devices:
        _fail("--device: empty (cpu or cuda)")
    devices = devices or ("cpu", "cuda")
    for d in devices:
        if d not in ("cpu", "cuda"):
            _fail(f"--device: expected cpu or cuda, got {d!r}")
    if args.dtype is not None and args.dtype not in ("float32", "float64", "float16", "bfloat16"):
        _fail(f"--dtype: expected float32, float64, float16 or bfloat16, got {args.dtype!r}")
    if args.op is not None and not _split(args.op):
        _fail("--op: empty")
    try:
        sizes = parse_sizes(args.sizes)
    except (ValueError, OverflowError) as exc:
        _fail(str(exc) if str(exc).startswith("--sizes") else f"--sizes: {exc}")
    for op, vals in sizes.items():
        for v, dim in vals:
            dims = v if isinstance(v, tuple) else (v,)
            shape = "x".join(map(str, dims))
            if any(d < 1 or d > 1 << 40 for d in dims):
                _fail(f"--sizes: {op}: every size must be between 1 and 2^40, got {shape}")
            if op == "matmul" and isinstance(v, tuple) and len(v) not in (3, 4):
                _fail(f"--sizes: matmul: expected N, MxNxK or BxMxNxK, got {shape}")
            if op in ("softmax", "log_softmax", "l2norm") and isinstance(v, tuple) and len(v) < 1:
                _fail(f"--sizes: {op}: expected rows x width, got {shape}")
            if dim is not None:
                if op not in ("reduce", "all"):
                    _fail(f"--sizes: {op}: ':dim' is for reductions only, got {shape}:{dim}")
                if not -len(dims) <= dim < len(dims):
                    _fail(f"--sizes: reduce: dim {dim} out of range for a {len(dims)}-d shape {shape}")
    if args.impl is not None:
        import fnmatch

        from . import list_impls
        names = [i.name for i in list_impls()]
        for g in _split(args.impl) or [""]:
            if not any(fnmatch.fnmatch(n, g) for n in names):
                _fail(f"--impl: no rung matches {g!r} (`kernelbench list` shows the names)")
    sel = Selection(ops=_ops(args.op), impl_globs=tuple(_split(args.impl)), dtype=args.dtype, devices=devices,
                    sizes=sizes, quick=args.quick)
    try:   # before measuring anything: a result that cannot be written is a lost run
        out = check_writable(args.out) if args.out else None
    except OSError as exc:
        _fail(f"--out: {exc}")
    code, _ = run(suites, sel, out=str(out) if out else None, argv=["kernelbench"] + sys.argv[1:], console=_console(),
                  report_dir=args.report_dir, make_report=not args.no_report)
    return code


def cmd_show(args) -> int:
    from .report.terminal import show
    return show(args.results, console=_console(), width=args.width)


def cmd_report(args) -> int:
    from .report.html import build_report
    out = Path(args.out) if args.out else Path(args.results[0]).with_suffix("")
    page = build_report(args.results, out)
    print(f"{page}  ({len(list(page.parent.rglob('*.png')))} plot files)")
    return 0


def cmd_compare(args) -> int:
    from .report.compare import main
    from .report.compare import CrossMachine
    try:
        return main(args.a, args.b, min_change=args.min_change, only_changes=args.changes,
                    fail_on_regression=args.fail_on_regression, console=_console(), cross_machine=args.cross_machine)
    except CrossMachine as exc:
        _fail(str(exc))


def cmd_tables(args) -> int:
    from .report.tables import update_files
    mds = []
    if args.readme:
        mds.append(Path(args.readme))
    for d in args.docs or []:
        p = Path(d)
        mds += sorted(p.rglob("*.md")) if p.is_dir() else [p]
    if not mds:
        _fail("tables: name the markdown files: --readme README.md and/or --docs docs")
    return update_files(args.results, mds, root=args.root, check=args.check)


def cmd_list(args) -> int:
    from rich import box
    from rich.table import Table

    from . import list_impls
    from .registry.core import LAYERS
    known_ops = sorted({i.op for i in list_impls()})
    if args.op is not None and args.op not in known_ops:
        _fail(f"list --op: unknown op {args.op!r} (one of {', '.join(known_ops)})")
    if args.device is not None and args.device not in ("cpu", "cuda"):
        _fail(f"list --device: expected cpu or cuda, got {args.device!r}")
    if args.layer is not None and args.layer not in LAYERS:
        _fail(f"list --layer: unknown layer {args.layer!r} (one of {', '.join(LAYERS)})")
    impls = list_impls(op=args.op, device=args.device, layer=args.layer)
    t = Table(title=f"kernelbench registry: {len(impls)} implementations", box=box.SIMPLE_HEAVY, title_justify="left")
    for col in ("name", "op", "layer", "device", "dtypes", "front doors", "adds", "source"):
        t.add_column(col, overflow="fold", no_wrap=col in ("name", "layer", "device"), ratio=3 if col == "adds" else None)
    if args.available:
        t.add_column("here")
    for i in impls:
        row = [i.name, i.op + (f" ({','.join(i.variants)})" if i.variants else ""), i.layer, i.device,
               ",".join(d.replace("float", "f").replace("bf16", "bf16") for d in i.dtypes), ",".join(i.front_doors),
               i.adds, i.source]
        if args.available:
            from .info import quiet_tf_logs
            try:
                with quiet_tf_logs():          # the first availability check may import TensorFlow
                    r = i.unavailable_reason()
            except Exception as exc:
                r = f"error: {exc}"
            row.append("✔" if not r else f"✘ {r}")
        t.add_row(*row)
    _console().print(t)
    return 0


def cmd_info(args) -> int:
    try:
        from . import info
        fn = getattr(info, "print_info", None)
        if fn is not None:
            fn()
            return 0
    except Exception as exc:
        print(f"(kernelbench.info unavailable: {type(exc).__name__}: {exc}; showing what the benchmark sees)")
    import json

    from .bench.backends import frontdoors
    from .bench.results import environment
    print(json.dumps({"environment": environment(), "frontdoors": frontdoors()}, indent=1, default=str))
    return 0


def cmd_sim(args) -> int:
    """One CUDA rung on the CPU SIMT executor: ✔/✘ against float64 and every diagnosis."""
    from . import sim
    try:
        shape = tuple(int(v) for v in args.shape.lower().split("x"))
    except ValueError:
        raise UsageError(f"sim: --shape: expected sizes joined by 'x' (e.g. 129x127x65), got {args.shape!r}") from None
    dtype = {"f32": "float32", "f64": "float64", "f16": "float16", "bf16": "bfloat16"}.get(args.dtype, args.dtype)
    if dtype not in ("float32", "float64", "float16", "bfloat16"):
        raise UsageError(f"sim: --dtype: expected f32, f64, f16 or bf16, got {args.dtype!r}")
    reason = sim.available()
    if reason:
        print(f"kernelbench: error: {reason}", file=sys.stderr)
        return EXIT_USAGE
    try:
        r = sim.check(args.rung, shape, dtype, op=args.op, dim=args.dim, check=args.check, seed=args.seed,
                      kind=args.kind, blocks_in_flight=args.blocks_in_flight)
    except ValueError as exc:
        raise UsageError(f"sim: {exc}") from None
    mark = "✔" if r.ok else "✘"
    extra = f" (worst error {r.err_ratio:.2f} x tolerance)" if r.err_ratio is not None else ""
    shape = "x".join(map(str, r.shape)) if r.shape else "(the sanitizer driver's own shapes, not --shape)"
    model = f" blocks-in-flight={args.blocks_in_flight}" if args.blocks_in_flight else ""
    print(f"{mark} {r.impl} {shape} {dtype} check={args.check}{model}: {r.message}{extra}")
    for d in r.diagnoses:
        print(f"  {d}")
    print("  (CPU SIMT executor: a correctness check; its run time is not a performance figure)")
    return 0 if r.ok else 3


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    p = _Parser(prog="kernelbench", description="Measure every rung of the matmul and reduction "
                "ladders side by side, and report it.", epilog="exit codes: 0 done; 1 regression (compare "
                "--fail-on-regression) or stale table (tables --check); 2 bad invocation or unreadable file; "
                "3 run: some rung FAILED or raised; 130 interrupted")
    p.add_argument("--version", action="version", version=f"kernelbench {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser("run", help="measure: ladder (default), sweep, shapes, overhead, layers or all")
    r.add_argument("--suite", action="append", help="ladder | sweep | shapes | overhead | layers | all (repeat or comma); "
                   "collectives (alone: all-reduce across --nproc ranks)")
    r.add_argument("--op", action="append", help="matmul, reduce (or sum), softmax, log_softmax, l2norm")
    r.add_argument("--impl", action="append", help="glob on rung names, e.g. 'cuda_0*' (the library rungs are "
                   "always measured too, for %% of library)")
    r.add_argument("--dtype", help="float32 (default), float64, float16, bfloat16")
    r.add_argument("--device", action="append", help="cpu and/or cuda (default: every device present)")
    r.add_argument("--sizes", help="'1024,2048' (matmul N^3, full-sum lengths; 1e6 and 2^20 work) or per op: "
                   "'matmul=512x512x4096;reduce=1e8,128x4096x4095:1;softmax=4096x32768'")
    r.add_argument("--quick", action="store_true", help="small sizes, short budgets (CI smoke test, < 1 min)")
    r.add_argument("--out", help="result file (.json) or folder (default: kb_results/<host>-<date>.json)")
    r.add_argument("--report-dir", help="folder of the HTML report (default: next to the result file)")
    r.add_argument("--no-report", action="store_true", help="do not write the HTML report and plots")
    r.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)   # deprecated: exit 3 is the default
    r.add_argument("--nproc", type=int, help="collectives: ranks to start (default: one per GPU, else 2)")
    r.add_argument("--max-bytes", help="collectives: largest buffer, e.g. 64MiB (default 256MiB; --quick 1MiB)")
    r.add_argument("--timeout", type=float, default=60.0, help="collectives: seconds an exchange may wait "
                   "before a dead or hung rank is reported (default 60)")
    r.add_argument("--collective", help="collectives: all_reduce (default), reduce_scatter, all_gather or all")
    r.set_defaults(fn=cmd_run)

    sh = sub.add_parser("show", help="re-print the tables of result files")
    sh.add_argument("results", nargs="+")
    sh.add_argument("--width", type=int, help="terminal width (default: this terminal's, 160 in a pipe)")
    sh.set_defaults(fn=cmd_show)

    rp = sub.add_parser("report", help="HTML page + PNG plots from result files")
    rp.add_argument("results", nargs="+")
    rp.add_argument("--out", help="output folder (default: the first result file's name without .json)")
    rp.set_defaults(fn=cmd_report)

    c = sub.add_parser("compare", help="per-entry time ratios of two result files; regressions flagged")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--min-change", type=float, default=0.05, help="smallest relative change flagged (default 0.05)")
    c.add_argument("--changes", action="store_true", help="show only rows whose verdict is not 'same'")
    c.add_argument("--fail-on-regression", action="store_true", help="exit 1 when B regressed beyond the noise")
    c.add_argument("--cross-machine", action="store_true", help="compare files from different hardware anyway "
                   "(verdicts labelled, never regressions)")
    c.set_defaults(fn=cmd_compare)

    t = sub.add_parser("tables", help="regenerate the markdown tables between <!-- kb:table:NAME --> markers")
    t.add_argument("results", nargs="+")
    t.add_argument("--readme", help="README.md to update")
    t.add_argument("--docs", action="append", help="a folder of .md files (or one file) to update")
    t.add_argument("--root", default=".", help="repository root, for links to the rungs' sources")
    t.add_argument("--check", action="store_true", help="write nothing; exit 1 when a table is out of date")
    t.set_defaults(fn=cmd_tables)

    ls = sub.add_parser("list", help="the registry: every implementation")
    ls.add_argument("--op")
    ls.add_argument("--device")
    ls.add_argument("--layer")
    ls.add_argument("--available", action="store_true", help="also say whether each can run here")
    ls.set_defaults(fn=cmd_list)

    i = sub.add_parser("info", help="CPU, GPU, versions, front doors")
    i.set_defaults(fn=cmd_info)

    sm = sub.add_parser("sim", help="run one CUDA rung on the CPU SIMT executor and check it (docs/sim.md)")
    sm.add_argument("rung", help="a CUDA rung (kernelbench list --device cuda)")
    sm.add_argument("--shape", required=True, help="MxNxK (or BxMxNxK) for matmul; the input's shape otherwise")
    sm.add_argument("--dtype", default="f32", help="f32 | f64 | f16 | bf16")
    sm.add_argument("--check", default="none", choices=["none", "memory", "races"],
                    help="none: the executor's own checks; memory: AddressSanitizer build; races: ThreadSanitizer build")
    sm.add_argument("--op", default="sum", help="reductions: sum | mean | max | min | argmax | argmin")
    sm.add_argument("--dim", type=int, default=None, help="reductions: the dim (default: the whole tensor)")
    sm.add_argument("--kind", default=None, help="the op (matmul, reduce, softmax, ...) when the rung name exists for several")
    sm.add_argument("--seed", type=int, default=0, help="seed of the random inputs (KBSIM_SEED: of the thread order)")
    sm.add_argument("--blocks-in-flight", type=int, default=None, metavar="N",
                    help="the memory model between blocks: up to N blocks interleave, and a block's global stores "
                         "reach the others only at its __threadfence or exit (docs/sim.md; KBSIM_SEED picks the order)")
    sm.set_defaults(fn=cmd_sim)

    from .explain.cli import add_parser as add_explain_parser   # kernelbench explain (kernelbench/explain)
    add_explain_parser(sub)
    return p


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad invocation is one line on stderr and exit code 2 (no usage dump)."""

    def error(self, message):
        raise UsageError(f"{self.prog.replace('kernelbench ', '')}: {message}" if " " in self.prog else message)


def main(argv: Optional[list] = None) -> int:
    from .bench.results import ResultFileError
    _quiet_frameworks()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "fn", None):
            parser.print_help()
            return 0
        return int(args.fn(args) or 0)
    except UsageError as exc:
        print(f"kernelbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ResultFileError as exc:
        print(f"kernelbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError) as exc:
        print(f"kernelbench: error: {exc.filename or ''}: {exc.strerror or exc}".replace(": : ", ": "),
              file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
