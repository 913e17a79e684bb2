"""Canonical (lexicographic) max-min optimum: max min_k C_k, then max sum_k C_k at that minimum."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from plkg import defaults
from plkg.channels.nearfield_scenario import load_scenario
from plkg.data.dataset import load_dataset
from plkg.errors import NoSubchannelError
from plkg.precoding.design_cache import cached_design
from plkg.solvers import maxmin_cvxpy, maxmin_lexicographic
from plkg.solvers.maxmin_bound import BoundMaxMin
from plkg.solvers.maxmin_exact import ExactMaxMin, solve_maxmin
from plkg.solvers.maxmin_lexicographic import (
    canonical_maxmin,
    floored_water_filling,
    implied_level,
    spend_slack,
)


def dbm_to_w(p):
    return 1e-3 * 10.0 ** (np.asarray(p, dtype=float) / 10.0)


def rates(x, m_a, m_b, user, k):
    """Eq. (42), an independent float64 re-implementation."""
    return np.bincount(user, np.log2(1 + (x / m_a / m_b) / (x / m_b + 1 / m_a + 1)), minlength=k)


@pytest.fixture(scope="module")
def fig6():
    """The Fig. 6 design's m_a, m_b, user, as stored with the shipped dataset."""
    ds = load_dataset(defaults.dataset_path("fig6_sumrate"))
    user = np.asarray(ds.extras["user"])
    return SimpleNamespace(
        m_a=np.asarray(ds.extras["m_a"]),
        m_b=np.asarray(ds.extras["m_b"]),
        user=user,
        n_users=int(user.max()) + 1,
    )


@pytest.fixture(scope="module")
def random_design(request):
    """A random 3-UE, N = 128 geometry (the first draw whose UEs all have a subchannel)."""
    import os

    rng = np.random.default_rng(int(os.environ.get("PLKG_TEST_SEED", "0")))
    base = load_scenario("fig6")
    for _ in range(50):
        scenario = base.replace(
            n_antennas=128,
            ue_distance_m=tuple(rng.uniform(10.0, 100.0, 3)),
            ue_angle_rad=tuple(rng.uniform(-1.2, 1.2, 3)),
            ccm_draws=8,
            name="random-3ue",
        )
        try:
            return cached_design(scenario, cache=False)
        except NoSubchannelError:
            continue
    pytest.skip("no random geometry with a subchannel per UE in 50 draws")


def _agree(design, p_dbm):
    """exact-maxmin and cvxpakf report the same canonical point: by construction for the
    allocation (both are the floored water-filling at the exact t*); CVXPY's independent part is
    its own min KR, checked against t* below (and refused beyond 1e-4, see the next test)."""
    pa = float(dbm_to_w(p_dbm))
    ex = maxmin_lexicographic.allocate(design, pa)
    cv = maxmin_cvxpy.allocate(design, pa)
    args = (design.m_a, design.m_b, design.user, design.n_users)
    c_ex, c_cv = rates(ex.x_w, *args), rates(cv.x_w, *args)
    assert c_cv.min() == pytest.approx(c_ex.min(), rel=1e-6)
    assert c_cv.sum() == pytest.approx(c_ex.sum(), rel=1e-6)
    for r, c in ((ex, c_ex), (cv, c_cv)):
        assert r.extras["min_kr_bits"] == pytest.approx(c.min(), rel=1e-9)
        assert r.extras["sum_kr_bits"] == pytest.approx(c.sum(), rel=1e-9)
        assert r.x_w.sum() == pytest.approx(pa, rel=1e-9)
    # CVXPY's own point: the same min KR to its tolerance (an independent check of t*)
    assert cv.extras["cvxpy_min_kr_bits"] == pytest.approx(c_ex.min(), rel=1e-4)


@pytest.mark.parametrize("p_dbm", [-5.0, 15.0, 25.0])
def test_exact_and_cvxpakf_agree_on_min_and_sum_fig6(fig6, p_dbm):
    _agree(fig6, p_dbm)


@pytest.mark.parametrize("p_dbm", [5.0, 25.0])
def test_exact_and_cvxpakf_agree_on_min_and_sum_random_geometry(random_design, p_dbm):
    _agree(random_design, p_dbm)


