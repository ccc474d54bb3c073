"""The README's three lines: Quantum-Train any ``nn.Module``, as written (no other setup).

A QNN and a small mapping network generate all 650 weights of an ``nn.Linear(64, 10)``; the loss
backpropagates into the QNN and mapping only, and ``export()`` returns an ordinary ``nn.Linear``.

    python examples/three_lines.py
"""
import torch, qtrain  # noqa: E401

qt = qtrain.QuantumTrain(torch.nn.Linear(64, 10), blocks=8)           # QNN + mapping generate all 650 weights
qt(torch.randn(32, 64)).logsumexp(1).mean().backward()                # gradients reach only the QNN + mapping
print(qt.summary(), qt.export(), sep="\n")                            # the counts; a plain nn.Linear
