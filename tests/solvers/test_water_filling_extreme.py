"""Water-filling (P1) at every scale float64 represents: all paths exact, or one clear refusal.

The reference is independent of the solvers' normalised offset form: Eq. (48) of the near-field
paper *verbatim* in 700-digit mpmath arithmetic (where w - m_b (1 + m_a) does not cancel), with
the level found by bisection on its offset above the last activation level below it. Every path
(validating NumPy and torch, bound single and batched, the batched kernel) must either raise :class:`PowerDomainError` naming the
value, or return the optimum: finite, x >= 0, sum x = P_a, KKT residual (evaluated in mpmath)
at round-off level, equal to the reference and to each other, and monotone in P_a.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import plkg
from plkg.solvers.water_filling import water_filling, water_filling_torch
from plkg.solvers.water_filling_batched import water_filling_batched
from plkg.solvers.water_filling_bound import BoundWaterFilling
from plkg.solvers.water_level import GUARANTEED_MAX, GUARANTEED_MIN, PowerDomainError

mp.mp.dps = 700  # Eq. (48) verbatim cancels up to ~1e-600 relative at the domain's edges


def _log_uniform(lo: float, hi: float):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)


ANY = _log_uniform(1e-300, 1e300)
BOXED = _log_uniform(GUARANTEED_MIN, GUARANTEED_MAX)


def _problem(values):
    m_a, m_b = (np.array(v, dtype=np.float64) for v in zip(*values, strict=True))
    return m_a, m_b


def reference_allocation(pa, m_a, m_b):
    """Eq. (48) verbatim in mpmath. Returns (x, w).

    For n = 1, 2, ... active subchannels (ascending activation level b), the level is found by
    bisection in log(w - b_{n-1}) inside [b_{n-1}, b_n], the first n whose interval holds the
    budget. Measuring the level above the last activation level resolves that subchannel's
    power to ~1e-80 relative, however far below the level the budget lies.
    """
    pa = mp.mpf(pa)
    ma = [mp.mpf(v) for v in m_a]
    mb = [mp.mpf(v) for v in m_b]
    b = [y * (1 + a) for a, y in zip(ma, mb, strict=True)]
    levels = sorted(b)

    def x_of(w):
        mu = 1 / (w * mp.log(2))
        out = []
        for a, y in zip(ma, mb, strict=True):
            root = mp.sqrt(
                y**2 * (2 * a + 1) ** 2 - 4 * a * y * (y * (a + 1) - 1 / (mp.log(2) * mu))
            )
            x = (root - y * (2 * a + 1)) / (2 * a) if a > 0 else w - y  # m_a = 0: 1/(x + m_b)
            out.append(max(x, mp.mpf(0)))
        return out

    for n in range(1, len(levels) + 1):
        base = levels[n - 1]
        if n < len(levels) and sum(x_of(levels[n])) < pa:
            continue  # the budget switches on subchannel n too
        # the level giving any single subchannel the whole budget bounds the root from above
        top = min(bi + pa * (1 + 2 * a + a * pa / y) for bi, a, y in zip(b, ma, mb, strict=True))
        lo, hi = mp.log(pa) - 1700, mp.log(top - base)
        for _ in range(300):
            mid = (lo + hi) / 2
            if sum(x_of(base + mp.exp(mid))) > pa:
                hi = mid
            else:
                lo = mid
        w = base + mp.exp((lo + hi) / 2)
        return x_of(w), w
    raise AssertionError("unreachable: the last interval is unbounded")


def mp_kkt_residual(x, pa, m_a, m_b, w):
    """Relative KKT residual of Eq. (47) in mpmath: slopes against mu = 1/(w ln 2), budget."""
    worst = abs(mp.fsum(mp.mpf(v) for v in x) - mp.mpf(pa)) / mp.mpf(pa)
    mu = 1 / (mp.mpf(w) * mp.log(2))
    for xj, a, y in zip(x, m_a, m_b, strict=True):
        xj, a, y = mp.mpf(xj), mp.mpf(a), mp.mpf(y)
        b = y * (1 + a)
        g = b / ((xj * a + b) * (xj * (1 + a) + b) * mp.log(2))
        worst = max(worst, abs(g - mu) / mu if xj > 0 else max(g - mu, 0) / mu)
    return float(worst)


def every_path(pa, m_a, m_b):
    """{name: zero-argument solve returning (x [N_D], level)} for each water-filling path."""

    def validating():
        r = water_filling(pa, m_a, m_b)
        return np.asarray(r.x_w), float(r.level_w)

    def torch_twin():
        r = water_filling_torch(pa, m_a, m_b)
        return r.x_w.numpy(), float(r.level_w)

    def bound_single():
        r = BoundWaterFilling(m_a, m_b)(pa)
        return r.x_w, r.level_w

    def bound_batched():
        x, w, _ = BoundWaterFilling(m_a, m_b).solve(np.array([pa]))
        return x[0], float(w[0])

    def batched():
        x, w, _ = water_filling_batched(np.array([pa]), m_a, m_b)
        return x[0], float(w[0])

    return {
        "validating": validating,
        "torch": torch_twin,
        "bound": bound_single,
        "bound-batched": bound_batched,
        "batched": batched,
    }


def assert_exact_or_refused(check, pa, m_a, m_b):
    """Every path refuses alike or returns Eq. (48)'s optimum; ``check`` is ``paths_or_refusal``."""
    outcomes = check(every_path(pa, m_a, m_b))
    if outcomes is None:
        return None
    x_ref, w_ref = reference_allocation(pa, m_a, m_b)
    x_ref_f = np.array([float(v) for v in x_ref])
    for name, (x, w) in outcomes.items():
        assert np.all(np.isfinite(x)) and math.isfinite(w), name
        assert np.all(x >= 0), name
        assert abs(x.sum() - pa) <= 1e-12 * pa, (name, x.sum(), pa)
        # float64 rounds each activation level m_b (1 + m_a) by ~eps b: a power is determined to
        # eps times the level at best (the reference uses the exact, unrounded levels)
        atol = 1e-9 * pa + 16 * np.finfo(np.float64).eps * float(w_ref)
        np.testing.assert_allclose(x, x_ref_f, rtol=0, atol=atol, err_msg=name)
        assert mp_kkt_residual(x, pa, m_a, m_b, w) <= 1e-9, name
        assert abs(w - float(w_ref)) <= 1e-12 * float(w_ref), name
    return outcomes["validating"]


