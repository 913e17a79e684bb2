"""WFPAKF: Algorithm 1 on Eqs. (57)-(61) of the near-field paper, as written and corrected (x >= 0)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plkg.solvers.maxmin_exact import solve_maxmin
from plkg.solvers.maxmin_highpower import (
    corrected_allocation,
    paper_allocation,
    paper_mu,
    solve_highpower,
)

LN2 = math.log(2.0)


def approx_rates(x, m_b, user, k):
    """C_k of the high-power approximation (57), independent re-implementation."""
    return np.bincount(user, weights=np.log2(1.0 + x / m_b), minlength=k)


@st.composite
def all_active_sets(draw):
    """m_b within a factor 2 of each other and a large budget: every subchannel is active."""
    k = draw(st.integers(1, 4))
    d = draw(st.lists(st.integers(1, 6), min_size=k, max_size=k))
    user = np.repeat(np.arange(k), d)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    m_b = 1e-9 * rng.uniform(1.0, 2.0, size=user.size)
    pa = 10.0 ** draw(st.floats(-5.0, -1.0))
    return m_b, user, k, pa


@settings(max_examples=30, deadline=None)
@given(all_active_sets())
def test_paper_and_corrected_agree_when_all_active(case):
    m_b, user, k, pa = case
    paper = solve_highpower(m_b, user, k, pa, "paper")
    corr = solve_highpower(m_b, user, k, pa, "corrected")
    assert paper.status == corr.status == "converged"
    assert np.all(np.asarray(paper.x_w) > 0)
    assert float(paper.t_bits) == pytest.approx(float(corr.t_bits), rel=1e-9)
    np.testing.assert_allclose(paper.x_w, corr.x_w, rtol=1e-7)
    np.testing.assert_allclose(paper.mu, corr.mu, rtol=1e-9)


def test_paper_formula_gives_negative_powers_with_weak_subchannels():
    user = np.array([0, 0, 0, 1, 1])
    m_b = np.array([1e-10, 1e-9, 1e2, 3e-10, 5e-9])  # one dead subchannel (m_b = 100 W)
    sol = solve_highpower(m_b, user, 2, 1e-3, "paper")
    assert sol.status == "negative_powers"
    assert np.asarray(sol.x_w)[2] < 0
    corr = solve_highpower(m_b, user, 2, 1e-3, "corrected")
    assert corr.status == "converged"
    assert np.asarray(corr.x_w)[2] == 0.0 and np.all(np.asarray(corr.x_w) >= 0)


def test_paper_eqs_59_60_satisfy_kkt_58():
    """x of (59)-(60) makes g_{k,j} of Eq. (58) equal mu_k (finite differences of (57)) and C_k = t."""
    rng = np.random.default_rng(2)
    user = np.repeat(np.arange(3), [3, 2, 4])
    m_b = 1e-9 * rng.uniform(1, 3, size=user.size)
    t = 30.0
    x = paper_allocation(t, m_b, user, 3)
    mu = paper_mu(t, m_b, user, 3)[user]
    h = 1e-6 * x
    fd = (np.log2(1 + (x + h) / m_b) - np.log2(1 + (x - h) / m_b)) / (2 * h)
    np.testing.assert_allclose(fd, mu, rtol=1e-6)
    np.testing.assert_allclose(approx_rates(x, m_b, user, 3), t, rtol=1e-12)


def test_corrected_equals_exact_solver_in_the_ma_zero_limit():
    """With m_a = 0, Eq. (42) IS (57): WFPAKF (corrected) must equal the exact max-min optimum."""
    rng = np.random.default_rng(4)
    user = np.repeat(np.arange(4), [7, 5, 3, 2])
    m_b = 10.0 ** rng.uniform(-10, -5, size=user.size)
    for pa in (1e-5, 1e-3, 1e-1):
        corr = solve_highpower(m_b, user, 4, pa, "corrected")
        exact = solve_maxmin(np.zeros_like(m_b), m_b, user, 4, pa)
        assert float(corr.t_bits) == pytest.approx(float(exact.t_bits), rel=1e-9)
        np.testing.assert_allclose(corr.x_w, exact.x_w, rtol=1e-6, atol=1e-12 * pa)


def test_corrected_rates_equal_t_and_budget_used():
    rng = np.random.default_rng(8)
    user = np.repeat(np.arange(3), [6, 4, 5])
    m_b = 10.0 ** rng.uniform(-10, -4, size=user.size)
    pa = np.array([1e-4, 1e-2])
    sol = solve_highpower(m_b, user, 3, pa, "corrected")
    x = np.asarray(sol.x_w)
    np.testing.assert_allclose(x.sum(-1), pa, rtol=1e-10)
    for i in range(2):
        np.testing.assert_allclose(approx_rates(x[i], m_b, user, 3), sol.t_bits[i], rtol=1e-10)
    np.testing.assert_allclose(corrected_allocation(sol.t_bits, m_b, user, 3), x)


def test_wfpakf_close_to_exact_at_low_power_and_drifting(fig6_like):
    """Paper trend: WFPAKF ~ CVXPAKF at low P_a, gap growing with P_a (approximation (57))."""
    from plkg.keyrate.subchannel import user_key_rates_bits

    m_a, m_b, user, k = fig6_like
    gaps = []
    for pa in (3e-4, 3e-2):
        x = np.asarray(solve_highpower(m_b, user, k, pa, "corrected").x_w)
        t_exact = float(solve_maxmin(m_a, m_b, user, k, pa).t_bits)
        gaps.append(1 - user_key_rates_bits(x, m_a, m_b, user, k).min() / t_exact)
    assert 0 <= gaps[0] < 2e-3
    assert gaps[1] > gaps[0]


@pytest.fixture(scope="module")
def fig6_like():
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.precoding.design_cache import design_for_scenario

    d = design_for_scenario(load_scenario("fig6").replace(n_antennas=64, ccm_draws=8))
    return d.m_a, d.m_b, d.user, d.n_users


@pytest.mark.parametrize("pa", [0.0, -1.0, float("nan")])
def test_bad_budget(pa):
    with pytest.raises(ValueError, match="P_a"):
        solve_highpower(np.ones(2), np.array([0, 1]), 2, pa)


def test_bad_variant_and_inputs():
    with pytest.raises(ValueError, match="variant"):
        solve_highpower(np.ones(2), np.array([0, 1]), 2, 1.0, "exact")
    with pytest.raises(ValueError, match="subchannel"):
        solve_highpower(np.ones(2), np.array([0, 0]), 2, 1.0)
    with pytest.raises(ValueError, match="m_b"):
        solve_highpower(np.array([1.0, np.nan]), np.array([0, 1]), 2, 1.0)
