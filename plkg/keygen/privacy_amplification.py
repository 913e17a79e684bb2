"""Privacy amplification by Toeplitz hashing over GF(2), and the security parameters of a key.

Key length of one block, of the form ell <= H - leak_EC - log2(2 / (eps_sec^2 eps_cor)) of
Tomamichel, Lim, Gisin, Renner, "Tight finite-key analysis for quantum cryptography", Nat.
Commun. 3, 634 (2012), here with an unsmoothed min-entropy and classical side information::

    ell = max(0, floor(min(n, H) - leak - 2 log2(1/eps_sec)))

* H: min-entropy of Alice's reconciled string given Eve's channel observations
  (:mod:`plkg.keygen.entropy`; Eve's channels are independent of the legitimate ones, so it is the
  string's own min-entropy), n its length.
* leak: every public message of the block that depends on the measurements, in bits: syndrome /
  parity bits, plane and verification hash bits (``ceil(log2(v/eps_cor))`` for at most v
  verifications per block, :func:`verification_hash_bits`), Bob's accept/reject reply per
  decoding attempt and per verification, and the announced length
  (:func:`length_announcement_bits`). A classical
  message that takes at most 2^k values lowers the (average) min-entropy by at most k bits
  (Dodis, Ostrovsky, Reyzin, Smith, "Fuzzy extractors", SIAM J. Comput. 38 (2008), Lemma 2.2b).
* 2 log2(1/eps_sec): the leftover-hash-lemma penalty (:func:`pa_margin_bits`). For a 2-universal
  family (Toeplitz matrices with a uniform public seed) the output is within statistical distance
  1/2 sqrt(2^(ell - H_min(X | E'))) of a uniform key independent of E' and the seed
  (Impagliazzo, Levin, Luby, STOC 1989; with side information: DORS 2008, Lemma 2.4; Renner,
  PhD thesis, ETH Zurich 2005, arXiv:quant-ph/0512258, Ch. 5; Tomamichel, Schaffner, Smith,
  Renner, IEEE Trans. Inf. Theory 57(8), 5524 (2011)). With H_min(X | E') >= H - leak and
  the margin above, the distance is at most eps_sec / 2 <= eps_sec.

A block whose verification hash matches is eps_cor-correct (the two keys differ with probability
<= eps_cor: a Toeplitz hash of h bits lets two different strings collide with probability 2^-h
per fresh seed, summed over the verifications of a block) and eps_sec-secret, so the pair of
keys is (eps_sec + eps_cor)-secure in the composable sense (Portmann, Renner, Rev. Mod. Phys. 94,
025008 (2022)). Several blocks concatenated into one key file: the sum over the blocks.
``security_margin_bits`` may replace 2 log2(1/eps_sec) explicitly (the implied
eps_sec = 2^(-margin / 2) is then reported). ell never exceeds H - leak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from plkg.errors import PlkgInputError

#: Default secrecy parameter eps_sec of a key block (distance from a uniform key independent of Eve).
DEFAULT_EPS_SEC = 1e-10
#: Default correctness parameter eps_cor of a key block (probability that the two keys differ).
DEFAULT_EPS_COR = 1e-10
_DIRECT_LIMIT = 4_000_000  # n * m above which the convolution is done by FFT


def check_epsilon(value, name: str) -> float:
    """``value`` as a float in the open interval (0, 1); otherwise a
    :class:`~plkg.errors.PlkgInputError` (a ValueError) naming ``name`` (a parameter, or a CLI
    option such as ``--eps-sec`` / ``--training-fraction``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise PlkgInputError(f"{name} must be a number in (0, 1), got {value!r}") from None
    if isinstance(value, bool) or not (math.isfinite(v) and 0.0 < v < 1.0):
        raise PlkgInputError(f"{name} must be a number in (0, 1), got {value!r}")
    return v


def pa_margin_bits(eps_sec: float) -> float:
    """Leftover-hash-lemma margin 2 log2(1/eps_sec) in bits (> 0, increasing as eps_sec falls).

    Parameters
    ----------
    eps_sec : float
        Secrecy parameter in (0, 1).
    """
    return -2.0 * math.log2(check_epsilon(eps_sec, "eps_sec"))


def implied_eps_sec(margin_bits: float) -> float:
    """eps_sec = 2^(-margin / 2) of an explicit margin (1 for a margin of 0: no secrecy claim)."""
    return float(2.0 ** (-float(margin_bits) / 2.0))


def verification_hash_bits(eps_cor: float, verifications: int = 1) -> int:
    """Bits h of each verification hash: ceil(log2(verifications / eps_cor)) (>= 1).

    A false acceptance needs a collision of a 2-universal hash with a fresh seed in one of at
    most ``verifications`` comparisons, so the block is eps_cor-correct (union bound).

    Parameters
    ----------
    eps_cor : float
        Correctness parameter in (0, 1); 1e-10 gives 34 bits with one verification.
    verifications : int
        Most hash comparisons of one block (Cascade: 1 + extra passes; LDPC: 1).
    """
    eps = check_epsilon(eps_cor, "eps_cor")
    if int(verifications) != verifications or verifications < 1:
        raise ValueError(f"verifications must be an integer >= 1, got {verifications!r}")
    # -log2(eps) rather than log2(1/eps): 1/eps overflows for subnormal eps
    return max(1, math.ceil(math.log2(int(verifications)) - math.log2(eps)))


def length_announcement_bits(n_bits: int) -> int:
    """ceil(log2(n + 1)): the announced final length ell in {0, ..., n} (data dependent)."""
    if int(n_bits) != n_bits or n_bits < 0:
        raise ValueError(f"n_bits must be an integer >= 0, got {n_bits!r}")
    return math.ceil(math.log2(int(n_bits) + 1))


#: Default privacy-amplification margin, 2 log2(1/eps_sec) at the default eps_sec (66.4 bits).
DEFAULT_SECURITY_MARGIN_BITS = pa_margin_bits(DEFAULT_EPS_SEC)


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
    """ell = max(0, floor(min(n, H) - disclosed - margin)); ``disclosed`` is the whole leak."""
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
        Leak: every bit of public messages that depend on the measurements (reconciliation,
        replies, length announcement; see the module docstring).
    rng : numpy.random.Generator
        Draws the public seed (unless ``seed_bits`` is given, e.g. to hash the other end's key).
    security_margin_bits : float
        Extra bits removed, >= 0: 2 log2(1/eps_sec) (:func:`pa_margin_bits`).
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
