"""`kernelbench run --suite collectives --nproc N`: check the options, start the ranks (launch.py),
then the HTML report of the result file rank 0 wrote."""
from __future__ import annotations

import sys
from pathlib import Path

OPS = ("sum", "max", "min")
DTYPES = ("float32", "float64", "bfloat16")


def run_suite(args, fail) -> int:
    from .__main__ import parse_bytes
    from .launch import default_nproc, launch
    ops = [o.strip() for v in args.op or [] for o in v.split(",") if o.strip()] or ["sum"]
    if len(ops) != 1 or ops[0] not in OPS:
        fail(f"--op: the collectives suite takes one of {', '.join(OPS)}, got {','.join(ops)}")
    dtype = args.dtype or "float32"
    if dtype not in DTYPES:
        fail(f"--dtype: the collectives suite takes {', '.join(DTYPES)}, got {dtype}")
    nproc = args.nproc if args.nproc is not None else default_nproc()
    if nproc < 1:
        fail(f"--nproc: expected at least 1 rank, got {nproc}")
    coll = args.collective or "all_reduce"
    if coll not in ("all_reduce", "reduce_scatter", "all_gather", "all"):
        fail(f"--collective: expected all_reduce, reduce_scatter, all_gather or all, got {coll!r}")
    rank_args = ["bench", "--op", ops[0], "--dtype", dtype, "--timeout", str(args.timeout), "--collective", coll]
    if args.max_bytes:
        try:
            mb = parse_bytes(args.max_bytes)
        except ValueError:
            fail(f"--max-bytes: expected a size like 64MiB, 1e6 or 2^20, got {args.max_bytes!r}")
        if mb < 8:
            fail(f"--max-bytes: at least 8 bytes, got {args.max_bytes}")
        rank_args += ["--max-bytes", str(mb)]
    if args.impl:
        rank_args += ["--rungs", ",".join(args.impl)]
    if args.quick:
        rank_args.append("--quick")
    out = args.out
    if out is None or not out.endswith(".json"):
        import datetime as dt
        import socket
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = str(Path(out or "kb_results") / f"{socket.gethostname()}-{stamp}-collectives.json")
    rank_args += ["--out", out, "--argv", "\x1f".join(["kernelbench"] + sys.argv[1:])]
    code, _ = launch(nproc, rank_args, timeout_s=args.timeout)
    if code == 0 or code == 3:
        if not args.no_report and Path(out).exists():
            try:
                from ..report.html import build_report
                page = build_report([out], Path(args.report_dir) if args.report_dir else Path(out).with_suffix(""))
                print(f"report: {page}")
            except Exception as exc:
                print(f"report not generated ({type(exc).__name__}: {exc}); run `kernelbench report {out}`")
    return code
