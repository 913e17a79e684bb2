"""Privacy amplification by Toeplitz hashing over GF(2) (a 2-universal family).

The final key length is ell = floor(H - disclosed - margin), where H is the entropy estimate of
the reconciled string (see :mod:`plkg.keygen.entropy`), ``disclosed`` the bits revealed during
reconciliation and ``margin`` the security margin (default 2 log2(1/epsilon) with
epsilon = 2^-20, the leftover-hash-lemma penalty). ell never exceeds H - disclosed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_SECURITY_MARGIN_BITS = 40  # 2 log2(1/epsilon) for epsilon = 2^-20
_DIRECT_LIMIT = 4_000_000  # n * m above which the convolution is done by FFT


def toeplitz_hash(bits, out_len: int, seed_bits) -> np.ndarray:
    """y = T x over GF(2) for the out_len x n Toeplitz matrix T[i, j] = s[i - j + n - 1].

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
    out_len : int
        m >= 0.
    seed_bits : array_like, shape [n + m - 1], 0/1
        The public random seed defining T (first column and row).

    Returns
    -------
    ndarray, shape [m], int8
    """
    x = np.asarray(bits, dtype=np.int64).reshape(-1)
    s = np.asarray(seed_bits, dtype=np.int64).reshape(-1)
    n, m = x.size, int(out_len)
    if m < 0:
        raise ValueError(f"output length must be >= 0, got {out_len}")
    if m == 0:
        return np.zeros(0, dtype=np.int8)
    if s.size != n + m - 1:
        raise ValueError(f"Toeplitz seed must have n + m - 1 = {n + m - 1} bits, got {s.size}")
    # y_i = sum_j s[i + n - 1 - j] x_j = (s conv x)[i + n - 1], i.e. the m "valid" outputs
    if n * m <= _DIRECT_LIMIT:
        conv = np.convolve(s, x, mode="valid")
    else:  # FFT: the integer sums are < n <= 2^40, so float64 round-off is far below 1/2
        from scipy.signal import fftconvolve

        conv = np.rint(
            fftconvolve(s.astype(np.float64), x.astype(np.float64), mode="valid")
        ).astype(np.int64)
    return (conv & 1).astype(np.int8)


def final_key_length(
    entropy_bits: float, disclosed_bits: float, security_margin_bits: float, n_bits: int
) -> int:
    """ell = max(0, floor(min(n, H) - disclosed - margin))."""
    for name, v in (
        ("entropy_bits", entropy_bits),
        ("disclosed_bits", disclosed_bits),
        ("security_margin_bits", security_margin_bits),
    ):
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {v}")
    return max(
        0, int(math.floor(min(float(n_bits), entropy_bits) - disclosed_bits - security_margin_bits))
    )


@dataclass(frozen=True)
class PrivacyAmplificationResult:
    """Final key of one end.

    Attributes
    ----------
    key : ndarray, shape [ell], int8
    final_length : int
        ell.
    entropy_bits, disclosed_bits, security_margin_bits : float
        The terms of ell = floor(H - disclosed - margin).
    seed : ndarray, shape [n + ell - 1], int8
        Public Toeplitz seed (both ends use the same one).
    """

    key: np.ndarray
    final_length: int
    entropy_bits: float
    disclosed_bits: float
    security_margin_bits: float
    seed: np.ndarray


def privacy_amplify(
    bits,
    entropy_bits: float,
    disclosed_bits: float,
    rng: np.random.Generator | None = None,
    security_margin_bits: float = DEFAULT_SECURITY_MARGIN_BITS,
    seed_bits=None,
) -> PrivacyAmplificationResult:
    """Compress reconciled bits to ell = floor(H - disclosed - margin) bits by Toeplitz hashing.

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
    entropy_bits : float
        H, entropy estimate of ``bits`` before disclosure (capped at n).
    disclosed_bits : float
        Bits revealed on the public channel during reconciliation.
    rng : numpy.random.Generator
        Draws the public seed (unless ``seed_bits`` is given, e.g. to hash the other end's key).
    security_margin_bits : float
        Extra bits removed, >= 0.
    seed_bits : array_like or None
        Reuse a seed of the right length n + ell - 1.
    """
    x = np.asarray(bits)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(
            f"privacy_amplify: expected a non-empty 1-D bit string, got shape {x.shape}"
        )
    if not np.isin(x, (0, 1)).all():
        raise ValueError("privacy_amplify: input must be binary (0/1)")
    ell = final_key_length(entropy_bits, disclosed_bits, security_margin_bits, x.size)
    if seed_bits is None:
        if rng is None:
            raise ValueError("privacy_amplify: pass rng or seed_bits")
        seed = rng.integers(0, 2, size=x.size + ell - 1 if ell else 0, dtype=np.int8)
    else:
        seed = np.asarray(seed_bits, dtype=np.int8)
    key = toeplitz_hash(x, ell, seed) if ell else np.zeros(0, dtype=np.int8)
    return PrivacyAmplificationResult(
        key, ell, float(entropy_bits), float(disclosed_bits), float(security_margin_bits), seed
    )
