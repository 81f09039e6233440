"""What is made of result files: model.py builds each table once and terminal.py (rich: `run`, `show`),
tables.py (markdown: `tables`) and html.py (`report`, with plots.py's PNGs) render it; compare.py judges
two files (`compare`)."""
