"""Federated training on Flower (``pip install "qtrain[fl]"``): only the exchanged tensors travel.

* :mod:`qtrain.federated.partition` -- non-IID Dirichlet splits of a labelled dataset.
* :mod:`qtrain.federated.flower` -- the Flower client (local training of any model, exchanging a
  chosen list of parameters as raw float32 bytes), the FedAvg strategy that counts the bytes of
  the real Flower messages, the in-process engine (Flower's ``Server`` driving client proxies,
  with seeded dropout and deadline-based stragglers) and the gRPC engine (a Flower server and
  client processes on 127.0.0.1).

With Quantum-Train the exchanged list is the generator's parameters (QNN + mapping), so a round
carries ``trainable x 4`` bytes per client and direction instead of the target model's size.

Flower is imported only by :mod:`qtrain.federated.flower`.
"""
from __future__ import annotations

from qtrain.federated.partition import dirichlet_split

__all__ = ["dirichlet_split"]
