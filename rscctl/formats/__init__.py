"""Hand-written file-format writers (XLSX, PDF): no knowledge of plans, only of the format.

They stay while they earn it: `benchmarks/formats_bench.py` times each against the library it
replaces (XlsxWriter in constant-memory mode, fpdf2) in the same run.
"""
