"""Exact water-filling for (P1), Eqs. (45)-(48) of the near-field paper."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from plkg.keyrate.subchannel import subchannel_key_rate_bits, subchannel_key_rate_derivative
from plkg.solvers.water_filling import (
    WaterFillingError,
    allocate,
    level_from_x,
    water_filling,
    water_filling_torch,
    x_from_mu,
    x_from_mu_paper,
)


def random_channels(rng, n, lo=-3.0, hi=1.0):
    return 10 ** rng.uniform(lo, hi, n), 10 ** rng.uniform(lo, hi, n)


def test_x_from_mu_is_the_inverse_of_the_derivative(rng):
    """Eq. (48) against an independent root-finder on d/dx of Eq. (42)."""
    m_a, m_b = random_channels(rng, 20)
    mu = 0.5 * subchannel_key_rate_derivative(0.0, m_a, m_b)  # below the slope at 0: active
    x = x_from_mu(mu, m_a, m_b)
    for j in range(20):
        ref = brentq(
            lambda t, j=j: subchannel_key_rate_derivative(t, m_a[j], m_b[j]) - mu[j],
            0.0,
            1e6,
            xtol=1e-14,
            rtol=1e-14,
        )
        assert x[j] == pytest.approx(ref, rel=1e-10)
    # mu above the slope at x = 0: projected to x = 0
    assert np.all(x_from_mu(2 * subchannel_key_rate_derivative(0.0, m_a, m_b), m_a, m_b) == 0)


def test_paper_form_of_eq48_agrees_where_well_conditioned(rng):
    m_a, m_b = random_channels(rng, 50, lo=-1.0, hi=1.0)
    mu = 10 ** rng.uniform(-3, 0, 50)
    np.testing.assert_allclose(x_from_mu_paper(mu, m_a, m_b), x_from_mu(mu, m_a, m_b), rtol=1e-8)
    # ... and is destroyed by cancellation for m_a << 1, where the stable form still inverts (46)
    m_a_small = np.full(5, 1e-13)
    m_b1 = np.ones(5)
    mu1 = np.full(5, 0.1)
    stable = x_from_mu(mu1, m_a_small, m_b1)
    np.testing.assert_allclose(stable, 1 / (np.log(2) * mu1) - m_b1, rtol=1e-9)  # Eq. (59) limit
    paper = x_from_mu_paper(mu1, m_a_small, m_b1)
    assert np.max(np.abs(paper - stable) / stable) > 1e-6


def check_solution(res, pa, m_a, m_b):
    x = np.asarray(res.x_w)
    assert np.all(x >= 0)
    np.testing.assert_allclose(x.sum(-1), pa, rtol=1e-11)
    assert np.all(np.asarray(res.kkt_residual) <= 1e-8)
    # KKT from scratch: equal slopes on active subchannels, lower slope at 0 on inactive ones
    g = subchannel_key_rate_derivative(x, m_a, m_b)
    g0 = subchannel_key_rate_derivative(np.zeros_like(x), m_a, m_b)
    mu = np.asarray(res.mu)[..., None]
    assert np.all(np.where(x > 0, np.abs(g - mu) / mu, 0) <= 1e-8)
    assert np.all(np.where(x > 0, 0, g0 - mu) <= 1e-8 * mu)


def test_batched_over_powers_and_scenarios(rng):
    m_a, m_b = random_channels(rng, (3, 1, 12))
    pa = 10 ** rng.uniform(-3, 2, (1, 5))
    res = water_filling(pa, m_a, m_b)
    assert res.x_w.shape == (3, 5, 12) and res.mu.shape == (3, 5)
    check_solution(res, np.broadcast_to(pa, (3, 5)), m_a, m_b)
    for i in range(3):
        for p in range(5):
            single = water_filling(pa[0, p], m_a[i, 0], m_b[i, 0])
            np.testing.assert_allclose(single.x_w, res.x_w[i, p], rtol=1e-12, atol=1e-300)


def test_optimal_against_random_feasible_points(rng):
    """No feasible allocation (random points on the simplex) has a larger sum KR."""
    m_a, m_b = random_channels(rng, 6)
    pa = 0.7
    res = water_filling(pa, m_a, m_b)
    best = float(np.sum(subchannel_key_rate_bits(res.x_w, m_a, m_b)))
    z = rng.dirichlet(np.full(6, 0.3), 20000) * pa
    assert np.max(np.sum(subchannel_key_rate_bits(z, m_a, m_b), axis=-1)) <= best + 1e-12
    # perturbing along the budget surface never helps (first-order optimality)
    for _ in range(200):
        d = rng.standard_normal(6)
        d -= d.mean()
        xp = res.x_w + 1e-4 * pa * d
        if np.all(xp >= 0):
            assert np.sum(subchannel_key_rate_bits(xp, m_a, m_b)) <= best + 1e-12


def test_high_power_limit_is_equal_level_eq59(rng):
    """m_a = 0: x = w - m_b (classical water-filling, Eq. (59)) with w = 1/(mu ln 2)."""
    m_b = 10 ** rng.uniform(-2, 0, 10)
    res = water_filling(5.0, np.zeros(10), m_b)
    active = res.x_w > 0
    level = (5.0 + m_b[active].sum()) / active.sum()
    np.testing.assert_allclose(res.x_w[active], level - m_b[active], rtol=1e-10)
    assert np.all(m_b[~active] >= level)


def test_torch_twin_matches_numpy(rng):
    m_a, m_b = random_channels(rng, (4, 30), lo=-6, hi=3)
    pa = 10 ** rng.uniform(-4, 2, 4)
    ref = water_filling(pa, m_a, m_b)
    out = water_filling_torch(pa, m_a, m_b, device="cpu")
    assert out.x_w.dtype == torch.float64
    np.testing.assert_allclose(out.x_w.numpy(), ref.x_w, rtol=1e-10, atol=1e-14 * pa.max())
    np.testing.assert_allclose(out.mu.numpy(), ref.mu, rtol=1e-10)
    assert torch.all(out.kkt_residual <= 1e-8)
    f32 = water_filling_torch(pa, m_a, m_b, dtype=torch.float32)
    np.testing.assert_allclose(f32.mu.double().numpy(), ref.mu, rtol=1e-4)


@settings(deadline=None, max_examples=60)
@example(  # found by this test: Newton crept along one end of the bracket (now bisects too)
    log_m_a=[0.0, 0.0, 1.0582626416561485e-05, -10.31545694849147],
    log_m_b=[0.0, 0.0, -11.71309590745151] + [0.0] * 9,
    log_pa=-5.160690408680436,
)
@given(
    log_m_a=st.lists(st.floats(-12, 6), min_size=1, max_size=12),
    log_m_b=st.lists(st.floats(-12, 6), min_size=12, max_size=12),
    log_pa=st.floats(-6, 6),
)
def test_fuzzed_kkt(log_m_a, log_m_b, log_pa):
    n = len(log_m_a)
    m_a = 10 ** np.asarray(log_m_a)
    m_b = 10 ** np.asarray(log_m_b[:n])
    pa = 10**log_pa
    res = water_filling(pa, m_a, m_b)
    check_solution(res, pa, m_a, m_b)
    tres = water_filling_torch(pa, m_a, m_b)
    np.testing.assert_allclose(tres.mu.numpy(), res.mu, rtol=1e-9)


def test_zero_budget():
    res = water_filling(0.0, np.array([0.1, 0.2]), np.array([1.0, 2.0]))
    assert np.all(res.x_w == 0) and np.isfinite(res.mu)


@pytest.mark.parametrize(
    ("pa", "m_a", "m_b", "match"),
    [
        (np.nan, [0.1], [1.0], "P_a"),
        (-1.0, [0.1], [1.0], "non-negative"),
        (1.0, [np.nan], [1.0], "m_a"),
        (1.0, [0.1], [0.0], "m_b"),
        (1.0, [-0.1], [1.0], "m_a"),
        (1.0, [0.1, 0.2], [1.0], "last dimension"),
        (1.0, [], [], "last dimension"),
    ],
)
def test_bad_input(pa, m_a, m_b, match):
    with pytest.raises(ValueError, match=match):
        water_filling(pa, np.asarray(m_a, dtype=float), np.asarray(m_b, dtype=float))


def test_non_convergence_raises(rng):
    m_a, m_b = random_channels(rng, 40)
    with pytest.raises(WaterFillingError, match="did not converge"):
        water_filling(3.0, m_a, m_b, max_iter=1)


def test_allocate_on_a_design(small_scenario):
    from plkg.keyrate.evaluate import evaluate_allocation
    from plkg.precoding.design_cache import design_for_scenario
    from plkg.solvers.equal_power import allocate as epa

    design = design_for_scenario(small_scenario)
    res = allocate(design, 0.01, scenario=small_scenario)
    assert res.method == "wfpa" and res.status == "optimal"
    assert res.x_w.sum() == pytest.approx(0.01, rel=1e-11)
    assert res.extras["kkt_residual"] <= 1e-8
    report = evaluate_allocation(design, res.x_w)
    # Eq. (17) with the Eq. (39) precoders equals Eq. (42) and beats EPA
    assert report.sum_kr_bits == pytest.approx(res.objective, rel=1e-8)
    assert res.objective >= epa(design, 0.01).objective
    # the water level reproduces the allocation: w = level_from_x on any active subchannel
    j = int(np.argmax(res.x_w))
    w = level_from_x(res.x_w[j], design.m_a[j], design.m_b[j])
    assert w == pytest.approx(res.extras["level_w"], rel=1e-10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_twin_on_gpu(rng):
    m_a, m_b = random_channels(rng, (8, 64), lo=-6, hi=3)
    pa = 10 ** rng.uniform(-4, 2, 8)
    ref = water_filling(pa, m_a, m_b)
    out = water_filling_torch(pa, m_a, m_b, device="cuda")
    assert out.x_w.device.type == "cuda"
    np.testing.assert_allclose(out.mu.cpu().numpy(), ref.mu, rtol=1e-10)
    assert torch.all(out.kkt_residual <= 1e-8)
