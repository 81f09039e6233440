"""The benchmark behind `kernelbench run`.

    measure.py   THE measurement primitive (measure / turn / timed), clocks, statistics, machine load
    figures.py   FLOP and byte counts, throughput, % of peak (tolerances: kernelbench/tolerance.py)
    peaks.py     datasheet GPU peaks, computed and probed CPU peaks, measured bandwidth
    cases.py     a case, its seeded inputs, fp64 reference and the check
    backends.py  calling a rung: array conversions, front doors, sync, clock choice
    suites.py    ladder, sweep, shapes, overhead, layers, cpu-gemm; sizes and budgets
    analysis.py  % of library, measured peaks, crossover, best per layer
    results.py   the typed, versioned result file
    run.py       the `run` command: verify then time every rung of every group (errors and skips
                 recorded), the result file (its tables: report/terminal.py)
"""
