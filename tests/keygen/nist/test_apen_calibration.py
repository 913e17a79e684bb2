"""Approximate entropy at its default m is calibrated on long random sequences.

Regression test for false failures of 1.1-Mbit key concatenations: with m = floor(log2 n) - 6
(m = 14 at 2^20 bits, about 32 counts per 15-bit pattern) chi2 = 2 n (ln 2 - ApEn) exceeded its
chi-square(2^m) reference by 0.5-0.8 standard deviations on average (second-order bias of the
plug-in entropies), so about 5 % of truly random sequences failed at alpha = 0.01. The mean
chi2 over K random sequences must stay within 4 standard errors of 2^m (the old default drifted
by about 9 of them at K = 128, measured).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.keygen.nist.approximate_entropy import approximate_entropy_test, default_block_length


def test_default_block_length_rule():
    assert default_block_length(2**20) == 10  # STS reference default
    assert default_block_length(70_000) == 10
    assert default_block_length(20_000) == 8  # floor(log2 n) - 6 below the cap
    for n in (100, 1_000, 2**16, 2**20, 10**7):
        m = default_block_length(n)
        assert 1 <= m < math.floor(math.log2(n)) - 5 or m == 1  # section 2.12.7


def test_chi2_matches_reference_on_random_megabit_sequences(rng):
    n, k = 2**20, 128
    chi2 = []
    for _ in range(k):
        r = approximate_entropy_test(rng.integers(0, 2, n, dtype=np.int8))
        chi2.append(r.statistics["chi2"])
    m = r.statistics["block_length"]
    dof = 2.0**m  # P = igamc(2^(m-1), chi2 / 2): chi2 ~ chi-square with 2^m degrees of freedom
    z = (np.mean(chi2) - dof) / math.sqrt(2.0 * dof / k)
    assert abs(z) < 4.0, (m, np.mean(chi2), dof, z)
