"""Reports from result files: the HTML page with its plots, compare, and the markdown tables."""
