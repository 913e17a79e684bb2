"""The entropy estimate never over-counts on correlated input (components or rounds).

Truths are independent derivations: the joint entropy of two quantised correlated Gaussians from
bivariate-normal cell probabilities (scipy's Genz integration), and for AR(1) rounds the lower
bound H(Q_1) + (n - 1) H(Q_t | X_{t-1}) on the entropy of the level sequence (conditioning on the
previous sample instead of the previous levels), by Gauss-Hermite quadrature. Levels use the
population equiprobable thresholds, so that every round is an independent draw of the model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import lfilter
from scipy.special import ndtr, ndtri
from scipy.stats import multivariate_normal

from plkg.keygen.entropy import component_entropy_bits, dependence_penalty_bits
from plkg.keygen.gaussian_model import normal_scores
from plkg.keygen.pipeline import KeyGenConfig, generate_key_pair

B = 3  # bits per symbol: 8 equiprobable levels, Gray bits within a symbol dependent
THRESHOLDS = ndtri(np.arange(1, 2**B) / 2**B)


def _joint_entropy_bits(r: float) -> float:
    """H(Q_1, Q_2) per round of two standard Gaussians with correlation r, bits."""
    g = np.concatenate([[-12.0], THRESHOLDS, [12.0]])
    cov = [[1.0, r], [r, 1.0]]
    f = np.array([[multivariate_normal.cdf([u, v], cov=cov) for v in g] for u in g])
    p = f[1:, 1:] - f[:-1, 1:] - f[1:, :-1] + f[:-1, :-1]
    p = p[p > 1e-15]
    return float(-(p * np.log2(p)).sum())


def _ar1_conditional_entropy_bits(a: float) -> float:
    """H(Q_t | X_{t-1}) of a unit-variance AR(1) with coefficient a, bits."""
    x, w = np.polynomial.hermite_e.hermegauss(120)
    w = w / w.sum()
    g = np.concatenate([[-np.inf], THRESHOLDS, [np.inf]])
    s = math.sqrt(1.0 - a * a)
    p = np.diff(ndtr((g[None, :] - a * x[:, None]) / s), axis=1)
    h = -np.sum(np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0), axis=1)
    return float(w @ h)


def _estimate(levels, scores, method, lags=1):
    pen = dependence_penalty_bits(scores, lags)
    return component_entropy_bits(levels, [B] * len(levels), method, pen)


@pytest.mark.parametrize("r", [0.5, 0.9, 1.0])
def test_correlated_components_never_over_counted(rng, r):
    n = 32768
    x = rng.standard_normal((n, 2))
    x[:, 1] = r * x[:, 0] + math.sqrt(1.0 - r * r) * x[:, 1]
    levels = [np.searchsorted(THRESHOLDS, x[:, i]) for i in range(2)]
    truth = n * (B if r == 1.0 else _joint_entropy_bits(r))
    for method in ("exchangeable", "mcv"):
        assert _estimate(levels, normal_scores(x), method) <= truth
    if r == 0.9:  # without the penalty the sum counts the shared information twice
        assert component_entropy_bits(levels, [B, B]) > truth + 0.5 * n
        assert _estimate(levels, normal_scores(x), "exchangeable") > 0.85 * truth


@pytest.mark.parametrize("a", [0.6, 0.9])
def test_correlated_rounds_never_over_counted(rng, a):
    n = 65536
    e = rng.standard_normal(n)
    e[1:] *= math.sqrt(1.0 - a * a)
    x = lfilter([1.0], [1.0, -a], e)  # stationary AR(1), unit variance
    levels = [np.searchsorted(THRESHOLDS, x)]
    lower = B + (n - 1) * _ar1_conditional_entropy_bits(a)  # <= the true entropy
    for method in ("exchangeable", "mcv"):
        assert _estimate(levels, normal_scores(x[:, None]), method) <= lower
    assert component_entropy_bits(levels, [B]) > lower + 0.1 * n  # iid estimate over-counts


def test_penalty_small_and_nonnegative_for_independent_components(rng):
    n, c = 1024, 20
    x = rng.standard_normal((n, c))
    pen = dependence_penalty_bits(x, 1)
    first_order = (c * c * 3 - c) / (4.0 * math.log(2.0))  # sample-correlation bias, L = 1
    assert 0.0 <= pen <= 1.5 * first_order
    assert dependence_penalty_bits(x[:, :1], 0) == 0.0
    assert dependence_penalty_bits(np.repeat(x[:, :2], 2, axis=1), 0) == math.inf
    assert dependence_penalty_bits(x[:5], 1) == math.inf  # n too small for C
    with pytest.raises(ValueError, match="lags"):
        dependence_penalty_bits(x, -1)
    with pytest.raises(ValueError, match="dependence_bits"):
        component_entropy_bits([np.zeros(4, dtype=int)], [1], "exchangeable", float("nan"))


def test_pipeline_does_not_count_duplicated_components_twice(rng):
    n = 512
    h = (rng.standard_normal((n, 3)) + 1j * rng.standard_normal((n, 3))) / math.sqrt(2.0)
    noise = 0.1 * (rng.standard_normal((2, n, 3)) + 1j * rng.standard_normal((2, n, 3)))
    za, zb = h + noise[0], h + noise[1]
    config = KeyGenConfig(decorrelation="none")
    single = generate_key_pair(za, zb, np.random.default_rng(1), config)
    twice = generate_key_pair(
        np.concatenate([za, za], axis=1),
        np.concatenate([zb, zb], axis=1),
        np.random.default_rng(1),
        config,
    )
    assert single.final_key_bits > 0
    assert twice.entropy_bits <= single.entropy_bits
    naive = generate_key_pair(
        np.concatenate([za, za], axis=1),
        np.concatenate([zb, zb], axis=1),
        np.random.default_rng(1),
        KeyGenConfig(decorrelation="none", dependence_lags=None),
    )
    assert naive.entropy_bits > 1.5 * single.entropy_bits  # what the penalty prevents
