"""Gymnasium environments of the paper recipes (``pip install "qtrain[rl]"``), imported on demand.

* :class:`qtrain.envs.v2x_transfer.V2XTransferEnv` -- the V2X model-transfer MDP (V2X paper, Sec. V).

Example:
    >>> from qtrain.envs.v2x_transfer import V2XTransferEnv   # doctest: +SKIP
    >>> obs, info = V2XTransferEnv().reset(seed=0)            # doctest: +SKIP
"""
from __future__ import annotations

__all__: list[str] = []
