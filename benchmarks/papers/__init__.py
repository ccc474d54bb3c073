"""One short script per paper table: `qtrain run`/`sweep`, the recipe's report (`qtrain report`), README refill.

Run them from the repository root: ``python benchmarks/papers/<script>.py``.
"""
