"""Speed benchmarks: the simulator against peers, one Quantum-Train step and epoch against classical training.

Scripts run from the repository root (``python benchmarks/speed/bench_sim.py``); each puts the root
on ``sys.path`` itself when it imports a sibling. Results go to ``benchmarks/results/``.
"""
