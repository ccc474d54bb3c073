"""Paper 004, *Differentiable Quantum Architecture Search in Quantum-Enhanced Neural Network Parameter Generation*.

Recipes ``diffqas_image`` (Figs. 5-7), ``diffqas_series`` (Table II, Figs. 8-12) and ``diffqas_rl``
(Figs. 13-14), their presets in ``presets/<recipe>/``, the paper's numbers in :mod:`.paper`.
"""
