"""Input class 2 of docs/reliability.md: public solvers and key-rate functions refuse bad input with a ValueError
naming the argument, and never return NaN or a degenerate result under a success status."""

from __future__ import annotations

import numpy as np
import pytest

from plkg import defaults
from plkg.channels.nearfield import gain_vector
from plkg.data.dataset import load_dataset
from plkg.errors import SolverError
from plkg.keyrate.gaussian import approximate_key_rate_bits, gaussian_mi_bits
from plkg.keyrate.subchannel import user_key_rates_bits
from plkg.solvers.equal_power import equal_power
from plkg.solvers.maxmin_exact import solve_maxmin
from plkg.solvers.water_filling import water_filling
from plkg.solvers.water_level import PowerDomainError

M_A = np.array([0.1, 0.2, 0.05])
M_B = np.array([1e-3, 2e-3, 5e-4])
USER = np.array([0, 1, 1])


@pytest.fixture(scope="module")
def fig6_constants():
    """m_a, m_b, user of the Fig. 6 design, as stored with the shipped dataset."""
    ds = load_dataset(defaults.dataset_path("fig6_sumrate"))
    return ds.extras["m_a"], ds.extras["m_b"], ds.extras["user"]


@pytest.mark.parametrize(
    "n_total, pa, match",
    [
        (0, 1.0, "n_total"),
        (-2, 1.0, "n_total"),
        (2.5, 1.0, "n_total"),
        (True, 1.0, "n_total"),
        (3, float("nan"), "P_a"),
        (3, -1.0, "P_a"),
        (3, "1", "P_a"),
    ],
)
def test_equal_power(n_total, pa, match):
    with pytest.raises(ValueError, match=match):
        equal_power(n_total, pa)


@pytest.mark.parametrize("rtol", ["1e-9", None, float("nan"), 0.0, 1.5, -1e-9, [1e-9]])
def test_bad_tolerance_named(rtol):
    with pytest.raises(ValueError, match="rtol"):
        water_filling(1.0, M_A, M_B, rtol=rtol)
    with pytest.raises(ValueError, match="rtol"):
        solve_maxmin(M_A, M_B, USER, 2, 1.0, rtol=rtol)


@pytest.mark.parametrize("max_iter", [0, -1, 2.5, "100", True])
def test_bad_iteration_cap_named(max_iter):
    with pytest.raises(ValueError, match="max_iter"):
        water_filling(1.0, M_A, M_B, max_iter=max_iter)
    with pytest.raises(ValueError, match="max_iter"):
        solve_maxmin(M_A, M_B, USER, 2, 1.0, max_iter=max_iter)


EXTREME_MAXMIN = [
    # (m_a, m_b, user, K, P_a) that gave NaN or t = 0 under status "optimal" in earlier versions;
    # now a certified optimum or PowerDomainError (outside the float64 domain)
    ([9.8e-284, 3.7e-226], [1.7e69, 1.6e-70], [0, 0], 1, 2.1e298),
    (
        [4.9e140, 0.0, 0.0, 9.1e-232],
        [1.5e218, 5.2e288, 2.1e274, 1.8e-211],
        [0, 0, 0, 0],
        1,
        3.8e283,
    ),
    ([0.0, 0.0, 2.65e-161], [2.3e23, 4.5e-35, 4.1e258], [0, 0, 0], 1, 2.0e-276),
    ([5.4e-226, 9.96e-128], [6.7e185, 1.9e36], [0, 0], 1, 1.1e-127),
    ([0.0, 8.0e-139, 7.4e217], [8.9e296, 3.7e-111, 4.2e-191], [0, 1, 1], 2, 1.1e228),
]


@pytest.mark.parametrize("case", range(len(EXTREME_MAXMIN)))
def test_maxmin_never_nan_or_degenerate_under_optimal(case):
    m_a, m_b, user, k, pa = EXTREME_MAXMIN[case]
    try:
        sol = solve_maxmin(np.array(m_a), np.array(m_b), np.array(user), k, pa)
    except PowerDomainError as exc:  # outside the float64 domain: refused, naming the value
        assert "P_a" in str(exc) or "subchannel" in str(exc)
        return
    assert sol.status == "optimal"
    x = np.asarray(sol.x_w)
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    assert abs(x.sum() / pa - 1) <= 1e-6 and 0 < float(sol.t_bits) < np.inf


def test_water_filling_beyond_float64_is_a_clear_domain_error():
    """1e300 W against m_b ~ 1e-3 W: the level would overflow; refused before any work."""
    with pytest.raises(PowerDomainError, match="P_a = 1e\\+300 W") as info:
        water_filling(1e300, M_A, M_B)
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)


def test_cvxpy_p1_is_checked_against_water_filling(fig6_constants, monkeypatch):
    from plkg.solvers import sum_rate_cvxpy
    from plkg.solvers import water_filling as wf

    m_a, m_b, _ = fig6_constants
    # the case: 1e-15 W; refused, or (on another BLAS) within 1e-4 of the exact optimum
    try:
        res = sum_rate_cvxpy.solve_sum_rate_cvxpy(1e-15, m_a, m_b)
    except sum_rate_cvxpy.CvxpySolveError as exc:
        assert "water-filling" in str(exc)
    else:
        exact = float(water_filling(1e-15, m_a, m_b).objective)
        assert abs(res.objective - exact) <= 1e-4 * exact
    # a wrong "optimal" is refused: pretend the exact optimum is 1 % higher
    real = wf.water_filling

    def higher(*a, **k):
        r = real(*a, **k)
        return type(r)(**{**r.__dict__, "objective": r.objective * 1.01})

    monkeypatch.setattr(wf, "water_filling", higher)
    with pytest.raises(SolverError, match="refused"):
        sum_rate_cvxpy.solve_sum_rate_cvxpy(1e-3, m_a, m_b)


