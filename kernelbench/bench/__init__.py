"""The benchmark behind `kernelbench run`.

    measure.py   THE measurement primitive (measure / turn / timed), clocks, statistics, machine load
    peaks.py     datasheet GPU peaks, the CPU probes' peaks, the level a working set lives in
    cases.py     a case: its FLOP / byte counts and rates, seeded inputs, THE fp64 reference, the check
    backends.py  calling a rung: array conversions, front doors, sync, clock choice
    suites.py    ladder, sweep, shapes, overhead, layers, cpu-gemm; sizes and budgets
    analysis.py  % of library, solo vs round-robin agreement, crossover, best per layer
    results.py   the typed, versioned result file
    run.py       the `run` command: verify then time every rung of every group (errors and skips
                 recorded), the result file (its tables: report/terminal.py)
"""
