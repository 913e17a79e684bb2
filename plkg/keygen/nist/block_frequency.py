"""Frequency test within a block, SP 800-22 Rev. 1a section 2.2."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincc

from plkg.keygen.nist.base import NistResult, as_bits, eligibility

MIN_BITS = 100
DEFAULT_BLOCK_SIZE = 128


def default_block_size(n: int) -> int:
    """M for n bits: 128 (the reference code's default) for 1280 <= n < 12800, floor(0.01 n) + 1
    above (so that M > 0.01 n and N < 100, section 2.2.7, and long keys stay eligible), and
    max(20, n // 10) capped at n below."""
    if n >= 100 * DEFAULT_BLOCK_SIZE:
        return n // 100 + 1
    return DEFAULT_BLOCK_SIZE if n >= 10 * DEFAULT_BLOCK_SIZE else min(n, max(20, n // 10))


def block_frequency_test(
    bits, block_size: int | None = None, *, strict: bool = False
) -> NistResult:
    """Block frequency test, SP 800-22 section 2.2.

    The sequence is cut into N = floor(n/M) non-overlapping blocks of M bits (the rest is
    discarded); pi_i is the proportion of ones in block i, chi2 = 4 M sum (pi_i - 1/2)^2 and
    P = igamc(N/2, chi2/2) (section 2.2.4).

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
    block_size : int or None
        M; ``None`` uses :func:`default_block_size`. Recommended (section 2.2.7): n >= 100, M >= 20, M > 0.01 n and N < 100.
    strict : bool
        Raise instead of flagging an input that breaks those recommendations.
    """
    eps = as_bits(bits)
    n = eps.size
    if block_size is None:
        block_size = default_block_size(n)
    m = int(block_size)
    if m != block_size or m < 1:
        raise ValueError(
            f"block_frequency: block size M must be a positive integer, got {block_size!r}"
        )
    n_blocks = n // m
    if n_blocks < 1:
        raise ValueError(f"block_frequency: block size M = {m} exceeds the sequence length n = {n}")
    pi = eps[: n_blocks * m].reshape(n_blocks, m).mean(axis=1, dtype=np.float64)
    chi2 = float(4.0 * m * np.sum((pi - 0.5) ** 2))
    p = float(gammaincc(n_blocks / 2.0, chi2 / 2.0))
    problems = []
    if n < MIN_BITS:
        problems.append(f"n = {n} < {MIN_BITS} recommended")
    if m < 20:
        problems.append(f"M = {m} < 20 recommended")
    if m <= 0.01 * n:
        problems.append(f"M = {m} <= 0.01 n")
    if n_blocks >= 100:
        problems.append(f"N = {n_blocks} blocks >= 100")
    ok, note = eligibility(problems, strict, "block_frequency")
    stats = {"block_size": m, "n_blocks": n_blocks, "chi2": chi2}
    return NistResult("block_frequency", (p,), ("block_frequency",), n, stats, ok, note)
