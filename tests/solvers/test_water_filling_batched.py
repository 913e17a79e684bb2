"""Batched water-filling over [B, N_D]: equal to the validating path row by row, on any device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plkg.solvers.water_filling import water_filling
from plkg.solvers.water_filling_batched import water_filling_batched

RTOL = 1e-12


def _problems(rng, b=30, n=50):
    m_a = 10 ** rng.uniform(-3.0, 1.0, (b, n))
    m_b = 10 ** rng.uniform(-3.0, 1.0, (b, n))
    pa = 10 ** rng.uniform(-3.0, 3.0, b)
    pa[1] = 0.0
    return pa, m_a, m_b


@pytest.mark.parametrize("device", [None, "cpu"])
def test_rows_equal_validating_path(rng, device):
    pa, m_a, m_b = _problems(rng)
    x, level, evaluations = water_filling_batched(pa, m_a, m_b, device=device)
    x, level = np.asarray(x), np.asarray(level)
    assert evaluations >= 1
    for i in range(pa.size):
        ref = water_filling(pa[i], m_a[i], m_b[i])
        np.testing.assert_allclose(x[i], ref.x_w, rtol=0, atol=RTOL * max(pa[i], 1e-300))
        if pa[i] > 0:
            assert level[i] == pytest.approx(float(ref.level_w), rel=RTOL)
    assert np.all(x[1] == 0)
    np.testing.assert_allclose(x.sum(-1), pa, rtol=1e-15)


def test_shared_design_broadcasts(rng):
    pa, m_a, m_b = _problems(rng, b=12, n=20)
    x, _, _ = water_filling_batched(pa, m_a[0], m_b[0])
    ref = water_filling(pa, m_a[0], m_b[0])
    np.testing.assert_allclose(x, ref.x_w, rtol=0, atol=RTOL * pa.max())


def test_hard_rows_need_no_more_than_the_cap(rng):
    """Extreme spreads (m from 1e-8 to 1e4, budgets from 1e-9 W) still converge to the answer."""
    m_a = 10 ** rng.uniform(-8.0, 4.0, (20, 30))
    m_b = 10 ** rng.uniform(-8.0, 4.0, (20, 30))
    pa = 10 ** rng.uniform(-9.0, 4.0, 20)
    x, _, _ = water_filling_batched(pa, m_a, m_b)
    ref = water_filling(pa, m_a, m_b)
    for i in range(pa.size):
        np.testing.assert_allclose(x[i], ref.x_w[i], rtol=0, atol=RTOL * pa[i])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_numpy(rng):
    pa, m_a, m_b = _problems(rng)
    x_np, level_np, _ = water_filling_batched(pa, m_a, m_b)
    x_gpu, level_gpu, _ = water_filling_batched(pa, m_a, m_b, device="cuda")
    np.testing.assert_allclose(x_gpu.cpu().numpy(), x_np, rtol=0, atol=RTOL * pa.max())
    np.testing.assert_allclose(level_gpu.cpu().numpy()[pa > 0], level_np[pa > 0], rtol=RTOL)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda pa, a, b: (pa, np.where(a > 1, np.nan, a), b), "m_a"),
        (lambda pa, a, b: (pa, a, -b), "m_b"),
        (lambda pa, a, b: (-pa, a, b), "P_a"),
        (lambda pa, a, b: (pa, a, np.where(b > 1, np.inf, b)), "m_b"),
        (lambda pa, a, b: (pa[:-1], a, b), "rows"),
        (lambda pa, a, b: (pa, a[:, :-1], b), "N_D"),
        (lambda pa, a, b: (pa[:, None], a, b), "1-D"),
    ],
)
def test_bad_inputs_are_refused(rng, change, match):
    pa, m_a, m_b = _problems(rng, b=4, n=6)
    with pytest.raises(ValueError, match=match):
        water_filling_batched(*change(pa, m_a, m_b))
