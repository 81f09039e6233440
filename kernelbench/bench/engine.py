"""The run: every group of the plan, rung by rung -- verify, then time -- into result entries.

Robustness: a rung that raises is recorded with its error and the run goes on; a rung that cannot
run here (missing front door, device, package) is "skipped" with the reason; Ctrl-C stops the
run and the entries gathered so far are still written.
"""
from __future__ import annotations

import gc
import math
import random
import sys
import traceback
from contextlib import contextmanager
from dataclasses import replace
from typing import Callable, Optional

from . import analysis
from .backends import Prepared, cuda_available, cuda_memory_probe, prepare, to_master
from .cases import Case, Skip, check, make_inputs, reference
from .figures import arithmetic_intensity, pct, throughput
from .measure import (CudaEvents, MachineLoad, StopRule, WallClock, fixed, measure, median, quiesce, summarize,
                      thread_info, timed, turn)
from .peaks import bandwidth_for, peak_for
from .results import Entry, honest_pct
from .suites import HANDWRITTEN, Budget, Group, OverheadItem

PROBE_FACTOR = 4          # matmul probe: every dim / 4 (work / 64)
PROBE_SAFETY = 1.5        # larger problems fall out of cache: be pessimistic about the estimate
# the probe's estimate: the median of 3 to 7 calls within 0.5 s (one call is never an estimate: a stall)
PROBE_RULE = StopRule(min_reps=3, max_reps=7, budget_s=0.5, target_rel_ci=None, hard_factor=math.inf)


def _err_text(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}"[:300]


class _Outcome(dict):
    """status / reason of a step, set by `recorded` when the step raised."""


@contextmanager
def recorded(e, prefix: str = "", trace: bool = False):
    """Run one step of a rung into entry (or outcome) `e`: Skip -> "skipped" with its reason, any
    other exception -> "error" (with `prefix`, and the last frames when `trace`); Ctrl-C goes on up."""
    try:
        yield e
    except KeyboardInterrupt:
        raise
    except Skip as s:
        e["status"], e["reason"] = "skipped", str(s)
    except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
        e["status"], e["reason"] = "error", prefix + _err_text(exc)
        if trace:
            e["traceback"] = traceback.format_exc(limit=-4)[-2000:]


def _compact(xs) -> list:
    """Samples as stored: 4 significant digits are far below the noise and keep the file small."""
    return [float(f"{x:.4g}") for x in xs]


def _stat_fields(st) -> dict:
    """The timing figures of an entry, from one set of statistics."""
    return {"median_s": st.median, "iqr_s": st.iqr, "q1_s": st.q1, "q3_s": st.q3, "n": st.n,
            "rel_iqr": st.rel_iqr, "noisy": st.noisy}


def new_entry(suite: str, impl, case: Case, library: list, preferred: tuple, series: str = "") -> Entry:
    e = Entry(suite=suite, key=case.key, impl=impl.name, label=case.label, case=case.to_dict(), op=case.op,
              variant=case.variant, dtype=case.dtype, device=case.device, layer=impl.layer, native=bool(impl.native),
              adds=impl.adds, source=impl.source, impl_note=impl.note,
              role="reference" if impl.name in library else "rung", library_candidates=list(library),
              library_preferred=list(preferred), note=case.note, flops=case.flops, bytes=case.nbytes,
              metric=case.metric, intensity=arithmetic_intensity(case.flops, case.nbytes))
    if series:
        e["series"], e["size"] = series, case.shape[0]
    return e


def fill_figures(e: dict, case: Case, peaks: dict) -> None:
    t = e["median_s"]
    tp = throughput(case.flops, case.nbytes, t)
    e["tflops"], e["gbps"] = tp["tflops"], tp["gbps"]
    e["value"] = tp[case.metric]
    dev_peaks = peaks.get(case.device)
    if case.metric == "tflops":
        pk, label = peak_for(dev_peaks, "flops", case.precision or case.dtype)
        e["pct_peak"] = pct(tp["tflops"] * 1e12 if tp["tflops"] is not None else None, pk)
    else:
        # the bandwidth of the level the data lives in (CPU: measured per level, peaks.bandwidth_for)
        pk, label, e["peak_level"] = bandwidth_for(dev_peaks, case.nbytes)
        e["pct_peak"] = pct(tp["gbps"] * 1e9 if tp["gbps"] is not None else None, pk)
    e["peak_label"] = label
    honest_pct(e)


