"""Cell-free massive MIMO model, sum-rate and pilot-assignment baselines (qtrain.wireless)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from qtrain.recipes.hqcnn_pilot.paper import PAPER_TABLE_II, format_table2
from qtrain.wireless import (METHODS, TABLE_II, RateModel, SystemConfig, assign_pilots,
                             compare_methods, copilot_matrix, estimation_quality, exhaustive_pilots,
                             iter_partition_chunks, local_search_pilots, location_pilots, make_scenarios,
                             master_ap_pilots, n_partitions, path_loss_db, power_control, restricted_growth_strings,
                             run_table2, scenario_cache_path, sinr_terms, soft_sum_rate, stirling2, sum_rate,
                             table2_config, user_rates, wraparound_distance)
from qtrain.wireless.batched import batched_user_rates
from qtrain.wireless.channel import shadowing_db
from qtrain.wireless.rate import rates_from_copilot

SMALL = SystemConfig(M=10, L=2, K=6, tau_p=3)
COMPAT = SMALL.replace(rate_model="paper_code_compat")


@pytest.fixture(scope="module")
def small_scen():
    return make_scenarios(SMALL, 20, seed=11)


# ---- reference implementations written as plain loops over the formulas -------------------------
def _loop_closed_form_rates(beta: np.ndarray, pilots: np.ndarray, cfg: SystemConfig) -> np.ndarray:
    """Notes Sec. 4.3-4.4 (Ngo et al. eq. (24) with L antennas), one scalar at a time."""
    m_aps, k_users = beta.shape
    a, rho, ell = cfg.tau_p * cfg.rho_p, cfg.rho_d, cfg.L
    same = [[float(pilots[k] == pilots[j]) for j in range(k_users)] for k in range(k_users)]
    gamma = np.zeros_like(beta)
    for m in range(m_aps):
        for k in range(k_users):
            gamma[m, k] = a * beta[m, k] ** 2 / (a * sum(beta[m, j] * same[k][j] for j in range(k_users)) + 1)
    eta = [1.0 / (ell * gamma[m].sum()) for m in range(m_aps)]
    rates = np.zeros(k_users)
    for k in range(k_users):
        num = rho * ell**2 * sum(math.sqrt(eta[m]) * gamma[m, k] for m in range(m_aps)) ** 2
        coh = sum(same[k][j] * sum(math.sqrt(eta[m]) * gamma[m, j] * beta[m, k] / beta[m, j]
                                   for m in range(m_aps)) ** 2 for j in range(k_users) if j != k)
        nc = sum(eta[m] * gamma[m, j] * beta[m, k] for j in range(k_users) for m in range(m_aps))
        rates[k] = math.log2(1 + num / (rho * ell**2 * coh + rho * ell * nc + 1))
    return rates


def _loop_public_code_rates(beta: np.ndarray, pilots: np.ndarray, cfg: SystemConfig) -> np.ndarray:
    """The loops of the public ``calculate_dl_rate`` (assignment, not accumulation), with (1 - tau_p/tau_c)."""
    m_aps, k_users = beta.shape
    rho_d, rho_p, tau_p = cfg.rho_d, cfg.rho_p, cfg.tau_p
    phi = np.eye(tau_p)[pilots]
    c = np.zeros((m_aps, k_users))
    for m in range(m_aps):
        for k in range(k_users):
            inner = sum(beta[m, j] * phi[k] @ phi[j] for j in range(k_users))
            c[m, k] = math.sqrt(tau_p * rho_p) * beta[m, k] / (tau_p * rho_p * inner + 1)
    gamma = math.sqrt(tau_p * rho_p) * beta * c
    eta = np.tile((1 / gamma.sum(1))[:, None], (1, k_users))
    sinr = np.zeros(k_users)
    for k in range(k_users):
        num = rho_d * sum(math.sqrt(eta[m, k]) * gamma[m, k] for m in range(m_aps)) ** 2
        sum_term_1 = 0.0
        for j in range(k_users):
            sum_term_2 = 0.0
            if j != k:
                for m in range(m_aps):
                    sum_term_2 += math.sqrt(eta[m, j]) * gamma[m, j] * beta[m, k] / beta[m, j]
            sum_term_1 = sum_term_2**2 * (phi[k] @ phi[j])
        sum_term_3 = 0.0
        for j in range(k_users):
            for m in range(m_aps):
                sum_term_3 = eta[m, j] * gamma[m, j] * beta[m, k]
        sinr[k] = num / (rho_d * sum_term_1 + rho_d * sum_term_3 + 1)
    return (1 - tau_p / cfg.tau_c) * np.log2(1 + sinr)


# ---- constants and geometry -------------------------------------------------------------------
def test_path_loss_sanity_values_and_constants():
    d = torch.tensor([0.001, 0.01, 0.05, 0.1, 0.5], dtype=torch.float64)
    pl = path_loss_db(d, SMALL)
    assert torch.allclose(pl, torch.tensor([-81.20, -81.20, -95.18, -105.72, -130.18], dtype=torch.float64),
                          atol=0.01)
    assert SMALL.path_loss_constant_db == pytest.approx(140.7151, abs=1e-4)
    assert SMALL.replace(path_loss_db=141.0).path_loss_constant_db == 141.0


def test_noise_power_and_normalised_snrs():
    assert SMALL.noise_power_dbm == pytest.approx(-91.96, abs=0.005)
    assert SMALL.noise_power_w == pytest.approx(6.362e-13, rel=1e-3)
    assert 10 * math.log10(SMALL.rho_p) == pytest.approx(111.96, abs=0.01)
    assert 10 * math.log10(SMALL.rho_d) == pytest.approx(114.97, abs=0.01)


def test_wraparound_distance_bounded_and_exact():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(50, 2, generator=g, dtype=torch.float64), torch.rand(60, 2, generator=g, dtype=torch.float64)
    d = wraparound_distance(a, b, 1.0)
    assert float(d.max()) <= math.sqrt(2) / 2 + 1e-12
    def pt(x: float, y: float) -> torch.Tensor:
        return torch.tensor([[x, y]], dtype=torch.float64)

    assert float(wraparound_distance(pt(0.0, 0.0), pt(0.5, 0.5), 1.0)) == pytest.approx(math.sqrt(2) / 2, abs=1e-15)
    edge = wraparound_distance(pt(0.05, 0.2), pt(0.95, 0.9), 1.0)
    assert float(edge) == pytest.approx(math.hypot(0.1, 0.3), abs=1e-15)
    plane = wraparound_distance(pt(0.05, 0.2), pt(0.95, 0.9), 1.0, wrap=False)
    assert float(plane) == pytest.approx(math.hypot(0.9, 0.7), abs=1e-15)


def test_scenarios_deterministic_and_shadowing_only_beyond_d1():
    a, b = make_scenarios(SMALL, 5, seed=3), make_scenarios(SMALL, 5, seed=3)
    assert torch.equal(a.beta, b.beta) and torch.equal(a.ue_pos, b.ue_pos) and torch.equal(a.ap_pos, b.ap_pos)
    assert not torch.equal(a.beta, make_scenarios(SMALL, 5, seed=4).beta)
    assert tuple(a.beta.shape) == (5, 10, 6) and tuple(a.ap_pos.shape) == (5, 10, 2)
    d = wraparound_distance(a.ap_pos, a.ue_pos, 1.0)
    near = d <= SMALL.d1_km
    if near.any():
        assert torch.allclose(10 * torch.log10(a.beta[near]), path_loss_db(d[near], SMALL))


def test_scenario_cache_roundtrip(tmp_path):
    sc = make_scenarios(SMALL, 4, seed=9, cache_dir=tmp_path)
    path = scenario_cache_path(SMALL, 4, 9, tmp_path)
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == [path.name]
    again = make_scenarios(SMALL, 4, seed=9, cache_dir=tmp_path)
    assert torch.equal(sc.beta, again.beta) and torch.equal(sc.beta, make_scenarios(SMALL, 4, seed=9).beta)
    assert scenario_cache_path(SMALL, 4, 10, tmp_path) != path
    assert scenario_cache_path(SMALL.replace(xi=0.5), 4, 9, tmp_path) == path  # rate-only field
    assert scenario_cache_path(SMALL.replace(M=11), 4, 9, tmp_path) != path


def test_correlated_shadowing_statistics():
    cfg = SMALL.replace(M=2, K=2, shadowing="correlated")
    s = 20000
    ap = torch.tensor([[0.1, 0.1], [0.6, 0.1]], dtype=torch.float64).expand(s, 2, 2)
    ue = torch.tensor([[0.3, 0.5], [0.4, 0.5]], dtype=torch.float64).expand(s, 2, 2)
    z = shadowing_db(cfg, ap, ue, torch.Generator().manual_seed(0)) / 8.0
    assert float(z.var()) == pytest.approx(1.0, abs=0.03)
    same_ap = float((z[:, 0, 0] * z[:, 0, 1]).mean())  # delta + (1 - delta) 2^(-0.1/0.1) = 0.75
    assert same_ap == pytest.approx(0.75, abs=0.03)
    far_both = float((z[:, 0, 0] * z[:, 1, 1]).mean())  # 0.5 * 2^-5 + 0.5 * 2^-1 = 0.2656
    assert far_both == pytest.approx(0.265625, abs=0.03)


# ---- rate model -------------------------------------------------------------------------------
def test_closed_form_matches_loop_reference(small_scen):
    g = torch.Generator().manual_seed(1)
    pilots = torch.randint(0, 3, (20, 6), generator=g)
    got = user_rates(small_scen.beta, pilots, SMALL)
    for s in range(3):
        ref = _loop_closed_form_rates(small_scen.beta[s].numpy(), pilots[s].numpy(), SMALL)
        np.testing.assert_allclose(got[s].numpy(), ref, rtol=1e-12)
    assert torch.allclose(sum_rate(small_scen.beta, pilots, SMALL), 20.0 * got.sum(-1))


def test_compat_reproduces_public_code_loops_and_is_not_default(small_scen):
    assert SystemConfig().rate_model == RateModel.CLOSED_FORM
    g = torch.Generator().manual_seed(2)
    pilots = torch.randint(0, 3, (20, 6), generator=g)
    got = user_rates(small_scen.beta, pilots, COMPAT)
    for s in range(3):
        ref = _loop_public_code_rates(small_scen.beta[s].numpy(), pilots[s].numpy(), COMPAT)
        np.testing.assert_allclose(got[s].numpy(), ref, rtol=1e-12)
    correct, compat = sum_rate(small_scen.beta, pilots, SMALL), sum_rate(small_scen.beta, pilots, COMPAT)
    assert torch.allclose(compat, got.sum(-1))  # no bandwidth factor
    assert bool(((correct - compat).abs() > 1.0).all())


def test_batched_kernel_equals_generic(small_scen):
    g = torch.Generator().manual_seed(3)
    labels = torch.randint(0, 3, (20, 7, 6), generator=g)
    for cfg in (SMALL, COMPAT):
        ref = rates_from_copilot(small_scen.beta[:, None], copilot_matrix(labels), cfg)
        assert torch.allclose(batched_user_rates(small_scen.beta, labels, cfg), ref, rtol=1e-12, atol=0)


def test_distinct_pilots_have_no_coherent_interference(small_scen):
    cfg = SMALL.replace(tau_p=6)
    distinct = torch.arange(6).expand(20, 6)
    terms = sinr_terms(small_scen.beta, copilot_matrix(distinct), cfg)
    assert bool((terms.coherent == 0).all())
    shared = sinr_terms(small_scen.beta, copilot_matrix(torch.zeros(20, 6, dtype=torch.long)), cfg)
    assert bool((shared.coherent > 0).all())


def test_rate_invariant_under_pilot_relabelling(small_scen):
    g = torch.Generator().manual_seed(4)
    pilots = torch.randint(0, 3, (20, 6), generator=g)
    perm = torch.randperm(3, generator=g)
    for cfg in (SMALL, COMPAT):
        assert torch.allclose(user_rates(small_scen.beta, perm[pilots], cfg),
                              user_rates(small_scen.beta, pilots, cfg), rtol=1e-13, atol=0)


def test_power_control_meets_constraint_with_equality(small_scen):
    gamma = estimation_quality(small_scen.beta, copilot_matrix(torch.zeros(20, 6, dtype=torch.long)), SMALL)
    eta = power_control(gamma, SMALL)
    assert torch.allclose(SMALL.L * (eta * gamma).sum(-1), torch.ones(20, 10, dtype=torch.float64), rtol=1e-14)


def _add_copilot(cfg6: SystemConfig, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rates of 5 users before/after a 6th user joins, eta of the 5 held fixed (new user eta = 0)."""
    cfg5 = cfg6.replace(K=5)
    sc = make_scenarios(cfg6, n, seed=seed)
    g = torch.Generator().manual_seed(seed)
    p6 = torch.randint(0, 3, (n, 6), generator=g)
    b5, p5 = sc.beta[..., :5], p6[:, :5]
    eta5 = power_control(estimation_quality(b5, copilot_matrix(p5), cfg5), cfg5)
    eta6 = torch.cat([eta5, torch.zeros(n, cfg6.M, 1, dtype=torch.float64)], -1)
    before = user_rates(b5, p5, cfg5, eta=eta5)
    after = user_rates(sc.beta, p6, cfg6, eta=eta6)[:, :5]
    return before, after, p5 == p6[:, 5:]


