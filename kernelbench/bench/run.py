"""`kernelbench run`: every group of the plan, rung by rung -- verify, then time -- into result
entries, a table per case, the result file (also after Ctrl-C) and the HTML report.  A rung that
raises is recorded with its error, one that cannot run here is skipped with the reason."""
from __future__ import annotations

import gc
import math
import random
import sys
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from . import analysis, results
from ..report import model, terminal as con
from .backends import cuda_available, frontdoors, prepare, to_master
from .cases import Case, Skip, check, make_inputs, reference
from .measure import (CudaEvents, MachineLoad, StopRule, WallClock, fixed, measure, median, quiesce,
                      release_flush_buffers, summarize, thread_info, timed, turn)
from .peaks import bandwidth_for, cpu_peaks, gpu_peaks, peak_for
from .results import Entry, honest_pct
from .suites import HANDWRITTEN, Group, Selection, plan

PROBE_FACTOR = 4          # matmul probe: every dim / 4 (work / 64)
PROBE_SAFETY = 1.5        # larger problems fall out of cache: be pessimistic about the estimate
# the probe's estimate: the median of 3 to 7 calls within 0.5 s (one call is never an estimate: a stall)
PROBE_RULE = StopRule(min_reps=3, max_reps=7, budget_s=0.5, target_rel_ci=None, hard_factor=math.inf)


def _err_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {next(iter(str(exc).strip().splitlines()), '')}"[:300]


@contextmanager
def recorded(e, prefix: str = "", trace: bool = False):
    """A step into entry `e`: Skip -> "skipped" (its reason), else "error" (`trace`: the last frames too)."""
    try:
        yield e
    except Skip as s:
        e["status"], e["reason"] = "skipped", str(s)
    except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
        e["status"], e["reason"] = "error", prefix + _err_text(exc)
        if trace:
            e["traceback"] = traceback.format_exc(limit=-4)[-2000:]


def _compact(xs) -> list:   # samples as stored: 4 significant digits are far below the noise
    return [float(f"{x:.4g}") for x in xs]


def _stat_fields(st, figure: str) -> dict:
    return {"median_s": st.median, "iqr_s": st.iqr, "q1_s": st.q1, "q3_s": st.q3, "n": st.n,
            "rel_iqr": st.rel_iqr, "noisy": st.noisy, "figure": figure}


def new_entry(suite: str, impl, case: Case, library: list, preferred: tuple, series: str = "") -> Entry:
    return Entry(suite=suite, key=case.key, impl=impl.name, label=case.label, case=case.to_dict(), op=case.op,
                 variant=case.variant, dtype=case.dtype, device=case.device, layer=impl.layer, native=bool(impl.native),
                 adds=impl.adds, source=impl.source, impl_note=impl.note,
                 role="reference" if impl.name in library else "rung", library_candidates=list(library),
                 library_preferred=list(preferred), note=case.note, flops=case.flops, bytes=case.nbytes,
                 metric=case.metric, intensity=case.flops / case.nbytes if case.nbytes else None,
                 **({"series": series, "size": case.shape[0]} if series else {}))


def fill_figures(e: dict, case: Case, peaks: dict) -> None:
    """Throughput and % of peak: of the FLOP rate, or of the bandwidth of the level the data lives in."""
    t = e["median_s"]
    e["tflops"], e["gbps"] = (case.flops / t / 1e12, case.nbytes / t / 1e9) if t else (None, None)
    e["value"] = e[case.metric]
    if case.metric == "tflops":
        pk, e["peak_label"] = peak_for(peaks.get(case.device), case.precision or case.dtype)
    else:
        pk, e["peak_label"], e["peak_level"] = bandwidth_for(peaks.get(case.device), case.nbytes)
    unit = 1e12 if case.metric == "tflops" else 1e9     # the value's: TFLOP/s or GB/s
    e["pct_peak"] = 100.0 * e["value"] * unit / pk if e["value"] is not None and pk else None
    honest_pct(e)


