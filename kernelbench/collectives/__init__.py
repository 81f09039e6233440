"""The collectives ladder: the reduction ladder continued past one device, on torch.distributed.

    01_naive              gather to rank 0, reduce there, send back
    02_tree               binomial-tree reduce + broadcast
    03_ring               reduce-scatter + all-gather over n chunks (isend/irecv); the local
                          reduction is our own reduction rung (the ladder below feeds this one)
    04_ring_pipelined     03 with segments in flight while the previous one is reduced
    05_library_all_reduce dist.all_reduce (Gloo / NCCL)
    06_library_rs_ag      dist.reduce_scatter_tensor + dist.all_gather_into_tensor

Every rung is a file `NN_name.py` with `all_reduce_(x, op, world)` (in place) and is listed here
from the files themselves (rung name: "dist_NN_name"); 03 and 06 also have the two halves,
`reduce_scatter_` and `all_gather_`, and `owned(S, rank, n)`: where a rank's shard lies.
`all_reduce`, `reduce_scatter` and `all_gather` are the checked entry points:
the ranks must agree on size, dtype and op (refused before any exchange), and a dead or hung rank
becomes one CollectiveFault line naming it.  Launch: `kernelbench run --suite collectives --nproc N`
or `torchrun --nproc-per-node N -m kernelbench.collectives` (docs/collectives.md).
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_FILES = sorted(p.stem for p in _HERE.glob("[0-9][0-9]_*.py"))
RUNGS = {f"dist_{stem}": stem for stem in _FILES}          # name -> module stem, in ladder order
LIBRARY_RUNG = next(n for n in RUNGS if "library_all_reduce" in n)


def rung(name: str):
    """The module of a rung (`dist_03_ring`), with its header as `ADDS`."""
    if name not in RUNGS:
        raise ValueError(f"rung: unknown collective rung {name!r} (one of {', '.join(RUNGS)})")
    mod = importlib.import_module(f"{__name__}.{RUNGS[name]}")
    if not hasattr(mod, "ADDS"):
        doc = (mod.__doc__ or "").strip()
        m = re.search(r"Adds(?: over \d+)?:\s*(.*?)(?:\n\S[^\n]*:|\Z)", doc, re.S)
        mod.ADDS = " ".join((m.group(1) if m else doc.split("\n")[0]).split())
        mod.SOURCE = f"kernelbench/collectives/{RUNGS[name]}.py"
    return mod


OPS = ("sum", "max", "min")
COLLECTIVES = ("all_reduce", "reduce_scatter", "all_gather")


def supports(name: str, collective: str) -> bool:
    """Every rung all-reduces; the rungs built from the two halves also run each half alone."""
    return collective == "all_reduce" or hasattr(rung(name), collective + "_")


def all_reduce(x, op: str = "sum", rung_name: str = "dist_03_ring", world=None):
    """x (contiguous, same size / dtype on every rank) replaced by the op over every rank's x, on
    `world` (a kernelbench.collectives.world.World)."""
    w = world
    w.require_same(x, op)
    w.tick()
    with w.guard(f"{rung_name} all-reduce of {x.numel()} {str(x.dtype).replace('torch.', '')}"):
        return rung(rung_name).all_reduce_(x, op, w)


def reduce_scatter(x, op: str = "sum", rung_name: str = "dist_03_ring", world=None):
    """This rank's shard of the op over every rank's x (where it lies: the rung's `owned`)."""
    w = world
    w.require_same(x, op)
    w.tick()
    with w.guard(f"{rung_name} reduce-scatter of {x.numel()} {str(x.dtype).replace('torch.', '')}"):
        return rung(rung_name).reduce_scatter_(x, op, w)


def all_gather(x, rung_name: str = "dist_03_ring", world=None):
    """x[rung.owned(S, r, n)] of every rank r, gathered into every rank's x (in place)."""
    w = world
    w.require_same(x, "sum")
    w.tick()
    with w.guard(f"{rung_name} all-gather of {x.numel()} {str(x.dtype).replace('torch.', '')}"):
        return rung(rung_name).all_gather_(x, w)
