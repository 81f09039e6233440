"""`kernelbench explain`: one rung in detail, or a ladder side by side."""
from __future__ import annotations

import json


def add_parser(sub) -> None:
    e = sub.add_parser("explain", help="why a CUDA rung is as fast as it is: compiler facts, occupancy, counters, "
                       "speed-of-light bound (no GPU needed)")
    e.add_argument("rung", nargs="?", help="a CUDA C++ rung (`kernelbench list` names them; or --ladder)")
    e.add_argument("--ladder", choices=["matmul", "reduce"], help="every rung of a ladder side by side")
    e.add_argument("--shape", help="MxNxK (or BxMxNxK) for matmul, the input's shape otherwise "
                   "(default: the benchmark's: 4096x4096x4096, 2^28, ...)")
    e.add_argument("--dtype", default=None, help="f32 | f64 | f16 | bf16 (default: f32 where the rung takes it, else f16)")
    e.add_argument("--dim", type=int, default=None, help="reductions along a dim")
    e.add_argument("--op", default=None, help="the op when the rung name exists for several")
    e.add_argument("--gpu", default="h100", help="h100 (default) | h200 | a100 | 4090 | a6000 | l4")
    e.add_argument("--no-counters", action="store_true", help="skip the executor: compiler facts, occupancy and "
                   "the analytic bound only (fast)")
    e.add_argument("--json", action="store_true", help="print the data as JSON")
    e.set_defaults(fn=cmd_explain)


def cmd_explain(args) -> int:
    from ..cli import UsageError
    from . import explain, ladder
    from .render import render, render_ladder, to_dict
    if not args.rung and not args.ladder:
        raise UsageError("explain: name a rung or pass --ladder matmul|reduce")
    try:
        if args.ladder:
            exs = ladder(args.ladder, shape=args.shape, dtype=args.dtype, gpu=args.gpu, counters=not args.no_counters)
            if args.json:
                print(json.dumps([to_dict(e) for e in exs], indent=1, default=str))
            else:
                render_ladder(exs, title=f"{args.ladder} ladder on {exs[0].gpu.name if exs else args.gpu}")
            return 0
        ex = explain(args.rung, args.shape, args.dtype, args.gpu, op=args.op, dim=args.dim,
                     counters=not args.no_counters)
    except ValueError as exc:
        raise UsageError(f"explain: {exc}") from None
    if args.json:
        print(json.dumps(to_dict(ex), indent=1, default=str))
    else:
        render(ex)
    return 0