def test_adding_copilot_user_with_fixed_eta_never_raises_rate_single_ap():
    before, after, copilot = _add_copilot(SMALL.replace(M=1, K=6), 400, seed=5)
    assert int(copilot.sum()) > 200
    assert float((after - before)[copilot].max()) <= 1e-12


def test_adding_copilot_user_with_fixed_eta_can_raise_rate_with_many_aps():
    # With M > 1 the newcomer shrinks gamma unevenly over APs: a co-pilot user whose coherent
    # interference came through the contaminated APs can gain. The "never raises" property
    # holds for M = 1 only (previous test); here the seeded counterexample is pinned.
    before, after, copilot = _add_copilot(SMALL, 400, seed=5)
    assert float((after - before)[copilot].max()) > 1e-3
    assert float((after - before)[copilot].mean()) < 0  # ...though on average it loses


def test_soft_rate_equals_hard_rate_for_one_hot(small_scen):
    g = torch.Generator().manual_seed(6)
    pilots = torch.randint(0, 3, (20, 6), generator=g)
    probs = torch.nn.functional.one_hot(pilots, 3).to(torch.float64)
    for cfg in (SMALL, COMPAT):
        assert torch.allclose(soft_sum_rate(small_scen.beta, probs, cfg), sum_rate(small_scen.beta, pilots, cfg),
                              rtol=1e-5, atol=0)


