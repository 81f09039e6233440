"""`kernelbench run`: plan the suites, measure with a progress bar, print a table per case, write
the result file (also after Ctrl-C), optionally the HTML report."""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from . import analysis, results
from ..report import terminal as con
from .backends import devices_present, frontdoors
from .engine import Runner
from .measure import MachineLoad, release_flush_buffers, thread_info
from .peaks import cpu_peaks, gpu_peaks
from .suites import Selection, plan


def _attempt(console: Console, what: str, fn, default=None):
    """fn(), or `default` and a line saying why: what fails here must not lose the measurements."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        console.print(f"[yellow]{what}: {type(exc).__name__}: {exc}[/]")
        return default


def measure_peaks(devices: list, quick: bool, console: Console) -> dict:
    """The peaks of each device present, measured where they can be (else % of peak is "-")."""
    probes = {"cpu": lambda: cpu_peaks(measure=True, copy_bytes=256 << 20),
              "cuda": lambda: gpu_peaks(measure=True, copy_bytes=(256 << 20) if quick else (1 << 30))}
    peaks = {d: _attempt(console, f"{'GPU' if d == 'cuda' else 'CPU'} peaks unavailable", probes[d]) for d in devices}
    return {d: p.to_dict() for d, p in peaks.items() if p is not None}


def _warn(console: Console, entries: list) -> None:
    """Say what makes the figures suspect: a busy machine, sweep artefacts, methods that disagree."""
    busy = [e["machine_busy"] for e in entries if e.get("machine_busy") is not None]
    if busy and max(busy) > analysis.BUSY_CORES:
        console.print(f"[yellow]the machine was not quiet: other processes kept up to {max(busy):.2f} cores busy "
                      f"during {sum(b > analysis.BUSY_CORES for b in busy)} of {len(busy)} measurements[/]")
    nm = analysis.non_monotone(entries)
    if nm:
        console.print(f"[yellow]{len(nm)} sweep point(s) where a larger size took much less time than a smaller one "
                      f"(an artefact, not the kernel): "
                      + ", ".join(f"{a['impl']} {a['size']:,}" for a, _ in nm[:6]) + "[/]")
    bad = analysis.disagreements(entries)
    if bad:
        console.print(f"[yellow]{len(bad)} entries whose solo and round-robin figures disagree beyond the noise "
                      f"(\"methods\" in the entry explains; `kernelbench show` marks them ≠)[/]")


def run(suites: list, sel: Selection, out: Optional[str] = None, argv: Optional[list] = None,
        console: Optional[Console] = None, report_dir: Optional[str] = None, make_report: bool = True,
        keep_samples=True) -> tuple[int, Optional[Path]]:
    """Returns (exit code: 3 when a rung FAILED or raised, 130 interrupted; result path)."""
    console = console or Console()
    load = MachineLoad().start()        # also the run's clock
    devices = [d for d in devices_present() if d in sel.devices]
    if len(sel.devices) == 1 and not devices:
        console.print(f"[yellow]no {sel.devices[0].upper()} device here: nothing to run on it[/]")
    selection = {**asdict(sel), "sizes": {k: [list(map(str, x)) for x in v] for k, v in sel.sizes.items()}}
    data = results.new_result(suites, argv or sys.argv, sel.quick,
                              {k: list(v) if isinstance(v, tuple) else v for k, v in selection.items()})
    with console.status("collecting the environment and measuring peaks ..."):
        data.update(devices=devices, environment=results.environment(), frontdoors=frontdoors(),
                    peaks=measure_peaks(devices, sel.quick, console), threads=thread_info())
    data["machine_busy_at_start"] = busy = load.stop()
    if busy is not None and busy > analysis.BUSY_CORES:
        console.print(f"[yellow]other processes keep {busy:.2f} cores busy: CPU figures measured now are suspect "
                      f"(each case records it; a quiet machine is needed for results worth committing)[/]")
    groups, overhead = plan(suites, sel, devices)
    from ..rungs.vendor import vendor_rungs_not_run
    for op, name, why in vendor_rungs_not_run(devices, tuple(sel.ops)):   # the library layer, even when absent
        console.print(f"[dim]not run here: {name} ({op}, vendor library): {why}[/]")
    total = sum(len(g.impls) for g in groups) + len(overhead)
    if total == 0:
        console.print(f"[yellow]nothing to measure: no registered rung matches the filters (op={','.join(sel.ops)}, "
                      f"impl={','.join(sel.impl_globs) or '*'}, devices={','.join(devices)})[/]")
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True)
    task = progress.add_task("starting", total=total)

    def on_group_done(g, entries):   # a table per case (the sweep's are pivots, printed at the end)
        by_key: dict = {g.case.key: []}
        for e in entries:
            by_key.setdefault(e["key"], []).append(e)
        for es in filter(None, by_key.values()) if g.suite != "sweep" else ():
            progress.console.print(con.case_table(es, width=progress.console.width))

    def step(text: str, advance: int = 0) -> None:
        progress.update(task, description=text, advance=advance)
    runner = Runner(data["peaks"], step=step, on_group_done=on_group_done, keep_samples=keep_samples,
                    fds=data["frontdoors"])
    interrupted = False
    from ..rungs.frameworks import measurement_state
    with progress, measurement_state():   # TF32 off, Dynamo limits up -- and all restored after the run
        try:
            for g in groups:
                runner.run_group(g)
            for item in overhead:
                runner.run_overhead(item, sel.quick)
        except KeyboardInterrupt:
            interrupted = True
    release_flush_buffers()
    entries = runner.entries
    data.update(entries=entries, interrupted=interrupted, duration_s=load.elapsed())
    try:   # derived figures; a bug here must not lose the measurements
        analysis.apply_library_ratios(entries)
        analysis.apply_measured_peaks(entries, data["peaks"])
        data["analysis"] = {"crossovers": analysis.crossovers(entries)}
    except Exception as exc:  # noqa: BLE001
        data["analysis"] = {"error": f"{type(exc).__name__}: {exc}"}
        console.print(f"[red]deriving figures failed: {type(exc).__name__}: {exc}[/]")
    path = results.write(out or results.default_path(), data)
    _attempt(console, "summary tables failed", lambda: con.print_summaries(entries, console))
    n = Counter(e["status"] for e in entries)
    msg = (f"{len(entries)} measurements: {n['ok']} ok, {n['failed']} FAILED, {n['error']} errors, "
           f"{n['skipped']} skipped in {data['duration_s']:.0f} s -> {path}")
    _warn(console, entries)
    console.print(f"[yellow]interrupted: the results gathered so far are written.[/] {msg}" if interrupted else msg)
    if make_report and entries:   # the measurements are safe on disk; the report can be redone
        def report():
            from ..report.html import build_report
            return build_report([path], Path(report_dir) if report_dir else path.with_suffix(""))
        page = _attempt(console, f"report not generated (run `kernelbench report {path}`)", report)
        if page:
            console.print(f"report: {page}")
    return (130 if interrupted else 3 if n["failed"] or n["error"] else 0), path
