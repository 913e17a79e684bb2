"""Runs test, SP 800-22 Rev. 1a section 2.3."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

from plkg.keygen.nist.base import NistResult, as_bits, eligibility

MIN_BITS = 100


def runs_test(bits, *, strict: bool = False) -> NistResult:
    r"""Runs test, SP 800-22 section 2.3.

    :math:`\pi` = ones / n. Prerequisite (step 2): if :math:`|\pi - 1/2| \ge \tau = 2/\sqrt{n}`
    the test is not run and P = 0.0 (the frequency test fails). Otherwise
    :math:`V_\mathrm{obs} = 1 + \#\{k : \varepsilon_k \ne \varepsilon_{k+1}\}` and (step 4)

    .. math::

        P = \operatorname{erfc}\left( \frac{|V_\mathrm{obs} - 2 n \pi (1-\pi)|}
        {2 \sqrt{2n}\, \pi (1-\pi)} \right).

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
        Recommended n >= 100 (section 2.3.7).
    """
    eps = as_bits(bits)
    n = eps.size
    pi = float(eps.mean(dtype=np.float64))
    tau = 2.0 / math.sqrt(n)
    v_obs = int(1 + np.count_nonzero(eps[1:] != eps[:-1]))
    stats = {"pi": pi, "tau": tau, "v_obs": v_obs, "prerequisite_passed": abs(pi - 0.5) < tau}
    problems = [f"n = {n} < {MIN_BITS} recommended"] if n < MIN_BITS else []
    ok, note = eligibility(problems, strict, "runs")
    if abs(pi - 0.5) >= tau:
        note = "; ".join(
            x for x in (note, "frequency prerequisite failed (|pi - 1/2| >= tau): P = 0") if x
        )
        return NistResult("runs", (0.0,), ("runs",), n, stats, ok, note)
    q = pi * (1.0 - pi)
    p = float(erfc(abs(v_obs - 2.0 * n * q) / (2.0 * math.sqrt(2.0 * n) * q)))
    return NistResult("runs", (p,), ("runs",), n, stats, ok, note)
