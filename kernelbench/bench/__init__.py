"""The benchmark behind `kernelbench run`: timer, figures, peaks, suites, engine, result files.

    stats.py     pure statistics (median, IQR, CI of the median, noise flag, stop rule)
    timer.py     CPU perf_counter / CUDA events with L2 flush / wall+sync, warm-up, host overhead
    figures.py   FLOP and byte counts, throughput, % of peak, error tolerances
    peaks.py     datasheet GPU peaks, computed CPU peak, measured bandwidth (copy, read)
    cases.py     a case, its seeded inputs, fp64 reference and the check
    backends.py  calling a rung: array conversions, front doors, sync, timer choice
    suites.py    ladder, sweep, shapes, overhead, layers; sizes and budgets
    engine.py    verify then time every rung of every group; errors and skips recorded
    analysis.py  % of library, measured peaks, crossover, best per layer
    results.py   the versioned JSON file
    console.py   rich tables;   run.py  the `run` command
"""
