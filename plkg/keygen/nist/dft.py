"""Discrete Fourier transform (spectral) test, SP 800-22 Rev. 1a section 2.6."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

from plkg.keygen.nist.base import NistResult, as_bits, eligibility

MIN_BITS = 1000


def dft_statistic(n1: int, n: int) -> tuple[float, float]:
    r"""The spectral test's statistic d and its P-value (section 2.6.4).

    :math:`d = (N_1 - N_0) / \sqrt{n \cdot 0.95 \cdot 0.05 / 4}` with :math:`N_0 = 0.95 n / 2`.

    Parameters
    ----------
    n1 : int
        :math:`N_1`, number of DFT moduli below the threshold.
    n : int
        Sequence length in bits.

    Returns
    -------
    d : float
        The normalised difference.
    p_value : float
        :math:`P = \operatorname{erfc}(|d| / \sqrt{2})`.
    """
    n0 = 0.95 * n / 2.0
    d = (n1 - n0) / math.sqrt(n * 0.95 * 0.05 / 4.0)
    return d, float(erfc(abs(d) / math.sqrt(2.0)))


def dft_test(bits, *, strict: bool = False) -> NistResult:
    r"""Spectral test, SP 800-22 section 2.6 (Rev. 1a threshold).

    :math:`X = 2\varepsilon - 1`, :math:`M = |\mathrm{DFT}(X)|` over the first n/2 frequencies,
    :math:`T = \sqrt{\ln(1/0.05)\, n}`, :math:`N_0 = 0.95 n / 2`, :math:`N_1 = \#\{M < T\}`,
    :math:`d = (N_1 - N_0) / \sqrt{n \cdot 0.95 \cdot 0.05 / 4}` and
    :math:`P = \operatorname{erfc}(|d| / \sqrt{2})` (section 2.6.4).

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
        Recommended n >= 1000 (section 2.6.7).
    """
    eps = as_bits(bits)
    n = eps.size
    x = 2.0 * eps.astype(np.float64) - 1.0
    mags = np.abs(np.fft.fft(x))[: n // 2]
    threshold = math.sqrt(math.log(1.0 / 0.05) * n)
    n0 = 0.95 * n / 2.0
    n1 = int(np.count_nonzero(mags < threshold))
    d, p = dft_statistic(n1, n)
    problems = [f"n = {n} < {MIN_BITS} recommended"] if n < MIN_BITS else []
    ok, note = eligibility(problems, strict, "dft")
    stats = {"threshold": threshold, "n0": n0, "n1": n1, "d": d}
    return NistResult("dft", (p,), ("dft",), n, stats, ok, note)
