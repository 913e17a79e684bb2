"""Bits per sample chosen per real component from its correlation (quantisation that follows the channel).

Rule (recorded in ``docs/assumptions.md``): for a component with correlation rho (public
statistics) and n samples in the block, the resolution is

    b = argmax_{0 <= b <= b_max}  E_n(b) / n  -  f * sum_{l < b} h_l(rho)

where E_n(b) = log2(n! / ((n / 2^b)!)^(2^b)) is the min-entropy of the level sequence of the
empirical-CDF equiprobable quantiser (every arrangement of the fixed level counts is equally
likely for independent rounds, :func:`plkg.keygen.entropy.exchangeable_min_entropy_bits`),
h_l(rho) the conditional entropy of Gray plane l given Bob's measurement and the planes above
(:func:`plkg.keygen.gaussian_model.plane_conditional_entropies`; their sum is what
reconciliation must disclose at least) and f >= 1 the expected reconciliation efficiency
(disclosed / H(Q|Y), default 1.2, what the syndrome scheme of
:mod:`plkg.keygen.ldpc_reconciliation` reaches on blocks of 10^4-10^5 bits). The gain counts a
plane only while its key contribution exceeds its expected disclosure; b = 0 drops a component.
For high correlation b grows like the per-real-dimension key rate -1/2 log2(1 - rho^2) plus a
bit or two, until E_n(b) / n saturates at log2(n!) / n (about log2 n - 1.44 bits).
"""

from __future__ import annotations

import math

import numpy as np

#: Default upper bound on the bits per real sample.
DEFAULT_MAX_BITS_PER_SAMPLE = 12
#: Default expected reconciliation efficiency f = disclosed bits / H(Q | Y).
DEFAULT_DESIGN_EFFICIENCY = 1.2


def exchangeable_entropy_per_sample(bits: int, n: int) -> float:
    """E_n(b) / n for equal level counts n / 2^b (lgamma for non-integer counts), bits."""
    if bits <= 0:
        return 0.0
    levels = 2**bits
    total = math.lgamma(n + 1) - levels * math.lgamma(n / levels + 1)
    return max(0.0, total / math.log(2) / n)


def choose_bits_per_component(
    plane_entropies,
    n_samples: int,
    max_bits: int = DEFAULT_MAX_BITS_PER_SAMPLE,
    efficiency: float = DEFAULT_DESIGN_EFFICIENCY,
) -> np.ndarray:
    """Bits per sample of each component by the rule of this module.

    Parameters
    ----------
    plane_entropies : array_like, shape [D, >= max_bits]
        h_l per component and plane (bits per sample).
    n_samples : int
        Samples per component in the block (n >= 2).
    max_bits : int
        b_max in 1..16.
    efficiency : float
        f >= 1.

    Returns
    -------
    ndarray [D], int64 in [0, max_bits]
    """
    h = np.asarray(plane_entropies, dtype=np.float64)
    if int(max_bits) != max_bits or not 1 <= max_bits <= 16:
        raise ValueError(f"max_bits must be an integer in 1..16, got {max_bits!r}")
    if h.ndim != 2 or h.shape[1] < max_bits:
        raise ValueError(f"plane_entropies must have shape [D, >= {max_bits}], got {h.shape}")
    if not (math.isfinite(efficiency) and efficiency >= 1):
        raise ValueError(f"efficiency must be >= 1, got {efficiency!r}")
    if n_samples < 2:
        raise ValueError(f"need at least 2 samples per component, got {n_samples}")
    key = np.array([exchangeable_entropy_per_sample(b, n_samples) for b in range(max_bits + 1)])
    cost = np.concatenate([np.zeros((h.shape[0], 1)), np.cumsum(h[:, :max_bits], axis=1)], axis=1)
    gain = key[None, :] - efficiency * cost
    return np.argmax(gain, axis=1).astype(np.int64)  # first maximum: ties give fewer bits
