"""Entropy estimate of quantised bits for privacy amplification.

Two estimators, both on whole b-bit symbols (the Gray bits of one symbol are not independent, so
bits are never counted one by one):

* ``"exchangeable"`` (default of the pipeline): the level sequence of one component over n
  independent rounds, given its level counts c_m, is equally likely to be any of their
  n! / prod_m c_m! arrangements (the rounds are exchangeable), so its min-entropy is
  log2(n! / prod_m c_m!). For the empirical-CDF equiprobable quantiser the counts are fixed by
  construction and the bound is exact; it is below n b because the counts are known (at most
  log2 n! ~ n (log2 n - 1.44) bits per component whatever b). With random counts (fixed
  thresholds, guard bands) it is the min-entropy given the observed counts: close to the smooth
  min-entropy n H(Q) of the typical set, above the worst-case -n log2 max_m p_m.
* ``"mcv"``: the most-common-value estimator of NIST SP 800-90B section 6.3.1 on the symbols:
  p_u = min(1, p_hat + 2.576 sqrt(p_hat (1 - p_hat) / (L - 1))), H_min = -log2 p_u per symbol.

Both rest on independent rounds and independent components; neither holds exactly in practice
(decorrelation from an estimated covariance, designed-but-imperfect independence, user
measurements with memory), and on correlated input the plain sums over-count: two copies of one
component count twice. :func:`dependence_penalty_bits` therefore subtracts n times the Gaussian
(copula) multi-information rate of Alice's normal scores, -1/2 log2 det Sigma_{t | t-1..t-L}
per round (Sigma: correlation of the C components at round t given the L previous rounds, from
the block's sample correlations). By data processing the multi-information of the quantised
levels is at most that of the underlying scores, and the sample estimate is biased upwards
(>= 0 always, about (C^2 (2 L + 1) - C) / (4 ln 2) bits for independent components), so the
penalty errs on the safe side; with a singular correlation (duplicated components) it is
infinite and the estimate is 0. The estimate is max(0, sum of per-component entropies -
penalty); ``tests/keygen/test_entropy_correlated.py`` checks it never exceeds the true entropy
of correlated Gaussian components and of AR(1) rounds.

Public information about the rounds is accounted for by conditioning. Statistics that are
symmetric in the rounds (a training basis, the level counts) and the guard-band mask (a
permutation of the kept rounds maps it to itself) leave every arrangement of the kept levels
with the observed counts equally likely. A public per-sample label, such as the error pattern
that Cascade's binary searches reveal, is handled with ``classes``: rounds are exchangeable only
within a class, so the estimate becomes the sum over classes of log2(n_e! / prod_m c_{e,m}!),
which is below the unconditioned value by about n I(level; label).

Eve is assumed to see channels independent of the legitimate ones (beyond half a wavelength), so
the entropy of Alice's bits given Eve is their own entropy.
"""

from __future__ import annotations

import math

import numpy as np


def mcv_min_entropy_per_symbol(symbols, alphabet_size: int) -> float:
    """SP 800-90B 6.3.1 MCV estimate of the min-entropy per symbol, in bits (<= log2 alphabet).

    Parameters
    ----------
    symbols : array_like of int, shape [L], values in [0, alphabet_size)
        L >= 2.
    """
    s = np.asarray(symbols, dtype=np.int64).reshape(-1)
    if s.size < 2:
        raise ValueError(f"MCV estimate needs at least 2 symbols, got {s.size}")
    if s.min() < 0 or s.max() >= alphabet_size:
        raise ValueError(f"symbols must lie in [0, {alphabet_size})")
    p_hat = np.bincount(s, minlength=alphabet_size).max() / s.size
    p_u = min(1.0, p_hat + 2.576 * math.sqrt(p_hat * (1.0 - p_hat) / (s.size - 1)))
    return float(min(-math.log2(p_u), math.log2(alphabet_size)))


def bits_to_symbols(bits, bits_per_symbol: int) -> np.ndarray:
    """Group a bit string [L * b] into integers [L] (MSB first)."""
    x = np.asarray(bits, dtype=np.int64).reshape(-1, bits_per_symbol)
    return x @ (1 << np.arange(bits_per_symbol - 1, -1, -1))


def exchangeable_min_entropy_bits(levels) -> float:
    """log2(n! / prod_m c_m!) for one component's level sequence [n] (c_m: level counts), bits."""
    s = np.asarray(levels, dtype=np.int64).reshape(-1)
    if s.size == 0:
        return 0.0
    counts = np.unique(s, return_counts=True)[1]
    total = math.lgamma(s.size + 1) - sum(math.lgamma(int(c) + 1) for c in counts)
    return float(total / math.log(2))


