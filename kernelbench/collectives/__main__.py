"""One rank of the collectives suite (torchrun starts N of these; so does `kernelbench run --suite
collectives --nproc N`):

    torchrun --nproc-per-node 4 -m kernelbench.collectives [bench] [--max-bytes 64MiB] [--out F.json]
    torchrun --nproc-per-node 4 -m kernelbench.collectives check [--sweep]   (every rung x op x dtype x
                                                                             odd size; then the sweep)

Exit codes: 0 done; 3 a rung FAILED its check or raised; 4 a fault (a rank died or hung, or the
ranks disagreed on size / dtype / op): one line on stderr naming the rank."""
from __future__ import annotations

import argparse
import fnmatch
import os
import sys

EXIT_FAILED = 3
EXIT_FAULT = 4


def parse_bytes(text: str) -> int:
    t = text.strip().lower().replace(" ", "")
    for suffix, k in (("gib", 1 << 30), ("mib", 1 << 20), ("kib", 1 << 10), ("g", 1 << 30), ("m", 1 << 20),
                      ("k", 1 << 10), ("b", 1)):
        if t.endswith(suffix):
            return int(float(t[:-len(suffix)]) * k)
    if t.startswith("2^"):
        return 1 << int(t[2:])
    return int(float(t))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kernelbench.collectives", description=__doc__.split("\n")[0])
    p.add_argument("mode", nargs="?", default="bench", choices=["bench", "check"])
    p.add_argument("--op", default="sum", choices=["sum", "max", "min"])
    p.add_argument("--collective", default="all_reduce", choices=["all_reduce", "reduce_scatter", "all_gather", "all"],
                   help="what the sweep measures (default all_reduce; the halves: the rungs that have them)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64", "bfloat16"])
    p.add_argument("--rungs", default="*", help="glob(s) on rung names, comma separated (default: every rung)")
    p.add_argument("--max-bytes", type=parse_bytes, default=None, help="largest buffer (default 256MiB on CPU, 4GiB on GPUs; --quick: 1MiB)")
    p.add_argument("--min-bytes", type=parse_bytes, default=8)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds any exchange may wait before the fault "
                   "is reported (default 60)")
    p.add_argument("--quick", action="store_true", help="short budgets, sizes up to 1 MiB")
    p.add_argument("--out", help="result file (.json) or folder (default kb_results/<host>-<date>-collectives.json)")
    p.add_argument("--sweep", action="store_true", help="check: then the sweep as bench does (one world for both)")
    p.add_argument("--argv", help=argparse.SUPPRESS)     # the launcher's command line, for the result file
    return p


def select_rungs(globs: str) -> list:
    from . import RUNGS
    pats = [g.strip() for g in globs.split(",") if g.strip()] or ["*"]
    names = [n for n in RUNGS if any(fnmatch.fnmatch(n, g) or fnmatch.fnmatch(n, f"dist_{g}") for g in pats)]
    if not names:
        raise SystemExit(f"--rungs: no collective rung matches {globs!r} (one of {', '.join(RUNGS)})")
    return names


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    rungs = select_rungs(args.rungs)
    import torch

    from .world import CollectiveFault, CollectiveMismatch, World
    torch.set_num_threads(1)           # one core per rank: the ranks share the machine
    try:
        w = World.from_env(timeout_s=args.timeout)
    except Exception as exc:
        print(f"kernelbench collectives: error: rank {os.environ.get('RANK', '?')} could not join the world: "
              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr, flush=True)
        return EXIT_FAULT
    try:
        code = (_check if args.mode == "check" else _bench)(w, args, rungs)
    except (CollectiveFault, CollectiveMismatch) as exc:
        print(f"kernelbench collectives: error: {exc}", file=sys.stderr, flush=True)
        w.close(status=f"fault: {exc}")
        sys.stdout.flush()
        os._exit(EXIT_FAULT)           # the process group may be broken: do not wait on it
    w.close()
    return code


def _check(w, args, rungs) -> int:
    from .check import run_checks
    results = run_checks(w, rungs)
    bad = [r for r in results if r["status"] != "ok"]
    if w.rank == 0:
        print(f"{len(results)} checks on {w.size} ranks ({w.backend}): {len(results) - len(bad)} ok, {len(bad)} not")
        for r in bad[:20]:
            print(f"  ✘ {r['rung']} {r['op']} {r['dtype']} n={r['numel']}{' integers' if r['integer'] else ''}: "
                  f"{r['status']} {r['reason']}")
    code = _bench(w, args, rungs) if args.sweep else 0
    return EXIT_FAILED if bad else code


def _bench(w, args, rungs) -> int:
    import torch

    from .bench import DEFAULT_MAX_BYTES, QUICK, Budget, size_ladder, sweep
    max_bytes = args.max_bytes or ((1 << 20) if args.quick else DEFAULT_MAX_BYTES[w.device.type])
    sizes = size_ladder(max_bytes, max(1, args.min_bytes))
    dtype = getattr(torch, args.dtype)
    colls = ("all_reduce", "reduce_scatter", "all_gather") if args.collective == "all" else (args.collective,)
    facts, entries = sweep(w, rungs, args.op, dtype, sizes, QUICK if args.quick else Budget(),
                           log=lambda m: print(m, flush=True), collectives=colls)
    if w.rank != 0:
        return 0
    path = write_result(args, facts, entries, sizes)
    from rich.console import Console
    console = Console() if Console().is_terminal else Console(width=160)
    from .table import tables
    for t in tables(entries):
        console.print(t)
    bad = [e for e in entries if e["status"] != "ok"]
    console.print(f"{len(entries)} measurements: {len(entries) - len(bad)} ok, {len(bad)} not timed -> {path}")
    return EXIT_FAILED if bad else 0


def write_result(args, facts: dict, entries: list, sizes: list):
    import socket
    import datetime as dt
    from pathlib import Path

    from ..bench import results
    from ..bench.analysis import apply_library_ratios
    argv = args.argv.split("\x1f") if args.argv else ["python", "-m", "kernelbench.collectives"] + sys.argv[1:]
    sel = {"ops": [args.op], "impl_globs": [args.rungs], "dtype": args.dtype, "devices": [facts["device"]],
           "sizes": {"collectives": [[str(s)] for s in sizes]}, "quick": args.quick}
    data = results.new_result(["collectives"], argv, args.quick, sel)
    data["devices"] = [facts["device"]]
    data["environment"] = results.environment()
    from ..bench.measure import thread_info
    data["threads"] = thread_info()
    data["collectives"] = facts
    apply_library_ratios(entries)
    data["entries"] = entries
    out = args.out
    if not out or not out.endswith(".json"):
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = str(Path(out or "kb_results") / f"{socket.gethostname()}-{stamp}-collectives.json")
    return results.write(out, data)


if __name__ == "__main__":
    sys.exit(main())