def test_soft_rate_is_differentiable(small_scen):
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(1, 6, 3, dtype=torch.float64, generator=g, requires_grad=True)
    beta = small_scen.beta[:1]
    assert torch.autograd.gradcheck(lambda z: soft_sum_rate(beta, z.softmax(-1), SMALL), (logits,))
    loss = -soft_sum_rate(beta, logits.softmax(-1), SMALL).mean()
    loss.backward()
    assert logits.grad is not None and bool(torch.isfinite(logits.grad).all()) and float(logits.grad.abs().max()) > 0


# ---- partitions and exhaustive search ----------------------------------------------------------
def test_partition_counts():
    assert [stirling2(6, j) for j in range(1, 4)] == [1, 31, 90]
    assert n_partitions(6, 3) == 122 and n_partitions(8, 4) == 2795 and n_partitions(10, 4) == 43947
    assert n_partitions(12, 3) == 88574 and n_partitions(12, 4) == 700075 and n_partitions(15, 3) == 2391485
    assert n_partitions(9, 3) == 3281 and n_partitions(5, 3) == 41
    rgs = restricted_growth_strings(8, 4)
    assert rgs.shape == (2795, 8) and len({tuple(r) for r in rgs.tolist()}) == 2795
    running_max = torch.cummax(rgs, dim=1).values
    assert bool((rgs[:, 0] == 0).all()) and bool((rgs[:, 1:] <= running_max[:, :-1] + 1).all())
    chunks = list(iter_partition_chunks(8, 4, 1000))
    assert [c.shape[0] for c in chunks] == [1000, 1000, 795] and torch.equal(torch.cat(chunks), rgs)