class Runner:
    """Runs groups into `self.entries`; `step(text, advance)` shows progress; `quick`: the overhead suite's
    short rounds."""

    def __init__(self, peaks: dict, step: Callable = lambda text, advance=0: None, fds: Optional[dict] = None,
                 quick: bool = False):
        self.peaks, self.step, self.fds, self.quick = peaks, step, fds, quick
        self.entries: list = []
        self.history: dict = {}   # (impl, device, series) -> (flops, seconds of a call): the sweep's estimates

    def run_group(self, g: Group) -> list:
        """The group's case, then the rungs too slow for it at the probe's size beside the library."""
        out, slow = self._run_case(g, g.case, g.impls, main=True)
        if slow:
            small = g.case.scaled(PROBE_FACTOR, note=f"{', '.join(i.name for i in slow)}: too slow at "
                                  f"{g.case.shape_str} (> {g.budget.max_call_s:g} s per call), measured here "
                                  "beside the library rungs")
            out += self._run_case(g, small, slow + [i for i in g.impls if i.name in g.references], main=False)[0]
        analysis.apply_library_ratios(out)
        return out

    def _run_case(self, g: Group, case: Case, impls: list, main: bool) -> tuple:
        """Verify and time each rung on `case`, then round-robin: (entries, the rungs too slow here)."""
        out, too_slow, timed_rungs, setup = [], [], [], {}
        master = ref = None
        with recorded(setup, "inputs / reference: "):
            if case.device == "cuda" and not cuda_available():
                raise Skip("no CUDA device")
            master = make_inputs(case)
            ref = reference(case, master)
        load = MachineLoad().start()
        for impl in impls:
            self.step(f"{g.suite} · {case.label} · {impl.name}")
            e = new_entry(g.suite, impl, case, g.references, g.preferred, g.series)
            out.append(e)
            self.entries.append(e)
            if setup or impl.name in g.skip:
                e.update(setup or {"status": "skipped", "reason": g.skip[impl.name]})
            elif main and self._too_slow(g, impl, case, e):
                too_slow.append(impl)
            elif not e["status"]:
                prep = (self._overhead if g.door else self._measure)(g, case, impl, master, ref, e)
                if g.series and e["first_call_s"]:   # the next size's estimate (also from a wrong answer)
                    self.history[(impl.name, case.device, g.series)] = (case.flops, e["median_s"] or e["first_call_s"])
                if prep is not None and g.budget.interleave_s and case.device == "cpu":
                    timed_rungs.append((e, prep))
            self.step(f"{g.suite} · {case.label} · {impl.name}", int(main))
        busy = load.stop()
        for e in out:
            e["machine_busy"] = busy
        self._interleave(g, case, out, timed_rungs)
        del master, ref, timed_rungs
        gc.collect()
        if cuda_available():
            sys.modules["torch"].cuda.empty_cache()
        return out, too_slow

    def _too_slow(self, g: Group, impl, case: Case, e: Entry) -> bool:
        """Skip `e` when a call is estimated over max_call_s (from the series' last size, or a probe of a
        handwritten matmul rung at 1/PROBE_FACTOR of each dim); True: measure it at the probe's size."""
        t_est = t_small = None
        hkey, small = (impl.name, case.device, g.series), case.scaled(PROBE_FACTOR)
        with recorded(e):
            if g.series and hkey in self.history:
                flops, t = self.history[hkey]
                t_est = t * case.flops / flops if flops else None
            elif g.too_slow and impl.layer in HANDWRITTEN and case.op == "matmul" and small.flops < case.flops:
                prep = prepare(impl, small, make_inputs(small), flush=False, fds=self.fds)
                # the first call may compile or wake a pool: a warm-up, not counted
                t_small = measure(prep.call, prep.sync, PROBE_RULE, min_warmup=1).stats.median
                t_est = t_small * case.flops / small.flops * PROBE_SAFETY
        if t_est is None or t_est <= g.budget.max_call_s:
            return False
        cap = g.budget.max_call_s
        scale = g.too_slow == "scale" and t_small is not None and t_small <= cap
        e["status"], e["reason"] = "skipped", (
            f"too slow at this size (est. {t_est:.3g} s per call); measured at {small.shape_str}" if scale
            else f"too slow: est. {t_est:.3g} s per call > {cap:g} s cap at this size")
        return scale

    def _verify(self, case: Case, prep, master, ref, e: Entry) -> bool:
        """The first call (it pays any compilation) against the fp64 reference: a wrong rung is FAILED."""
        out, e["first_call_s"] = timed(prep.call, prep.sync)
        chk = check(case, master, ref, to_master(out, master[0]))
        e["max_abs_err"], e["err_ratio"] = chk.max_abs_err, chk.err_ratio
        if not chk.ok:
            e["status"], e["reason"] = "failed", chk.reason
        return chk.ok

    def _measure(self, g: Group, case: Case, impl, master, ref, e: Entry):
        """Verify, then time one rung alone; returns its prepared call when timed."""
        with recorded(e, "preparing inputs: "):
            prep = prepare(impl, case, master, fds=self.fds)
        if e["status"]:
            return None
        e["backend"], e["front_door"] = prep.backend, prep.front_door
        if case.device == "cpu":
            e["threads"] = thread_info()
        if g.budget.cooldown_s:   # the previous rung's workers parked (OpenBLAS spins ~0.1 s after a call)
            quiesce(max_wait_s=g.budget.cooldown_s)
        timing = None
        with recorded(e, trace=True):
            if self._verify(case, prep, master, ref, e):
                timing = measure(prep.call, prep.sync, g.budget.rule, prep.clock, g.budget.warmup_s, min_warmup=1)
        if timing is None:
            return None
        e.update({"status": "ok", **_stat_fields(timing.stats, "solo"), "timing": timing.to_dict()})
        e["timing"]["samples"] = _compact(timing.seconds)
        fill_figures(e, case, self.peaks)
        return prep

    def _interleave(self, g: Group, case: Case, entries: list, timed_rungs: list) -> None:
        """CPU: time the case's rungs again, round-robin in shuffled rounds (a shared machine's speed drifts;
        a round's turns see the same moments, so the ratios hold).  A turn waits for other pools to park
        and throws its first calls away (measure.turn).  The figure: the median over rounds of each turn's
        median; the solo figures stay under "solo" (analysis.apply_method_agreement compares them)."""
        if len(timed_rungs) < 2:
            return
        b = g.budget
        per_round = sum(e["median_s"] if e["median_s"] >= b.turn_long_call_s else
                        max(e["median_s"], b.turn_warmup_s) + max(e["median_s"], b.turn_measure_s)
                        for e, _ in timed_rungs)
        rounds = int(min(b.max_rounds, max(b.min_rounds, b.interleave_s / per_round)))
        turns: list = [[] for _ in timed_rungs]   # per rung: (its turn's samples, the quiesce before it)
        self.step(f"{g.suite} · {case.label} · round-robin x{rounds}")
        order = random.Random(len(timed_rungs) * 7919 + rounds)   # reproducible; every rung meets every neighbour
        load = MachineLoad().start()
        try:
            for _ in range(rounds):
                for i in order.sample(range(len(timed_rungs)), len(timed_rungs)):
                    (e, prep), q = timed_rungs[i], quiesce(max_wait_s=b.quiesce_max_s)
                    turns[i].append((turn(prep.call, prep.sync, b.turn_warmup_s, b.turn_measure_s,
                                          keep_first=e["median_s"] >= b.turn_long_call_s), q))
        except Exception as exc:   # keep the solo figures
            print(f"round-robin timing of {case.label} abandoned: {_err_text(exc)}")
            return
        busy = load.stop()
        for (e, _), ts in zip(timed_rungs, turns):
            per_turn = [t.stats.median for t, _ in ts]
            st = summarize(per_turn)
            e["solo"] = {k: e[k] for k in ("median_s", "iqr_s", "q1_s", "q3_s", "n", "rel_iqr")}
            e.update(_stat_fields(st, "round-robin"))
            rr = {"rounds": rounds, "turn_warmup_s": b.turn_warmup_s, "turn_measure_s": b.turn_measure_s,
                  "calls_kept": sum(len(t.seconds) for t, _ in ts), "warmup_calls": sum(t.warmup_calls for t, _ in ts),
                  "first_call_median_s": median([t.first_s for t, _ in ts]),
                  "quiesce_median_s": median([q["waited_s"] for _, q in ts]),
                  "quiesce_unsettled": sum(1 for _, q in ts if q["settled"] is False),
                  "turn_medians": _compact(per_turn), "machine_busy": busy, **st.to_dict()}
            e["timing"] = {**e["timing"], "round_robin": rr}
            if busy is not None:
                e["machine_busy"] = max(busy, e.get("machine_busy") or 0.0)
            fill_figures(e, case, self.peaks)
        analysis.apply_method_agreement(entries)

    def _overhead(self, g: Group, case: Case, impl, master, ref, e: Entry) -> None:
        """Per-call cost through the group's front door: the wall time of n calls and one sync, per call
        (median over rounds); on a GPU also CUDA events around it (device time); overhead = wall - device."""
        e["front_door"], e["backend"] = g.door, "native" if impl.native else impl.backend
        with recorded(e):
            prep = prepare(impl, case, master, flush=False, fds=self.fds, door=g.door if impl.native else None)
            if self._verify(case, prep, master, ref, e):
                single = timed(prep.call, prep.sync)[1]
                n = int(min(20000, max(5, (0.005 if self.quick else 0.02) / max(single, 1e-7))))
                rounds = fixed(3 if self.quick else 7)
                wall = measure(prep.call, prep.sync, rounds, WallClock(), min_warmup=1, calls_per_sample=n).stats
                dev = (measure(prep.call, prep.sync, rounds, CudaEvents(flush=False), calls_per_sample=n).stats.median
                       if isinstance(prep.clock, CudaEvents) else None)
                e.update({"status": "ok", "median_s": wall.median, "wall_s": wall.median, "iqr_s": wall.iqr,
                          "device_s": dev, "overhead_s": None if dev is None else max(0.0, wall.median - dev),
                          "n": n * wall.n, "rel_iqr": wall.rel_iqr, "noisy": wall.noisy})


