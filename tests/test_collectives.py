"""The collectives ladder (kernelbench/collectives) on Gloo over loopback.

One world per world size (1-4) runs every rung x op x dtype x odd size (936 checks: all-reduce on
every rung, reduce-scatter and all-gather on 03 and 06); the world of 4 then runs a small sweep of
all three whose result file show and compare read; `kernelbench run --suite
collectives --nproc 2` sweeps again and writes the report.  The fault tests
kill or hang a rank and assert the survivors exit with the one-line error naming it, within the
bound; a mismatched size is refused before any exchange.  About 2 CPU-minutes in all (measured on
the 2-vCPU VM; a third of it importing torch in the 17 rank processes, which run in parallel)."""
from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not dist.is_available() or not dist.is_gloo_available():
    pytest.skip("torch.distributed with Gloo is not available", allow_module_level=True)

from kernelbench import _frontdoors  # noqa: E402
from kernelbench.collectives import RUNGS, check, supports  # noqa: E402
from kernelbench.collectives.bench import busbw_factor, size_ladder  # noqa: E402
from kernelbench.collectives.launch import launch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NEEDS_TORCH_DOOR = pytest.mark.skipif(not _frontdoors.torch_ready(), reason="the torch front door is not built "
                                      "(make build): rungs 01-04 reduce with our CPU reduction rung through it")
