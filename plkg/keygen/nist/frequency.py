"""Frequency (monobit) test, SP 800-22 Rev. 1a section 2.1."""

from __future__ import annotations

import math

from scipy.special import erfc

from plkg.keygen.nist.base import NistResult, as_bits, eligibility

MIN_BITS = 100


def frequency_test(bits, *, strict: bool = False) -> NistResult:
    r"""Frequency (monobit) test, SP 800-22 section 2.1.

    :math:`S_n = \sum_i (2\varepsilon_i - 1)`, :math:`s_\mathrm{obs} = |S_n| / \sqrt{n}`,
    :math:`P = \operatorname{erfc}(s_\mathrm{obs} / \sqrt{2})` (section 2.1.4).

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
        The sequence epsilon; recommended n >= 100 (section 2.1.7).
    strict : bool
        Raise ``ValueError`` instead of flagging ``eligible=False`` when n < 100.
    """
    eps = as_bits(bits)
    n = eps.size
    s_n = int(2 * int(eps.sum()) - n)
    s_obs = abs(s_n) / math.sqrt(n)
    p = float(erfc(s_obs / math.sqrt(2.0)))
    problems = [f"n = {n} < {MIN_BITS} recommended"] if n < MIN_BITS else []
    ok, note = eligibility(problems, strict, "frequency")
    return NistResult("frequency", (p,), ("frequency",), n, {"s_n": s_n, "s_obs": s_obs}, ok, note)
