"""Gradient methods other than plain autograd (``backprop`` is the torch engine under autograd).

* :mod:`~qtrain.sim.gradients.adjoint` -- the adjoint method: one autograd Function over any engine;
* :mod:`~qtrain.sim.gradients.shift` -- the parameter-shift rule (hardware-compatible, works with shots).
"""
from __future__ import annotations

from qtrain.sim.gradients.adjoint import adjoint_run
from qtrain.sim.gradients.shift import parameter_shift_run

__all__ = ["adjoint_run", "parameter_shift_run"]
