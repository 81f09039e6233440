"""The engine on fake registry entries (numpy callables): ok / FAILED / error / skipped, % of the
library rung, the too-slow rule, and Ctrl-C writing what was gathered.  No extension is needed."""
import math
import time

import numpy as np
import pytest

from kernelbench.bench import analysis, results
from kernelbench.bench import run as runmod
from kernelbench.bench.run import Runner
from kernelbench.bench.cases import Case
from kernelbench.bench.measure import StopRule
from kernelbench.bench.suites import Budget, Group, Selection, applicable, parse_sizes
from kernelbench.registry.core import REDUCE_OPS, Impl

FAST = Budget(0.0, StopRule(min_reps=3, max_reps=10, budget_s=0.02, target_rel_ci=0.05), max_call_s=5.0)
F32 = ("float32", "float64")


def _np(x):
    return x.numpy() if hasattr(x, "numpy") and not isinstance(x, np.ndarray) else np.asarray(x)


def fake(name, fn, layer="framework", op="matmul", available=None, backend="numpy", **kw):
    return Impl(name=name, op=op, layer=layer, device="cpu", dtypes=F32, front_doors=(backend,),
                adds=f"fake {name}", source="tests/test_bench_engine.py", backend=backend, fn=fn,
                available=available, **kw)


def slow_matmul(a, b):
    time.sleep(0.002)
    return a @ b


LIB = fake("lib_numpy", lambda a, b: a @ b)
SLOW = fake("slow_ours", slow_matmul, layer="numba")
WRONG = fake("wrong_ours", lambda a, b: a @ b + 1.0, layer="numba")
RAISES = fake("raises_ours", lambda a, b: (_ for _ in ()).throw(RuntimeError("kernel exploded")), layer="numba")
MISSING = fake("missing_ours", None, layer="cupy-nvrtc", available=lambda: "cupy is not installed")


def group(impls, case=None, **kw):
    case = case or Case("matmul", "cpu", "float32", (64, 64, 64))
    return Group(suite="ladder", case=case, impls=impls, references=["lib_numpy"], budget=kw.pop("budget", FAST), **kw)


FDS = {"torch": {"built": False, "cpu": False, "cuda": False, "reason": "not in this test"},
       "tf": {"built": False, "cpu": False, "cuda": False, "reason": "not in this test"},
       "pybind": {"built": False, "cpu": False, "cuda": False, "reason": "not in this test"}}


def test_statuses_and_library_ratio():
    r = Runner(peaks={"cpu": {"flops": {"float32": 1e12}, "flops_source": "test peak", "bandwidth": 1e10}}, fds=FDS)
    out = r.run_group(group([SLOW, WRONG, RAISES, MISSING, LIB]))
    by = {e["impl"]: e for e in out}
    assert by["slow_ours"]["status"] == "ok" and by["lib_numpy"]["status"] == "ok"
    assert by["wrong_ours"]["status"] == "failed" and "tolerance" in by["wrong_ours"]["reason"]
    assert by["wrong_ours"]["median_s"] is None             # never timed when wrong
    assert by["raises_ours"]["status"] == "error" and "kernel exploded" in by["raises_ours"]["reason"]
    assert by["missing_ours"]["status"] == "skipped" and by["missing_ours"]["reason"] == "cupy is not installed"
    slow, lib = by["slow_ours"], by["lib_numpy"]
    assert slow["median_s"] >= 0.002
    assert slow["pct_library"] == pytest.approx(100 * lib["median_s"] / slow["median_s"])
    assert lib["pct_library"] == pytest.approx(100.0) and slow["library_ref"] == "lib_numpy"
    assert slow["tflops"] == pytest.approx(2 * 64 ** 3 / slow["median_s"] / 1e12)
    assert slow["pct_peak"] == pytest.approx(100 * slow["tflops"] * 1e12 / 1e12)
    assert slow["peak_label"] == "test peak" and slow["threads"]["os_cpu_count"] >= 1
    assert [e["impl"] for e in analysis.ranked(out)] == ["lib_numpy", "slow_ours"]


def test_reduce_kwargs_and_rowwise_ops():
    def red(x, op="sum", dim=None, keepdim=False):
        return getattr(np, op)(_np(x), axis=dim, keepdims=keepdim)
    impl = fake("np_reduce", red, op="reduce", variants=REDUCE_OPS)
    for variant, dim in (("sum", None), ("mean", 1), ("max", 0), ("argmax", 1), ("argmin", None)):
        case = Case("reduce", "cpu", "float32", (33, 65), variant=variant, dim=dim)
        out = Runner(peaks={}, fds=FDS).run_group(Group("ladder", case, [impl], [], budget=FAST))
        assert out[0]["status"] == "ok", (variant, dim, out[0]["reason"])
        assert out[0]["gbps"] > 0 and out[0]["pct_peak"] is None       # no peak known: no %
    sm = fake("np_softmax", lambda x: np.exp(_np(x)) / np.exp(_np(x)).sum(-1, keepdims=True), op="softmax")
    out = Runner(peaks={}, fds=FDS).run_group(Group("ladder", Case("softmax", "cpu", "float32", (16, 100)), [sm], [],
                                                    budget=FAST))
    assert out[0]["status"] == "ok"


