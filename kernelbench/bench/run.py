"""`kernelbench run`: plan the suites, measure with a progress bar, print a table per case, write
the result file (also after Ctrl-C), optionally the HTML report."""
from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Optional

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn)

from . import analysis, results
from ..report import terminal as con
from .backends import devices_present, frontdoors
from .engine import Runner
from .peaks import cpu_peaks, gpu_peaks
from .suites import SUITES, Selection, plan
from .measure import MachineLoad, release_flush_buffers, thread_info


def measure_peaks(devices: list, quick: bool, log) -> dict:
    peaks = {}
    if "cpu" in devices:
        try:
            peaks["cpu"] = cpu_peaks(measure=True, copy_bytes=256 << 20).to_dict()
        except Exception as exc:  # never fatal: % of peak is then "-"
            log(f"[yellow]CPU peaks unavailable: {exc}[/]")
    if "cuda" in devices:
        try:
            p = gpu_peaks(measure=True, copy_bytes=(256 << 20) if quick else (1 << 30))
            if p is not None:
                peaks["cuda"] = p.to_dict()
        except Exception as exc:
            log(f"[yellow]GPU peaks unavailable: {exc}[/]")
    return peaks


def run(suites: list, sel: Selection, out: Optional[str] = None, argv: Optional[list] = None,
        console: Optional[Console] = None, report_dir: Optional[str] = None, make_report: bool = True,
        keep_samples=True) -> tuple[int, Optional[Path]]:
    """Returns (exit code: 3 when a rung FAILED or raised, 130 interrupted; result path)."""
    console = console or Console()
    load = MachineLoad().start()        # also the run's clock: load.t0
    for s in suites:
        if s not in SUITES:
            raise ValueError(f"--suite: unknown {s!r} (one of {', '.join(SUITES)}, all)")
    present = devices_present()
    devices = [d for d in present if d in sel.devices]
    for d in sel.devices:
        if d not in present and len(sel.devices) == 1:
            console.print(f"[yellow]no {d.upper()} device here: nothing to run on it[/]")
    sel_dict = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(sel).items()}
    sel_dict["sizes"] = {k: [list(map(str, x)) for x in v] for k, v in sel.sizes.items()}
    data = results.new_result(suites, argv or sys.argv, sel.quick, sel_dict)
    data["devices"] = devices
    with console.status("collecting the environment and measuring peaks ..."):
        try:
            data["environment"] = results.environment()
        except Exception as exc:
            data["environment"] = {"error": str(exc)}
        fds = frontdoors()
        data["frontdoors"] = fds
        data["peaks"] = measure_peaks(devices, sel.quick, console.print)
        data["threads"] = thread_info()
    busy = load.stop()
    data["machine_busy_at_start"] = busy
    if busy is not None and busy > analysis.BUSY_CORES:
        console.print(f"[yellow]other processes keep {busy:.2f} cores busy: CPU figures measured now are suspect "
                      f"(each case records it; a quiet machine is needed for results worth committing)[/]")
    groups, overhead = plan(suites, sel, devices)
    from ..rungs.vendor import vendor_rungs_not_run
    for op, name, why in vendor_rungs_not_run(devices, tuple(sel.ops)):   # the library layer, even when absent
        console.print(f"[dim]not run here: {name} ({op}, vendor library): {why}[/]")
    total = sum(len(g.impls) for g in groups) + len(overhead)
    if total == 0:
        console.print("[yellow]nothing to measure: no registered rung matches the filters "
                      f"(op={','.join(sel.ops)}, impl={','.join(sel.impl_globs) or '*'}, devices={','.join(devices)})[/]")

    def on_group_done(g, entries):
        if g.suite != "sweep":
            by_key: dict = {g.case.key: []}
            for e in entries:
                by_key.setdefault(e["key"], []).append(e)
            for es in by_key.values():
                if es:
                    progress.console.print(con.case_table(es, width=progress.console.width))

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True)
    runner = Runner(data["peaks"], progress=progress, on_group_done=on_group_done, keep_samples=keep_samples,
                    fds=fds)
    interrupted = False
    from ..rungs.frameworks import measurement_state
    with progress, measurement_state():   # TF32 off, Dynamo limits up -- and all restored after the run
        runner.task = progress.add_task("starting", total=total)
        try:
            for g in groups:
                runner.run_group(g)
            for item in overhead:
                runner.run_overhead(item, sel.quick)
        except KeyboardInterrupt:
            interrupted = True
    release_flush_buffers()
    entries = runner.entries
    data["entries"] = entries
    data["interrupted"] = interrupted
    data["duration_s"] = load.elapsed()
    try:   # derived figures; a bug here must not lose the measurements
        analysis.apply_library_ratios(entries)
        analysis.apply_measured_peaks(entries, data["peaks"])
        data["analysis"] = {"crossovers": analysis.crossovers(entries)}
    except Exception as exc:
        data["analysis"] = {"error": f"{type(exc).__name__}: {exc}"}
        console.print(f"[red]deriving figures failed: {type(exc).__name__}: {exc}[/]")
    path = results.write(out or results.default_path(), data)
    try:
        con.print_summaries(entries, console)
    except Exception as exc:
        console.print(f"[red]summary tables failed: {type(exc).__name__}: {exc}[/]")
    n = {s: sum(1 for e in entries if e["status"] == s) for s in ("ok", "failed", "error", "skipped")}
    msg = (f"{len(entries)} measurements: {n['ok']} ok, {n['failed']} FAILED, {n['error']} errors, "
           f"{n['skipped']} skipped in {data['duration_s']:.0f} s -> {path}")
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
    if interrupted:
        console.print(f"[yellow]interrupted: the results gathered so far are written.[/] {msg}")
    else:
        console.print(msg)
    if make_report and entries:
        try:
            from ..report.html import build_report
            rdir = Path(report_dir) if report_dir else path.with_suffix("")
            page = build_report([path], rdir)
            console.print(f"report: {page}")
        except Exception as exc:  # the measurements are safe on disk; the report can be redone
            console.print(f"[yellow]report not generated ({type(exc).__name__}: {exc}); "
                          f"run `kernelbench report {path}`[/]")
    return (130 if interrupted else 3 if n["failed"] or n["error"] else 0), path
