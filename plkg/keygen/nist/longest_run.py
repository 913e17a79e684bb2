"""Test for the longest run of ones in a block, SP 800-22 Rev. 1a section 2.4."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import gammaincc

from plkg.keygen.nist.base import NistResult, as_bits, eligibility

MIN_BITS = 128

#: (minimum n, block length M, lowest class v_low, number of classes K+1) of section 2.4.2.
PARAMETER_TABLE = ((750_000, 10_000, 10, 7), (6_272, 128, 4, 6), (128, 8, 1, 4))

#: Class probabilities pi_i printed in SP 800-22 section 3.4 (4 decimals).
PRINTED_PROBABILITIES = {
    8: (0.2148, 0.3672, 0.2305, 0.1875),
    128: (0.1174, 0.2430, 0.2493, 0.1752, 0.1027, 0.1124),
    10_000: (0.0882, 0.2092, 0.2483, 0.1933, 0.1208, 0.0675, 0.0727),
}


@lru_cache(maxsize=32)
def _prob_longest_at_most(m: int, r: int) -> float:
    """P(longest run of ones in m fair bits <= r), by dynamic programming over run length."""
    state = np.zeros(r + 1)
    state[0] = 1.0
    for _ in range(m):
        new = np.zeros(r + 1)
        new[0] = 0.5 * state.sum()  # a zero resets the run
        new[1:] = 0.5 * state[:-1]  # a one extends it (runs longer than r are dropped)
        state = new
    return float(state.sum())


def class_probabilities(m: int, v_low: int, n_classes: int) -> np.ndarray:
    """Exact pi_i = P(longest run in class i) for classes <= v_low, v_low+1, ..., >= v_low+K.

    Computed by dynamic programming (an independent derivation of the table of section 3.4).

    Returns
    -------
    ndarray, shape [n_classes], float64, summing to 1
    """
    cdf = [_prob_longest_at_most(m, v_low + i) for i in range(n_classes - 1)]
    probs = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    return probs


def longest_run_test(bits, *, probabilities: str = "reference", strict: bool = False) -> NistResult:
    """Longest run of ones in a block, SP 800-22 section 2.4.

    M is chosen from n as in section 2.4.2 (8 for n >= 128, 128 for n >= 6272, 10^4 for
    n >= 750,000); the N = floor(n/M) blocks are classified by their longest run of ones,
    chi2 = sum (nu_i - N pi_i)^2 / (N pi_i) and P = igamc(K/2, chi2/2) (section 2.4.4).

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
        n >= 128 is required (shorter input raises ``ValueError``: no M is defined).
    probabilities : {"reference", "exact", "printed"}
        Class probabilities pi_i: ``exact`` (dynamic programming), ``printed`` (the 4-decimal
        values of section 3.4) or ``reference`` (what the NIST STS reference code uses and what
        reproduces the printed results: exact for M = 8 and 128, printed for M = 10^4).
    """
    eps = as_bits(bits)
    n = eps.size
    if n < MIN_BITS:
        raise ValueError(f"longest_run: needs n >= {MIN_BITS} bits (section 2.4.2), got {n}")
    _, m, v_low, n_classes = next(row for row in PARAMETER_TABLE if n >= row[0])
    if probabilities == "exact" or (probabilities == "reference" and m != 10_000):
        pi = class_probabilities(m, v_low, n_classes)
    elif probabilities in ("printed", "reference"):
        pi = np.asarray(PRINTED_PROBABILITIES[m])
    else:
        raise ValueError(
            f"longest_run: probabilities must be 'reference', 'exact' or 'printed', got {probabilities!r}"
        )
    n_blocks = n // m
    blocks = eps[: n_blocks * m].reshape(n_blocks, m).astype(np.int32)
    # longest run of ones per block: running count that resets at zeros
    run = np.zeros(n_blocks, dtype=np.int32)
    longest = np.zeros(n_blocks, dtype=np.int32)
    for j in range(m):
        run = (run + 1) * blocks[:, j]
        np.maximum(longest, run, out=longest)
    cls = np.clip(longest, v_low, v_low + n_classes - 1) - v_low
    nu = np.bincount(cls, minlength=n_classes)
    expected = n_blocks * pi
    chi2 = float(np.sum((nu - expected) ** 2 / expected))
    k = n_classes - 1
    p = float(gammaincc(k / 2.0, chi2 / 2.0))
    ok, note = eligibility([], strict, "longest_run")
    stats = {"block_size": m, "n_blocks": n_blocks, "nu": nu, "chi2": chi2, "pi": pi}
    return NistResult("longest_run", (p,), ("longest_run",), n, stats, ok, note)
