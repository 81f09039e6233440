"""The CPU as the CPU rungs see it: caches from the OS, cpu_05's blocking from the BLIS model (checked
against a second, Python writing of the model), the KB_CPU_BLOCKING override, the measured-peak
probes and the memory level a working set is compared with.  No timing is asserted beyond "the
probe measured something positive": figures are the benchmark's business."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kernelbench.bench import peaks

nat = peaks._native()
needs_native = pytest.mark.skipif(nat is None, reason="kernelbench._pybind not built")


def sysfs_caches() -> dict:
    """The data caches of CPU 0 read here independently of the C++ reader."""
    out = {}
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for idx in sorted(base.glob("index*")) if base.exists() else []:
        if (idx / "type").read_text().strip() == "Instruction":
            continue
        size = (idx / "size").read_text().strip()
        mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1], 1)
        out[int((idx / "level").read_text())] = {"bytes": int(size.rstrip("KMG")) * mult,
                                                 "ways": int((idx / "ways_of_associativity").read_text())}
    return out


def model(caches: dict, mr: int, nr: int, s: int, threads: int) -> tuple:
    """The BLIS analytical model as the header of csrc/cpu/matmul/05_analytic_blocking.cpp states
    it, written again: (mc, kc, nc)."""
    l1, l2, l3 = caches["L1d"], caches["L2"], caches.get("L3")
    way1 = l1["bytes"] // l1["ways"]
    ca = max(1, (l1["ways"] - 1) * mr // (mr + nr))
    kc = max(4, ca * way1 // (mr * s) // 4 * 4)
    way2 = l2["bytes"] // max(1, l2["shared_cpus"]) // l2["ways"]
    ca2 = max(1, l2["ways"] - 1 - math.ceil(kc * nr * s / way2))
    mc = max(mr, ca2 * way2 // (kc * s) // mr * mr)
    if not l3:
        return mc, kc, 4096
    way3 = min(l3["bytes"], 32 << 20) // l3["ways"]
    sharers = max(1, min(threads, l3["shared_cpus"]))
    cb3 = max(1, l3["ways"] - 1 - math.ceil(sharers * mc * kc * s / way3))
    return mc, kc, max(nr, cb3 * way3 // (kc * s) // nr * nr)


@needs_native
def test_caches_are_the_ones_the_os_reports():
    c = nat.cpu_caches()
    want = sysfs_caches()
    if not want:
        pytest.skip("no sysfs cache information here")
    assert c["source"] == "sysfs"
    assert (c["L1d"]["bytes"], c["L1d"]["ways"]) == (want[1]["bytes"], want[1]["ways"])
    assert (c["L2"]["bytes"], c["L2"]["ways"]) == (want[2]["bytes"], want[2]["ways"])
    if 3 in want:
        assert c["L3"]["bytes"] == want[3]["bytes"]


@needs_native
@pytest.mark.parametrize("dtype,size", [("float32", 4), ("float64", 8)])
def test_blocking_follows_the_model(dtype, size):
    b = nat.cpu_matmul_blocking(dtype)
    if b["source"] == "KB_CPU_BLOCKING":
        pytest.skip("KB_CPU_BLOCKING is set in this environment")
    assert b["source"] == "BLIS analytical model"
    lanes = (64 if b["isa"] == "avx512" else 32 if b["isa"] == "avx2" else 0) // size
    if lanes:   # MR x NV vectors of C, NV of B and a broadcast fit the vector registers
        nv = b["nr"] // lanes
        assert b["nr"] == nv * lanes and b["mr"] * nv + nv + 1 <= (32 if b["isa"] == "avx512" else 16)
        assert b["mr"] * nv >= 8                                          # >= latency x ports chains
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or len(os.sched_getaffinity(0))
    assert (b["mc"], b["kc"], b["nc"]) == model(nat.cpu_caches(), b["mr"], b["nr"], size, threads)
    # the blocks fit where the model puts them
    c = nat.cpu_caches()
    assert b["kc"] * b["nr"] * size <= c["L1d"]["bytes"]
    assert b["mc"] * b["kc"] * size <= c["L2"]["bytes"]


def test_the_model_reacts_to_the_caches():
    """The second writing is not a constant: other caches give other blocks (the check above can fail)."""
    zen3 = {"L1d": {"bytes": 32 << 10, "ways": 8}, "L2": {"bytes": 512 << 10, "ways": 8, "shared_cpus": 1},
            "L3": {"bytes": 32 << 20, "ways": 16, "shared_cpus": 2}}
    spr = {"L1d": {"bytes": 48 << 10, "ways": 12}, "L2": {"bytes": 2 << 20, "ways": 16, "shared_cpus": 1},
           "L3": {"bytes": 105 << 20, "ways": 15, "shared_cpus": 2}}
    assert model(zen3, 6, 16, 4, 2)[1] == 168          # the examples of the rung's header
    assert model(zen3, 6, 16, 4, 2)[0] == 582
    assert model(spr, 14, 32, 4, 2)[1] == 216
    assert model(zen3, 6, 16, 4, 2) != model(spr, 6, 16, 4, 2)


def _run_child(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


CHILD = """
import json, numpy as np
from kernelbench import _pybind as nat
b = nat.cpu_matmul_blocking("float32")
rng = np.random.default_rng(1)
a, bb = rng.standard_normal((301, 203)), rng.standard_normal((203, 157))
c = nat.matmul(a, bb, "cpu_05_analytic_blocking")[0]
print(json.dumps({"b": b, "err": float(np.abs(c - a @ bb).max())}))
"""


@needs_native
def test_blocking_override_is_used_and_still_correct():
    r = _run_child(CHILD, KB_CPU_BLOCKING="7,5,17")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    b = out["b"]
    assert b["source"] == "KB_CPU_BLOCKING"
    assert b["kc"] == 5 and b["mc"] % b["mr"] == 0 and b["mc"] >= 7 and b["nc"] % b["nr"] == 0 and b["nc"] >= 17
    assert out["err"] < 1e-9


@needs_native
def test_a_malformed_override_is_refused():
    r = _run_child(CHILD, KB_CPU_BLOCKING="64,x,32")
    assert r.returncode != 0
    assert "KB_CPU_BLOCKING" in r.stderr


@needs_native
def test_probes_measure_something():
    hw = nat.cpu_isa_hardware()
    if hw == "scalar":
        pytest.skip("no AVX2 here")
    f = nat.cpu_probe_fma("avx2", False, 1, 0.005)
    d = nat.cpu_probe_fma("avx2", True, 1, 0.005)
    assert f > 1e9 and d > 1e8
    assert nat.cpu_probe_fma("avx512", False, 1, 0.005) == 0 or hw == "avx512"
    assert nat.cpu_probe_fma("sse", False, 1, 0.005) == 0            # an unknown ISA measures nothing
    assert nat.cpu_probe_read(64 << 10, 1, 0.005) > 1e9


LEVELS = {"probes": {"levels": [
    {"level": "L1", "working_set": 32 << 10, "capacity": 64 << 10, "bandwidth": 400e9},
    {"level": "L2", "working_set": 512 << 10, "capacity": 1 << 20, "bandwidth": 150e9},
    {"level": "L3", "working_set": 16 << 20, "capacity": 32 << 20, "bandwidth": 60e9},
    {"level": "DRAM", "working_set": 128 << 20, "capacity": None, "bandwidth": 12e9}]},
    "bandwidth": 13e9}


def test_working_set_compared_with_its_level():
    p = {"device": "cpu", "measured": LEVELS, "bandwidth": 13e9, "bandwidth_source": "dram (measured)"}
    assert peaks.bandwidth_for(p, 40 << 10)[0] == 400e9 and peaks.bandwidth_for(p, 40 << 10)[2] == "L1"
    assert peaks.bandwidth_for(p, 1 << 20)[2] == "L2"
    assert peaks.bandwidth_for(p, 20 << 20)[2] == "L3"
    v, label, level = peaks.bandwidth_for(p, 256 << 20)
    assert (v, level) == (13e9, "dram") and "dram" in label
    # a GPU: its one figure, whatever the working set
    gpu = {"device": "cuda", "bandwidth": 3.35e12, "bandwidth_source": "datasheet"}
    assert peaks.bandwidth_for(gpu, 1 << 20) == (3.35e12, "datasheet", "dram")


def test_probe_levels_from_caches():
    caches = {"L1d": {"bytes": 32 << 10, "shared_cpus": 1}, "L2": {"bytes": 512 << 10, "shared_cpus": 1},
              "L3": {"bytes": 480 << 20, "shared_cpus": 2}}
    lv = {name: (ws, cap) for name, ws, cap in peaks.probe_levels(caches, 2)}
    assert lv["L1"] == (32 << 10, 64 << 10) and lv["L2"] == (512 << 10, 1 << 20)
    assert lv["L3"] == (16 << 20, 480 << 20)      # probed within LLC_CAP, capacity as reported
    assert lv["DRAM"][0] >= 4 * (32 << 20)


@needs_native
def test_cpu_peaks_are_the_probes_measurements():
    p = peaks.cpu_peaks()
    pr = p["measured"]["probes"]
    assert [lv["level"] for lv in pr["levels"]][-1] == "DRAM"
    assert all(lv["bandwidth"] > 0 for lv in pr["levels"])
    if pr["fma"]:
        assert p["flops_source"].startswith("measured FMA peak")
        assert p["flops"]["float32"] > 0 and p["flops"]["float64"] > 0
    assert p["bandwidth"] == pr["levels"][-1]["bandwidth"] and "read probe" in p["bandwidth_source"]
    assert pr["seconds"] < 10          # generous: a loaded 2-core machine; quiet it takes < 2 s


def test_cpu_gemm_suite_plans_the_best_rung_beside_the_libraries():
    from kernelbench import registry
    from kernelbench.bench.suites import Selection, plan
    groups, _ = plan(["cpu-gemm"], Selection(quick=True, devices=("cpu",)), ["cpu"])
    assert groups and all(g.suite == "cpu-gemm" and g.case.device == "cpu" for g in groups)
    best = [i.name for i in registry.list_impls(op="matmul", device="cpu") if i.native and i.rank == 1]
    assert len(best) == 1
    for g in groups:
        names = [i.name for i in g.impls]
        assert best[0] in names
        assert [n for n in names if n.startswith("cpu_")] == best      # no other native rung
        assert g.references                                              # measured beside a library
    assert {g.case.dtype for g in groups} == {"float32", "float64"}
    assert plan(["cpu-gemm"], Selection(quick=True), [])[0] == []        # no CPU: nothing


def test_without_the_probes_there_is_no_cpu_peak_and_the_table_says_why(monkeypatch):
    from kernelbench.bench.cases import Case
    from kernelbench.bench.run import fill_figures
    monkeypatch.setattr(peaks, "measure_cpu_probes", lambda: None)
    p = peaks.cpu_peaks()
    assert p["flops"] == {} and p["bandwidth"] is None and "measured" not in p
    for case in (Case("matmul", "cpu", "float32", (64, 64, 64)), Case("reduce", "cpu", "float32", (1 << 20,), "sum")):
        e = {"median_s": 1e-3}
        fill_figures(e, case, {"cpu": p})
        assert e["value"] > 0 and e["pct_peak"] is None
        assert e["peak_label"] == peaks.NO_PROBES and e["peak_label"].startswith("no % of peak")