def test_unique_optimum_is_the_plain_maxmin_allocation(fig6):
    """Every UE binds at the optimum of (P2): the canonical allocation is (P2)'s, to 1e-9."""
    args = (fig6.m_a, fig6.m_b, fig6.user, fig6.n_users)
    bound = BoundMaxMin(*args, nodes_per_decade=8)
    for p in np.arange(-5.0, 26.0, 5.0):
        pa = float(dbm_to_w(p))
        plain = solve_maxmin(*args, pa)
        res = maxmin_lexicographic.allocate(fig6, pa)
        assert res.extras["stage2"] == "binding"
        np.testing.assert_allclose(res.x_w, plain.x_w, rtol=1e-9, atol=0)
        assert res.objective == pytest.approx(float(plain.t_bits), rel=1e-12)
        canon = bound.canonical(pa)
        assert canon.stage2 == "binding"
        np.testing.assert_allclose(canon.x_w, plain.x_w, rtol=1e-9, atol=0)


def _check_kkt(x, pa, t, m_a, m_b, user, k, floors, w_c):
    """Stage-2 KKT: level max(w_c, F_k) on active subchannels, b >= level on inactive ones,
    budget spent, every C_k >= t (floors binding where F_k >= w_c)."""
    b = m_b * (1 + m_a)
    level = np.maximum(w_c, floors)[user]
    active = x > 0
    np.testing.assert_allclose(
        implied_level(x[active], m_a[active], m_b[active]), level[active], rtol=1e-7
    )
    assert np.all(b[~active] >= level[~active] * (1 - 1e-9))
    assert x.sum() == pytest.approx(pa, rel=1e-12)
    c = rates(x, m_a, m_b, user, k)
    assert np.all(c >= t * (1 - 1e-9))
    at_floor = floors >= w_c
    np.testing.assert_allclose(c[at_floor], t, rtol=1e-9)
    assert np.all(c[~at_floor] > t)


@pytest.mark.parametrize("fraction", [0.9, 0.99])
def test_stage2_kkt_residual(fig6, fraction):
    """Floors below t*: the slack is water-filled by the common level (KKT of stage 2)."""
    args = (fig6.m_a, fig6.m_b, fig6.user, fig6.n_users)
    pa = float(dbm_to_w(15.0))
    solver = ExactMaxMin(*args)
    t = fraction * float(solve_maxmin(*args, pa).t_bits)
    lp = solver.least_power(t)
    floors = np.asarray(lp.water_level_w)
    x, w_c = floored_water_filling(*args, pa, np.asarray(lp.x_w), floors)
    assert np.any(floors < w_c)  # some UE is raised above its floor
    _check_kkt(x, pa, t, *args, floors, w_c)
    x2, spent = spend_slack(solver, t, pa)
    assert spent
    np.testing.assert_allclose(x2, x, rtol=1e-12, atol=0)
    # more sum KR than the least-power allocation, the same floor
    c = rates(x, *args)
    assert c.sum() > rates(np.asarray(lp.x_w), *args).sum()


def _brute_force(m_a, m_b, user, pa, t_floor, n=4001):
    """max sum C_k s.t. C_k >= t_floor, sum x = pa: grid over the UE split, each UE's own split
    over its (<= 2) subchannels by a grid too. Returns (min C, sum C)."""

    def best_of_ue(k, p):
        idx = np.flatnonzero(user == k)
        if idx.size == 1:
            return rates_one(p, m_a[idx[0]], m_b[idx[0]])
        f = np.linspace(0.0, 1.0, 801)[:, None]
        r = rates_one(f * p, m_a[idx[0]], m_b[idx[0]]) + rates_one(
            (1 - f) * p, m_a[idx[1]], m_b[idx[1]]
        )
        return r.max(0)

    def rates_one(x, ma, mb):
        return np.log2(1 + (x / ma / mb) / (x / mb + 1 / ma + 1))

    s = np.linspace(0.0, 1.0, n)
    c0, c1 = best_of_ue(0, s * pa), best_of_ue(1, (1 - s) * pa)
    ok = np.minimum(c0, c1) >= t_floor
    i = np.argmax(np.where(ok, c0 + c1, -np.inf))
    return min(c0[i], c1[i]), c0[i] + c1[i], float(np.max(np.minimum(c0, c1)))


@pytest.mark.parametrize("layout", [(1, 1), (1, 2), (2, 2)])
def test_brute_force_tiny_case(layout, rng):
    user = np.repeat([0, 1], layout)
    m_a = 10.0 ** rng.uniform(-4, -1, user.size)
    m_b = 10.0 ** rng.uniform(-4, -2, user.size)
    pa = 0.05
    solver = ExactMaxMin(m_a, m_b, user, 2)
    canon = canonical_maxmin(m_a, m_b, user, 2, pa, solver=solver)
    t_star = canon.t_bits
    # stage 1: the grid's best min KR is t* (to the grid's resolution)
    _, _, grid_t = _brute_force(m_a, m_b, user, pa, -1.0)
    assert grid_t == pytest.approx(t_star, rel=1e-3) and grid_t <= t_star * (1 + 1e-9)
    # stage 2 at the floor t*: unique (both UEs bind), sum = 2 t*
    assert canon.stage2 == "binding"
    assert canon.sum_kr_bits == pytest.approx(2 * t_star, rel=1e-9)
    # stage 2 at a lower floor: the floored water-filling equals the grid's lexicographic best
    t_floor = 0.8 * t_star
    x, spent = spend_slack(solver, t_floor, pa)
    assert spent
    c = rates(x, m_a, m_b, user, 2)
    grid_min, grid_sum, _ = _brute_force(m_a, m_b, user, pa, t_floor)
    assert c.min() >= t_floor * (1 - 1e-9)
    assert c.sum() >= grid_sum * (1 - 1e-9)  # never worse than the grid
    assert c.sum() == pytest.approx(grid_sum, rel=2e-3)