@pytest.mark.parametrize("cfg", [SMALL.replace(K=5), COMPAT.replace(K=5), SMALL.replace(K=5, M=4, tau_p=4)])
def test_exhaustive_equals_brute_force_over_labelings(cfg):
    sc = make_scenarios(cfg, 6, seed=8)
    pilots, best = exhaustive_pilots(sc.beta, cfg, max_elements=500)  # force several chunks
    labelings = torch.tensor(list(itertools.product(range(cfg.tau_p), repeat=cfg.K)))
    brute = torch.stack([sum_rate(sc.beta, lab.expand(6, cfg.K), cfg) for lab in labelings], 1).max(1).values
    assert torch.allclose(best, brute, rtol=1e-13, atol=0)
    assert torch.allclose(sum_rate(sc.beta, pilots, cfg), best, rtol=0, atol=0)


@pytest.mark.parametrize("cfg", [SMALL, COMPAT, SMALL.replace(K=8, tau_p=3)])
def test_exhaustive_never_beaten_by_heuristics(cfg):
    sc = make_scenarios(cfg, 20, seed=10)
    res = compare_methods(sc, cfg, METHODS, seed=0)
    opt = res["exhaustive"].sum_rates
    for name in METHODS:
        assert bool((res[name].sum_rates <= opt * (1 + 1e-12)).all()), name
    first = sum_rate(sc.beta, local_search_pilots(sc.beta, cfg, strategy="first"), cfg)
    assert bool((first <= opt * (1 + 1e-12)).all())
    assert bool((res["local_search"].sum_rates >= res["master_ap"].sum_rates).all())
    assert res["exhaustive"].mean > res["random"].mean