def test_too_slow_rungs_are_measured_at_a_smaller_size():
    def very_slow(a, b):
        time.sleep(1e-3 * (a.shape[0] / 32) ** 3)     # 1 ms at 32^3, 64 ms at 128^3
        return a @ b
    slow = fake("cubic_ours", very_slow, layer="numba")   # a handwritten layer: probed first
    budget = Budget(0.0, StopRule(min_reps=2, max_reps=3, budget_s=0.01, target_rel_ci=0.5), max_call_s=0.03)
    r = Runner(peaks={}, fds=FDS)
    out = r.run_group(group([slow, LIB], case=Case("matmul", "cpu", "float32", (128, 128, 128)), budget=budget))
    by = {(e["impl"], e["key"]): e for e in out}
    small = by[("cubic_ours", "matmul/cpu/float32/32x32x32")]
    assert small["status"] == "ok" and "too slow at 128x128x128" in small["note"]
    big = by[("cubic_ours", "matmul/cpu/float32/128x128x128")]
    assert big["status"] == "skipped" and "measured at 32x32x32" in big["reason"]
    assert [e["key"] for e in out][:2] == ["matmul/cpu/float32/128x128x128"] * 2   # the case first
    assert ("lib_numpy", "matmul/cpu/float32/32x32x32") in by          # library measured at the small size too
    assert by[("lib_numpy", "matmul/cpu/float32/128x128x128")]["status"] == "ok"
    assert small["pct_library"] is not None
    skip = Runner(peaks={}, fds=FDS).run_group(group([slow], case=Case("matmul", "cpu", "float32", (128, 128, 128)),
                                                     budget=budget, too_slow="skip"))
    assert skip[0]["status"] == "skipped" and skip[0]["reason"].startswith("too slow")


def test_native_rung_without_front_door_is_skipped():
    native = Impl(name="cpu_99_fake", op="matmul", layer="cpu", device="cpu", dtypes=F32,
                  front_doors=("torch", "tf", "pybind"), adds="x", source="csrc/cpu/matmul/99.cpp")
    out = Runner(peaks={}, fds=FDS).run_group(group([native]))
    assert out[0]["status"] == "skipped" and "front door" in out[0]["reason"]


def test_cuda_case_without_gpu_is_skipped(monkeypatch):
    monkeypatch.setattr(runmod, "cuda_available", lambda: False)
    impl = Impl(name="cuda_99", op="matmul", layer="handwritten-cuda", device="cuda", dtypes=F32,
                front_doors=("torch",), adds="x", source="x.cu")
    out = Runner(peaks={}, fds=FDS).run_group(Group("ladder", Case("matmul", "cuda", "float32", (8, 8, 8)), [impl], [],
                                                    budget=FAST))
    assert out[0]["status"] == "skipped" and out[0]["reason"] == "no CUDA device"


def test_applicable_filters_variants_and_dtypes():
    full = fake("full_only", None, op="reduce", variants=("sum",), full_only=True)
    assert applicable(full, Case("reduce", "cpu", "float32", (10,), variant="sum"))
    assert not applicable(full, Case("reduce", "cpu", "float32", (10, 10), variant="sum", dim=1))
    assert not applicable(full, Case("reduce", "cpu", "float32", (10,), variant="max"))
    assert not applicable(full, Case("reduce", "cpu", "float16", (10,), variant="sum"))


def test_parse_sizes():
    assert parse_sizes("1024,2^20") == {"all": [(1024, None), (1 << 20, None)]}
    s = parse_sizes("matmul=512x512x4096;reduce=1e6,128x4096x4095:1")
    assert s["matmul"] == [((512, 512, 4096), None)]
    assert s["reduce"] == [(1_000_000, None), ((128, 4096, 4095), 1)]
    with pytest.raises(ValueError):
        parse_sizes("matmul=abc")


def _patch_run(monkeypatch, groups):
    monkeypatch.setattr(runmod, "plan", lambda suites, sel, devices: (groups, []))
    monkeypatch.setattr(runmod, "frontdoors", lambda: FDS)
    monkeypatch.setattr(runmod, "measure_peaks", lambda devices, console: {})
    monkeypatch.setattr(runmod.results, "environment", lambda: {"test": True})
    monkeypatch.setattr(runmod, "cuda_available", lambda: False)


def test_run_writes_a_result_file_and_strict_exit_code(tmp_path, monkeypatch):
    from rich.console import Console
    _patch_run(monkeypatch, [group([SLOW, WRONG, LIB])])
    out = tmp_path / "r.json"
    code, path = runmod.run(["ladder"], Selection(quick=True), out=str(out), console=Console(file=open(tmp_path / "log", "w")),
                            make_report=False)
    assert code == 3 and path == out          # a rung FAILED: documented exit code 3
    data = results.read(out)
    assert data["schema_version"] == results.SCHEMA_VERSION and data["environment"] == {"test": True}
    assert {e["impl"]: e["status"] for e in data["entries"]} == {"slow_ours": "ok", "wrong_ours": "failed", "lib_numpy": "ok"}


