"""Property-based suite: every public solver and key-rate function, fed finite random
inputs spanning many decades, returns a KKT-certified (or closed-form-checked) result or raises a
clear ``ValueError``/``SolverError`` -- never NaN, never a degenerate result under a success status.

Inputs: P_a in [1e-15, 1e6] W, m_b in [1e-18, 1e2] W, m_a in {0} U [1e-9, 1e3], 1..6 subchannels,
1..3 UEs. Certificates are computed independently of each solver's own residuals (derivatives of
Eq. (42) from :func:`plkg.keyrate.subchannel.subchannel_key_rate_derivative`, feasible comparison
points, closed forms). ``max_examples`` is modest and ``deadline=None`` so the suite stays < 30 s.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plkg.errors import SolverError
from plkg.keyrate.gaussian import approximate_key_rate_bits, gaussian_mi_bits
from plkg.keyrate.ris_kgr import ris_kgr_bits
from plkg.keyrate.ris_upper_bound import ris_upper_bound_bits
from plkg.keyrate.subchannel import (
    subchannel_key_rate_bits,
    subchannel_key_rate_derivative,
    user_key_rates_bits,
)
from plkg.solvers.equal_power import equal_power
from plkg.solvers.maxmin_exact import least_power_allocation, solve_maxmin
from plkg.solvers.maxmin_highpower import solve_highpower
from plkg.solvers.water_filling import water_filling

# PLKG_HYPOTHESIS_EXAMPLES=2000 for a deeper search (the default keeps the suite < 30 s)
N_EXAMPLES = int(os.environ.get("PLKG_HYPOTHESIS_EXAMPLES", "80"))
FAST = settings(
    max_examples=N_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def log_uniform(lo_exp, hi_exp):
    return st.floats(lo_exp, hi_exp).map(lambda e: 10.0**e)


@st.composite
def problems(draw, max_users=3, max_sub=6, allow_zero_ma=True):
    """(m_a [N], m_b [N], user [N], K, P_a): every UE owns at least one subchannel."""
    k = draw(st.integers(1, max_users))
    n = draw(st.integers(k, max_sub))
    user = np.array(
        list(range(k)) + draw(st.lists(st.integers(0, k - 1), min_size=n - k, max_size=n - k))
    )
    ma_value = log_uniform(-9, 3)
    if allow_zero_ma:
        ma_value = st.one_of(st.just(0.0), ma_value)
    m_a = np.array(draw(st.lists(ma_value, min_size=n, max_size=n)))
    m_b = np.array(draw(st.lists(log_uniform(-18, 2), min_size=n, max_size=n)))
    pa = draw(log_uniform(-15, 6))
    return m_a, m_b, user, k, pa


def rates_eq42(x, m_a, m_b):
    """Eq. (42) in its printed form, log2(1 + (x/(m_a m_b)) / (x/m_b + 1/m_a + 1)), for m_a > 0
    (m_a = 0: log2(1 + x/m_b)); log1p keeps tiny rates exact."""
    x, m_a, m_b = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, m_a, m_b)))
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = (x / (m_a * m_b)) / (x / m_b + 1.0 / m_a + 1.0)
    snr = np.where(m_a > 0, snr, x / m_b)
    return np.log1p(snr) / math.log(2.0)


# ------------------------------------------------------------------------------ water-filling
@FAST
@given(problems())
def test_water_filling_kkt(prob):
    m_a, m_b, _, _, pa = prob
    try:
        res = water_filling(pa, m_a, m_b)
    except SolverError:
        return  # a clear refusal is allowed; a NaN result is not
    x = np.asarray(res.x_w)
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    assert math.isfinite(float(res.mu)) and float(res.mu) > 0
    assert abs(x.sum() - pa) <= 1e-9 * pa
    d = subchannel_key_rate_derivative(x, m_a, m_b)
    mu = np.median(d[x > 1e-9 * pa])  # the largest x >= P_a / N is always in this set
    # KKT of (P1): no subchannel has a better marginal rate than mu at its allocation, and every
    # subchannel holding a non-negligible share has exactly mu
    assert np.all(d <= mu * (1 + 1e-5))
    np.testing.assert_allclose(d[x > 1e-12 * pa], mu, rtol=1e-5)
    assert float(res.mu) == pytest.approx(mu, rel=1e-5)
    # and no worse than the feasible equal-power point
    epa = rates_eq42(equal_power(len(x), pa), m_a, m_b).sum()
    assert float(res.objective) >= epa * (1 - 1e-9)


# ------------------------------------------------------------------------------ exact max-min
@FAST
@given(problems())
def test_solve_maxmin_kkt(prob):
    m_a, m_b, user, k, pa = prob
    try:
        sol = solve_maxmin(m_a, m_b, user, k, pa)
    except SolverError:
        return
    if sol.status != "optimal":
        return  # a non-success status is the caller's to check
    x = np.asarray(sol.x_w)
    t = float(sol.t_bits)
    assert np.all(np.isfinite(x)) and np.all(x >= 0) and math.isfinite(t) and t > 0
    assert abs(x.sum() - pa) <= 1e-6 * pa
    rates = np.array([rates_eq42(x, m_a, m_b)[user == j].sum() for j in range(k)])
    assert rates.min() == pytest.approx(t, rel=1e-6)
    # max-min KKT: every UE at the common rate t (t < every UE's supremum rate); results the
    # solver cannot equalise (P_a far below m_b) are refused by its certificate instead
    np.testing.assert_allclose(rates, t, rtol=2e-6)
    # no worse than the feasible equal-power point
    epa = equal_power(len(x), pa)
    t_epa = min(rates_eq42(epa, m_a, m_b)[user == j].sum() for j in range(k))
    assert t >= t_epa * (1 - 1e-6)


@FAST
@given(problems(), st.floats(0.01, 0.99))
def test_least_power_reaches_the_rate(prob, frac):
    m_a, m_b, user, k, _ = prob
    sup = min(
        np.log2(1 + 1 / m_a[user == j]).sum() if np.all(m_a[user == j] > 0) else np.inf
        for j in range(k)
    )
    t = frac * min(sup, 20.0)
    try:
        res = least_power_allocation(t, m_a, m_b, user, k)
    except (SolverError, ValueError):
        return
    if res.status != "converged":
        return
    x = np.asarray(res.x_w)
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    rates = np.array([rates_eq42(x, m_a, m_b)[user == j].sum() for j in range(k)])
    np.testing.assert_allclose(rates, t, rtol=1e-6, atol=1e-12)


@FAST
@given(problems(allow_zero_ma=False))
def test_solve_highpower_is_finite_and_uses_the_budget(prob):
    _, m_b, user, k, pa = prob
    try:
        res = solve_highpower(m_b, user, k, pa)
    except SolverError:
        return
    if res.status != "converged":
        return
    x = np.asarray(res.x_w)
    assert np.all(np.isfinite(x)) and np.all(x >= 0)
    assert abs(x.sum() - pa) <= 1e-6 * pa or res.iterations > 0


# ------------------------------------------------------------------------------ key rates
@FAST
@given(problems(), st.lists(log_uniform(-20, 6), min_size=6, max_size=6))
def test_subchannel_and_user_rates_match_eq42(prob, xs):
    m_a, m_b, user, k, _ = prob
    x = np.array(xs[: len(m_a)])
    c = subchannel_key_rate_bits(x, m_a, m_b)
    assert np.all(np.isfinite(c)) and np.all(c >= 0)
    np.testing.assert_allclose(c, rates_eq42(x, m_a, m_b), rtol=1e-12, atol=1e-300)
    per_user = user_key_rates_bits(x, m_a, m_b, user, k)
    np.testing.assert_allclose(per_user.sum(), c.sum(), rtol=1e-12)
    with pytest.raises(ValueError):
        user_key_rates_bits(-x, m_a, m_b, user, k)


@FAST
@given(
    st.lists(log_uniform(-12, 0), min_size=1, max_size=5),
    st.lists(log_uniform(-8, 4), min_size=5, max_size=5),
    log_uniform(-15, -3),
    log_uniform(-15, -3),
)
def test_approximate_key_rate_equals_eq42(lams, xs, s_a, s_b):
    lam = np.array(lams)
    x = np.array(xs[: len(lam)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            c35 = approximate_key_rate_bits(lam, x, s_a, s_b)
        except ValueError as exc:  # a singular covariance is refused by name
            assert "R_" in str(exc) or "covariance" in str(exc)
            return
    assert math.isfinite(c35) and c35 >= 0
    # Eq. (42) with m_a = sigma_a / lambda_h, m_b = sigma_b / lambda_h
    ref = rates_eq42(x, s_a / lam, s_b / lam).sum()
    warned = any("nearly singular" in str(w.message) for w in caught)
    # exact to 1e-6, or flagged as inexact (float64 cannot hold 1 - rho^2 at extreme SNR)
    assert warned or c35 == pytest.approx(ref, rel=1e-6, abs=1e-9)


@FAST
@given(st.integers(1, 4), st.integers(0, 2**32 - 1), log_uniform(-12, 3))
def test_gaussian_mi_is_finite_and_nonnegative(d, seed, scale):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2 * d, 2 * d)) + 1j * rng.normal(size=(2 * d, 2 * d))
    joint = scale * (a @ a.conj().T + 0.1 * np.eye(2 * d))
    mi = gaussian_mi_bits(joint[:d, :d], joint[d:, d:], joint[:d, d:])
    assert math.isfinite(mi) and mi >= 0
    # independent: Eq. (13) through the Schur complement
    r_a, r_b, r_ab = joint[:d, :d], joint[d:, d:], joint[:d, d:]
    m = np.eye(d) - r_ab @ np.linalg.solve(r_b, r_ab.conj().T) @ np.linalg.inv(r_a)
    ref = -np.log2(abs(np.linalg.det(m)))
    assert mi == pytest.approx(max(ref, 0.0), rel=1e-5, abs=1e-6)


@settings(max_examples=max(15, N_EXAMPLES // 5), deadline=None)
@given(st.integers(0, 2**32 - 1), log_uniform(-6, 6), log_uniform(-6, 6))
def test_ris_key_rate_and_bound_finite(seed, cov_scale, p_u):
    rng = np.random.default_rng(seed)
    k, m, me = 2, 3, 2
    a = rng.normal(size=(k, k, m, m)) + 1j * rng.normal(size=(k, k, m, m))
    cov = torch.as_tensor(cov_scale * a @ np.conj(np.swapaxes(a, -1, -2)) / m)
    p = torch.as_tensor(rng.normal(size=(k, me, m)) + 1j * rng.normal(size=(k, me, m)))
    kgr = ris_kgr_bits(cov, p, p_u)
    ub = ris_upper_bound_bits(cov, p, p_u)
    assert bool(torch.isfinite(kgr).all()) and bool((kgr >= -1e-9).all())
    assert bool(torch.isfinite(ub).all())
    assert bool((kgr <= ub * (1 + 1e-6) + 1e-9).all())  # Theorem 2 bounds Theorem 1
