"""(P1) by CVXPY agrees with exact water-filling where CVXPY reports ``optimal``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from plkg.solvers.sum_rate_cvxpy import solve_sum_rate_cvxpy
from plkg.solvers.water_filling import water_filling


@pytest.mark.parametrize("log_pa", [-3.0, 0.0, 2.0])
def test_agrees_with_water_filling(rng, log_pa):
    m_a = 10 ** rng.uniform(-4, 1, 10)
    m_b = 10 ** rng.uniform(-3, 1, 10)
    pa = 10**log_pa
    cvx = solve_sum_rate_cvxpy(pa, m_a, m_b)
    wf = water_filling(pa, m_a, m_b)
    assert cvx.status == "optimal"
    assert cvx.x_w.sum() <= pa * (1 + 1e-6)
    # WF is optimal: CVXPY cannot beat it (beyond its tolerance) and gets within 1e-6
    assert cvx.objective <= float(wf.objective) * (1 + 1e-7)
    assert cvx.objective == pytest.approx(float(wf.objective), rel=1e-6)
    np.testing.assert_allclose(cvx.x_w, wf.x_w, atol=1e-3 * pa)
    assert cvx.mu == pytest.approx(float(wf.mu), rel=1e-3)


def test_on_a_design(small_scenario):
    from plkg.precoding.design_cache import design_for_scenario

    design = design_for_scenario(small_scenario)
    for pa in (1e-4, 1e-1):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cvx = solve_sum_rate_cvxpy(pa, design.m_a, design.m_b)
        wf = water_filling(pa, design.m_a, design.m_b)
        assert cvx.objective <= float(wf.objective) * (1 + 1e-7)
        if cvx.status == "optimal":
            assert cvx.objective == pytest.approx(float(wf.objective), rel=1e-6)
        else:  # never used silently: an inaccurate solve warns
            assert any("optimal_inaccurate" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    ("pa", "m_a", "m_b"),
    [(0.0, [0.1], [1.0]), (np.nan, [0.1], [1.0]), (1.0, [0.1], [-1.0]), (1.0, [0.1, 1], [1.0])],
)
def test_bad_input(pa, m_a, m_b):
    with pytest.raises(ValueError):
        solve_sum_rate_cvxpy(pa, m_a, m_b)
