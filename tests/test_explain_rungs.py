"""`kernelbench explain` on every CUDA rung (needs the build's kernel tables and the committed compiler
facts; no executor run: recorded counts or the analytic bound, so the whole file takes seconds)."""
import re
import subprocess
import sys

import pytest

from kernelbench.explain import core, gpus
from kernelbench.registry import get_impl, list_impls

RUNGS = [(i.op, i.name) for i in list_impls(device="cuda")
         if i.layer == "handwritten-cuda" and re.match(r"cuda_\d\d_", i.name) and i.op in ("matmul", "reduce")]
pytestmark = pytest.mark.skipif(not RUNGS, reason="the CUDA kernel tables are not built here (make build)")


@pytest.mark.parametrize("op,rung", RUNGS)
def test_every_rung_explains_on_h100(op, rung):
    ex = core.explain(rung, op=op, gpu="h100", counters="recorded")
    main = [k for k in ex.kernels if not k.helper]
    assert main and all(k.facts for k in main), f"no compiler facts for {rung}"
    f = main[0].facts
    assert f["arch"] == "sm_90a" and f["registers"] > 0 and f["mix"]["total"] > 0
    assert ex.bound.seconds > 0 and ex.bound.binds in ("math", "issue", "shared", "L1", "DRAM")
    assert ex.bound.label == "bound"
    # the analytic floor: no rung's bound is below the least time any kernel needs for its FLOPs and bytes
    fl, rd, wr = core.analytic(op, ex.shape, ex.dtype, (core.default_dim(get_impl(op, rung)) or (None, None))[1])
    assert ex.bound.seconds >= (rd + max(0, wr - ex.gpu.l2_bytes)) / ex.gpu.bandwidth * 0.999
    assert ex.sentence.startswith("At best ") and ex.gpu.name in ex.sentence


def test_counted_bound_is_never_below_the_analytic_one():
    for op, rung in RUNGS:
        ex = core.explain(rung, op=op, gpu="h100", counters="recorded")
        if ex.basis != "counted":
            continue
        plain = core.explain(rung, op=op, gpu="h100", counters=False)
        assert ex.bound.seconds >= plain.bound.seconds * 0.999, rung


def test_tensor_core_rungs_bind_on_the_tensor_pipe_and_hopper_rungs_need_sm90():
    ex = core.explain("cuda_11_mma_sync", dtype="bf16", gpu="h100", counters=False)
    assert ex.kernels[0].facts["mix"].get("HMMA") and "bf16" in ex.bound.term("math").detail
    ex = core.explain("cuda_13_wgmma_tma", dtype="f16", gpu="a100", counters=False)
    assert any("cannot run" in n for n in ex.notes)
    ex = core.explain("cuda_13_wgmma_tma", dtype="f16", gpu="h100", counters=False)
    assert ex.kernels[0].facts["mix"].get("HGMMA"), "rung 13 on sm_90a issues wgmma (HGMMA)"


def test_occupancy_comes_from_the_facts():
    ex = core.explain("cuda_05_blocktile_2d", gpu="h100", counters=False)
    k = next(k for k in ex.kernels if k.occupancy is not None)
    regs = k.facts["registers"]
    assert k.occupancy == __import__("kernelbench.explain.occupancy", fromlist=["x"]).for_gpu(
        gpus.get("h100"), k.threads_per_block, regs, k.facts["static_smem"], k.dynamic_smem)


def test_ladders_and_cli():
    assert [e.rung for e in core.ladder("reduce", gpu="a6000", counters=False)][:2] == ["cuda_01_atomic",
                                                                                     "cuda_02_tree_divergent"]
    run = [sys.executable, "-m", "kernelbench", "explain"]
    p = subprocess.run(run + ["cuda_04_blocktile_1d", "--gpu", "a6000", "--no-counters"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "speed-of-light bound" in p.stdout and "a bound, not a measurement" in p.stdout and "why:" in p.stdout
    p = subprocess.run(run + ["--ladder", "matmul", "--no-counters"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "cuda_15_tf32_mma_sync" in p.stdout, p.stderr
    p = subprocess.run(run + ["cuda_99_nothing"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "no CUDA C++ rung" in p.stderr


# Our rungs against the published per-kernel times of the same ideas (siboehm/SGEMM_CUDA README,
# commit 06d2cf5, RTX A6000, 4092^3 fp32, GFLOP/s): the counted bound of each of our rungs at that
# shape must not exceed the time the published kernel of the same idea ran in.
SAME_IDEA_A6000 = {"cuda_01_naive": 309.0, "cuda_02_coalesced": 1986.5, "cuda_03_smem_tiles": 2980.3,
                   "cuda_04_blocktile_1d": 8474.7, "cuda_05_blocktile_2d": 15971.7, "cuda_06_vectorized": 18237.3,
                   "cuda_07_warptile": 21779.3}


@pytest.mark.parametrize("rung,gflops", sorted(SAME_IDEA_A6000.items()))
def test_published_same_idea_kernels_never_beat_our_bound(rung, gflops):
    ex = core.explain(rung, (4092, 4092, 4092), "f32", "a6000", counters="recorded")
    if ex.basis != "counted":
        pytest.skip(f"no recorded counts of {rung} at 4092^3 for the A6000 (scripts/ladder_counts.py --gpu a6000 "
                    "--shape 4092x4092x4092)")
    assert 2 * 4092 ** 3 / (gflops * 1e9) >= ex.bound.seconds, (rung, ex.bound.binds)


def test_docs_blocks_say_bound_and_list_every_rung():
    from kernelbench.explain import docs
    for op in ("matmul", "reduce"):
        short = docs.table(op, "h100", short=True)
        assert "bound" in short and "not a measurement" in short
        assert all(f"`{r}`" in short for o, r in RUNGS if o == op)
    full = docs.table("matmul", "h100")
    assert full.count("- `cuda_") == sum(1 for o, _ in RUNGS if o == "matmul")   # one sentence per rung


def test_recorded_counts_are_current():
    """Every record of kernelbench/data/ladder_counts.json was taken from its rung's kernel code as it is
    now (re-record with scripts/ladder_counts.py RUNG)."""
    import json
    from kernelbench.explain import facts
    if not core.COUNTS_JSON.exists():
        pytest.skip("no recorded counts")
    by_name = {r: i for i in list_impls(device="cuda") for r in [i.name]}
    stale = []
    for key, rec in json.loads(core.COUNTS_JSON.read_text())["entries"].items():
        impl = by_name[key.split("|")[0]]
        entry = facts.load()["files"].get(impl.source) or {}
        if rec["source_key"] not in (entry.get("key"), entry.get("kernel_key")) or facts.staleness(impl.source) and \
                "kernel code" in facts.staleness(impl.source):
            stale.append(key)
    assert stale == []
