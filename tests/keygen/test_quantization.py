"""Quantisers and BDR against closed forms and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal, norm

from plkg.keygen.quantization import (
    bit_disagreement_ratio,
    equiprobable_quantize,
    gray_code,
    mean_threshold_quantize,
    quantize,
    real_features,
)


def correlated_pair(rng, n, d, rho):
    x = rng.standard_normal((n, d))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    return x, y


@given(st.integers(1, 8))
@settings(max_examples=8, deadline=None)
def test_gray_code_adjacent_levels_differ_in_one_bit_and_is_bijective(b):
    codes = gray_code(np.arange(2**b), b)
    assert codes.shape == (2**b, b)
    assert np.all(np.abs(np.diff(codes, axis=0)).sum(axis=1) == 1)
    assert len({tuple(c) for c in codes}) == 2**b


@pytest.mark.parametrize("b", [1, 2, 3])
def test_equiprobable_levels_are_equiprobable_and_bits_uniform(b):
    rng = np.random.default_rng(0)
    x = rng.exponential(size=(4096, 3))  # any continuous law: rank-based
    q = equiprobable_quantize(x, b)
    assert q.bits.shape == (4096, 3, b) and q.keep.all()
    # each level exactly n / 2^b times per dimension (no ties)
    weights = 1 << np.arange(b - 1, -1, -1)
    for d in range(3):
        counts = np.bincount(q.bits[:, d, :] @ weights, minlength=2**b)
        assert np.all(counts == 4096 // 2**b)


def test_one_bit_bdr_matches_sheppard_formula():
    """1-bit median quantiser on a correlated Gaussian pair: BDR = arccos(rho) / pi."""
    rng = np.random.default_rng(1)
    n = 20_000
    for rho in (0.3, 0.8, 0.95):
        x, y = correlated_pair(rng, n, 4, rho)
        bdr = bit_disagreement_ratio(equiprobable_quantize(x).bits, equiprobable_quantize(y).bits)
        expected = math.acos(rho) / math.pi
        # 80,000 bits: standard error <= 0.0018, tolerance 5 sigma
        assert abs(bdr - expected) < 5 * math.sqrt(0.25 / (4 * n)), (rho, bdr, expected)
        bdr_mean = bit_disagreement_ratio(
            mean_threshold_quantize(x).bits, mean_threshold_quantize(y).bits
        )
        assert abs(bdr_mean - expected) < 5 * math.sqrt(0.25 / (4 * n))


def two_bit_gray_bdr(rho):
    """Expected per-bit BDR of the 2-bit Gray quantiser, by bivariate normal rectangle integrals."""
    t = norm.ppf([0.25, 0.5, 0.75])
    edges = np.concatenate([[-12.0], t, [12.0]])
    mvn = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]])
    codes = gray_code(np.arange(4), 2)

    def rect(i, j):
        lo = [edges[i], edges[j]]
        hi = [edges[i + 1], edges[j + 1]]
        return mvn.cdf(hi) - mvn.cdf([lo[0], hi[1]]) - mvn.cdf([hi[0], lo[1]]) + mvn.cdf(lo)

    return sum(rect(i, j) * np.sum(codes[i] != codes[j]) / 2 for i in range(4) for j in range(4))


def test_two_bit_gray_bdr_matches_bivariate_normal_integral():
    rng = np.random.default_rng(2)
    rho, n = 0.9, 20_000
    x, y = correlated_pair(rng, n, 2, rho)
    bdr = bit_disagreement_ratio(equiprobable_quantize(x, 2).bits, equiprobable_quantize(y, 2).bits)
    expected = two_bit_gray_bdr(rho)
    assert abs(bdr - expected) < 5 * math.sqrt(0.25 / (2 * n)) + 2e-3


def test_guard_band_lowers_bdr_and_drops_the_right_fraction():
    rng = np.random.default_rng(3)
    x, y = correlated_pair(rng, 8000, 2, 0.9)
    qa, qb = equiprobable_quantize(x, 1, 0.2), equiprobable_quantize(y, 1, 0.2)
    assert abs(qa.keep.mean() - 0.8) < 1e-3  # 20 % of the mass around the median dropped
    keep = qa.keep & qb.keep
    bdr_guard = bit_disagreement_ratio(qa.kept_bits(keep), qb.kept_bits(keep))
    bdr_plain = bit_disagreement_ratio(equiprobable_quantize(x).bits, equiprobable_quantize(y).bits)
    assert bdr_guard < 0.6 * bdr_plain
    qm = mean_threshold_quantize(x, guard_alpha=0.5)
    assert abs(qm.keep.mean() - 2 * norm.sf(0.5)) < 0.03


def test_real_features_splits_complex():
    z = np.arange(12).reshape(3, 2, 2) * (1 + 2j)
    f = real_features(z)
    assert f.shape == (3, 8)
    np.testing.assert_array_equal(f[:, :4], z.reshape(3, 4).real)
    np.testing.assert_array_equal(f[:, 4:], z.reshape(3, 4).imag)


def test_errors():
    with pytest.raises(ValueError, match="length"):
        bit_disagreement_ratio([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        bit_disagreement_ratio([], [])
    with pytest.raises(ValueError, match="NaN"):
        real_features(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="rounds"):
        real_features(np.ones((1, 3)))
    with pytest.raises(ValueError, match="guard_fraction"):
        equiprobable_quantize(np.ones((8, 1)), 2, 0.3)
    with pytest.raises(ValueError, match="bits_per_sample"):
        equiprobable_quantize(np.ones((8, 1)), 0)
    with pytest.raises(ValueError, match="unknown quantiser"):
        quantize(np.ones((8, 1)), "lloyd")
    with pytest.raises(ValueError, match="guard_alpha"):
        mean_threshold_quantize(np.ones((8, 1)), -1.0)
