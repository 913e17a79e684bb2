"""Bound (online) water-filling: equal to the validating path, batched equal to single."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plkg.solvers.water_filling import kkt_residual, water_filling, x_from_level
from plkg.solvers.water_filling_bound import BoundWaterFilling

RTOL = 1e-12


def _design(rng, n=40, lo=-3.0, hi=1.0):
    return 10 ** rng.uniform(lo, hi, n), 10 ** rng.uniform(lo, hi, n)


def _budgets(rng, bound):
    """Budgets over many decades, exactly at and next to every breakpoint, and outside the table."""
    brk = bound.breakpoints_w[1:]
    return np.concatenate(
        [
            10 ** rng.uniform(-7.0, 5.0, 40),
            brk,
            brk * (1 + 1e-9),
            brk * (1 - 1e-9),
            [1e-12, 1e8],
        ]
    )


def _assert_same(fast_x, fast_level, ref, pa):
    np.testing.assert_allclose(fast_x, ref.x_w, rtol=0, atol=RTOL * pa)
    assert fast_level == pytest.approx(float(ref.level_w), rel=RTOL)


def test_single_equals_validating_path(rng):
    m_a, m_b = _design(rng)
    bound = BoundWaterFilling(m_a, m_b)
    for pa in _budgets(rng, bound):
        res = bound(float(pa))
        ref = water_filling(pa, m_a, m_b)
        _assert_same(res.x_w, res.level_w, ref, pa)
        assert res.x_w.sum() == pytest.approx(pa, rel=1e-15)
        assert res.n_active == int(np.count_nonzero(res.x_w))
        assert res.status == "converged" and res.iterations >= 1
        # the lazy extras are the validating path's formulas
        assert res.objective == pytest.approx(float(ref.objective), rel=1e-12)
        assert res.mu == pytest.approx(float(ref.mu), rel=RTOL)
        assert res.kkt_residual <= 1e-10


def test_breakpoints_are_the_budgets_that_switch_subchannels_on(rng):
    """P_j = S(b_j) from Eq. (48) at the level b_j, independently of the bound's bookkeeping."""
    m_a, m_b = _design(rng, n=25)
    bound = BoundWaterFilling(m_a, m_b)
    b = np.sort(m_b * (1 + m_a))
    expected = np.array([x_from_level(bj, m_a, m_b).sum() for bj in b])
    np.testing.assert_allclose(bound.breakpoints_w, expected, rtol=1e-13, atol=0)
    for j in range(1, b.size):
        assert bound(bound.breakpoints_w[j] * (1 + 1e-6)).n_active == j + 1


def test_zero_budget_and_edge_designs(rng):
    m_a, m_b = _design(rng, n=12)
    zero = BoundWaterFilling(m_a, m_b)(0.0)
    assert np.all(zero.x_w == 0) and zero.n_active == 0
    # m_a = 0 (noise-free uplink: x = w - b, Eq. (59) limit) and duplicated subchannels (ties)
    m_a0 = np.concatenate([np.zeros(5), m_a[:5], m_a[:5]])
    m_b0 = np.concatenate([m_b[:5], m_b[:5], m_b[:5]])
    bound = BoundWaterFilling(m_a0, m_b0)
    for pa in 10 ** rng.uniform(-5, 3, 20):
        res = bound(pa)
        _assert_same(res.x_w, res.level_w, water_filling(pa, m_a0, m_b0), pa)
    # one subchannel: everything goes there
    one = BoundWaterFilling(m_a[:1], m_b[:1])
    assert one(0.3).x_w == pytest.approx([0.3], rel=1e-15)


@pytest.mark.parametrize("device", [None, "cpu"])
def test_batched_equals_single(rng, device):
    m_a, m_b = _design(rng, n=30)
    bound = BoundWaterFilling(m_a, m_b, pa_range_w=(1e-4, 1e2))
    pa = np.concatenate([[0.0], 10 ** rng.uniform(-6, 4, 60)])
    x, level, _ = bound.solve(pa, device=device)
    x, level = np.asarray(x), np.asarray(level)
    for i, p in enumerate(pa):
        single = bound(p)
        np.testing.assert_allclose(x[i], single.x_w, rtol=0, atol=RTOL * max(p, 1e-300))
        if p > 0:
            assert level[i] == pytest.approx(single.level_w, rel=RTOL)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_batched_on_cuda_equals_numpy(rng):
    m_a, m_b = _design(rng, n=30)
    bound = BoundWaterFilling(m_a, m_b)
    pa = 10 ** rng.uniform(-6, 4, 60)
    x_np, level_np, _ = bound.solve(pa)
    x_gpu, level_gpu, _ = bound.solve(pa, device="cuda")
    np.testing.assert_allclose(x_gpu.cpu().numpy(), x_np, rtol=0, atol=RTOL * pa.max())
    np.testing.assert_allclose(level_gpu.cpu().numpy(), level_np, rtol=RTOL)


def test_inputs_are_validated_at_bind_and_power_per_call(rng):
    m_a, m_b = _design(rng, n=5)
    with pytest.raises(ValueError, match="m_a"):
        BoundWaterFilling(np.where(np.arange(5) == 2, np.nan, m_a), m_b)
    with pytest.raises(ValueError, match="m_b"):
        BoundWaterFilling(m_a, -m_b)
    with pytest.raises(ValueError, match="pa_range_w"):
        BoundWaterFilling(m_a, m_b, pa_range_w=(1.0, 0.1))
    bound = BoundWaterFilling(m_a, m_b)
    for bad in (float("nan"), -1.0, float("inf")):
        with pytest.raises(ValueError, match="P_a"):
            bound(bad)
    with pytest.raises(ValueError, match="P_a"):
        bound.solve(np.array([1.0, np.nan]))


def test_kkt_of_the_batched_solution(rng):
    """Eq. (47) holds at the batched solution (an independent check of optimality)."""
    m_a, m_b = _design(rng, n=20)
    bound = BoundWaterFilling(m_a, m_b)
    pa = 10 ** rng.uniform(-4, 2, 10)
    x, level, _ = bound.solve(pa)
    mu = 1.0 / (np.log(2.0) * level)
    assert np.all(kkt_residual(x, mu, m_a, m_b, pa) <= 1e-10)
