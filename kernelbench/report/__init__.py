"""Result files shown: model.py builds each table once; terminal.py (`run`, `show`), tables.py (`tables`) and
html.py (`report`, with plots.py's PNGs) render it; compare.py judges two files (`compare`)."""