def test_cvxpy_maxmin_is_checked_against_exact(fig6_constants, monkeypatch):
    from plkg.solvers import maxmin_exact
    from plkg.solvers.maxmin_cvxpy import MaxMinProblem

    m_a, m_b, user = fig6_constants
    problem = MaxMinProblem(m_a, m_b, user, int(user.max()) + 1, pa_w_max=1e-2)
    res = problem.solve(1e-2)  # checked against the exact solver: accepted
    exact = solve_maxmin(m_a, m_b, user, int(user.max()) + 1, 1e-2)
    assert abs(res.objective - float(exact.t_bits)) <= 1e-4 * float(exact.t_bits)
    real = maxmin_exact.solve_maxmin

    def off(*a, **k):
        s = real(*a, **k)
        return type(s)(**{**s.__dict__, "t_bits": s.t_bits * 1.01})

    monkeypatch.setattr(maxmin_exact, "solve_maxmin", off)
    with pytest.raises(SolverError, match="refused"):
        problem.solve(1e-2)


@pytest.mark.parametrize(
    "lam, x, s_a, s_b, match",
    [
        ([1.0, np.nan], [1.0, 0.0], 1.0, 1.0, "lambda_h"),  # NaN on an inactive subchannel
        ([1.0, 2.0], [1.0, np.nan], 1.0, 1.0, "x_w"),
        ([1.0, 2.0], [1.0, np.inf], 1.0, 1.0, "x_w"),
        ([1.0, 2.0], [1.0, -1.0], 1.0, 1.0, "negative"),
        ([1.0, -2.0], [1.0, 1.0], 1.0, 1.0, "lambda_h"),
        ([1.0, 2.0], [1.0], 1.0, 1.0, "equal length"),
        ([1.0, 2.0], [1.0, 1.0], 0.0, 1.0, "sigma2_a_hat_w"),
        ([1.0, 2.0], [1.0, 1.0], 1.0, np.nan, "sigma2_b_hat_w"),
        ([1.0, 2.0], [1.0, 1.0], "1", 1.0, "sigma2_a_hat_w"),
    ],
)
def test_approximate_key_rate_refuses(lam, x, s_a, s_b, match):
    with pytest.raises(ValueError, match=match):
        approximate_key_rate_bits(np.array(lam), np.array(x), s_a, s_b)


@pytest.mark.parametrize(
    "x, user, k, match",
    [
        ([1.0, -1e-3, 1.0], USER, 2, "negative"),
        ([1.0, np.nan, 1.0], USER, 2, "x_w"),
        ([1.0, 1.0, 1.0], np.array([0, 1, 2]), 2, "0..K-1"),  # subchannel 2 would vanish
        ([1.0, 1.0, 1.0], np.array([0, -1, 1]), 2, "0..K-1"),
        ([1.0, 1.0, 1.0], np.array([0.0, 1.0, 1.0]), 2, "integer"),
        ([1.0, 1.0], USER, 2, "N_D"),
        ([1.0, 1.0, 1.0], USER, 0, "n_users"),
    ],
)
def test_user_key_rates_refuse(x, user, k, match):
    with pytest.raises(ValueError, match=match):
        user_key_rates_bits(np.array(x), M_A, M_B, user, k)


@pytest.mark.parametrize(
    "psi, r, n, d, match",
    [
        (0.1, 0.0, 8, 0.05, "r_m"),
        (0.1, -3.0, 8, 0.05, "r_m"),
        (0.1, np.nan, 8, 0.05, "r_m"),
        (0.1, np.inf, 8, 0.05, "r_m"),
        (np.nan, 5.0, 8, 0.05, "psi_rad"),
        (np.pi / 2, 5.0, 8, 0.05, "psi_rad"),
        (0.1, 5.0, 0, 0.05, "n_antennas"),
        (0.1, 5.0, 8, 0.0, "spacing_m"),
    ],
)
def test_gain_vector_refuses(psi, r, n, d, match):
    with pytest.raises(ValueError, match=match):
        gain_vector(psi, r, n, d)


def test_gain_vector_is_positive_and_matches_eq3():
    g = gain_vector(0.3, 5.0, 8, 0.05)
    delta = np.arange(8) - 3.5
    ref = 5.0 / np.sqrt(25 + (0.05 * delta) ** 2 - 2 * 5.0 * np.sin(0.3) * 0.05 * delta)
    np.testing.assert_allclose(g, ref, rtol=1e-14)


def test_non_hermitian_covariance_refused_not_symmetrised(rng):
    a = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    r = a @ a.conj().T + np.eye(3)
    r_ab = 0.1 * np.eye(3)
    gaussian_mi_bits(r, r, r_ab)  # Hermitian: fine
    skew = r.copy()
    skew[0, 1] += 1e-6 * np.max(np.abs(r))  # far beyond the stated 1e-9 tolerance
    for args in ((skew, r, r_ab), (r, skew, r_ab)):
        with pytest.raises(ValueError, match="not Hermitian"):
            gaussian_mi_bits(*args)
    within = r.copy()
    within[0, 1] += 1e-12 * np.max(np.abs(r))  # round-off level: accepted
    gaussian_mi_bits(within, r, r_ab)
