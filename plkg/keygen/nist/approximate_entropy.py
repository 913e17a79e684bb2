"""Approximate entropy test, SP 800-22 Rev. 1a section 2.12."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaincc

from plkg.keygen.nist.base import NistResult, as_bits, eligibility, overlapping_pattern_counts

# 2^(m+1) counters must fit in memory; m = 20 already needs n > 2^26 bits to be eligible.
MAX_BLOCK_LENGTH = 20


#: Default cap on m: the NIST STS reference code's default block length.
DEFAULT_MAX_BLOCK_LENGTH = 10


def default_block_length(n: int) -> int:
    """m = min(10, floor(log2 n) - 6): meets m < floor(log2 n) - 5 (section 2.12.7), at least 1.

    The cap 10 is the STS reference code's default. Without it long sequences got m up to 14
    (n = 1.1 Mbit), where only n / 2^(m+1) ~ 33 counts fall on each (m+1)-bit pattern and the
    chi-square(2^m) reference of chi2 = 2 n (ln 2 - ApEn) no longer holds: the plug-in
    entropies' second-order bias shifts chi2 by 0.5-0.8 standard deviations at m = 14, so truly
    random 1.1-Mbit sequences failed at alpha = 0.01 about 4.7 % of the time (mean P 0.31
    instead of 0.5; ``tests/keygen/nist/test_apen_calibration.py``). With m <= 10 the shift is
    negligible for n >= 10^5.
    """
    return max(1, min(DEFAULT_MAX_BLOCK_LENGTH, int(math.floor(math.log2(n))) - 6))


def _phi(eps: np.ndarray, m: int) -> float:
    counts = overlapping_pattern_counts(eps, m)
    c = counts[counts > 0] / eps.size
    return float(np.sum(c * np.log(c)))


def approximate_entropy_test(
    bits, block_length: int | None = None, *, strict: bool = False
) -> NistResult:
    """Approximate entropy test, SP 800-22 section 2.12.

    phi^(m) = sum_i C_i^m ln C_i^m over the overlapping m-bit patterns of the cyclically extended
    sequence, ApEn(m) = phi^(m) - phi^(m+1), chi2 = 2 n (ln 2 - ApEn(m)) and
    P = igamc(2^(m-1), chi2/2) (section 2.12.4).

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
    block_length : int or None
        m; ``None`` uses :func:`default_block_length` (m < floor(log2 n) - 5, section 2.12.7,
        capped at 10).
    """
    eps = as_bits(bits)
    n = eps.size
    m = default_block_length(n) if block_length is None else int(block_length)
    top = min(n - 1, MAX_BLOCK_LENGTH)
    if (block_length is not None and m != block_length) or m < 1 or m > top:
        raise ValueError(
            f"approximate_entropy: block length m must be an integer in [1, {top}] (at most "
            f"n - 1 = {n - 1} and {MAX_BLOCK_LENGTH}: 2^(m+1) pattern counts), got {block_length!r}"
        )
    apen = _phi(eps, m) - _phi(eps, m + 1)
    chi2 = 2.0 * n * (math.log(2.0) - apen)
    p = float(gammaincc(2.0 ** (m - 1), chi2 / 2.0))
    problems = []
    if m >= math.floor(math.log2(n)) - 5:
        problems.append(f"m = {m} >= floor(log2 n) - 5 = {math.floor(math.log2(n)) - 5}")
    ok, note = eligibility(problems, strict, "approximate_entropy")
    stats = {"block_length": m, "apen": apen, "chi2": chi2}
    return NistResult("approximate_entropy", (p,), ("approximate_entropy",), n, stats, ok, note)
