"""Entropy estimate of quantised bits for privacy amplification.

The most-common-value (MCV) min-entropy estimator of NIST SP 800-90B section 6.3.1, applied to
the b-bit quantiser symbols: p_u = min(1, p_hat + 2.576 sqrt(p_hat (1 - p_hat) / (L - 1))),
H_min = -log2 p_u per symbol. Eve is assumed to see channels independent of the legitimate
ones (beyond half a wavelength), so the entropy of Alice's bits given Eve is their own entropy.
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
