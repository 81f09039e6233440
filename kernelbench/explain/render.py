"""Printing explain() results with rich: one rung in detail, or a whole ladder side by side."""
from __future__ import annotations

from typing import Optional

from .core import Explanation, _fmt_time

MIX_KEYS = ("FFMA", "HFMA2", "DFMA", "HMMA", "HGMMA", "FADD", "DADD", "HADD2", "FMNMX", "LDG", "STG", "LDS", "STS", "LDSM", "LDGSTS", "TMA",
            "BAR", "SHFL", "ATOMIC", "LDL", "STL")


def mix_text(mix: Optional[dict]) -> str:
    """'FFMA 64, LDS.128 4, BAR 2 (of 120)': the tracked classes, then the total."""
    if not mix:
        return "-"
    order = {k: i for i, k in enumerate(MIX_KEYS)}
    items = sorted(((k, v) for k, v in mix.items() if k != "total"), key=lambda kv: (order.get(kv[0].split(".")[0], 99), kv[0]))
    return ", ".join(f"{k} {v}" for k, v in items) + f" (of {mix.get('total', 0)})"


def rate_text(ex: Explanation) -> str:
    """The bound as a rate: TFLOP/s for matmul, GB/s of unique traffic otherwise."""
    if not ex.bound.seconds:
        return "-"
    if ex.op == "matmul":
        return f"{ex.flops / ex.bound.seconds / 1e12:.1f} TFLOP/s"
    return f"{sum(ex.unique_bytes) / ex.bound.seconds / 1e9:.0f} GB/s"


def to_dict(ex: Explanation) -> dict:
    """Plain data (JSON-ready) of one explanation."""
    return {
        "rung": ex.rung, "op": ex.op, "shape": list(ex.shape), "dtype": ex.dtype, "gpu": ex.gpu.name,
        "clock_mhz": ex.gpu.max_mhz, "flops": ex.flops, "unique_bytes": list(ex.unique_bytes),
        "counters_note": ex.counters_note, "notes": ex.notes, "sentence": ex.sentence,
        "bound": {"label": "bound", "seconds": ex.bound.seconds, "binds": ex.bound.binds, "basis": ex.bound.basis,
                  "terms": {t.name: t.seconds for t in ex.bound.terms}},
        "kernels": [{
            "name": k.name, "helper": k.helper, "blocks": k.blocks, "threads_per_block": k.threads_per_block,
            "facts": k.facts, "counters": k.counters,
            "occupancy": None if k.occupancy is None else {
                "blocks_per_sm": k.occupancy.blocks_per_sm, "warps_per_sm": k.occupancy.warps_per_sm,
                "fraction": k.occupancy.fraction, "limiter": k.occupancy.limiter, "limits": k.occupancy.limits},
            "counter_lines": [ln.text() for ln in k.lines],
            "bound": None if k.bound is None else {"seconds": k.bound.seconds, "binds": k.bound.binds}}
            for k in ex.kernels],
    }


def _console():
    """This terminal's width, 160 columns in a pipe (as `kernelbench show`)."""
    import sys

    from rich.console import Console
    return Console() if sys.stdout.isatty() else Console(width=160)


MATH_KEYS = ("FFMA", "HFMA2", "DFMA", "HMMA", "HGMMA", "FADD", "DADD", "HADD2", "FMNMX")
SHORT_DTYPE = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16", "tf32": "tf32"}