class Runner:
    """Runs groups and overhead items; collects entries into `self.entries` as it goes."""

    def __init__(self, peaks: dict, progress=None, on_group_done: Optional[Callable] = None,
                 keep_samples=True, fds: Optional[dict] = None, log: Callable = print):
        self.peaks = peaks
        self.progress = progress
        self.task = None
        self.on_group_done = on_group_done
        self.keep_samples = keep_samples
        self.fds = fds
        self.log = log
        self.entries: list = []
        self.history: dict = {}           # (op, impl, device, series) -> (flops, seconds)
        self.scaled_refs_done: set = set()
        self._preps: dict = {}            # id(entry) -> its prepared call, until the round-robin

    # ---------------------------------------------------------------- progress
    def _advance(self, text: str, step: int = 0) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=text, advance=step)

    # ---------------------------------------------------------------- groups
    def _inputs(self, case: Case) -> tuple:
        """(master inputs, reference, outcome): a non-empty outcome says why there are none."""
        setup = _Outcome()
        if case.device == "cuda" and not cuda_available():
            setup.update(status="skipped", reason="no CUDA device")
            return None, None, setup
        with recorded(setup, "inputs / reference: "):
            master = make_inputs(case)
            return master, reference(case, master), setup
        return None, None, setup

    def _entry(self, g: Group, impl, case: Case, out: list) -> Entry:
        e = new_entry(g.suite, impl, case, g.references, g.preferred, g.series)
        out.append(e)
        self.entries.append(e)
        return e

    def run_group(self, g: Group) -> list:
        case = g.case
        out: list = []
        self._advance(f"{g.suite} · {case.label} · inputs")
        master, ref, setup = self._inputs(case)
        extras: list = []           # measurements at a smaller size, shown after the case
        load = MachineLoad().start()
        for impl in g.impls:
            self._advance(f"{g.suite} · {case.label} · {impl.name}")
            e = self._entry(g, impl, case, out)
            if setup:
                e.update(setup)
            else:
                small = self.run_impl(g, impl, case, master, ref, e)
                if small is not None:
                    extras.append(small)
            self._advance(f"{g.suite} · {case.label} · {impl.name}", step=1)
        busy = load.stop()
        for e in out:
            e["machine_busy"] = busy
        self._interleave(g, case, out)
        del master, ref
        self._free()
        by_case: dict = {}
        for impl, small in extras:
            by_case.setdefault(small.key, (small, []))[1].append(impl)
        for small, impls in by_case.values():
            note = (f"{', '.join(i.name for i in impls)}: too slow at {case.shape_str} "
                    f"(> {g.budget.max_call_s:g} s per call), measured here beside the library rungs")
            out += self._scaled(g, impls, replace(small, note=note))
        analysis.apply_library_ratios(out)
        if self.on_group_done:
            self.on_group_done(g, out)
        return out

    def _interleave(self, g: Group, case: Case, entries: list) -> None:
        """CPU: time every measured rung of the case again, round-robin, each round in a shuffled
        order: a shared machine's speed drifts over seconds, and the turns of a round see the same
        moments, so the ratios between rungs hold.  A turn waits for the other runtimes' spinning
        workers to park (quiesce) and throws its first calls away (measure.turn's docstring says why;
        scripts/handover_experiment.py measures it).  The figure is the median over rounds of each
        turn's median; the solo figures stay under "solo" (compared: analysis.apply_method_agreement)."""
        preps, self._preps = self._preps, {}
        ok = [(e, preps[id(e)]) for e in entries if e.get("status") == "ok" and id(e) in preps]
        if len(ok) < 2:
            return
        budget = g.budget
        per_round = sum(e["median_s"] if e["median_s"] >= budget.turn_long_call_s else
                        max(e["median_s"], budget.turn_warmup_s) + max(e["median_s"], budget.turn_measure_s)
                        for e, _ in ok)
        rounds = int(min(budget.max_rounds, max(budget.min_rounds, budget.interleave_s / per_round)))
        turns: dict = {id(e): [] for e, _ in ok}
        self._advance(f"{g.suite} · {case.label} · round-robin x{rounds}")
        order = random.Random(len(ok) * 7919 + rounds)   # reproducible; every rung meets every neighbour
        load = MachineLoad().start()
        try:
            for _ in range(rounds):
                for e, prep in order.sample(ok, len(ok)):
                    q = quiesce(max_wait_s=budget.quiesce_max_s)
                    t = turn(prep.call, prep.sync, budget.turn_warmup_s, budget.turn_measure_s,
                             keep_first=e["median_s"] >= budget.turn_long_call_s)
                    turns[id(e)].append((t, q))
        except KeyboardInterrupt:
            raise
        except Exception as exc:   # keep the solo figures
            self.log(f"round-robin timing of {case.label} abandoned: {_err_text(exc)}")
            return
        busy = load.stop()
        for e, _ in ok:
            ts = turns[id(e)]
            per_turn = [t.stats.median for t, _ in ts]
            st = summarize(per_turn)
            e["solo"] = {k: e[k] for k in ("median_s", "iqr_s", "q1_s", "q3_s", "n", "rel_iqr")}
            e.update(_stat_fields(st))
            e["figure"] = "round-robin"
            rr = {"rounds": rounds, "turn_warmup_s": budget.turn_warmup_s, "turn_measure_s": budget.turn_measure_s,
                  "calls_kept": sum(len(t.seconds) for t, _ in ts),
                  "warmup_calls": sum(t.warmup_calls for t, _ in ts),
                  "first_call_median_s": median([t.first_s for t, _ in ts]),
                  "quiesce_median_s": median([q["waited_s"] for _, q in ts]),
                  "quiesce_unsettled": sum(1 for _, q in ts if q["settled"] is False),
                  "turn_medians": _compact(per_turn), "machine_busy": busy, **st.to_dict()}
            if self.keep_samples == "all":
                rr["samples"] = [_compact(t.seconds) for t, _ in ts]
            e["timing"] = {**e["timing"], "round_robin": rr}
            if busy is not None:
                e["machine_busy"] = max(busy, e.get("machine_busy") or 0.0)
            fill_figures(e, case, self.peaks)
        analysis.apply_method_agreement(entries)

    def _free(self) -> None:
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and cuda_available():
            torch.cuda.empty_cache()

    def _scaled(self, g: Group, impls: list, case: Case) -> list:
        """Measure too-slow rungs at the smaller `case`, and the library rungs there too (once)."""
        out: list = []
        master, ref, setup = self._inputs(case)
        if setup:
            for impl in impls:
                self._entry(g, impl, case, out).update(setup)
            return out
        todo = list(impls)
        if case.key not in self.scaled_refs_done:
            self.scaled_refs_done.add(case.key)
            todo += [i for i in g.impls if i.name in g.references and all(i is not j for j in impls)]
        for i in todo:
            self._advance(f"{g.suite} · {case.label} · {i.name}")
            e = self._entry(g, i, case, out)
            self.measure_impl(g, i, case, master, ref, e)
        self._interleave(g, case, out)
        del master, ref
        self._free()
        return out

    # ---------------------------------------------------------------- one rung
    def run_impl(self, g: Group, impl, case: Case, master, ref, e: dict) -> Optional[tuple]:
        """Fill entry `e`.  Returns (impl, smaller case) when the rung is too slow here and is to be
        measured at that smaller size instead (the ladder's rule); `e` then says so."""
        budget = g.budget
        if impl.name in g.skip:
            e["status"], e["reason"] = "skipped", g.skip[impl.name]
            return None
        est = None
        with recorded(e):
            est = self._estimate(g, impl, case)
        if e["status"]:
            return None
        if est is not None and est[0] > budget.max_call_s:
            t_est, small, t_small = est
            e["status"] = "skipped"
            if g.too_slow == "scale" and small is not None and t_small <= budget.max_call_s:
                e["reason"] = f"too slow at this size (est. {t_est:.3g} s per call); measured at {small.shape_str}"
                return impl, small
            e["reason"] = f"too slow: est. {t_est:.3g} s per call > {budget.max_call_s:g} s cap at this size"
            return None
        self.measure_impl(g, impl, case, master, ref, e)
        return None

    def _estimate(self, g: Group, impl, case: Case):
        """(estimated seconds per call at `case`, the probe case, its time) or None."""
        hkey = (case.op, impl.name, case.device, g.series)
        if g.series and hkey in self.history:
            flops, t = self.history[hkey]
            return (t * case.flops / flops, None, t) if flops else None
        if not g.probe or impl.layer not in HANDWRITTEN or case.op != "matmul":
            return None
        small = case.scaled(PROBE_FACTOR)
        if small.flops >= case.flops:
            return None
        sm = make_inputs(small)
        prep = prepare(impl, small, sm, flush=False, fds=self.fds)
        # the first call may compile or wake a pool: a warm-up, not counted
        t = measure(prep.call, prep.sync, PROBE_RULE, min_warmup=1).stats.median
        del prep, sm
        return (t * case.flops / small.flops * PROBE_SAFETY, small, t)

    def measure_impl(self, g: Group, impl, case: Case, master, ref, e: dict) -> None:
        budget: Budget = g.budget
        with recorded(e, "preparing inputs: "):
            prep: Prepared = prepare(impl, case, master, flush=budget.flush, fds=self.fds)
        if e["status"]:
            return
        e["backend"], e["front_door"] = prep.backend, prep.front_door
        if case.device == "cpu":
            e["threads"] = thread_info()
        if budget.cooldown_s:   # the previous rung's workers parked (OpenBLAS spins ~0.1 s after a call)
            quiesce(max_wait_s=budget.cooldown_s)
        timing = None
        with recorded(e, trace=True):
            # 1. verify before timing (the first call also pays any compilation)
            mem = cuda_memory_probe() if case.device == "cuda" else None
            base = mem[0]() if mem else None
            out, e["first_call_s"] = timed(prep.call, prep.sync)
            if g.series:   # even a wrong answer tells how long the next size would take
                self.history[(case.op, impl.name, case.device, g.series)] = (case.flops, e["first_call_s"])
            if mem:
                e["peak_mem_bytes"] = mem[1](base)
            chk = check(case, master, ref, to_master(out, master[0]))
            del out
            e["max_abs_err"], e["err_ratio"] = chk.max_abs_err, chk.err_ratio
            if not chk.ok:
                e["status"], e["reason"] = "failed", chk.reason
                return
            # 2. time
            timing = measure(prep.call, prep.sync, budget.rule(), prep.clock, budget.warmup_s, min_warmup=1)
        if timing is None:
            return
        if g.budget.interleave_s and case.device == "cpu":
            self._preps[id(e)] = prep   # timed again round-robin with the case's other rungs
        st = timing.stats
        e.update({"status": "ok", **_stat_fields(st), "timing": timing.to_dict(keep_samples=False), "figure": "solo"})
        if self.keep_samples:
            e["timing"]["samples"] = _compact(timing.seconds)
        fill_figures(e, case, self.peaks)
        if g.series or case.op == "matmul":
            self.history[(case.op, impl.name, case.device, g.series)] = (case.flops, st.median)

    # ---------------------------------------------------------------- overhead
    def run_overhead(self, item: OverheadItem, quick: bool) -> dict:
        """Per-call cost at a tiny size through one front door: the wall time of n back-to-back calls
        then one sync, per call (median over rounds); on a GPU also CUDA events around the same loop
        (device time); host overhead = wall - device."""
        case, impl = item.case, item.impl
        e = new_entry("overhead", impl, case, [], ())
        e["front_door"] = item.door
        e["backend"] = "native" if impl.native else impl.backend
        self._advance(f"overhead · {case.label} · {item.door} · {impl.name}")
        with recorded(e):
            master = make_inputs(case)
            ref = reference(case, master)
            prep = prepare(impl, case, master, flush=False, fds=self.fds, door=item.door if impl.native else None)
            out, _ = timed(prep.call, prep.sync)            # the first call may compile: not counted
            chk = check(case, master, ref, to_master(out, master[0]))
            single = timed(prep.call, prep.sync)[1]
            e["max_abs_err"], e["err_ratio"] = chk.max_abs_err, chk.err_ratio
            if not chk.ok:
                e["status"], e["reason"] = "failed", chk.reason
            else:
                n = int(min(20000, max(5, (0.005 if quick else 0.02) / max(single, 1e-7))))
                rounds = fixed(3 if quick else 7)
                wall = measure(prep.call, prep.sync, rounds, WallClock(), min_warmup=1, calls_per_sample=n).stats
                dev = (measure(prep.call, prep.sync, rounds, CudaEvents(flush=False), calls_per_sample=n).stats.median
                       if isinstance(prep.clock, CudaEvents) else None)
                e.update({"status": "ok", "median_s": wall.median, "wall_s": wall.median, "iqr_s": wall.iqr,
                          "device_s": dev, "overhead_s": None if dev is None else max(0.0, wall.median - dev),
                          "n": n * wall.n, "rel_iqr": wall.rel_iqr, "noisy": wall.noisy})
        self.entries.append(e)
        self._advance(f"overhead · {case.label} · {item.door}", step=1)
        return e
