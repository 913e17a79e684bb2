"""Exact max-min (P2) at every scale float64 represents: the optimum on every path, or one refusal.

Budgets P_a and constants m_a, m_b are drawn log-uniformly over 1e-300..1e300 (m_a also 0). Every
path -- the single-budget exact solver, its batched NumPy and torch twins, the bound fast path --
must either raise :class:`PowerDomainError` (all of them, naming P_a or the subchannel), or return
the optimum: finite, x >= 0, sum x = P_a, every UE's key rate (Eq. (42), recomputed here in float64
NumPy) equal to t, the paths equal to each other, and t non-decreasing in P_a. Inside the
guaranteed box [GUARANTEED_MIN, GUARANTEED_MAX] nothing is refused. The optimum itself is checked
against a reference independent of the solver's offset form: bisection on t with each UE's least
power by bisection on its water level, Eq. (48) verbatim in 350-digit mpmath arithmetic.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from plkg.solvers.maxmin_bound import BoundMaxMin
from plkg.solvers.maxmin_exact import ExactMaxMin, least_power_allocation, solve_maxmin
from plkg.solvers.water_level import GUARANTEED_MAX, GUARANTEED_MIN, PowerDomainError

LN2 = math.log(2.0)
RTOL = 1e-9  # rates vs t, paths vs each other, reference vs solver


def _settings(n: int):
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _log_uniform(lo: float, hi: float):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)


ANY = _log_uniform(1e-300, 1e300)
BOXED = _log_uniform(GUARANTEED_MIN, GUARANTEED_MAX)


@st.composite
def designs(draw, values=ANY, max_users=3, max_d=4):
    """(m_a, m_b, user, K): K = 1..max_users UEs with D_k = 1..max_d subchannels each."""
    k = draw(st.integers(1, max_users))
    d = draw(st.lists(st.integers(1, max_d), min_size=k, max_size=k))
    user = np.repeat(np.arange(k), d)
    n = user.size
    m_a = np.array(draw(st.lists(st.one_of(st.just(0.0), values), min_size=n, max_size=n)))
    m_b = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    return m_a, m_b, user, k


def rates_eq42(x, m_a, m_b, user, k):
    """C_k of Eq. (42) in float64 NumPy: sum_j log1p(x / (x m_a + m_b + m_a m_b)) / ln 2.

    (log1p rather than log2(1 + .): the rates can be 1e-280 bits, below log2's resolution.)
    """
    x, m_a, m_b = (np.asarray(v, dtype=np.float64) for v in (x, m_a, m_b))
    terms = np.log1p(x / (x * m_a + m_b + m_a * m_b)) / LN2
    return np.bincount(user, weights=terms, minlength=k)


def every_path(pa, m_a, m_b, user, k):
    """{name: zero-argument solve returning (x, t)} for each max-min path."""

    def exact():
        sol = solve_maxmin(m_a, m_b, user, k, pa)
        assert sol.status == "optimal"
        return np.asarray(sol.x_w), float(sol.t_bits)

    def batched():
        sol = ExactMaxMin(m_a, m_b, user, k).solve(np.array([pa, pa]))
        return np.asarray(sol.x_w)[1], float(sol.t_bits[1])

    def torch_twin():
        sol = ExactMaxMin(m_a, m_b, user, k).solve(torch.tensor([pa], dtype=torch.float64))
        assert isinstance(sol.x_w, torch.Tensor)
        return sol.x_w[0].numpy(), float(sol.t_bits[0])

    def bound():
        sol = BoundMaxMin(m_a, m_b, user, k, nodes_per_decade=8)(pa)
        return np.asarray(sol.x_w), float(sol.t_bits)

    return {"exact": exact, "batched": batched, "torch": torch_twin, "bound": bound}


def assert_optimum_or_refused(check, pa, m_a, m_b, user, k):
    """Every path refuses (PowerDomainError naming P_a or the subchannel) or gives the optimum.

    ``check`` is the ``paths_or_refusal`` fixture. Returns t of the exact path, or None when
    refused.
    """
    outcomes = check(every_path(pa, m_a, m_b, user, k))
    if outcomes is None:
        return None
    t_ref = outcomes["exact"][1]
    for name, (x, t) in outcomes.items():
        assert np.all(np.isfinite(x)) and math.isfinite(t) and t > 0, (name, x, t)
        assert np.all(x >= 0), name
        assert abs(x.sum() - pa) <= 1e-9 * pa, (name, x.sum(), pa)
        rates = rates_eq42(x, m_a, m_b, user, k)
        np.testing.assert_allclose(rates, t, rtol=RTOL, atol=0, err_msg=name)
        assert t == pytest.approx(t_ref, rel=RTOL, abs=0), name
    return t_ref


def _design(m_a, m_b, user):
    """(m_a, m_b, user, K) as the ``designs`` strategy draws it."""
    user = np.array(user)
    return np.array(m_a, dtype=float), np.array(m_b, dtype=float), user, int(user.max()) + 1


# Designs on which t* once failed to grow with P_a (replayed by the monotonicity test)
FOUND_CASE_DESIGNS = [
    _design([0.0, 1, 0, 0, 0, 0, 0], [1.0, 1e-29, 1, 1, 1, 1, 1e-9], [0, 0, 0, 1, 1, 1, 1]),
    _design([0.0, 1, 0, 0, 0, 0, 0], [1.0, 1e-29, 1, 1, 1, 1, 1e-24], [0, 0, 0, 1, 1, 1, 1]),
]


# Cases hypothesis found, each once a failure: (P_a [W], m_a, m_b [W], UE of each subchannel)
FOUND_CASES = [
    (1.0, [0.01, 1e300], [1e-3, 1e300], [0, 1]),
    (1e-33, [0.01, 1.0], [1e-3, 2e-3], [0, 1]),
    (1e-300, [1e-300], [1e-280], [0]),
    (1e-280, [0.0, 0.0], [1e-289, 1.0], [0, 1]),
    (1e250, [0.0, 1e-200, 3.0], [1e-30, 1e200, 1e-10], [0, 0, 1]),
    (1e-38, [0.0, 0, 0, 0, 0, 1e102], [1.0, 1, 1, 1, 1, 1e-186], [0, 0, 1, 1, 1, 1]),
    (1e-228, [0.0, 0, 0, 0, 0, 1e96], [1.0, 1, 1, 1, 1, 1e-97], [0, 0, 1, 1, 1, 1]),
    (1.0, [0.0, 1, 0, 0, 0, 1], [1e8, 1e-44, 1, 1e-09, 1e-14, 1e-23], [0, 0, 1, 1, 2, 2]),
    (1.0, [0.0, 1, 0, 0, 0, 1], [1e8, 1e-4, 1, 1e-07, 1e-14, 1e-25], [0, 0, 1, 1, 2, 2]),
    (1e-23, [0.0, 1, 0, 0, 0, 0, 0], [1.0, 1e-29, 1, 1, 1, 1, 1e-24], [0, 0, 0, 1, 1, 1, 1]),
    (1e96, [0.0, 0, 0, 1, 1, 0], [1.0, 1, 1, 1, 1, 1e87], [0, 1, 1, 2, 2, 2]),
    (
        1e-15,
        [0.0, 1e-145, 0, 0, 0, 0, 0, 0],
        [1.0, 1e-173, 1, 1, 1e-161, 1, 1, 1e-161],
        [0, 0, 1, 1, 1, 2, 2, 2],
    ),
    (
        1e-34,
        [0.0, 1, 0, 0, 0, 0, 0, 0],
        [1.0, 1e-52, 1, 1, 1e-35, 1, 1, 1e-35],
        [0, 0, 1, 1, 1, 2, 2, 2],
    ),
    (1.0, [0.0, 0, 0, 1e118, 0], [1.0, 1, 1, 1, 1e191], [0, 0, 0, 1, 1]),
    (1e-207, [1.0, 0, 0, 0, 0, 0], [1e-228, 1e63, 1, 1, 1, 1e-208], [0, 0, 1, 1, 1, 1]),
    (1.0, [0.0, 0], [1e167, 1e-136], [0, 1]),
    (1e53, [1.0], [1.0], [0]),
    (10.0**30.5, [0.0, 0, 1, 0], [1.0, 1, 1e-33, 3.16227766e30], [0, 0, 0, 1]),
    (10.0**278.25, [1e-267], [1.0], [0]),
    (10.0**278.34375, [1e-267], [1.0], [0]),
]


def with_found_cases(test):
    """Replay every FOUND_CASES entry as a hypothesis @example of ``test(pa, design)``."""
    for pa, m_a, m_b, user in FOUND_CASES:
        test = example(pa=pa, design=_design(m_a, m_b, user))(test)
    return test


@_settings(80)
@given(pa=ANY, design=designs())
@with_found_cases
def test_every_path_optimal_or_refused_over_the_float64_range(paths_or_refusal, pa, design):
    m_a, m_b, user, k = design
    assert_optimum_or_refused(paths_or_refusal, pa, m_a, m_b, user, k)


@_settings(40)
@given(pa=BOXED, design=designs(values=BOXED))
@example(pa=1.0, design=(np.array([1.0, 1]), np.array([1000000.0, 0.001]), np.array([0, 0]), 1))
@example(pa=1.0, design=(np.array([0.0, 1000]), np.array([1e22, 1e-14]), np.array([0, 0]), 1))
@example(
    pa=1.0,
    design=(
        np.array([0.0, 0, 0, 0, 0, 0, 1]),
        np.array([1.0, 1, 1, 1, 1, 1e19, 1e-14]),
        np.array([0, 1, 1, 1, 1, 2, 2]),
        3,
    ),
)
@example(pa=1e-12, design=(np.array([1e30, 0.0]), np.array([1e-30, 1e30]), np.array([0, 0]), 1))
@example(
    pa=1.3335214321633242,
    design=(
        np.array([0.0, 0, 0, 1, 0]),
        np.array([1.0, 1, 1, 1e-15, 1e14]),
        np.array([0, 0, 0, 1, 1]),
        2,
    ),
)
@example(
    pa=7.498942093324559,
    design=(np.array([0.0, 0, 1]), np.array([1e15, 1e15, 1e-13]), np.array([0, 0, 0]), 1),
)
@example(
    pa=1e13, design=(np.array([1.0, 1e17, 0]), np.array([1.0, 0.1, 1e17]), np.array([0, 1, 1]), 2)
)
def test_the_guaranteed_box_is_never_refused(paths_or_refusal, pa, design):
    m_a, m_b, user, k = design
    assert assert_optimum_or_refused(paths_or_refusal, pa, m_a, m_b, user, k) is not None


@_settings(40)
@given(pa=ANY, factor=_log_uniform(1.0 + 1e-9, 1e20), design=designs())
@example(pa=1e-9, factor=1.0001, design=FOUND_CASE_DESIGNS[0])
@example(pa=1e-23, factor=10.0, design=FOUND_CASE_DESIGNS[1])
def test_t_grows_with_the_budget(pa, factor, design):
    """t*(P_a) is non-decreasing for fixed (m_a, m_b) (a larger budget contains every allocation
    of a smaller one), on the single-budget path (warm and cold) and the bound one."""
    m_a, m_b, user, k = design
    pas = [pa, pa * factor]
    try:
        solver = ExactMaxMin(m_a, m_b, user, k)
        t_cold = []
        for p in pas:
            solver.clear_warm_start()
            t_cold.append(float(solver.solve(p).t_bits))
        t_warm = [float(solver.solve(p).t_bits) for p in pas]  # the second warm from the first
        bound = BoundMaxMin(m_a, m_b, user, k, nodes_per_decade=8)
        t_bound = [float(bound(p).t_bits) for p in pas]
    except PowerDomainError:
        return
    for t in (t_cold, t_warm, t_bound):
        assert t[1] >= t[0] * (1 - RTOL)
    np.testing.assert_allclose(t_warm, t_cold, rtol=RTOL)


# --------------------------------------------------------------------- independent reference


def mp_maxmin_t(pa, m_a, m_b, user, k, dps: int = 350) -> float:
    """t* of (P2) in mpmath, independent of the solver's normalised offset form.

    Bisection on log t of F(t) = sum_k P_k(t) - P_a; P_k(t) by bisection on log(w - b_min,k) of
    the UE's rate, the allocation being Eq. (48) verbatim (the root of c'(x) = 1 / (w ln 2)).
    350 digits resolve w - b_min down to 1e-300 b_min.
    """
    with mp.workdps(dps):
        ln2 = mp.log(2)
        ues = []
        for j in range(k):
            sel = np.flatnonzero(user == j)
            ues.append([(mp.mpf(float(m_a[i])), mp.mpf(float(m_b[i]))) for i in sel])
        pa_m = mp.mpf(float(pa))

        def x_of(w, a, y):
            if a == 0:
                return max(w - y, mp.mpf(0))
            root = mp.sqrt(y**2 * (2 * a + 1) ** 2 - 4 * a * y * (y * (a + 1) - w))
            return max((root - y * (2 * a + 1)) / (2 * a), mp.mpf(0))

        def rate(x, a, y):
            return mp.log(1 + x / (x * a + y * (1 + a))) / ln2

        def least_power(t, sub):
            b_min = min(y * (1 + a) for a, y in sub)

            def reached(v):
                w = b_min + mp.exp(v)
                return mp.fsum(rate(x_of(w, a, y), a, y) for a, y in sub) >= t

            lo = mp.log(t * ln2 * b_min / len(sub)) - 2  # rate <= D_k log2(w / b_min) < t here
            hi = lo + 1
            while not reached(hi):
                lo, hi = hi, hi + 2 * (hi - lo)
            for _ in range(70):
                mid = (lo + hi) / 2
                lo, hi = (lo, mid) if reached(mid) else (mid, hi)
            w = b_min + mp.exp(hi)
            return mp.fsum(x_of(w, a, y) for a, y in sub)

        # lower bound: equal power (feasible); upper: each UE alone with the whole budget
        n = sum(len(sub) for sub in ues)
        t_lo = min(mp.fsum(rate(pa_m / n, a, y) for a, y in sub) for sub in ues)
        t_hi = min(mp.fsum(rate(pa_m, a, y) for a, y in sub) for sub in ues)
        lo, hi = mp.log(t_lo), mp.log(t_hi)
        for _ in range(50):
            mid = (lo + hi) / 2
            t = mp.exp(mid)
            if mp.fsum(least_power(t, sub) for sub in ues) > pa_m:
                hi = mid
            else:
                lo = mid
        return float(mp.exp((lo + hi) / 2))


@_settings(8)
@given(pa=ANY, design=designs(max_users=2, max_d=2).filter(lambda d: d[3] == 2))
@example(
    pa=1e-33,
    design=(np.array([0.01, 1.0, 0.5]), np.array([1e-3, 2e-3, 1e-9]), np.array([0, 0, 1]), 2),
)
@example(pa=1e20, design=(np.array([0.0, 1e-3]), np.array([1e-20, 1e-15]), np.array([0, 1]), 2))
def test_tiny_case_against_the_mpmath_reference(paths_or_refusal, pa, design):
    m_a, m_b, user, k = design
    t = assert_optimum_or_refused(paths_or_refusal, pa, m_a, m_b, user, k)
    if t is None:
        return
    assert t == pytest.approx(mp_maxmin_t(pa, m_a, m_b, user, k), rel=RTOL)


# ------------------------------------------------------------------------------- regressions


def test_issue_case_is_refused_never_nan():
    """m_b (1 + m_a) = inf for UE 1: was x = [0, nan], t = nan with status max_iter."""
    m_a, m_b, user = np.array([0.01, 1e300]), np.array([1e-3, 1e300]), np.array([0, 1])
    with pytest.raises(PowerDomainError, match="subchannel 1"):
        solve_maxmin(m_a, m_b, user, 2, 1.0)
    with pytest.raises(PowerDomainError, match="subchannel 1"):
        BoundMaxMin(m_a, m_b, user, 2)
    with pytest.raises(PowerDomainError, match="subchannel 1"):
        solve_maxmin(m_a, m_b, user, 2, torch.tensor([1.0], dtype=torch.float64))
    with pytest.raises(PowerDomainError, match="subchannel 1"):
        least_power_allocation(1e-3, m_a, m_b, user, 2)


def test_budget_outside_the_domain_names_p_a():
    m_a, m_b, user = np.array([0.01, 0.2]), np.array([1e-3, 2e-3]), np.array([0, 1])
    solver = ExactMaxMin(m_a, m_b, user, 2)
    bound = BoundMaxMin(m_a, m_b, user, 2, nodes_per_decade=8)
    for pa in (1e-300, 1e300):
        for run in (solver.solve, bound, lambda p: solver.solve(np.array([p, 1.0]))):
            with pytest.raises(PowerDomainError, match=r"P_a = 1e[+-]300 W"):
                run(pa)


@pytest.fixture(scope="module")
def fig6_design():
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.precoding.design_cache import design_for_scenario

    return design_for_scenario(load_scenario("fig6"))


@pytest.mark.parametrize("pa_dbm", [-300, -250, -200])
def test_fig6_at_absurdly_low_power(paths_or_refusal, fig6_design, pa_dbm):
    """-300..-200 dBm on the committed Fig. 6 design: a certified optimum using the whole budget.

    Far below every activation level each UE uses its lowest-b subchannel only, with C_k =
    x_k / (s_k ln 2) to first order, so t* = P_a / (ln 2 sum_k s_k) (relative error ~P_a / s).
    """
    d = fig6_design
    pa = 10 ** ((pa_dbm - 30) / 10)
    t = assert_optimum_or_refused(paths_or_refusal, pa, d.m_a, d.m_b, d.user, d.n_users)
    assert t is not None
    b = d.m_b * (1 + d.m_a)
    s = np.array([b[d.user == k].min() for k in range(d.n_users)])
    assert t == pytest.approx(pa / (LN2 * s.sum()), rel=1e-9)
    sol = ExactMaxMin(d.m_a, d.m_b, d.user, d.n_users).solve(pa)
    x = np.asarray(sol.x_w)
    assert abs(x.sum() - pa) <= 1e-12 * pa
    best = [np.flatnonzero(d.user == k)[np.argmin(b[d.user == k])] for k in range(d.n_users)]
    np.testing.assert_allclose(x[best], pa * s / s.sum(), rtol=1e-9)
    # the least power for that t is the budget again (the inverse map, at t ~ 1e-25 bits)
    lp = least_power_allocation(float(sol.t_bits), d.m_a, d.m_b, d.user, d.n_users)
    assert lp.status == "converged"
    assert float(np.sum(lp.power_w)) == pytest.approx(pa, rel=1e-9)


def test_fig6_sweep_from_minus_300_dbm_is_monotone_and_warm_equals_cold(fig6_design):
    d = fig6_design
    pa = 10 ** ((np.linspace(-300, 40, 69) - 30) / 10)
    solver = ExactMaxMin(d.m_a, d.m_b, d.user, d.n_users)
    warm = np.array([float(solver.solve(float(p)).t_bits) for p in pa])
    batched = np.asarray(solver.solve(pa).t_bits)
    bound = BoundMaxMin.from_design(d)
    t_bound = np.array([float(bound(float(p)).t_bits) for p in pa])
    assert np.all(np.diff(warm) > 0)
    np.testing.assert_allclose(batched, warm, rtol=1e-11)
    np.testing.assert_allclose(t_bound, warm, rtol=1e-11)