def render(ex: Explanation, console=None) -> None:
    from rich.table import Table
    con = console or _console()
    shape = "x".join(map(str, ex.shape))
    con.print(f"[bold]{ex.rung}[/bold]  {ex.op} {shape} {ex.dtype} on {ex.gpu.name} "
              f"({ex.gpu.sms} SMs, bound at its max clock {ex.gpu.max_mhz} MHz)")
    for n in ex.notes:
        con.print(f"  note: {n}")
    con.print(f"  counts: {ex.counters_note}")
    for k in ex.kernels:
        t = Table(title=f"{'helper ' if k.helper else ''}kernel {k.name}", title_justify="left", show_header=False,
                  box=None, pad_edge=False)
        t.add_column(style="dim", no_wrap=True)
        t.add_column()
        f = k.facts or {}
        if f:
            t.add_row("compiler", f"{f.get('arch')}: {f.get('registers')} registers/thread, "
                      f"{f.get('spill_store_bytes', 0)} B spill stores / {f.get('spill_load_bytes', 0)} B loads, "
                      f"{f.get('static_smem', 0)} B static smem" + (f" + {k.dynamic_smem} B dynamic" if k.dynamic_smem else "")
                      + f", max threads/block {f.get('max_threads') or 'not bounded (1024)'}")
            t.add_row("SASS mix", mix_text(f.get("mix")))
            t.add_row("main loop", mix_text(f.get("loop")) if f.get("loop") else "no loop")
        else:
            t.add_row("compiler", "no compiler facts for this kernel")
        if k.occupancy is not None:
            t.add_row("occupancy", f"{k.occupancy.describe()} at {k.threads_per_block} threads/block")
        elif k.facts:
            t.add_row("occupancy", "block size unknown here (needs the launch: the executor or the pybind module)")
        if k.blocks:
            t.add_row("grid", f"{k.blocks} blocks x {k.threads_per_block} threads")
        for ln in k.lines:
            t.add_row("counter", ln.text())
        if k.bound is not None and len(ex.kernels) > 1:
            t.add_row("bound", f"{_fmt_time(k.bound.seconds)} ({k.bound.binds} binds)")
        con.print(t)
    bt = Table(title=f"speed-of-light bound ({ex.bound.basis}) -- a bound, not a measurement", title_justify="left")
    bt.add_column("term")
    bt.add_column("least time", justify="right")
    bt.add_column("from")
    for term in sorted(ex.bound.terms, key=lambda x: -x.seconds):
        mark = " <- binds" if term.name == ex.bound.binds else ""
        bt.add_row(term.name + mark, _fmt_time(term.seconds), term.detail)
    con.print(bt)
    con.print(f"  bound: {_fmt_time(ex.bound.seconds)} ({rate_text(ex)} at best), {ex.bound.binds} binds")
    con.print(f"  why: {ex.sentence}")


def ladder_table(exs: list, title: str = ""):
    from rich.table import Table
    t = Table(title=title or None, title_justify="left")
    for col, just in (("rung", "left"), ("dtype", "left"), ("regs", "right"), ("smem B", "right"),
                      ("occupancy (limit)", "left"), ("main loop", "left"), ("gld sect/req", "right"),
                      ("lds wf/req", "right"), ("bound", "right"), ("bound rate", "right"), ("binds", "left")):
        t.add_column(col, justify=just)
    for ex in exs:
        main = next((k for k in ex.kernels if not k.helper), ex.kernels[0] if ex.kernels else None)
        f = (main.facts if main else None) or {}
        loop = f.get("loop") or {}
        math = sum(v for k, v in loop.items() if k in MATH_KEYS)
        lds = sum(v for k, v in loop.items() if k.startswith(("LDS", "LDSM")))
        loop_txt = f"{math} math : {lds} lds of {loop.get('total', 0)}" if loop else "-"
        occ = main.occupancy if main else None
        c = (main.counters if main else None) or {}
        gl = f"{c['global_load_sectors'] / c['global_load_requests']:.1f}" if c.get("global_load_requests") else "-"
        sl = f"{c['shared_load_wavefronts'] / c['shared_load_requests']:.1f}" if c.get("shared_load_requests") else "-"
        t.add_row(ex.rung, SHORT_DTYPE.get(ex.dtype, ex.dtype), str(f.get("registers", "-")), str(f.get("static_smem", "-")),
                  f"{occ.fraction:.0%} ({occ.limiter})" if occ else "-", loop_txt, gl, sl,
                  _fmt_time(ex.bound.seconds), rate_text(ex), ex.bound.binds + ("" if ex.basis == "counted" else "*"))
    return t


def render_ladder(exs: list, console=None, title: str = "") -> None:
    con = console or _console()
    con.print(ladder_table(exs, title))
    if any(ex.basis != "counted" for ex in exs):
        con.print("  * analytic minimum only (FLOPs, unique bytes): no executor counters for that rung here")
    con.print("  bound: the least time the rung can take (max of its lower-bound terms at the GPU's max clock); "
              "never a measurement")
