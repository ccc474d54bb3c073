"""Helpers shared by several test files: random circuits over the whole gate set, the CLI runner."""
from __future__ import annotations

import contextlib
import io

import numpy as np

from qtrain.cli import main
from qtrain.sim import GATES, Circuit, Input


def random_circuit_all_gates(rng: np.random.Generator, n: int, n_ops: int, n_inputs: int = 0,
                             every_gate: bool = True) -> Circuit:
    """Every gate that fits once (if asked), then ``n_ops`` random ones; weights / inputs / constants."""
    c = Circuit(n)
    fits = [g for g in GATES.values() if g.n_wires <= n]
    order = (list(fits) if every_gate else []) + [fits[i] for i in rng.integers(len(fits), size=n_ops)]
    w = 0
    for g in order:
        wires = tuple(int(v) for v in rng.choice(n, g.n_wires, replace=False))
        params: list[object] = []
        for _ in range(g.n_params):
            r = rng.random()
            if n_inputs and r < 0.3:
                params.append(Input(int(rng.integers(n_inputs)), float(rng.uniform(0.5, 2.0))))
            elif r < 0.9:
                params.append(w)
                w += 1
            else:
                params.append(float(rng.uniform(-3, 3)))
        c.add(g, wires, params)
    return c


def cli(*argv: str) -> tuple[int, str]:
    """Run ``qtrain <argv>`` in-process; returns (exit code, captured stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(list(argv))
    return rc, out.getvalue()