def _attempt(console: Console, what: str, fn, default=None):
    """fn(), or `default` and a line saying why: what fails here must not lose the measurements."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        console.print(f"[yellow]{what}: {type(exc).__name__}: {exc}[/]")
        return default


def measure_peaks(devices: list, console: Console) -> dict:
    """The peaks of each device present, measured where they can be (else % of peak is "-")."""
    probes = {"cpu": cpu_peaks, "cuda": gpu_peaks}
    return {d: p for d in devices
            if (p := _attempt(console, f"{'GPU' if d == 'cuda' else 'CPU'} peaks unavailable", probes[d])) is not None}


def run(suites: list, sel: Selection, out: Optional[str] = None, argv: Optional[list] = None,
        console: Optional[Console] = None, report_dir: Optional[str] = None,
        make_report: bool = True) -> tuple[int, Optional[Path]]:
    """Returns (exit code: 3 when a rung FAILED or raised, 130 interrupted; result path)."""
    console = console or Console()
    load = MachineLoad().start()        # also the run's clock
    devices = [d for d in ("cpu", "cuda") if d in sel.devices and (d == "cpu" or cuda_available())]
    data = results.new_result(suites, argv or sys.argv, sel.quick, asdict(sel))
    with console.status("collecting the environment and measuring peaks ..."):
        data.update(devices=devices, environment=results.environment(), frontdoors=frontdoors(),
                    peaks=measure_peaks(devices, console), threads=thread_info())
    data["machine_busy_at_start"] = busy = load.stop()
    if busy is not None and busy > analysis.BUSY_CORES:
        console.print(f"[yellow]other processes keep {busy:.2f} cores busy: CPU figures measured now are suspect "
                      f"(each case records it; a quiet machine is needed for results worth committing)[/]")
    groups, overhead = plan(suites, sel, devices)
    from ..rungs.vendor import vendor_rungs_not_run
    for op, name, why in vendor_rungs_not_run(devices, tuple(sel.ops)):   # the library layer, even when absent
        console.print(f"[dim]not run here: {name} ({op}, vendor library): {why}[/]")
    total = sum(len(g.impls) for g in groups + overhead)
    if total == 0:
        console.print(f"[yellow]nothing to measure: no registered rung matches the filters (op={','.join(sel.ops)}, "
                      f"impl={','.join(sel.impl_globs) or '*'}, devices here={','.join(devices)})[/]")
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True)
    task = progress.add_task("starting", total=total)
    runner = Runner(data["peaks"], lambda text, advance=0: progress.update(task, description=text, advance=advance),
                    data["frontdoors"], sel.quick)
    interrupted = False
    from ..rungs.frameworks import measurement_state
    with progress, measurement_state():   # TF32 off, Dynamo limits up -- and all restored after the run
        try:
            for g in groups + overhead:   # a table per case (the sweep's and the overhead's come at the end)
                cases = analysis.grouped(runner.run_group(g), lambda e: e["key"]).values()
                for es in cases if g.suite not in ("sweep", "overhead") else ():
                    progress.console.print(con.render(model.case(es), progress.console.width))
        except KeyboardInterrupt:
            interrupted = True
    release_flush_buffers()
    entries = runner.entries
    data.update(entries=entries, interrupted=interrupted, duration_s=load.elapsed())
    try:   # derived figures; a bug here must not lose the measurements
        analysis.apply_library_ratios(entries)
        data["analysis"] = {"crossovers": analysis.crossovers(entries)}
    except Exception as exc:  # noqa: BLE001
        data["analysis"] = {"error": f"{type(exc).__name__}: {exc}"}
        console.print(f"[red]deriving figures failed: {type(exc).__name__}: {exc}[/]")
    path = results.write(out or results.default_path(), data)
    _attempt(console, "summary tables failed", lambda: con.print_summaries(entries, console))
    n = Counter(e["status"] for e in entries)
    console.print(("[yellow]interrupted: the results gathered so far are written.[/] " if interrupted else "")
                  + f"{len(entries)} measurements: {n['ok']} ok, {n['failed']} FAILED, {n['error']} errors, "
                  f"{n['skipped']} skipped in {data['duration_s']:.0f} s -> {path}")
    if make_report and entries:   # the measurements are safe on disk; the report can be redone
        def report():
            from ..report.html import build_report
            return build_report([path], Path(report_dir) if report_dir else path.with_suffix(""))
        page = _attempt(console, f"report not generated (run `kernelbench report {path}`)", report)
        if page:
            console.print(f"report: {page}")
    return (130 if interrupted else 3 if n["failed"] or n["error"] else 0), path