ENV = {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
# per rung: all-reduce (and reduce-scatter) ops x dtypes x sizes x (random, integer); all-gather dtypes x sizes x 2
HALVES = [n for n in RUNGS if supports(n, "reduce_scatter") and supports(n, "all_gather")]
CHECKS_PER_WORLD = len(RUNGS) * 3 * 3 * 6 * 2 + len(HALVES) * (3 * 3 * 6 * 2 + 3 * 6 * 2)


def _err(outs) -> str:
    return "\n".join(f"rank {o[0]} rc={o[1]}\n{o[2][-2000:]}\n{o[3][-2000:]}" for o in outs)


# ------------------------------------------------------------------ the checker itself (no world)
class _OneRank:
    """A stand-in world for the checker's own tests: rank 0 of `size`, every verdict its own."""
    def __init__(self, size):
        self.rank, self.size, self.device = 0, size, torch.device("cpu")

    def max_over_ranks(self, v):
        return v


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_checker_catches_wrong_results(dtype):
    w = _OneRank(3)
    def right(x, op):
        ref, _ = check.reference(x.numel(), dtype, op, 3, 0, False)
        return ref.to(dtype)
    assert check.check_one(w, "x", "sum", dtype, 1001, False, run=right)["status"] == "ok"
    # one rank's contribution counted twice (x + reference) / left out (x * 3)
    assert check.check_one(w, "x", "sum", dtype, 1001, False, run=lambda x, op: right(x, op) + x)["status"] == "failed"
    assert check.check_one(w, "x", "sum", dtype, 1001, False, run=lambda x, op: x * 3)["status"] == "failed"
    # max must be exact: one ulp off somewhere is caught
    def off_by_ulp(x, op):
        r = right(x, op)
        r[5] = torch.nextafter(r[5].float(), torch.tensor(float("inf"))).to(dtype) if dtype == torch.float32 \
            else (r[5].float() * (1 + 2 ** -7)).to(dtype)
        return r
    assert check.check_one(w, "x", "max", dtype, 1001, False, run=off_by_ulp)["status"] == "failed"
    # integer-valued sums must be exact: one element off by one is caught
    exact = lambda x, op: check.reference(x.numel(), dtype, op, 3, 0, True)[0].to(dtype)   # noqa: E731
    assert check.check_one(w, "x", "sum", dtype, 64, True, run=exact)["status"] == "ok"
    assert check.check_one(w, "x", "sum", dtype, 64, True,
                           run=lambda x, op: exact(x, op) + (torch.arange(64) == 7).to(dtype))["status"] == "failed"


def test_formulas():
    assert size_ladder(64) == [8, 16, 32, 64]
    assert len(size_ladder(256 << 20)) == 26
    assert busbw_factor("all_reduce", 4) == 1.5 and busbw_factor("reduce_scatter", 4) == 0.75
    assert busbw_factor("all_reduce", 1) == 1.0


def test_rung_files_open_with_what_they_add():
    from kernelbench.collectives import rung
    assert list(RUNGS) == sorted(RUNGS) and len(RUNGS) == 6 and HALVES == ["dist_03_ring", "dist_06_library_rs_ag"]
    for name in RUNGS:
        doc = rung(name).__doc__
        assert doc.startswith(name) and "Still limits it:" in doc and "Preconditions:" in doc, name
        assert rung(name).ADDS


# ------------------------------------------------------------------ worlds of 1-4 ranks
@NEEDS_TORCH_DOOR
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_rung_op_dtype_and_odd_size(n, tmp_path):
    sweep = n == 4          # (the run test below sweeps at 2 ranks, through the CLI, with the report)
    out = tmp_path / f"coll{n}.json"
    args = ["check", "--timeout", "60"] + (["--sweep", "--quick", "--max-bytes", "4KiB", "--collective", "all",
                                            "--out", str(out)] if sweep else [])
    code, outs = launch(n, args, timeout_s=60, env=ENV, capture=True)
    assert code == 0, _err(outs)
    assert f"{CHECKS_PER_WORLD} checks on {n} ranks (gloo): {CHECKS_PER_WORLD} ok, 0 not" in outs[0][2], _err(outs)
    if not sweep:
        return
    from kernelbench.bench.results import read
    data = read(out)
    es = data["entries"]
    assert len(es) == (len(RUNGS) + 2 * len(HALVES)) * 10 and all(e["status"] == "ok" for e in es), \
        [e.get("reason") for e in es]
    assert {e["op"] for e in es} == {"all_reduce", "reduce_scatter", "all_gather"}
    for e in es:
        assert e["median_s"] == pytest.approx(sorted(e["timing"]["rank_medians_s"])[-1])   # max over ranks
        assert e["algbw_gbps"] == pytest.approx(e["size"] / e["median_s"] / 1e9)
        factor = 2 * (n - 1) / n if e["op"] == "all_reduce" else (n - 1) / n
        assert e["busbw_gbps"] == pytest.approx(e["algbw_gbps"] * factor)
    assert data["collectives"]["ceiling_Bps"] > 0 and data["collectives"]["p2p_latency_s"] > 0
    lib = next(e for e in es if e["impl"] == "dist_05_library_all_reduce")
    assert lib["pct_library"] == pytest.approx(100.0)
    assert next(e for e in es if e["op"] == "all_gather")["library_ref"] == "dist_06_library_rs_ag"
    # show and compare read the file (the report: test_kernelbench_run_suite_collectives)
    from kernelbench.cli import main
    assert main(["show", str(out), "--width", "200"]) == 0
    assert main(["compare", str(out), str(out)]) == 0


# ------------------------------------------------------------------ faults
def _survivor_lines(outs, dead):
    return [(o[0], o[1], o[3], o[4]) for o in outs if o[0] != dead]


def _injected_at(outs, rank) -> float:
    m = re.search(r"test hook: \w+ rank \d+ before collective #\d+ at t=([\d.]+)", outs[rank][3])
    assert m, _err(outs)
    return float(m.group(1))


@pytest.mark.parametrize("kind,n,victim,want", [("kill", 3, 2, r"rank 2 died or was stopped"),
                                                ("hang", 2, 1, r"rank 1 hung: alive, but it never entered collective #12, in which the others wait")])
def test_a_dead_or_hung_rank_is_named_within_the_bound(kind, n, victim, want, tmp_path):
    timeout = 4.0
    args = ["bench", "--rungs", "dist_05*", "--quick", "--max-bytes", "64", "--timeout", str(timeout),
            "--out", str(tmp_path / "x.json")]
    code, outs = launch(n, args, timeout_s=timeout, env=dict(ENV, KB_COLL_FAULT=f"{kind}:{victim}:12"), capture=True)
    assert code == 4, _err(outs)
    t_fault = _injected_at(outs, victim)
    for rank, rc, err, ended in _survivor_lines(outs, victim):
        lines = [ln for ln in err.splitlines() if ln.startswith("kernelbench collectives: error:")]
        assert rc == 4 and len(lines) == 1 and re.search(want, lines[0]), _err(outs)
        # the bound: the exchange's timeout plus the diagnosis (3 heartbeats) plus start-up slack
        assert ended - t_fault < timeout + 5, (ended - t_fault, _err(outs))


MISMATCH = textwrap.dedent("""
    import sys, torch
    from kernelbench.collectives import all_reduce, rung
    from kernelbench.collectives.world import World, CollectiveMismatch
    w = World.from_env(timeout_s=20)
    mod = rung("dist_03_ring")
    def never(*a):
        print("EXCHANGED", flush=True)
    mod.all_reduce_ = never
    x = torch.ones(7 if w.rank == 0 else 8, dtype=torch.float32 if w.rank == 0 else torch.float64)
    try:
        all_reduce(x, "sum", "dist_03_ring", w)
    except CollectiveMismatch as exc:
        print("REFUSED", exc, flush=True)
    w.close()
""")


def test_mismatched_sizes_and_dtypes_are_refused_before_any_exchange(tmp_path):
    prog = tmp_path / "mismatch.py"
    prog.write_text(MISMATCH)
    code, outs = launch(2, [], timeout_s=20, env=ENV, capture=True, program=[sys.executable, str(prog)])
    assert code == 0, _err(outs)
    for o in outs:
        assert "EXCHANGED" not in o[2], _err(outs)
        assert "REFUSED rank 1 passed 8 float64 elements with op sum but rank 0 passed 7 float32" in o[2], _err(outs)


# ------------------------------------------------------------------ the CLI
def test_cli_refuses_bad_options():
    from kernelbench.cli import main
    assert main(["run", "--suite", "collectives", "--op", "matmul"]) == 2
    assert main(["run", "--suite", "collectives,ladder"]) == 2
    assert main(["run", "--suite", "collectives", "--dtype", "float16"]) == 2
    assert main(["run", "--suite", "collectives", "--nproc", "0"]) == 2


@NEEDS_TORCH_DOOR
def test_kernelbench_run_suite_collectives(tmp_path, capfd, monkeypatch):
    from kernelbench.cli import main
    out = tmp_path / "run.json"
    monkeypatch.setenv("PYTHONPATH", ENV["PYTHONPATH"])
    code = main(["run", "--suite", "collectives", "--nproc", "2", "--quick", "--max-bytes", "64", "--out", str(out),
                 "--impl", "dist_03*,dist_05*"])
    printed = capfd.readouterr().out
    assert code == 0, printed
    assert "busbw GB/s" in printed and "algbw GB/s" in printed
    data = json.loads(out.read_text())
    assert data["suites"] == ["collectives"] and data["kind"] == "kernelbench-results"
    assert {e["impl"] for e in data["entries"]} == {"dist_03_ring", "dist_05_library_all_reduce"}
    text = (tmp_path / "run" / "index.html").read_text()
    assert "<h2>collectives</h2>" in text and "collectives_all_reduce" in text
    assert list((tmp_path / "run").glob("collectives_*.png"))
    assert main(["show", str(out)]) == 0
