"""What is made of result files (read through kernelbench.bench.results):

    terminal.py         rich tables: what `run` prints as it goes, and `kernelbench show`
    html.py             `kernelbench report`: the HTML page; plots.py its PNGs (ladder, sweep, roofline,
                        layers, overhead); the collectives section is collectives/plot.py's, the modelled
                        speed-of-light rooflines explain/roofline.py's
    tables.py           `kernelbench tables`: the markdown tables of README.md and docs/
    compare.py          `kernelbench compare A B`: ratios judged by a rank test and the runs' spread
    fmt.py              number formatting shared by all of them
"""