def test_saturated_ue_keeps_min_and_no_smaller_sum():
    """UE 0 (one subchannel, m_a = 1) saturates at 1 bit: the min KR is t*, the sum at least the
    plain max-min's, the budget spent."""
    m_a = np.array([1.0, 1e-6, 1e-6])
    m_b = np.array([1e-10, 1e-10, 2e-10])
    user = np.array([0, 1, 1])
    for pa in (1e-8, 1e-2, 1.0, 1e4):
        plain = solve_maxmin(m_a, m_b, user, 2, pa)
        canon = canonical_maxmin(m_a, m_b, user, 2, pa)
        c = rates(canon.x_w, m_a, m_b, user, 2)
        assert c.min() == pytest.approx(float(plain.t_bits), rel=1e-12)
        assert c.sum() >= float(np.sum(rates(plain.x_w, m_a, m_b, user, 2))) * (1 - 1e-12)
        assert canon.x_w.sum() == pytest.approx(pa, rel=1e-12)
        assert math.isfinite(canon.sum_kr_bits)


def test_cvxpakf_raw_point_is_available(fig6):
    """``canonical=False`` reports CVXPY's own point: same min KR, a sum KR of its own."""
    pa = float(dbm_to_w(5.0))
    raw = maxmin_cvxpy.allocate(fig6, pa, canonical=False)
    assert "stage2" not in raw.extras
    exact = maxmin_lexicographic.allocate(fig6, pa)
    assert raw.objective == pytest.approx(exact.objective, rel=1e-4)


def test_cvxpakf_is_refused_when_cvxpy_disagrees_with_the_exact_optimum(fig6, monkeypatch):
    """The independent part of cvxpakf: CVXPY's min KR more than 1e-4 off the exact t* raises."""
    from plkg.errors import SolverError
    from plkg.solvers.maxmin_exact import ExactMaxMin

    real_solve = ExactMaxMin.solve

    def shifted(self, *args, **kwargs):
        sol = real_solve(self, *args, **kwargs)
        object.__setattr__(sol, "t_bits", sol.t_bits * (1.0 + 10 * maxmin_cvxpy.EXACT_CHECK_RTOL))
        return sol

    monkeypatch.setattr(ExactMaxMin, "solve", shifted)
    with pytest.raises(SolverError, match="differs from the exact max-min"):
        maxmin_cvxpy.allocate(fig6, float(dbm_to_w(15.0)))


def test_canonical_options_reach_allocate_and_are_checked():
    from plkg.errors import PlkgInputError
    from plkg.inference.methods import allocate

    fig6 = cached_design(load_scenario("fig6"))
    pa = float(dbm_to_w(10.0))
    raw = allocate("cvxpakf", fig6, pa, canonical=False)
    assert "optimum" not in raw.extras and "stage2" not in raw.extras  # CVXPY's own point
    with pytest.raises(PlkgInputError, match="spend_slack"):
        allocate("fnnpakf", fig6, pa, mapping="appro", spend_slack=True)
    with pytest.raises((TypeError, ValueError), match="spend_slack"):
        allocate("fnnpakf", fig6, pa, mapping="exact", spend_slack="no")
    spent = allocate("fnnpakf", fig6, pa, mapping="exact", spend_slack=True)
    assert spent.x_w.sum() <= pa * (1 + 1e-9)


def test_loose_stage_one_tolerance_is_not_water_filled(fig6):
    """A looser rtol leaves a rate spread of about rtol: exact-maxmin still binds every UE."""
    pa = float(dbm_to_w(25.0))
    tight = maxmin_lexicographic.allocate(fig6, pa)
    loose = maxmin_lexicographic.allocate(fig6, pa, rtol=1e-6)
    assert loose.extras["stage2"] == "binding"
    assert loose.extras["sum_kr_bits"] == pytest.approx(tight.extras["sum_kr_bits"], rel=1e-5)
