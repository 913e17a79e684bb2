"""Exact max-min solver (P2), Eq. (52) of the near-field paper, against independent derivations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize

from plkg.solvers.maxmin_exact import (
    ExactMaxMin,
    SolverError,
    least_power_allocation,
    solve_maxmin,
)

LN2 = math.log(2.0)


def rates_np(x, m_a, m_b, user, k):
    """Independent float64 re-implementation of Eq. (42) in the paper's own form."""
    terms = np.log2(1.0 + (x / m_a / m_b) / (x / m_b + 1.0 / m_a + 1.0))
    return np.bincount(user, weights=terms, minlength=k)


def derivative_np(x, m_a, m_b):
    """dC/dx from Eq. (46)'s denominator: m_b / (ln2 (m_a x^2 + m_b (2 m_a + 1) x + m_b^2 (m_a + 1)))."""
    return m_b / (LN2 * (m_a * x**2 + m_b * (2 * m_a + 1) * x + m_b**2 * (m_a + 1)))


@st.composite
def subchannel_sets(draw, max_users=4, max_d=6):
    """Random subchannel sets on the paper's scales: m_a / m_b = const (L / (Q P_b)) per set."""
    k = draw(st.integers(1, max_users))
    d = draw(st.lists(st.integers(1, max_d), min_size=k, max_size=k))
    user = np.repeat(np.arange(k), d)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    m_b = 10.0 ** rng.uniform(-11, -5, size=user.size)
    ratio = 10.0 ** draw(st.floats(-2, 3))
    m_a = m_b * ratio
    pa = 10.0 ** draw(st.floats(-5, 0))
    return m_a, m_b, user, k, pa


def check_kkt(sol, m_a, m_b, user, k, pa, rtol=1e-8):
    """KKT conditions (54)-(56) on the exact C_k: equal rates, budget, per-UE water levels."""
    x = np.asarray(sol.x_w)
    assert np.all(x >= 0)
    assert x.sum() == pytest.approx(pa, rel=1e-10)
    r = rates_np(x, m_a, m_b, user, k)
    t = float(sol.t_bits)
    assert np.max(np.abs(r - t)) <= rtol * (1 + t)
    w = np.asarray(sol.water_level_w)[user]
    deriv = derivative_np(x, m_a, m_b)
    active = x > 0  # the solver sets inactive subchannels to exactly 0
    # active: c'(x) = 1 / (w ln 2); inactive: c'(0) <= 1 / (w ln 2)
    np.testing.assert_allclose(deriv[active] * w[active] * LN2, 1.0, rtol=1e-6)
    assert np.all(derivative_np(0.0, m_a, m_b)[~active] * w[~active] * LN2 <= 1.0 + 1e-6)


@settings(max_examples=40, deadline=None)
@given(subchannel_sets())
def test_kkt_on_fuzzed_sets(case):
    m_a, m_b, user, k, pa = case
    sol = solve_maxmin(m_a, m_b, user, k, pa)
    assert sol.status == "optimal"
    check_kkt(sol, m_a, m_b, user, k, pa)


@settings(max_examples=25, deadline=None)
@given(subchannel_sets(max_users=3, max_d=3))
def test_no_feasible_point_beats_it(case):
    """Brute force: random feasible allocations (Dirichlet, and SLSQP on (P3)) never beat t*."""
    m_a, m_b, user, k, pa = case
    t_star = float(solve_maxmin(m_a, m_b, user, k, pa).t_bits)
    rng = np.random.default_rng(0)
    x = pa * rng.dirichlet(np.full(user.size, 0.5), size=2000)
    best = max(rates_np(xi, m_a, m_b, user, k).min() for xi in x)
    assert best <= t_star * (1 + 1e-9)
    # SLSQP on max t s.t. C_k >= t (variables u = x / P_a); a local solver on a convex problem.
    n = user.size
    cons = [{"type": "ineq", "fun": lambda z: 1.0 - z[:n].sum()}]
    for kk in range(k):
        cons.append(
            {
                "type": "ineq",
                "fun": lambda z, kk=kk: (
                    rates_np(pa * np.maximum(z[:n], 0), m_a, m_b, user, k)[kk] - z[n]
                ),
            }
        )
    z0 = np.r_[np.full(n, 1.0 / n), 0.0]
    res = minimize(
        lambda z: -z[n],
        z0,
        constraints=cons,
        bounds=[(0, 1)] * n + [(0, None)],
        method="SLSQP",
        options={"maxiter": 500, "ftol": 1e-12},
    )
    if res.success:
        assert res.x[n] <= t_star * (1 + 1e-6) + 1e-9