# ---- heuristics ---------------------------------------------------------------------------------
def test_master_ap_hand_example():
    cfg = SystemConfig(M=2, K=4, tau_p=2)
    beta = torch.tensor([[[9.0, 1.0, 5.0, 1.0], [1.0, 8.0, 2.0, 3.0]]], dtype=torch.float64) * 1e-10
    # users 0, 1 -> pilots 0, 1; user 2 (master AP 0): load (9, 1) -> pilot 1;
    # user 3 (master AP 1): load (1, 8 + 2 = 10) -> pilot 0
    assert master_ap_pilots(beta, cfg).tolist() == [[0, 1, 1, 0]]


def test_location_based_separates_copilot_users():
    cfg = SystemConfig(M=1, K=4, tau_p=2)
    ue = torch.tensor([[[0.10, 0.1], [0.12, 0.9], [0.60, 0.1], [0.62, 0.9]]], dtype=torch.float64)
    # by x: users 0, 1 take pilots 0, 1; user 2 is 0.5 from user 0 and ~0.53 from user 1 -> pilot 1;
    # user 3 is then farthest from pilot 0's user 0 -> pilot 0
    assert location_pilots(ue, cfg).tolist() == [[0, 1, 1, 0]]


def test_local_search_reaches_a_local_optimum(small_scen):
    pilots = local_search_pilots(small_scen.beta, SMALL)
    base = sum_rate(small_scen.beta, pilots, SMALL)
    for k in range(6):
        for t in range(3):
            moved = pilots.clone()
            moved[:, k] = t
            assert bool((sum_rate(small_scen.beta, moved, SMALL) <= base * (1 + 1e-12)).all())


def test_greedy_and_random_are_seeded_and_valid(small_scen):
    a = assign_pilots("greedy", small_scen, SMALL, seed=3)
    assert torch.equal(a, assign_pilots("greedy", small_scen, SMALL, seed=3))
    cfg7 = SMALL.replace(K=7)
    bal = assign_pilots("balanced_random", make_scenarios(cfg7, 20, seed=1), cfg7, seed=1)
    counts = torch.nn.functional.one_hot(bal, 3).sum(1)
    assert bool((counts >= 2).all()) and bool((counts <= 3).all())
    assert int(a.min()) >= 0 and int(a.max()) <= 2


