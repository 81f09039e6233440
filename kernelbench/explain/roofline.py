"""Roofline per GPU with every CUDA rung placed by its counts (modelled, never measured).

For each GPU of the table (kernelbench/explain/gpus.py) and each ladder: x = FLOP per unique DRAM
byte (the least traffic), y = FLOP/s at the rung's speed-of-light bound; hollow markers at the
L1-level intensity (FLOP per byte of global sectors the executor counted) show how far the rung's
loads are from the least traffic.  Where a committed result file has the same GPU, its measured
points sit beside them (filled squares).  The counts are the recorded ones (ladder_counts.json);
without them the point is the analytic bound and says so.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

GPUS = ("h100", "a100", "a6000")
LADDERS = ("matmul", "reduce")   # the ops with CUDA ladders in kernelbench.explain


def _points(op: str, gpu: str) -> list:
    from . import ladder
    out = []
    for ex in ladder(op, gpu=gpu, counters="recorded"):
        fl = ex.flops
        if not ex.bound.seconds or not fl:
            continue
        dram = max(1, sum(ex.unique_bytes))
        sectors = sum((k.counters or {}).get("global_load_sectors", 0) for k in ex.kernels)
        out.append({"rung": ex.rung, "dtype": ex.dtype, "x": fl / dram, "y": fl / ex.bound.seconds,
                    "x_l1": fl / (32 * sectors) if sectors else None, "counted": ex.basis == "counted",
                    "binds": ex.bound.binds})
    return out


def _measured(results: list, gpu_spec, op: str) -> list:
    from .core import analytic
    pts = []
    for data in results or []:
        name = ((data.get("peaks") or {}).get("cuda") or {}).get("name") or ""
        from .gpus import lookup_gpu
        if lookup_gpu(name) is not gpu_spec:
            continue
        for e in data.get("entries", []):
            if e.get("device") == "cuda" and e.get("op") == op and e.get("median_s") and e.get("impl", "").startswith("cuda_"):
                case = e.get("case") or {}
                fl, rd, wr = analytic(op, tuple(case.get("shape") or ()), e.get("dtype", "float32"), case.get("dim"))
                if fl:
                    pts.append({"rung": e["impl"], "x": fl / max(1, rd + wr), "y": fl / e["median_s"]})
    return pts


def roofline_png(op: str, gpu: str, out_dir: Path, results: Optional[list] = None) -> Optional[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import gpus as G
    from ..report.plots import roofline_axes
    g = G.get(gpu)
    pts = _points(op, gpu)
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.5))
    xs = [p["x"] for p in pts] + [p["x_l1"] for p in pts if p["x_l1"]]
    lo, hi = min(xs + [0.05]) / 3, max(xs + [1000]) * 3
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    for pipe, style in (("fp32", "--"), ("tf32", ":"), ("fp16", "-.")):
        pk = g.peak(pipe)
        if pk:
            ax.plot(grid, [min(pk, x * g.bandwidth) for x in grid], "k", ls=style, lw=1,
                    label=f"{pipe} roof {pk / 1e12:.0f} TFLOP/s, DRAM {g.bandwidth / 1e12:.2f} TB/s")
    import math
    stack: dict = {}
    for p in pts:
        ax.scatter(p["x"], p["y"], s=30, marker="o" if p["counted"] else "x", color="#1f77b4")
        cell = (round(math.log10(p["x"]) * 4), round(math.log10(p["y"]) * 8))   # labels of coinciding points stack
        n = stack[cell] = stack.get(cell, -1) + 1
        ax.annotate(p["rung"].replace("cuda_", ""), (p["x"], p["y"]), xytext=(5, 3 - 7 * n), textcoords="offset points",
                    fontsize=6)
        if p["x_l1"]:
            ax.scatter(p["x_l1"], p["y"], s=22, facecolors="none", edgecolors="#d62728")
            ax.plot([p["x_l1"], p["x"]], [p["y"], p["y"]], color="#d62728", lw=0.4)
    meas = _measured(results, g, op)
    for p in meas:
        ax.scatter(p["x"], p["y"], s=30, marker="s", color="#2ca02c")
    roofline_axes(ax, "FLOP per byte (o: unique DRAM bytes; hollow red: counted L1 sectors)", "FLOP/s")
    ax.set_title(f"{op} rungs on {g.name} at their speed-of-light bound (modelled from counts, not measured; "
                 f"x: analytic only{'; squares: measured' if meas else ''})", fontsize=8)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"bound_roofline_{op}_{g.key}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def section(out_dir: Path, results: Optional[list] = None, img=None, gpus: Optional[tuple] = None) -> tuple[str, list]:
    """HTML for the report: one roofline per GPU and ladder -- the GPUs of the result files (else H100),
    or `gpus` -- ; `img(path)` renders an <img> (html.py's)."""
    parts = ["<h2>speed-of-light bounds (modelled, no GPU needed)</h2><p>Every CUDA rung placed by its counts "
             "at its speed-of-light bound (kernelbench explain): a bound, never a measurement. Measured points of "
             "a committed run on the same GPU appear beside them as squares.</p>"]
    pngs = []
    from .gpus import lookup_gpu
    names = {((d.get("peaks") or {}).get("cuda") or {}).get("name") for d in results or []}
    mine = [g.key for g in (lookup_gpu(n) for n in names if n) if g is not None and g.key]
    for gpu in gpus or sorted(set(mine)) or GPUS[:1]:
        for op in LADDERS:
            try:
                p = roofline_png(op, gpu, out_dir, results)
            except (ValueError, SystemExit) as exc:   # no registry / facts here: say so, do not fail the report
                parts.append(f"<p>{html.escape(op)} on {html.escape(gpu)}: {html.escape(str(exc))}</p>")
                continue
            if p is not None:
                pngs.append(p)
                parts.append(img(p) if img else f"<img src='{html.escape(p.name)}'>")
    return "\n".join(parts), pngs
