"""Paper 002, Nguyen et al., *Hybrid QCNN-Aided Pilot Assignment in Cell-Free Massive MIMO* (HQCNN).

Recipe ``pilot_assignment`` (:mod:`qtrain.recipes.hqcnn_pilot.pilot_assignment`), its presets in
``presets/pilot_assignment/``.
"""