def test_golden_sum_rates(small_scen):
    mpa = sum_rate(small_scen.beta[:3], master_ap_pilots(small_scen.beta[:3], SMALL), SMALL)
    assert mpa.tolist() == pytest.approx([174.16106644318074, 160.0617567415142, 137.38772995789986], rel=1e-9)


# ---- configuration and errors -----------------------------------------------------------------
def test_run_table2_reports_both_models_next_to_paper():
    res = run_table2(["small_K6"], n=3, seed=1, methods=["master_ap", "exhaustive"])
    assert list(res) == ["closed_form", "paper_code_compat"]
    ours = res["closed_form"]["small_K6"]
    assert ours["exhaustive"].mean >= ours["master_ap"].mean and ours["exhaustive"].pilots.shape == (3, 6)
    table = format_table2(res)
    assert "| small_K6 | paper_code_compat | " in table and "(17.21)" in table and "(18.43)" in table


def test_table2_presets():
    assert len(TABLE_II) == 8 and PAPER_TABLE_II["small_K6"]["exhaustive"] == 18.43
    cfg = table2_config("medium_M35", rate_model="paper_code_compat")
    assert (cfg.M, cfg.L, cfg.K, cfg.tau_p, cfg.rate_model) == (35, 2, 20, 10, RateModel.PAPER_CODE_COMPAT)
    with pytest.raises(ValueError, match=r"row='big' is not a Table II system; use one of \['small_K6'"):
        table2_config("big")


@pytest.mark.parametrize(("changes", "message"), [
    ({"tau_p": 0}, r"tau_p=0 must be an integer >= 1"),
    ({"K": 0}, r"K=0 must be an integer >= 1"),
    ({"pilot_power_w": -0.1}, r"pilot_power_w=-0.1 must be a finite number > 0"),
    ({"ap_power_w": 0.0}, r"ap_power_w=0.0 must be a finite number > 0"),
    ({"tau_c": 3}, r"tau_c=3 must exceed tau_p=3"),
    ({"shadow_delta": 1.5}, r"shadow_delta=1.5 must lie in \[0, 1\]"),
    ({"rate_model": "paper"},
     r"rate_model='paper' is not supported; use one of \['closed_form', 'paper_code_compat'\]"),
    ({"shadowing": "log"}, r"shadowing='log' is not supported; use one of \['none', 'uncorrelated', 'correlated'\]"),
])
def test_bad_config_raises(changes, message):
    with pytest.raises(ValueError, match=message):
        SystemConfig(**changes)


def test_config_reports_all_problems_at_once():
    with pytest.raises(ValueError, match=r"M=0 must be an integer >= 1; K=-1 must be an integer >= 1; "
                                         r"bandwidth_hz=-5 must be a finite number > 0"):
        SystemConfig(M=0, K=-1, bandwidth_hz=-5)


def test_bad_inputs_raise(small_scen):
    with pytest.raises(ValueError, match=r"allowed are 0..tau_p-1 = 0..2"):
        sum_rate(small_scen.beta, torch.full((20, 6), 3), SMALL)
    with pytest.raises(ValueError, match=r"pilots must be an integer tensor"):
        sum_rate(small_scen.beta, torch.zeros(20, 6), SMALL)
    with pytest.raises(ValueError, match=r"beta must be a float tensor \(S, M, K\) = \(S, 10, 6\)"):
        master_ap_pilots(small_scen.beta[:, :5], SMALL)
    with pytest.raises(ValueError, match=r"probs.shape=\(20, 6, 2\) must end with \(K, tau_p\)=\(6, 3\)"):
        soft_sum_rate(small_scen.beta, torch.full((20, 6, 2), 0.5, dtype=torch.float64), SMALL)
    with pytest.raises(ValueError, match=r"method='best' is not supported"):
        assign_pilots("best", small_scen, SMALL)
    with pytest.raises(ValueError, match=r"strategy='worst' is not supported; use one of \['best', 'first'\]"):
        local_search_pilots(small_scen.beta, SMALL, strategy="worst")
    with pytest.raises(ValueError, match=r"eta is only supported with rate_model='closed_form'"):
        user_rates(small_scen.beta, torch.zeros(20, 6, dtype=torch.long), COMPAT, eta=torch.ones(20, 10, 6))
    with pytest.raises(ValueError, match=r"n=0 must be a positive integer"):
        make_scenarios(SMALL, 0)


