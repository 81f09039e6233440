"""Generated docs blocks: the ladder explained, from explain() (docs/make_tables.py writes them).

    <!-- kb:explain:OP-GPU -->        every rung: compiler facts, occupancy, counts, bound, why
    <!-- kb:explain:OP-GPU:short -->  rung, dtype, bound and what binds (the README's GPU tables)
    ...
    <!-- kb:end -->

Counts come from kernelbench/data/ladder_counts.json only (recorded, keyed by the rung's source), so
regenerating is fast and deterministic; a rung without current counts shows its analytic bound,
marked.  Every figure here is a bound -- the least time the rung can take -- never a measurement.
"""
from __future__ import annotations

import re

from .core import _fmt_time, ladder
from .render import MATH_KEYS, SHORT_DTYPE, rate_text

BLOCK = re.compile(r"(<!-- kb:explain:(?P<op>[a-z]+)-(?P<gpu>[a-z0-9]+)(?P<short>:short)? -->\n)(?P<body>.*?)(<!-- kb:end -->)",
                   re.S)


def _loop(f: dict) -> str:
    loop = (f or {}).get("loop") or {}
    if not loop:
        return "-"
    math = sum(v for k, v in loop.items() if k in MATH_KEYS)
    mem = ", ".join(f"{k} {v}" for k, v in sorted(loop.items()) if k.split(".")[0] in
                    ("LDS", "LDSM", "LDG", "LDGSTS", "STS", "BAR", "SHFL", "ATOMIC"))
    return f"{math} math / {loop.get('total', 0)}" + (f"; {mem}" if mem else "")


def table(op: str, gpu: str, short: bool = False) -> str:
    exs = ladder(op, gpu=gpu, counters="docs")   # committed facts and counts as they are (tests check their age)
    if not exs:
        raise SystemExit(f"kb:explain:{op}-{gpu}: no CUDA {op} rung in the registry (no build?)")
    g = exs[0].gpu
    head = (f"Speed-of-light **bound** on {g.name} ({g.sms} SMs at its max clock {g.max_mhz} MHz; "
            "[kernelbench/explain/bound.py](../kernelbench/explain/bound.py)): the least time each rung can take "
            "at the benchmark's shape -- a bound, not a measurement. `*`: analytic minimum only (no current "
            "recorded counts).\n\n")
    if short:
        rows = [f"| rung | dtype | shape | bound on {g.name} (not a measurement) | at best | binds |",
                "|---|---|---|---:|---:|---|"]
        for ex in exs:
            star = "" if ex.basis == "counted" else "*"
            rows.append(f"| `{ex.rung}` | {SHORT_DTYPE.get(ex.dtype, ex.dtype)} | {'x'.join(map(str, ex.shape))} | {_fmt_time(ex.bound.seconds)} | "
                        f"{rate_text(ex)} | {ex.bound.binds}{star} |")
        return head.replace("../kernelbench", "kernelbench") + "\n".join(rows) + "\n"
    rows = ["| rung | dtype | regs | spills | smem | occupancy (limit) | main loop (SASS) | bound | at best | binds |",
            "|---|---|---:|---:|---:|---|---|---:|---:|---|"]
    why = []
    for ex in exs:
        main = next((k for k in ex.kernels if not k.helper), ex.kernels[0] if ex.kernels else None)
        f = (main.facts if main else None) or {}
        occ = main.occupancy if main else None
        star = "" if ex.basis == "counted" else "*"
        rows.append(f"| `{ex.rung}` | {SHORT_DTYPE.get(ex.dtype, ex.dtype)} | {f.get('registers', '-')} | {f.get('spill_store_bytes', '-')} | "
                    f"{f.get('static_smem', '-')} | {f'{occ.fraction:.0%} ({occ.limiter})' if occ else '-'} | "
                    f"{_loop(f)} | {_fmt_time(ex.bound.seconds)} | {rate_text(ex)} | {ex.bound.binds}{star} |")
        lines = [ln.text() for k in ex.kernels for ln in k.lines if ln.verdict and " at " not in ln.what]
        why.append(f"- `{ex.rung}`: {ex.sentence}" + (f" Counters: {'; '.join(lines)}." if lines else "")
                   + (f" Note: {' '.join(ex.notes)}" if ex.notes else ""))
    return head + "\n".join(rows) + "\n\n" + "\n".join(why) + "\n"


def update(mds: list, check: bool) -> int:
    """Rewrite every kb:explain block; with `check`, write nothing and return 1 when one is stale."""
    stale = 0
    for md in mds:
        text = md.read_text()
        if "<!-- kb:explain:" not in text:
            continue
        new = BLOCK.sub(lambda m: m.group(1) + table(m.group("op"), m.group("gpu"), bool(m.group("short")))
                        + m.group(6), text)
        if new != text:
            if check:
                print(f"{md}: explain blocks out of date (run python docs/make_tables.py)")
                stale = 1
            else:
                md.write_text(new)
                print(f"{md}: explain blocks rewritten")
        else:
            print(f"{md}: explain blocks up to date")
    return stale
