"""Paper 003, *Quantum Machine Learning-based 6G Network: Enabling Adaptive Communication and Model Aggregation*.

A position paper with one experiment; each of its four modules is built here as a measurable recipe:

* ``v2x_qcnn`` -- the paper's experiment: 4-qubit hybrid QCNN on Digits, hyperparameter study.
* ``v2x_semantic`` -- channel-adaptive semantic communication with a quantum-relative-entropy loss.
* ``v2x_fusion`` -- camera + radar fusion with quantum cross-attention.
* ``v2x_transfer`` -- quantum (Quantum-Train) actor-critic in a V2X model-transfer MDP.
* ``v2x_federated`` -- federated Quantum-Train on Flower.

The paper's numbers are in :mod:`qtrain.recipes.v2x.paper`; presets in ``presets/<recipe>/``.
"""