def test_pilot_bench_scripts_ratios_and_local_search_gap() -> None:
    from benchmarks.papers.bench_pilot import paper_ratio
    from benchmarks.papers.bench_pilot_heuristics import bench_row

    assert paper_ratio("small_K6", "hqcnn", "exhaustive") == pytest.approx(18.08 / 18.43)
    assert paper_ratio("medium_M40", "hqcnn", "location") == pytest.approx(124.56 / 102.31)  # paper's best: greedy
    assert paper_ratio("small_K15", "mlp_matched", "master_ap") is None
    full = bench_row("small_K6", "paper_code_compat", n=6, seed=3, limit=200, subset=0)
    assert full["ls_n"] == 6 and full["ls_gap"] == pytest.approx(1 - full["mean"]["local_search"]
                                                                 / full["mean"]["exhaustive"])
    assert all(v <= full["mean"]["exhaustive"] + 1e-9 for v in full["mean"].values())
    sub = bench_row("small_K6", "closed_form", n=6, seed=3, limit=100, subset=2)  # 122 partitions > 100
    assert "exhaustive" not in sub["mean"] and sub["ls_n"] == 2 and 0 <= sub["ls_gap"] < 0.05


# ---- hostile inputs (issue 13) ------------------------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1e-9, 3.0])
def test_beta_outside_zero_one_is_refused_everywhere(small_scen, bad):
    beta = small_scen.beta.clone()
    beta[2, 4, 1] = bad
    pilots = torch.zeros(20, 6, dtype=torch.long)
    message = (rf"^beta holds 1 value outside \[0, 1\] \(e\.g\. {bad!r}\); large-scale fading is a finite linear power "
               r"gain 0 <= beta <= 1 \(pass 10\*\*\(dB/10\), not dB, and no NaN\)$")
    for call in (lambda: sum_rate(beta, pilots, SMALL), lambda: exhaustive_pilots(beta, SMALL),
                 lambda: master_ap_pilots(beta, SMALL), lambda: local_search_pilots(beta, SMALL),
                 lambda: batched_user_rates(beta, pilots[:, None], SMALL),
                 lambda: soft_sum_rate(beta, torch.full((20, 6, 3), 1 / 3, dtype=torch.float64), SMALL)):
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("cfg", [SMALL, COMPAT])
def test_zero_beta_takes_the_finite_limit(small_scen, cfg):
    beta = small_scen.beta[:4].clone()
    beta[0, :, 2] = 0.0  # user 2 heard by no AP
    beta[1, 3, :] = 0.0  # AP 3 hears no user
    beta[2, 5, 1] = 0.0  # one link
    tiny = torch.where(beta == 0, torch.full_like(beta, 1e-30), beta)  # the limit, approached
    g = torch.Generator().manual_seed(12)
    pilots = torch.randint(0, 3, (4, 6), generator=g)
    exact, near = sum_rate(beta, pilots, cfg), sum_rate(tiny, pilots, cfg)
    assert bool(torch.isfinite(exact).all()) and torch.allclose(exact, near, rtol=1e-9, atol=0)
    best, best_rate = exhaustive_pilots(beta, cfg)
    assert torch.allclose(best_rate, sum_rate(beta, best, cfg), rtol=1e-12) and bool((best_rate > 0).all())
    assert torch.allclose(best_rate, exhaustive_pilots(tiny, cfg)[1], rtol=1e-9)
    assert float(sum_rate(torch.zeros(1, 10, 6, dtype=torch.float64), pilots[:1], cfg)) == 0.0
    probs = torch.full((4, 6, 3), 1 / 3, dtype=torch.float64, requires_grad=True)
    soft_sum_rate(beta, probs, cfg).sum().backward()
    assert bool(torch.isfinite(probs.grad).all())


