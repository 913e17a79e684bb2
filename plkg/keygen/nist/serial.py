"""Serial test, SP 800-22 Rev. 1a section 2.11."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaincc

from plkg.keygen.nist.base import NistResult, as_bits, eligibility, overlapping_pattern_counts

# 2^m counters must fit in memory; m = 20 already needs n > 2^23 bits to be eligible.
MAX_BLOCK_LENGTH = 20


def default_block_length(n: int) -> int:
    """Largest m meeting m < floor(log2 n) - 2 (section 2.11.7), at least 2."""
    return max(2, int(math.floor(math.log2(n))) - 3)


def psi_squared(eps: np.ndarray, m: int) -> float:
    """psi^2_m = (2^m / n) sum_i nu_i^2 - n over overlapping m-bit patterns; 0 for m <= 0."""
    if m <= 0:
        return 0.0
    counts = overlapping_pattern_counts(eps, m).astype(np.float64)
    return float((2.0**m / eps.size) * np.sum(counts**2) - eps.size)


def serial_test(bits, block_length: int | None = None, *, strict: bool = False) -> NistResult:
    """Serial test, SP 800-22 section 2.11.

    del psi^2_m = psi^2_m - psi^2_{m-1}, del^2 psi^2_m = psi^2_m - 2 psi^2_{m-1} + psi^2_{m-2};
    P1 = igamc(2^(m-2), del psi^2_m / 2), P2 = igamc(2^(m-3), del^2 psi^2_m / 2) (section 2.11.4).

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
    block_length : int or None
        m >= 2; ``None`` picks the largest m with m < floor(log2 n) - 2 (section 2.11.7).

    Returns
    -------
    NistResult with P-values labelled ``p1`` and ``p2``.
    """
    eps = as_bits(bits)
    n = eps.size
    m = default_block_length(n) if block_length is None else int(block_length)
    if (block_length is not None and m != block_length) or m < 2 or m > min(n, MAX_BLOCK_LENGTH):
        raise ValueError(
            f"serial: block length m must be an integer in [2, {min(n, MAX_BLOCK_LENGTH)}] "
            f"(at most n = {n} and {MAX_BLOCK_LENGTH}: 2^m pattern counts), got {block_length!r}"
        )
    psi = [psi_squared(eps, m - j) for j in range(3)]
    d1 = psi[0] - psi[1]
    d2 = psi[0] - 2.0 * psi[1] + psi[2]
    p1 = float(gammaincc(2.0 ** (m - 2), d1 / 2.0))
    p2 = float(gammaincc(2.0 ** (m - 3), d2 / 2.0))
    problems = []
    if m >= math.floor(math.log2(n)) - 2:
        problems.append(f"m = {m} >= floor(log2 n) - 2 = {math.floor(math.log2(n)) - 2}")
    ok, note = eligibility(problems, strict, "serial")
    stats = {
        "block_length": m,
        "psi2_m": psi[0],
        "psi2_m1": psi[1],
        "psi2_m2": psi[2],
        "del1": d1,
        "del2": d2,
    }
    return NistResult("serial", (p1, p2), ("p1", "p2"), n, stats, ok, note)
