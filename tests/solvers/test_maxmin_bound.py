"""Bound exact max-min: same optimum as ExactMaxMin's cold solve, independent of call history."""

from __future__ import annotations

import numpy as np
import pytest

from plkg.solvers.maxmin_bound import BoundMaxMin
from plkg.solvers.maxmin_exact import ExactMaxMin


def _design(rng, k=3, d=(5, 8, 4)):
    """Paper-like scales: m_a / m_b constant per set (L / (Q P_b)), m_b ~ 1e-11..1e-5 W."""
    user = np.repeat(np.arange(k), d)
    m_b = 10.0 ** rng.uniform(-11, -5, user.size)
    return m_b * 10.0 ** rng.uniform(-1, 2), m_b, user, k


def rates_np(x, m_a, m_b, user, k):
    """Eq. (42) in the paper's own form (independent of the solver's formulas)."""
    return np.bincount(user, np.log2(1 + (x / m_a / m_b) / (x / m_b + 1 / m_a + 1)), minlength=k)


def test_equals_cold_exact_solve(rng):
    m_a, m_b, user, k = _design(rng)
    bound = BoundMaxMin(m_a, m_b, user, k, pa_range_w=(1e-4, 1.0), nodes_per_decade=16)
    exact = ExactMaxMin(m_a, m_b, user, k)
    # inside the table, at its nodes, and outside it on both sides
    budgets = np.concatenate([10 ** rng.uniform(-4, 0, 25), [1e-4, 1.0, 1e-7, 30.0]])
    for pa in budgets:
        exact.clear_warm_start()
        ref = exact.solve(float(pa))
        sol = bound(float(pa))
        assert sol.status == "optimal"
        assert float(sol.t_bits) == pytest.approx(float(ref.t_bits), rel=1e-12)
        np.testing.assert_allclose(sol.x_w, ref.x_w, rtol=0, atol=1e-12 * pa)
        # optimality, independently: the budget is used and every UE has the max-min rate
        assert sol.x_w.sum() == pytest.approx(pa, rel=1e-12)
        r = rates_np(sol.x_w, m_a, m_b, user, k)
        np.testing.assert_allclose(r, float(sol.t_bits), rtol=1e-10)


def test_result_does_not_depend_on_call_order(rng):
    m_a, m_b, user, k = _design(rng)
    bound = BoundMaxMin(m_a, m_b, user, k)
    pa = 10 ** rng.uniform(-4, 1, 6)
    first = [bound(p).x_w.copy() for p in pa]
    again = [bound(p).x_w for p in pa[::-1]][::-1]
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)


def test_validation(rng):
    m_a, m_b, user, k = _design(rng)
    with pytest.raises(ValueError):
        BoundMaxMin(m_a, -m_b, user, k)
    with pytest.raises(ValueError, match="pa_range_w"):
        BoundMaxMin(m_a, m_b, user, k, pa_range_w=(0.0, 1.0))
    bound = BoundMaxMin(m_a, m_b, user, k)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="P_a"):
            bound(bad)