def test_ctrl_c_writes_what_was_gathered(tmp_path, monkeypatch):
    from rich.console import Console

    def interrupt(a, b):
        raise KeyboardInterrupt
    ctrl_c = fake("ctrl_c", interrupt, layer="numba")
    _patch_run(monkeypatch, [group([LIB]), group([ctrl_c, SLOW]), group([SLOW])])
    out = tmp_path / "r.json"
    code, path = runmod.run(["ladder"], Selection(quick=True), out=str(out), console=Console(file=open(tmp_path / "log", "w")),
                            make_report=False)
    data = results.read(path)
    assert data["interrupted"] is True and code == 130
    assert [e["impl"] for e in data["entries"]][0] == "lib_numpy"
    assert data["entries"][0]["status"] == "ok"
    assert "slow_ours" not in [e["impl"] for e in data["entries"]]


def test_cpu_rungs_are_timed_again_round_robin():
    """With interleave_s, every measured CPU rung of a case gets the same number of round-robin
    turns; each turn throws its first calls away and keeps the later ones; the median over turns
    replaces the solo figure (kept under "solo"), the two are compared; failed rungs are left out."""
    from dataclasses import replace
    budget = replace(FAST, interleave_s=0.05, min_rounds=4, max_rounds=6, turn_warmup_s=0.004,
                     turn_measure_s=0.004, quiesce_max_s=0.01)
    r = Runner(peaks={}, fds=FDS)
    out = r.run_group(group([SLOW, WRONG, LIB], budget=budget))
    by = {e["impl"]: e for e in out}
    for name in ("slow_ours", "lib_numpy"):
        e = by[name]
        rr = e["timing"]["round_robin"]
        rounds = rr["rounds"]
        assert 4 <= rounds <= 6 and e["n"] == rounds and len(rr["turn_medians"]) == rounds
        assert "samples" not in rr and rr["calls_kept"] >= rounds and rr["warmup_calls"] >= rounds
        assert e["solo"]["n"] >= FAST.rule.min_reps and e["median_s"] == rr["median"] and e["figure"] == "round-robin"
        m = e["methods"]   # the verdict follows from the recorded figures (whatever the machine's noise)
        assert m["solo_s"] == e["solo"]["median_s"] and m["round_robin_s"] == e["median_s"]
        within = abs(math.log(m["ratio"])) <= math.log1p(m["tolerance"])
        assert (m["verdict"] == "agree") == within, m
        assert m["verdict"] in ("agree", "drift", "disagree") and (m["verdict"] == "agree" or m["explanation"])
        assert len(e["timing"]["samples"]) == e["solo"]["n"]       # the solo samples are kept too
    assert by["slow_ours"]["median_s"] >= 0.002           # the sleep is inside every round-robin call
    assert "solo" not in by["wrong_ours"] and "round_robin" not in (by["wrong_ours"]["timing"] or {})
    assert by["slow_ours"]["pct_library"] < 100


def test_method_agreement_verdicts():
    def e(key, impl, solo, rr):
        return {"suite": "sweep", "key": key, "impl": impl, "status": "ok", "median_s": rr, "rel_iqr": 0.02,
                "solo": {"median_s": solo, "rel_iqr": 0.02}}
    es = [e("a", "x", 1.0, 1.02), e("a", "y", 1.0, 450.0), e("a", "z", 1.0, 0.99),
          e("b", "x", 1.0, 1.3), e("b", "y", 2.0, 2.6), e("b", "z", 3.0, 3.9)]
    analysis.apply_method_agreement(es)
    v = [x["methods"]["verdict"] for x in es]
    assert v == ["agree", "disagree", "agree", "drift", "drift", "drift"]
    assert "450.00x the solo figure" in es[1]["methods"]["explanation"]


def test_probe_is_the_median_of_several_calls():
    """One stalled probe call (50 ms, where the others take 1 ms) does not skip a rung: the estimate
    is the median of several calls."""
    calls = {"n": 0}

    def stalls_once(a, b):
        calls["n"] += 1
        time.sleep(0.05 if calls["n"] == 2 else 1e-3 * (a.shape[0] / 32) ** 3)
        return a @ b
    impl = fake("stall_ours", stalls_once, layer="numba")
    budget = Budget(0.0, StopRule(min_reps=2, max_reps=3, budget_s=0.01, target_rel_ci=0.5), max_call_s=0.3)
    out = Runner(peaks={}, fds=FDS).run_group(group([impl], case=Case("matmul", "cpu", "float32", (128, 128, 128)),
                                                    budget=budget, too_slow="skip"))
    # 1 ms at 32^3 -> est. 64 ms x 1.5 at 128^3 (< 0.3 s); one 50 ms call alone would say 4.8 s
    assert out[0]["status"] == "ok", out[0]["reason"]