def dependence_penalty_bits(scores, lags: int = 1) -> float:
    """n times the Gaussian multi-information rate of C components over n rounds, bits (>= 0).

    -1/2 log2 det(R) + 1/2 log2 det(R_past) per round, where R is the sample correlation of the
    stacked rows [x_t, x_{t-1}, ..., x_{t-L}] and R_past its block of the L past rounds: the
    information that the other components and the past rounds carry about the C components of a
    round, for a Gaussian vector autoregression of order L (exact there, an upper bound on the
    quantised levels' share by data processing). Fischer's and Hadamard's inequalities make it
    >= 0 for any sample.

    Parameters
    ----------
    scores : array_like, shape [n, C]
        Alice's normal scores (or any Gaussianised samples) of the quantised components.
    lags : int
        L >= 0 past rounds; reduced when n is too small for C (L + 1) dimensions.

    Returns
    -------
    float
        Bits to subtract from the sum of per-component entropies; ``inf`` when the correlation
        is singular (a component is a linear function of others) or n < C + 2.
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"scores must have shape [n, C], got {x.shape}")
    if int(lags) != lags or lags < 0:
        raise ValueError(f"lags must be an integer >= 0, got {lags!r}")
    n, c = x.shape
    if c == 0 or n == 0:
        return 0.0
    lags = int(lags)
    while lags > 0 and c * (lags + 1) >= n - lags - 1:
        lags -= 1
    if c >= n - 1:
        return math.inf
    if c == 1 and lags == 0:
        return 0.0
    stacked = np.concatenate([x[lags - k : n - k] for k in range(lags + 1)], axis=1)
    std = stacked.std(axis=0)
    if np.any(std <= 0):
        return math.inf  # a constant component: no entropy to count on it
    r = np.corrcoef(stacked, rowvar=False)
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0 or not np.isfinite(logdet):
        return math.inf
    past = 0.0
    if lags:
        sign_p, past = np.linalg.slogdet(r[c:, c:])
        if sign_p <= 0 or not np.isfinite(past):
            return math.inf
    rate = max(0.0, -0.5 * (logdet - past) / math.log(2))
    return float(n * rate)


def exchangeable_min_entropy_given(levels, classes) -> float:
    """sum_e log2(n_e! / prod_m c_{e,m}!): the arrangement of the levels [n] given a public
    label per round (``classes`` [n], any integers) and the level counts within each label."""
    s = np.asarray(levels, dtype=np.int64).reshape(-1)
    c = np.asarray(classes, dtype=np.int64).reshape(-1)
    if c.shape != s.shape:
        raise ValueError(f"classes must have one entry per level, got {c.shape} for {s.shape}")
    return float(sum(exchangeable_min_entropy_bits(s[c == e]) for e in np.unique(c)))


def component_entropy_bits(
    levels, bits, method: str = "exchangeable", dependence_bits: float = 0.0, classes=None
) -> float:
    """Entropy estimate of several components' level sequences (total bits).

    Parameters
    ----------
    levels : sequence of C array_like of int
        Level sequence of each component (values in [0, 2^bits[i])).
    bits : sequence of C int
        Bits per symbol of each component.
    method : {"exchangeable", "mcv", "ideal"}
        ``"mcv"`` pools the symbols of components with the same b (identically distributed by
        construction) into one MCV estimate per b; ``"ideal"`` counts every bit.
    dependence_bits : float
        Penalty for dependence between components and rounds (:func:`dependence_penalty_bits`,
        ``inf`` allowed), subtracted from the sum for ``"exchangeable"`` and ``"mcv"``; the
        result is floored at 0.
    classes : sequence of C array_like of int, or None
        A public label per sample of each component (e.g. the error pattern revealed by
        Cascade); ``"exchangeable"`` and ``"mcv"`` then estimate within each label
        (:func:`exchangeable_min_entropy_given`). ``"ideal"`` ignores it.
    """
    levels = [np.asarray(v, dtype=np.int64).reshape(-1) for v in levels]
    bits = [int(b) for b in bits]
    if len(levels) != len(bits):
        raise ValueError("levels and bits must have one entry per component")
    if classes is None:
        classes = [np.zeros(v.size, dtype=np.int64) for v in levels]
    classes = [np.asarray(c, dtype=np.int64).reshape(-1) for c in classes]
    if len(classes) != len(levels):
        raise ValueError("classes must have one entry per component")
    if not (dependence_bits >= 0):  # also rejects NaN
        raise ValueError(f"dependence_bits must be >= 0, got {dependence_bits!r}")
    if method == "exchangeable":
        total = sum(
            exchangeable_min_entropy_given(v, c) for v, c in zip(levels, classes, strict=True)
        )
        return float(max(0.0, total - dependence_bits))
    if method == "ideal":
        return float(sum(v.size * b for v, b in zip(levels, bits, strict=True)))
    if method != "mcv":
        raise ValueError(f"unknown entropy method {method!r}; use 'exchangeable', 'mcv' or 'ideal'")
    total = 0.0
    for b in sorted(set(bits)):
        same_b = [i for i, bb in enumerate(bits) if bb == b]
        pooled = np.concatenate([levels[i] for i in same_b])
        labels = np.concatenate([classes[i] for i in same_b])
        for e in np.unique(labels):
            group = pooled[labels == e]
            if group.size >= 2:
                total += group.size * mcv_min_entropy_per_symbol(group, 2**b)
    return float(max(0.0, total - dependence_bits))


def estimate_entropy_bits(bits, bits_per_symbol: int = 1, method: str = "mcv") -> float:
    """Entropy estimate H of a bit string (total bits).

    ``"mcv"``: L * H_min(MCV) per b-bit symbol; ``"ideal"``: the string length (every bit assumed
    uniform and independent, an upper bound).
    """
    x = np.asarray(bits).reshape(-1)
    if x.size == 0:
        raise ValueError("entropy of an empty bit string")
    if method == "ideal":
        return float(x.size)
    if method != "mcv":
        raise ValueError(f"unknown entropy method {method!r}; use 'mcv' or 'ideal'")
    if x.size % bits_per_symbol:
        raise ValueError(f"bit string length {x.size} is not a multiple of {bits_per_symbol}")
    symbols = bits_to_symbols(x, bits_per_symbol)
    if symbols.size < 2:
        return 0.0
    return float(symbols.size * mcv_min_entropy_per_symbol(symbols, 2**bits_per_symbol))