def test_two_single_subchannel_users_closed_form():
    """K = 2, D_k = 1: t* solves c_1(x) = c_2(P_a - x) -- one brentq root, independent of the solver."""
    m_b = np.array([1e-9, 5e-8])
    m_a = 600 * m_b
    user = np.array([0, 1])
    pa = 1e-3

    def gap(x):
        return rates_np(np.array([x, pa - x]), m_a, m_b, user, 2) @ np.array([1.0, -1.0])

    x1 = brentq(gap, 0.0, pa, xtol=1e-18, rtol=1e-15)
    t_ref = rates_np(np.array([x1, pa - x1]), m_a, m_b, user, 2)[0]
    sol = solve_maxmin(m_a, m_b, user, 2, pa)
    assert float(sol.t_bits) == pytest.approx(t_ref, rel=1e-11)
    np.testing.assert_allclose(sol.x_w, [x1, pa - x1], rtol=1e-9)


def test_least_power_is_inverse_of_maxmin():
    rng = np.random.default_rng(3)
    user = np.repeat(np.arange(3), [5, 3, 4])
    m_b = 10.0 ** rng.uniform(-10, -6, size=user.size)
    m_a = 600 * m_b
    pa = np.array([1e-4, 1e-3, 1e-2, 1e-1])
    sol = solve_maxmin(m_a, m_b, user, 3, pa)
    lp = least_power_allocation(sol.t_bits, m_a, m_b, user, 3)
    assert lp.status == "converged"
    np.testing.assert_allclose(np.asarray(lp.power_w).sum(-1), pa, rtol=1e-9)
    np.testing.assert_allclose(lp.x_w, sol.x_w, rtol=1e-7, atol=1e-12 * pa.max())
    np.testing.assert_allclose(lp.rate_bits, np.repeat(sol.t_bits[:, None], 3, 1), rtol=1e-10)


def test_least_power_single_ue_against_slsqp():
    """min sum x s.t. C >= t for one UE, D = 3, by SLSQP (scaled variables) vs the water-filling."""
    m_b = np.array([2e-10, 1e-9, 3e-8])
    m_a = 600 * m_b
    user = np.zeros(3, dtype=int)
    t = 40.0
    lp = least_power_allocation(t, m_a, m_b, user, 1)
    scale = float(lp.power_w[..., 0])
    res = minimize(
        lambda u: u.sum(),
        np.full(3, 1.0),
        constraints=[
            {"type": "ineq", "fun": lambda u: rates_np(scale * u, m_a, m_b, user, 1)[0] - t}
        ],
        bounds=[(0, None)] * 3,
        method="SLSQP",
        options={"maxiter": 500, "ftol": 1e-14},
    )
    assert res.success
    assert res.fun == pytest.approx(1.0, rel=1e-6)


def test_highpower_limit_matches_textbook_waterfilling():
    """m_a -> 0: C_k = sum log2(1 + x/m_b) and the per-UE optimum is x = max(0, w - m_b)."""
    rng = np.random.default_rng(5)
    user = np.repeat(np.arange(2), [4, 3])
    m_b = 10.0 ** rng.uniform(-9, -7, size=user.size)
    m_a = np.zeros_like(m_b)
    sol = solve_maxmin(m_a, m_b, user, 2, 1e-6)
    w = np.asarray(sol.water_level_w)[user]
    np.testing.assert_allclose(sol.x_w, np.maximum(w - m_b, 0.0), rtol=1e-9, atol=1e-20)


def test_torch_twin_matches_numpy_batched():
    rng = np.random.default_rng(7)
    user = np.repeat(np.arange(4), [6, 4, 3, 2])
    m_b = 10.0 ** rng.uniform(-10, -6, size=user.size)
    m_a = 600 * m_b
    pa = 10.0 ** np.linspace(-4, -0.5, 9)
    ref = solve_maxmin(m_a, m_b, user, 4, pa)
    tor = solve_maxmin(m_a, m_b, user, 4, torch.tensor(pa))
    assert isinstance(tor.x_w, torch.Tensor) and tor.x_w.dtype == torch.float64
    np.testing.assert_allclose(tor.t_bits.numpy(), ref.t_bits, rtol=1e-12)
    np.testing.assert_allclose(tor.x_w.numpy(), ref.x_w, rtol=1e-9, atol=1e-15)
    # batched == one by one
    for i, p in enumerate(pa):
        assert float(solve_maxmin(m_a, m_b, user, 4, p).t_bits) == pytest.approx(
            ref.t_bits[i], rel=1e-12
        )


