"""Paper 000, An et al., *Automatic Modulation Classification using Quantum-Empowered Training* (QET).

Recipe ``qet_amc`` (:mod:`qtrain.recipes.qet.qet_amc`), its presets in ``presets/qet_amc/``.
"""