subchannel = st.tuples(st.one_of(st.just(0.0), ANY), ANY)


@settings(max_examples=60, deadline=None)
@given(pa=ANY, values=st.lists(subchannel, min_size=1, max_size=4))
@example(pa=1e-33, values=[(0.01, 1e-3), (1.0, 2e-3)])
@example(pa=1.0, values=[(0.01, 1e-3), (1e300, 1e300)])
@example(pa=1e-300, values=[(1e-300, 1e-300)])
@example(pa=1e-08, values=[(0.0, 1.0), (1e-08, 1.0)])  # budget exactly at a breakpoint
@example(pa=1e300, values=[(1e300, 1e-300), (0.0, 1.0)])
def test_every_path_exact_or_refused_over_the_float64_range(paths_or_refusal, pa, values):
    m_a, m_b = _problem(values)
    assert_exact_or_refused(paths_or_refusal, pa, m_a, m_b)


boxed_subchannel = st.tuples(st.one_of(st.just(0.0), BOXED), BOXED)


@settings(max_examples=40, deadline=None)
@given(pa=BOXED, values=st.lists(boxed_subchannel, min_size=1, max_size=4))
def test_the_guaranteed_box_is_never_refused(paths_or_refusal, pa, values):
    m_a, m_b = _problem(values)
    assert assert_exact_or_refused(paths_or_refusal, pa, m_a, m_b) is not None


@settings(max_examples=40, deadline=None)
@given(
    pa=_log_uniform(1e-200, 1e200),
    factor=_log_uniform(1.0 + 1e-6, 1e10),
    values=st.lists(
        st.tuples(_log_uniform(1e-60, 1e60), _log_uniform(1e-60, 1e60)), max_size=4, min_size=1
    ),
)
def test_optimum_grows_with_the_budget(pa, factor, values):
    """The optimal sum KR is non-decreasing in P_a and every subchannel's power too (Eq. (48))."""
    m_a, m_b = _problem(values)
    try:
        low = water_filling(pa, m_a, m_b)
        high = water_filling(pa * factor, m_a, m_b)
    except PowerDomainError:
        return
    assert float(high.objective) >= float(low.objective) * (1 - 1e-12)
    assert np.all(high.x_w >= low.x_w * (1 - 1e-12))
    assert float(high.level_w) >= float(low.level_w) * (1 - 1e-15)


@pytest.fixture(scope="module")
def fig6_design():
    return plkg.design_for_scenario(plkg.load_scenario("fig6"))


@pytest.mark.parametrize("pa_dbm", [-300, -250, -200, -150])
def test_fig6_at_absurdly_low_power_puts_the_budget_on_the_best_subchannel(fig6_design, pa_dbm):
    """Far below every activation level only the lowest-b subchannel is on, with all of P_a."""
    d = fig6_design
    pa = 10 ** ((pa_dbm - 30) / 10)
    res = water_filling(pa, d.m_a, d.m_b)
    assert res.status == "converged"
    assert abs(res.x_w.sum() - pa) <= 1e-13 * pa
    best = int(np.argmin(d.m_b * (1 + d.m_a)))
    assert res.x_w[best] == pytest.approx(pa, rel=1e-12)
    assert float(res.kkt_residual) <= 1e-12
    bound = BoundWaterFilling(d.m_a, d.m_b)(pa)
    np.testing.assert_allclose(bound.x_w, res.x_w, rtol=0, atol=1e-12 * pa)


def test_fig6_low_power_offsets_scale_with_the_budget(fig6_design):
    """d(w - b_min)/dP_a = 1 + 2 m_a of the best subchannel at vanishing power (limit case)."""
    d = fig6_design
    best = int(np.argmin(d.m_b * (1 + d.m_a)))
    for pa_dbm in (-300, -250, -200):
        pa = 10 ** ((pa_dbm - 30) / 10)
        offset = float(water_filling(pa, d.m_a, d.m_b).extras["offset_w"])
        assert offset / pa == pytest.approx(1 + 2 * d.m_a[best], rel=1e-9)


def test_refusal_names_the_budget_and_the_cli_exits_2(tmp_path, capsys):
    with pytest.raises(PowerDomainError, match=r"P_a = 1e\+300 W"):
        water_filling(1e300, np.array([1e30]), np.array([1e-30]))
    with pytest.raises(PowerDomainError, match="subchannel 1"):
        water_filling(1.0, np.array([0.1, 1e300]), np.array([1.0, 1e300]))