def test_single_budget_path_cold_and_warm_match_batched():
    """The single-budget fast path (cold start, and warm-started along a sweep in both
    directions and from far away) gives the batched optimum and satisfies the KKT conditions."""
    rng = np.random.default_rng(11)
    user = np.repeat(np.arange(4), [9, 6, 4, 3])
    m_b = 10.0 ** rng.uniform(-10, -6, size=user.size)
    m_a = 600 * m_b
    pa = 10.0 ** np.linspace(-4.5, -0.5, 9)
    solver = ExactMaxMin(m_a, m_b, user, 4)
    ref = solver.solve(pa)
    for order in (range(9), reversed(range(9)), [0, 8, 4, 1, 7]):
        for i in order:
            sol = solver.solve(float(pa[i]))
            assert sol.status == "optimal"
            assert float(sol.t_bits) == pytest.approx(ref.t_bits[i], rel=1e-11)
            np.testing.assert_allclose(sol.x_w, ref.x_w[i], rtol=1e-8, atol=1e-13 * pa[i])
            check_kkt(sol, m_a, m_b, user, 4, pa[i])
    cold = ExactMaxMin(m_a, m_b, user, 4).solve(np.float64(pa[3]))
    again = solver.solve(np.array(pa[3]))  # 0-d array: same path, warm from the last budget
    assert float(cold.t_bits) == pytest.approx(ref.t_bits[3], rel=1e-11)
    assert float(again.t_bits) == pytest.approx(float(cold.t_bits), rel=1e-11)
    assert np.ndim(again.x_w) == 1 and again.rate_bits.shape == (4,)


def test_monotone_in_budget_and_saturates():
    user = np.repeat(np.arange(2), [2, 2])
    m_b = np.array([1e-9, 2e-9, 3e-9, 1e-8])
    m_a = 0.1 * m_b * 1e6  # strong BS noise: visible saturation at log2(1 + 1/m_a)
    solver = ExactMaxMin(m_a, m_b, user, 2)
    pa = 10.0 ** np.linspace(-6, 3, 30)
    t = np.asarray(solver.solve(pa).t_bits)
    assert np.all(np.diff(t) > 0)
    sup = np.bincount(user, np.log2(1 + 1 / m_a)).min()
    assert t[-1] < sup and t[-1] > 0.99 * sup


@pytest.mark.parametrize("pa", [0.0, -1e-3, float("nan"), float("inf")])
def test_bad_budget(pa):
    with pytest.raises(ValueError, match="P_a"):
        solve_maxmin(np.ones(2), np.ones(2), np.array([0, 1]), 2, pa)


def test_bad_inputs():
    with pytest.raises(ValueError, match="no subchannel"):
        solve_maxmin(np.ones(2), np.ones(2), np.array([0, 0]), 2, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        solve_maxmin(np.array([1.0, np.nan]), np.ones(2), np.array([0, 1]), 2, 1.0)
    with pytest.raises(ValueError, match="m_b"):
        solve_maxmin(np.ones(2), np.array([1.0, 0.0]), np.array([0, 1]), 2, 1.0)
    with pytest.raises(ValueError, match="saturates"):
        least_power_allocation(100.0, np.ones(2), np.ones(2), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="t must be"):
        least_power_allocation(-1.0, np.ones(2), np.ones(2), np.array([0, 1]), 2)


def test_allocate_on_design_and_eq17(small_design):
    from plkg.keyrate.evaluate import evaluate_allocation
    from plkg.solvers.maxmin_lexicographic import allocate

    res = allocate(small_design, 1e-2)
    assert res.status == "optimal" and res.method == "exact-maxmin"
    rep = evaluate_allocation(small_design, res.x_w)
    # Eq. (17) with the designed precoders equals Eq. (42); every UE at t.
    np.testing.assert_allclose(rep.kr_bits, res.extras["t"], rtol=1e-7)
    assert res.x_w.sum() == pytest.approx(1e-2, rel=1e-12)


def test_non_convergence_is_raised(small_design):
    from plkg.solvers.maxmin_lexicographic import allocate

    with pytest.raises(SolverError, match="did not converge"):
        allocate(small_design, 1e-2, max_iter=1, max_joint_iter=1)


@pytest.fixture(scope="module")
def small_design():
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.precoding.design_cache import design_for_scenario

    return design_for_scenario(load_scenario("fig6").replace(n_antennas=48, ccm_draws=8))
