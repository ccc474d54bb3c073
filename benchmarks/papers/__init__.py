"""Benchmark scripts of single papers (run as ``python benchmarks/papers/<script>.py``)."""
