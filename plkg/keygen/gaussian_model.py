"""Bivariate-Gaussian model of one quantised component: Bob's soft information on Alice's bits.

After decorrelation and phase alignment every real feature pair (x_a, x_b) of the two ends is
modelled as standard bivariate Gaussian with correlation rho (normal scores of the empirical
CDFs; the measurements of Eqs. (8)/(11) of the near-field paper and Eqs. (3)/(6) of the RIS paper
are circularly symmetric Gaussian, so real and imaginary parts are Gaussian with the same rho).
Alice's equiprobable level with 2^b levels has inner thresholds t_m = Phi^-1(m / 2^b); its
Gray-coded bit planes are decoded most significant first (multilevel coding with multistage
decoding): plane l of a level L is the least significant bit of Gray(L >> (b - l - 1)), the Gray
code of the (l + 1)-bit prefix of L, so Bob's posterior of plane l given his score y and the
already decoded l-bit prefix c involves only the two children 2c and 2c + 1 of c.

The complex key rate of one component, -log2(1 - rho^2) (Eq. (42) of the near-field paper per
subchannel, Theorem 1 of the RIS paper per canonical pair), is twice the mutual information
-1/2 log2(1 - rho^2) of each of its two real features.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

#: Factor on the model's residual variance 1 - rho^2 in Bob's posteriors (estimated rho and the
#: rank transform make the true residual somewhat wider than the model's).
NOISE_INFLATION = 1.5


def normal_scores(x) -> np.ndarray:
    """Phi^-1 of the mid-rank empirical CDF of each column of x [n, D] (float64, [n, D])."""
    from plkg.keygen.quantization import empirical_cdf

    return ndtri(empirical_cdf(np.asarray(x, dtype=np.float64)))


def gray_prefix_bit(levels, n_bits: int, plane: int) -> np.ndarray:
    """Plane ``plane`` (0 = most significant) of the ``n_bits``-bit Gray code of ``levels``."""
    prefix = np.asarray(levels, dtype=np.int64) >> (n_bits - plane - 1)
    return ((prefix ^ (prefix >> 1)) & 1).astype(np.int8)


def score_noise_var(y, n_rounds: int | None) -> np.ndarray:
    """Variance that rank discreteness adds to the normal-score residual, [n] (0 if n is None).

    A normal score Phi^-1((rank + 1/2) / n) moves by 1 / (n phi(y)) per rank; the two ends'
    rank rounding errors (uniform, variance 1/12 each) add 1 / (6 (n phi(y))^2). Negligible at
    the centre, it dominates the measurement noise 1 - rho^2 in the tails at high correlation.
    """
    y = np.asarray(y, dtype=np.float64)
    if n_rounds is None:
        return np.zeros(y.shape)
    density = np.exp(-0.5 * y**2) / np.sqrt(2.0 * np.pi)
    return 1.0 / (6.0 * (n_rounds * density) ** 2)


def plane_bit_posterior(y, rho, prefix, plane: int, n_rounds: int | None = None) -> np.ndarray:
    """P(Gray plane ``plane`` of Alice's level = 1 | Bob's score y, Alice's decoded prefix).

    Parameters
    ----------
    y : array_like, shape [n], float
        Bob's normal scores.
    rho : float or array_like [n]
        Correlation of the pair, in [0, 1).
    prefix : array_like of int, shape [n]
        The ``plane``-bit prefix of Alice's level (0 for plane 0).
    plane : int
        l >= 0.
    n_rounds : int or None
        Samples the normal scores were ranked over (adds :func:`score_noise_var`).

    Returns
    -------
    ndarray [n], float64 in [0, 1]
    """
    y = np.asarray(y, dtype=np.float64)
    rho = np.asarray(rho, dtype=np.float64)
    # the residual variance is inflated: an overconfident LLR on a wrong bit misleads belief
    # propagation, an underconfident one only costs a few syndrome bits
    var = NOISE_INFLATION * (1.0 - rho**2) + score_noise_var(y, n_rounds)
    s = np.sqrt(np.maximum(var, 1e-300))
    n_levels = 2 ** (plane + 1)
    c0 = 2 * np.asarray(prefix, dtype=np.int64)

    def cdf(k):
        return ndtr((ndtri(np.clip(k / n_levels, 0.0, 1.0)) - rho * y) / s)

    lo, mid, hi = cdf(c0), cdf(c0 + 1), cdf(c0 + 2)
    p0, p1 = mid - lo, hi - mid
    total = p0 + p1
    # both children numerically impossible (y far in a tail): no information
    q1 = np.where(total > 0, p1 / np.where(total > 0, total, 1.0), 0.5)
    first_is_one = ((c0 ^ (c0 >> 1)) & 1).astype(bool)
    return np.where(first_is_one, 1.0 - q1, q1)


def binary_entropy(p) -> np.ndarray:
    """H2(p) in bits, elementwise (0 at p in {0, 1})."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    return -(p * np.log2(p) + q * np.log2(q))


def plane_conditional_entropies(
    rho, n_planes: int, rng: np.random.Generator, n_sim: int = 4096, n_rounds: int | None = None
) -> np.ndarray:
    """Monte-Carlo H(plane l | y, planes < l) of the model, for every component and plane.

    Uses public quantities only (rho and a public random stream), so it can set the bits per
    component and the syndrome lengths without disclosing anything. Sum over l < b gives
    H(Q_b | y), the information Alice must disclose at least for Bob to learn her b-bit level.

    Parameters
    ----------
    rho : array_like, shape [D], in [0, 1)
    n_planes : int
        Planes 0..n_planes-1.
    rng : numpy.random.Generator
    n_sim : int
        Simulated pairs per component (rounded up to whole blocks of ``n_rounds``).
    n_rounds : int or None
        Block length: the simulation then goes through the same empirical-CDF normal scores as
        the pipeline (rank effects included); ``None`` uses the continuous model.

    Returns
    -------
    ndarray [D, n_planes], bits per sample
    """
    rho = np.clip(np.asarray(rho, dtype=np.float64).reshape(-1), 0.0, 1.0 - 1e-15)
    d = rho.size
    blocks = 1 if n_rounds is None else max(1, -(-n_sim // n_rounds))
    size = n_sim if n_rounds is None else n_rounds
    out = np.zeros((d, n_planes))
    for _ in range(blocks):
        x = rng.standard_normal((size, d))
        y = rho * x + np.sqrt(1.0 - rho**2) * rng.standard_normal((size, d))
        if n_rounds is not None:
            x, y = normal_scores(x), normal_scores(y)
        levels = np.minimum((ndtr(x) * 2**n_planes).astype(np.int64), 2**n_planes - 1)
        for plane in range(n_planes):
            p1 = plane_bit_posterior(y, rho, levels >> (n_planes - plane), plane, n_rounds)
            out[:, plane] += binary_entropy(p1).mean(axis=0) / blocks
    return out
