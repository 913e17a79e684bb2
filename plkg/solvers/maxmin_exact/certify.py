"""The certificate of an optimum of (P2), Eq. (52) of the near-field paper.

At the optimum every UE's key rate C_k (Eq. (42)) equals t* and the budget is used exactly (the
KKT conditions (54)-(56)). :func:`_certified` checks both, to a relative accuracy of 1e-6, on
every result called ``optimal``, and raises :class:`plkg.errors.SolverError` otherwise (never
NaN as optimal).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.errors import SolverError
from plkg.solvers.maxmin_exact.arrays import to_numpy
from plkg.solvers.maxmin_exact.finish import MaxMinSolution

# An "optimal" max-min result must use the budget, and give every UE the rate t, to this
# relative accuracy (at the optimum every C_k equals t: t < min_k sup C_k).
CERTIFY_BUDGET_RTOL = 1e-6
CERTIFY_RATE_RTOL = 1e-6


def _certified(sol: MaxMinSolution, pa, levels: bool = True) -> MaxMinSolution:
    """Return ``sol`` if it is a usable optimum, else raise SolverError (never NaN as optimal).

    Checked: finite, non-negative x that uses the budget (|sum x - P_a| <= 1e-6 P_a), a finite
    t > 0 and every UE's rate within 1e-6 t of t (at the optimum every C_k equals t). Inside the
    solvable power domain none of these fires; it guards the promise that ``optimal`` means
    optimal, whatever the inputs.
    """
    if not levels and isinstance(pa, float):
        # One NumPy budget (the scalar path): the same checks on Python floats.
        x, t = sol.x_w, float(sol.t_bits)
        total, low, top = float(x.sum()), float(x.min()), float(sol.rate_bits.max())
        if (
            math.isfinite(total)
            and math.isfinite(t)
            and low >= 0.0
            and abs(total - pa) <= CERTIFY_BUDGET_RTOL * pa
            and t > 0.0
            and top - t <= CERTIFY_RATE_RTOL * t
        ):
            return sol
    x, t, pa = _float64(sol.x_w), _float64(sol.t_bits), np.asarray(pa, dtype=np.float64)
    # (the single-budget path's levels s_k (1 + d_k) are finite by construction: d_k <= e^cap_k)
    w = _float64(sol.water_level_w) if levels else 0.0
    problem = None
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t)) and np.all(np.isfinite(w))):
        problem = "NaN or inf in the allocation, rate or water levels (float64 overflow)"
    elif np.any(x < 0):
        problem = "negative powers in the allocation"
    elif np.any(np.abs(x.sum(-1) - pa) > CERTIFY_BUDGET_RTOL * pa):
        problem = "the allocation does not use the power budget"
    elif np.any(t <= 0):
        problem = "the key rates underflow float64 (t = 0 with P_a > 0)"
    elif np.any(_float64(sol.rate_bits).max(-1) - t > CERTIFY_RATE_RTOL * t):
        problem = (
            f"the UEs' key rates differ by more than {CERTIFY_RATE_RTOL:g} t "
            f"(t = {float(np.min(t)):.3g} bits)"
        )
    if problem is not None:
        raise SolverError(
            f"exact max-min gave no usable optimum at P_a = {float(np.max(pa)):.6g} W: {problem}"
        )
    return sol


def _float64(value) -> np.ndarray:
    """NumPy float64 copy or view of an array or tensor (the certificate is checked in NumPy)."""
    return np.asarray(to_numpy(value), dtype=np.float64)
