"""Cell-free massive MIMO pilot assignment: system model, sum-rate, baselines (the physics).

The system model is the one of the HQCNN paper (Nguyen et al., arXiv 2507.06585), i.e. Ngo et
al. 2017 with ``L`` antennas per AP: APs and users uniform in a 1 km^2 square with wrap-around,
three-slope path loss with 8 dB shadowing, MMSE channel estimation, conjugate beamforming with
equal full-power control, and the closed-form downlink rate. Everything is batched over scenarios.

Example:
    >>> import torch
    >>> from qtrain.wireless import SystemConfig, make_scenarios, master_ap_pilots, sum_rate
    >>> cfg = SystemConfig(M=10, L=2, K=6, tau_p=3)
    >>> sc = make_scenarios(cfg, n=8, seed=0)                 # beta (8, 10, 6)
    >>> pilots = master_ap_pilots(sc.beta, cfg)              # (8, 6) in 0..2
    >>> sum_rate(sc.beta, pilots, cfg).shape                 # Mbit/s per scenario
    torch.Size([8])
"""
from __future__ import annotations

from qtrain.wireless.channel import Scenarios, make_scenarios, path_loss_db, scenario_cache_path, wraparound_distance
from qtrain.wireless.config import RateModel, Shadowing, SystemConfig
from qtrain.wireless.evaluate import EXHAUSTIVE_LIMIT, METHODS, MethodResult, assign_pilots, compare_methods, run_table2
from qtrain.wireless.heuristics import (balanced_random_pilots, greedy_pilots, location_pilots, master_ap_pilots,
                                        random_pilots)
from qtrain.wireless.partitions import iter_partition_chunks, n_partitions, restricted_growth_strings, stirling2
from qtrain.wireless.presets import TABLE_II, table2_config
from qtrain.wireless.rate import (SinrTerms, compat_sinr_terms, copilot_matrix, estimation_quality, power_control,
                                  rate_scale_mbps, rates_from_copilot, sinr_terms, soft_copilot_matrix, soft_sum_rate,
                                  sum_rate, user_rates)
from qtrain.wireless.exhaustive import exhaustive_pilots
from qtrain.wireless.search import MoveStrategy, local_search_pilots

__all__ = [
    "SystemConfig", "RateModel", "Shadowing", "TABLE_II", "table2_config",
    "Scenarios", "make_scenarios", "scenario_cache_path", "wraparound_distance", "path_loss_db",
    "SinrTerms", "copilot_matrix", "soft_copilot_matrix", "estimation_quality", "power_control", "sinr_terms",
    "compat_sinr_terms", "rates_from_copilot", "user_rates", "sum_rate", "soft_sum_rate", "rate_scale_mbps",
    "random_pilots", "balanced_random_pilots", "greedy_pilots", "master_ap_pilots", "location_pilots",
    "exhaustive_pilots", "local_search_pilots", "MoveStrategy",
    "stirling2", "n_partitions", "restricted_growth_strings", "iter_partition_chunks",
    "METHODS", "EXHAUSTIVE_LIMIT", "MethodResult", "assign_pilots", "compare_methods", "run_table2",
]
