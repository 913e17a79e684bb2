"""Quantisers that turn channel measurements into bits, and the bit disagreement ratio (BDR).

Each end quantises its own measurements with thresholds computed from its own samples only
(no information is exchanged, except the public list of samples dropped by a guard band).

* :func:`equiprobable_quantize`: per-dimension equiprobable 2^b-level quantiser on the empirical
  CDF of each dimension, levels Gray-coded into b bits, optional guard band around each
  threshold (in CDF units).
* :func:`mean_threshold_quantize`: 1-bit quantiser with threshold at the per-dimension mean and an
  optional guard band mean +- alpha * std (Mathur et al. style).

Complex measurements are split into real and imaginary parts (independent for circularly
symmetric Gaussian probing, Eqs. (6)-(11) of the near-field paper, Eqs. (2)-(6) of the RIS paper)
by :func:`real_features`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QuantizedBits:
    """Output of a quantiser at one end.

    Attributes
    ----------
    bits : ndarray, shape [n_rounds, D, b], int8
        Bits of every sample (also of dropped ones, which must be removed with ``keep``).
    keep : ndarray, shape [n_rounds, D], bool
        ``False`` for samples inside this end's guard band.
    bits_per_sample : int
        b.
    """

    bits: np.ndarray
    keep: np.ndarray
    bits_per_sample: int

    def kept_bits(self, keep: np.ndarray | None = None) -> np.ndarray:
        """Bits of the samples in ``keep`` (default: this end's own mask), flattened round-major.

        Returns
        -------
        ndarray, shape [n_kept * b], int8
        """
        mask = self.keep if keep is None else keep
        return self.bits[mask].reshape(-1)


def real_features(z) -> np.ndarray:
    """Measurements [n_rounds, ...] -> real features [n_rounds, D].

    Complex input gives D = 2 * prod(...) (real parts, then imaginary parts); real input is
    flattened per round.

    Raises
    ------
    ValueError
        Fewer than 2 rounds, an empty feature dimension, or non-finite values.
    """
    z = np.asarray(z)
    if z.ndim < 1 or z.shape[0] < 2:
        raise ValueError(f"measurements need shape [n_rounds >= 2, ...], got {z.shape}")
    flat = z.reshape(z.shape[0], -1)
    if flat.shape[1] == 0:
        raise ValueError("measurements have no feature dimension")
    if not np.all(np.isfinite(flat)):
        raise ValueError("measurements contain NaN or infinite values")
    if np.iscomplexobj(flat):
        return np.concatenate([flat.real, flat.imag], axis=1).astype(np.float64)
    return flat.astype(np.float64)


def gray_code(levels: np.ndarray, n_bits: int) -> np.ndarray:
    """Reflected binary Gray code of integer levels.

    Parameters
    ----------
    levels : ndarray of int, shape [...], values in [0, 2^n_bits)
    n_bits : int

    Returns
    -------
    ndarray, shape [..., n_bits], int8, most significant bit first. Adjacent levels differ in
    exactly one bit.
    """
    levels = np.asarray(levels, dtype=np.int64)
    g = levels ^ (levels >> 1)
    shifts = np.arange(n_bits - 1, -1, -1)
    return ((g[..., None] >> shifts) & 1).astype(np.int8)


def _check_bits_per_sample(b: int) -> int:
    if int(b) != b or not 1 <= b <= 8:
        raise ValueError(f"bits_per_sample must be an integer in 1..8, got {b!r}")
    return int(b)


def empirical_cdf(x: np.ndarray) -> np.ndarray:
    """Mid-rank empirical CDF u = (rank + 1/2) / n of each column of x [n, D], values in (0, 1)."""
    n = x.shape[0]
    ranks = np.argsort(np.argsort(x, axis=0, kind="stable"), axis=0, kind="stable")
    return (ranks + 0.5) / n


def equiprobable_quantize(
    x, bits_per_sample: int = 1, guard_fraction: float = 0.0
) -> QuantizedBits:
    """Per-dimension equiprobable quantiser with Gray coding.

    Each column of x is mapped through its empirical CDF u in (0, 1); the level is
    floor(u 2^b) (so the 2^b - 1 thresholds are the empirical quantiles j / 2^b), Gray-coded into
    b bits. A sample is dropped when u lies within ``guard_fraction / 2`` of an inner threshold
    (CDF units), i.e. a fraction ``guard_fraction`` of the probability mass around each threshold.

    Parameters
    ----------
    x : array_like, shape [n_rounds, D], float
        Real features of one end (see :func:`real_features`); n_rounds >= 2^b.
    bits_per_sample : int
        b in 1..8.
    guard_fraction : float
        In [0, 1 / 2^b); 0 disables the guard band.
    """
    b = _check_bits_per_sample(bits_per_sample)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"equiprobable_quantize: expected x of shape [n_rounds, D], got {x.shape}")
    if x.shape[0] < 2**b:
        raise ValueError(f"equiprobable_quantize: {x.shape[0]} rounds cannot fill {2**b} levels")
    if not np.all(np.isfinite(x)):
        raise ValueError("equiprobable_quantize: x contains NaN or infinite values")
    levels_n = 2**b
    if not 0.0 <= guard_fraction < 1.0 / levels_n:
        raise ValueError(
            f"guard_fraction must lie in [0, 1/2^b) = [0, {1 / levels_n}), got {guard_fraction}"
        )
    u = empirical_cdf(x)
    scaled = u * levels_n
    levels = np.minimum(np.floor(scaled).astype(np.int64), levels_n - 1)
    keep = np.ones(x.shape, dtype=bool)
    if guard_fraction > 0:
        nearest = np.clip(np.rint(scaled), 1, levels_n - 1)  # inner thresholds only
        keep = np.abs(u - nearest / levels_n) >= guard_fraction / 2.0
    return QuantizedBits(gray_code(levels, b), keep, b)


def equiprobable_levels(x, bits_per_column, guard_fraction: float = 0.0):
    """Equiprobable quantiser with a resolution per column (levels, not yet Gray-coded).

    Column i is mapped through its empirical CDF u to the level floor(u 2^b_i) (b_i = 0: the
    column is not quantised, all its samples are dropped). With a guard band a sample is dropped
    when u lies within ``guard_fraction / 2`` of an inner threshold j / 2^b_i.

    Parameters
    ----------
    x : array_like, shape [n_rounds, D], float
    bits_per_column : array_like of int, shape [D], values in 0..16
    guard_fraction : float
        In [0, 2^-max(b)); 0 disables the guard band.

    Returns
    -------
    (levels, keep) : ndarray [n_rounds, D] int64, ndarray [n_rounds, D] bool
    """
    x = np.asarray(x, dtype=np.float64)
    b = np.asarray(bits_per_column, dtype=np.int64).reshape(-1)
    if x.ndim != 2 or x.shape[1] != b.size:
        raise ValueError(f"expected x [n_rounds, {b.size}], got {x.shape}")
    if b.size and (b.min() < 0 or b.max() > 16):
        raise ValueError("bits per column must lie in 0..16")
    if not np.all(np.isfinite(x)):
        raise ValueError("equiprobable_levels: x contains NaN or infinite values")
    top = 2 ** int(b.max()) if b.size else 1
    if not 0.0 <= guard_fraction < 1.0 / top:
        raise ValueError(f"guard_fraction must lie in [0, {1.0 / top}), got {guard_fraction}")
    u = empirical_cdf(x)
    n_levels = (1 << b)[None, :]
    scaled = u * n_levels
    levels = np.minimum(np.floor(scaled).astype(np.int64), n_levels - 1)
    keep = np.broadcast_to(b > 0, x.shape).copy()
    if guard_fraction > 0:
        nearest = np.clip(np.rint(scaled), 1, np.maximum(n_levels - 1, 1))
        keep &= (np.abs(u - nearest / n_levels) >= guard_fraction / 2.0) | (n_levels == 1)
    return levels, keep


def mean_threshold_quantize(x, guard_alpha: float = 0.0) -> QuantizedBits:
    """1-bit quantiser: bit = 1 above the column mean; drop samples within mean +- alpha * std.

    Parameters
    ----------
    x : array_like, shape [n_rounds, D], float
    guard_alpha : float
        alpha >= 0 (in standard deviations of the column); 0 disables the guard band.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(
            f"mean_threshold_quantize: expected x of shape [n_rounds >= 2, D], got {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("mean_threshold_quantize: x contains NaN or infinite values")
    if not (np.isfinite(guard_alpha) and guard_alpha >= 0):
        raise ValueError(f"guard_alpha must be a finite number >= 0, got {guard_alpha}")
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    bits = (x > mean).astype(np.int8)[..., None]
    keep = (
        np.abs(x - mean) >= guard_alpha * std if guard_alpha > 0 else np.ones(x.shape, dtype=bool)
    )
    return QuantizedBits(bits, keep, 1)


QUANTIZERS = ("equiprobable", "mean-threshold")


def quantize(
    x, method: str = "equiprobable", bits_per_sample: int = 1, guard: float = 0.0
) -> QuantizedBits:
    """Dispatch to a quantiser by name (``equiprobable`` or ``mean-threshold``)."""
    if method == "equiprobable":
        return equiprobable_quantize(x, bits_per_sample, guard)
    if method == "mean-threshold":
        if bits_per_sample != 1:
            raise ValueError("the mean-threshold quantiser produces 1 bit per sample")
        return mean_threshold_quantize(x, guard)
    raise ValueError(f"unknown quantiser {method!r}; available: {', '.join(QUANTIZERS)}")


def bit_disagreement_ratio(bits_a, bits_b) -> float:
    """BDR = (number of positions where the strings differ) / (length), RIS paper Section V.

    Parameters
    ----------
    bits_a, bits_b : array_like, shape [n], 0/1 (same length, n >= 1)
    """
    a = np.asarray(bits_a).reshape(-1)
    b = np.asarray(bits_b).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"bit strings differ in length: {a.size} vs {b.size}")
    if a.size == 0:
        raise ValueError("bit_disagreement_ratio: empty bit strings")
    return float(np.count_nonzero(a != b) / a.size)
