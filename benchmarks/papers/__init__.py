"""Benchmark scripts reproducing one paper each (``bench_<paper>_*.py``); results in ``benchmarks/results/``."""
