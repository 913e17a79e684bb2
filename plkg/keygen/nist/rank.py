"""Binary matrix rank test, SP 800-22 Rev. 1a section 2.5."""

from __future__ import annotations

import math

import numpy as np

from plkg.keygen.nist.base import NistResult, as_bits, eligibility

MIN_MATRICES = 38


def gf2_rank(matrix: np.ndarray) -> int:
    """Rank over GF(2) of a 0/1 matrix [M, Q] (Gaussian elimination on row bit masks)."""
    matrix = np.asarray(matrix, dtype=np.int64)
    n_cols = matrix.shape[1]
    if n_cols <= 62:
        rows = (matrix @ (np.int64(1) << np.arange(n_cols - 1, -1, -1, dtype=np.int64))).tolist()
    else:
        rows = [int("".join(map(str, r)), 2) for r in matrix]
    rank = 0
    for col in range(n_cols - 1, -1, -1):
        bit = 1 << col
        pivot = next((i for i in range(rank, len(rows)) if rows[i] & bit), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for i in range(len(rows)):
            if i != rank and rows[i] & bit:
                rows[i] ^= rows[rank]
        rank += 1
    return rank


def rank_probability(r: int, m: int, q: int) -> float:
    """P(rank = r) of a uniformly random M x Q binary matrix (section 3.5).

    p_r = 2^{r(Q+M-r) - MQ} prod_{i=0}^{r-1} (1 - 2^{i-Q})(1 - 2^{i-M}) / (1 - 2^{i-r}).
    """
    log2p = r * (q + m - r) - m * q
    prod = 1.0
    for i in range(r):
        prod *= (1 - 2.0 ** (i - q)) * (1 - 2.0 ** (i - m)) / (1 - 2.0 ** (i - r))
    return prod * 2.0**log2p


def rank_test(
    bits, rows: int = 32, cols: int = 32, *, probabilities=None, strict: bool = False
) -> NistResult:
    """Binary matrix rank test, SP 800-22 section 2.5.

    The sequence fills N = floor(n / (MQ)) matrices row by row; F_M, F_{M-1} count full-rank and
    rank-deficient-by-one matrices, chi2 = sum (F - N p)^2 / (N p) over the three classes and
    P = exp(-chi2/2) (section 2.5.4).

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
        Recommended n >= 38 M Q (at least 38 matrices, section 2.5.7).
    rows, cols : int
        M and Q (32 x 32 in the standard).
    probabilities : tuple of 3 floats or None
        (p_M, p_{M-1}, p_rest). ``None`` computes them exactly for M x Q (section 3.5); the worked
        example of section 2.5.4 uses the 32 x 32 values (0.2888, 0.5776, 0.1336) for 3 x 3
        matrices.
    """
    eps = as_bits(bits)
    n = eps.size
    m, q = int(rows), int(cols)
    if m < 2 or q < 2:
        raise ValueError(f"rank: matrix size must be at least 2 x 2, got {rows} x {cols}")
    n_mat = n // (m * q)
    if n_mat < 1:
        raise ValueError(f"rank: n = {n} bits cannot fill one {m} x {q} matrix")
    if probabilities is None:
        full = min(m, q)
        p_full = rank_probability(full, m, q)
        p_minus = rank_probability(full - 1, m, q)
        probs = np.array([p_full, p_minus, 1.0 - p_full - p_minus])
    else:
        probs = np.asarray(probabilities, dtype=np.float64)
        if probs.shape != (3,) or np.any(probs <= 0):
            raise ValueError("rank: probabilities must be three positive numbers")
    mats = eps[: n_mat * m * q].reshape(n_mat, m, q)
    ranks = np.array([gf2_rank(mat) for mat in mats])
    full = min(m, q)
    f = np.array([np.sum(ranks == full), np.sum(ranks == full - 1), 0])
    f[2] = n_mat - f[0] - f[1]
    chi2 = float(np.sum((f - n_mat * probs) ** 2 / (n_mat * probs)))
    p = math.exp(-chi2 / 2.0)
    problems = []
    if n_mat < MIN_MATRICES:
        problems.append(
            f"N = {n_mat} matrices < {MIN_MATRICES} recommended (n >= {MIN_MATRICES * m * q})"
        )
    ok, note = eligibility(problems, strict, "rank")
    stats = {"n_matrices": n_mat, "f_full": int(f[0]), "f_minus1": int(f[1]), "chi2": chi2}
    return NistResult("rank", (p,), ("rank",), n, stats, ok, note)
