"""Paper 001, Liu et al., *Quantum-Train* (MNIST / FashionMNIST / CIFAR-10, QCML baseline).

Recipe ``qt_image`` (:mod:`qtrain.recipes.quantum_train.qt_image`), its presets in
``presets/qt_image/``.
"""
