"""Per-component bits, the Gaussian soft-information model, and min-entropy on correlated input."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from plkg.keygen import gaussian_model as gm
from plkg.keygen.adaptive_bits import choose_bits_per_component, exchangeable_entropy_per_sample
from plkg.keygen.entropy import (
    component_entropy_bits,
    exchangeable_min_entropy_bits,
    mcv_min_entropy_per_symbol,
)
from plkg.keygen.quantization import equiprobable_levels, gray_code


def conditional_entropy_by_quadrature(rho, bits):
    """H(Q_b | Y) of the standard bivariate Gaussian on a fine y grid (independent of the MC)."""
    y = np.linspace(-8, 8, 40001)
    w = np.exp(-0.5 * y**2) / math.sqrt(2 * math.pi) * (y[1] - y[0])
    t = ndtri(np.arange(2**bits + 1) / 2**bits)
    s = math.sqrt(1 - rho**2)
    p = np.diff(ndtr((t[None, :] - rho * y[:, None]) / s), axis=1)
    p = np.clip(p, 1e-300, 1)
    return float(np.sum(w * -(p * np.log2(p)).sum(axis=1)))


@pytest.mark.parametrize("rho, bits", [(0.8, 2), (0.95, 3)])
def test_plane_entropies_sum_to_conditional_entropy(rho, bits, rng, monkeypatch):
    """Chain rule: sum_l H(plane l | Y, planes < l) = H(Q_b | Y) (MC vs quadrature)."""
    monkeypatch.setattr(gm, "NOISE_INFLATION", 1.0)  # the exact model
    h = gm.plane_conditional_entropies([rho], bits, rng, n_sim=200_000)
    assert h.sum() == pytest.approx(conditional_entropy_by_quadrature(rho, bits), rel=0.02)
    assert np.all(np.diff(h[0]) > 0)  # finer planes are less reliable


def test_plane_posterior_is_calibrated(rng, monkeypatch):
    """Among samples with posterior in a bin, the fraction of ones matches the posterior."""
    monkeypatch.setattr(gm, "NOISE_INFLATION", 1.0)
    rho, b, plane, n = 0.97, 3, 1, 400_000
    x = rng.standard_normal(n)
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)
    levels = np.minimum((ndtr(x) * 2**b).astype(np.int64), 2**b - 1)
    p1 = gm.plane_bit_posterior(y, rho, levels >> (b - plane), plane)
    bit = gm.gray_prefix_bit(levels, b, plane)
    np.testing.assert_array_equal(bit, gray_code(levels, b)[:, plane])
    for lo in (0.1, 0.3, 0.5, 0.7):
        sel = (p1 >= lo) & (p1 < lo + 0.2)
        assert bit[sel].mean() == pytest.approx(p1[sel].mean(), abs=0.01)


def test_bits_rule_is_the_brute_force_argmax_and_grows_with_correlation(rng):
    rhos = np.array([0.2, 0.9, 0.99, 0.9999, 0.999999])
    h = gm.plane_conditional_entropies(rhos, 12, rng, n_sim=4096, n_rounds=1024)
    b = choose_bits_per_component(h, 1024, 12, 1.2)
    for i in range(rhos.size):
        gains = [exchangeable_entropy_per_sample(k, 1024) - 1.2 * h[i, :k].sum() for k in range(13)]
        assert b[i] == int(np.argmax(gains))
    assert b[0] == 0 and np.all(np.diff(b) >= 0) and b[-1] >= 8
    # b roughly follows the per-real-dimension key rate -1/2 log2(1 - rho^2)
    kr = -0.5 * np.log2(1 - rhos[1:] ** 2)
    assert np.all(np.abs(b[1:] - kr) <= 2.5)
    assert np.all(choose_bits_per_component(h, 1024, 4, 1.2) <= 4)
    with pytest.raises(ValueError, match="efficiency"):
        choose_bits_per_component(h, 1024, 12, 0.5)


def test_exchangeable_entropy_matches_monte_carlo_on_dependent_gray_bits(rng):
    """n = 8 rounds, b = 2: the empirical-CDF levels are a uniformly random arrangement of the
    fixed counts (2, 2, 2, 2), so H_min = log2(8! / 2!^4) = log2 2520, not 16 bits; the Gray bits
    of the sequence are dependent. Monte Carlo: every one of the 2520 arrangements occurs and the
    most frequent one is as rare as a uniform law allows."""
    n, b, draws = 8, 2, 60_000
    levels, _ = equiprobable_levels(rng.standard_normal((n, draws)), [b] * draws)  # column = draw
    seqs = Counter(map(tuple, levels.T.tolist()))
    assert len(seqs) == 2520
    assert exchangeable_min_entropy_bits(next(iter(seqs))) == pytest.approx(math.log2(2520))
    expected = draws / 2520
    assert max(seqs.values()) < expected + 6 * math.sqrt(expected)
    assert exchangeable_entropy_per_sample(b, n) * n == pytest.approx(math.log2(2520))


def test_symbol_estimates_hold_on_correlated_gray_bits_where_bitwise_counting_fails(rng):
    """A non-equiprobable 3-bit quantiser (fixed thresholds on a skewed law): the Gray bits are
    dependent and biased. The true min-entropy per symbol is -log2 max_m p_m; the per-symbol MCV
    estimate (and the exchangeable one) stay at or below it up to sampling noise, while adding
    per-bit MCV estimates overstates it."""
    p = np.array([0.30, 0.20, 0.15, 0.10, 0.10, 0.07, 0.05, 0.03])
    true_per_symbol = -math.log2(p.max())
    n = 50_000
    levels = rng.choice(8, size=n, p=p)
    mcv = component_entropy_bits([levels], [3], "mcv") / n
    exch = component_entropy_bits([levels], [3], "exchangeable") / n
    assert mcv <= true_per_symbol + 0.01 and mcv >= true_per_symbol - 0.05
    bits = gray_code(levels, 3)
    bitwise = sum(mcv_min_entropy_per_symbol(bits[:, j], 2) for j in range(3))
    assert bitwise > true_per_symbol + 0.2  # what counting Gray bits one by one would claim
    # with random counts the exchangeable count is the entropy given the counts (smooth,
    # typical-set min-entropy): between the worst-case min-entropy and the Shannon entropy
    shannon = float(-(p * np.log2(p)).sum())
    assert true_per_symbol - 0.01 <= exch <= shannon + 0.01