def test_soft_rate_refuses_non_probabilities(small_scen):
    beta = small_scen.beta[:2]
    neg = torch.tensor([[1.5, -0.5, 0.0]] * 6, dtype=torch.float64).expand(2, 6, 3)
    with pytest.raises(ValueError, match=r"^probs hold values outside \[0, 1\] \(min -0\.5, NaN False\); pass "
                                         r"probabilities, e\.g\. logits\.softmax\(-1\)$"):
        soft_sum_rate(beta, neg, SMALL)
    with pytest.raises(ValueError, match=r"^probs rows must sum to 1 \(largest deviation 0\.5 > 1e-05\); each user's "
                                         r"pilot probabilities form one distribution"):
        soft_sum_rate(beta, torch.full((2, 6, 3), 0.5, dtype=torch.float64), SMALL)
    with pytest.raises(ValueError, match=r"probs hold values outside \[0, 1\] \(min -1\.0, NaN True\)"):
        soft_sum_rate(beta, torch.full((2, 6, 3), float("nan"), dtype=torch.float64), SMALL)


def test_power_coefficients_must_be_non_negative_and_within_budget(small_scen):
    beta = small_scen.beta[:2]
    pilots = torch.zeros(2, 6, dtype=torch.long)
    gamma = estimation_quality(beta, copilot_matrix(pilots), SMALL)
    eta = power_control(gamma, SMALL)
    assert torch.allclose(user_rates(beta, pilots, SMALL, eta=eta), user_rates(beta, pilots, SMALL), rtol=1e-14)
    with pytest.raises(ValueError, match=r"^eta exceeds the per-AP power budget: L sum_k eta_mk gamma_mk = 2 > 1 at "
                                         r"some AP; scale eta down"):
        user_rates(beta, pilots, SMALL, eta=2 * eta)
    with pytest.raises(ValueError, match=r"^eta holds negative or non-finite power coefficients"):
        user_rates(beta, pilots, SMALL, eta=-eta)
    with pytest.raises(ValueError, match=r"^eta must be a float tensor shaped like gamma \(2, 10, 6\)"):
        user_rates(beta, pilots, SMALL, eta=eta[:, :5])


def test_search_arguments_are_checked(small_scen):
    from qtrain.wireless import greedy_pilots, random_pilots

    with pytest.raises(ValueError, match=r"^n_iter=-1 must be an integer >= 0$"):
        greedy_pilots(small_scen.beta, SMALL, n_iter=-1)
    with pytest.raises(ValueError, match=r"^init\.shape=\(3, 6\) must be \(S, K\) = \(20, 6\)"):
        greedy_pilots(small_scen.beta, SMALL, init=torch.zeros(3, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"^pilots must be an integer tensor"):
        local_search_pilots(small_scen.beta, SMALL, init=torch.zeros(20, 6))
    with pytest.raises(ValueError, match=r"^rtol=nan must be a finite number in \[0, 1\)"):
        local_search_pilots(small_scen.beta, SMALL, rtol=float("nan"))
    with pytest.raises(ValueError, match=r"^n_scenarios=-2 must be an integer >= 0$"):
        random_pilots(-2, SMALL)
    with pytest.raises(ValueError, match=r"^ue_pos holds NaN or inf"):
        location_pilots(torch.full((1, 6, 2), float("nan"), dtype=torch.float64), SMALL)


def test_damaged_scenario_cache_is_regenerated(tmp_path):
    first = make_scenarios(SMALL, 3, seed=4, cache_dir=tmp_path)
    path = scenario_cache_path(SMALL, 3, 4, tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    again = make_scenarios(SMALL, 3, seed=4, cache_dir=tmp_path)
    assert torch.equal(first.beta, again.beta) and [p.name for p in tmp_path.iterdir()] == [path.name]
    assert torch.equal(make_scenarios(SMALL, 3, seed=4, cache_dir=tmp_path).beta, first.beta)
