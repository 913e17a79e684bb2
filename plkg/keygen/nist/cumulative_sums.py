"""Cumulative sums (cusum) test, SP 800-22 Rev. 1a section 2.13."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from plkg.keygen.nist.base import NistResult, as_bits, eligibility

MIN_BITS = 100


def cusum_p_value(z: int, n: int) -> float:
    r"""P-value of section 2.13.4 step 4 for the maximal excursion z of an n-step walk.

    .. math::

        P = 1 - \sum_{k=(-n/z+1)/4}^{(n/z-1)/4}
                \left[\Phi\left(\frac{(4k+1)z}{\sqrt n}\right)
                - \Phi\left(\frac{(4k-1)z}{\sqrt n}\right)\right]
              + \sum_{k=(-n/z-3)/4}^{(n/z-1)/4}
                \left[\Phi\left(\frac{(4k+3)z}{\sqrt n}\right)
                - \Phi\left(\frac{(4k+1)z}{\sqrt n}\right)\right],

    with the summation bounds truncated towards zero as in the NIST reference code.

    Parameters
    ----------
    z : int
        Maximal absolute partial sum of the +-1 walk.
    n : int
        Number of steps (bits).

    Returns
    -------
    float
        The P-value, clipped to [0, 1].
    """
    sqn = math.sqrt(n)
    k1 = np.arange(int((-n / z + 1) / 4), int((n / z - 1) / 4) + 1)
    k2 = np.arange(int((-n / z - 3) / 4), int((n / z - 1) / 4) + 1)
    s1 = np.sum(ndtr((4 * k1 + 1) * z / sqn) - ndtr((4 * k1 - 1) * z / sqn))
    s2 = np.sum(ndtr((4 * k2 + 3) * z / sqn) - ndtr((4 * k2 + 1) * z / sqn))
    return float(min(1.0, max(0.0, 1.0 - s1 + s2)))


def cumulative_sums_test(bits, *, strict: bool = False) -> NistResult:
    r"""Cumulative sums test in both modes, SP 800-22 section 2.13.

    :math:`X = 2\varepsilon - 1`; :math:`z = \max_k |S_k|` of the partial sums taken forward
    (mode 0) and backward (mode 1); each gives a P-value by :func:`cusum_p_value`. Integer
    arithmetic in int64 (the walk cannot overflow, unlike implementations that sum int8).

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
        Recommended n >= 100 (section 2.13.7).

    Returns
    -------
    NistResult with P-values labelled ``forward`` and ``backward``.
    """
    eps = as_bits(bits)
    n = eps.size
    x = 2 * eps.astype(np.int64) - 1
    z_fwd = int(np.max(np.abs(np.cumsum(x))))
    z_bwd = int(np.max(np.abs(np.cumsum(x[::-1]))))
    p = (cusum_p_value(z_fwd, n), cusum_p_value(z_bwd, n))
    problems = [f"n = {n} < {MIN_BITS} recommended"] if n < MIN_BITS else []
    ok, note = eligibility(problems, strict, "cumulative_sums")
    stats = {"z_forward": z_fwd, "z_backward": z_bwd}
    return NistResult("cumulative_sums", p, ("forward", "backward"), n, stats, ok, note)
