"""A bracket on the max-min rate t* of (P2), Eq. (52) of the near-field paper.

Lower bound: a feasible allocation's min_k C_k (Eq. (42)), the better of equal power and of the
budget split over each UE's lowest subchannel in proportion to s_k. Upper bound: min_k of C_k
with the whole budget on every subchannel of UE k. Array versions (array API namespace of the
problem, batched over budgets) and ``_scalar`` twins for one budget on the NumPy layout.
"""

from __future__ import annotations

import math

import numpy as np

from plkg.solvers.maxmin_exact.problem import _Problem, _ScalarLayout
from plkg.solvers.maxmin_exact.residuals import LN2

# Newton steps of t may leave the bracket on t* by this relative slack (round-off) unpunished
_BRACKET_LO, _BRACKET_HI = 1.0 - 1e-6, 1.0 + 1e-6


def _lower_bound(pb: _Problem, pa):
    """A feasible min_k C_k [...] (a lower bound on t*, > 0): the better of equal power and of
    P_a split over each UE's lowest subchannel in proportion to s_k (x_k / s_k = P_a / sum s)."""
    xp = pb.xp
    x_epa = pa[..., None] / pb.m_a.shape[-1] + 0.0 * pb.m_a
    t_epa = xp.min(pb.per_user(xp.log1p(x_epa / (x_epa * pb.m_a + pb.b))), axis=-1) / LN2
    inv_y = xp.sum(pb.s_ue, axis=-1)[..., None] / pa[..., None]
    t_best = xp.min(xp.log1p(1.0 / (pb.a_low + inv_y)), axis=-1) / LN2
    return xp.maximum(t_epa, t_best)


def _upper_bound(pb: _Problem, pa):
    """An upper bound on t* [...]: min_k sum_j c_j(P_a) (every subchannel of UE k with the whole
    budget), raised by 1e-12 against round-off. Terms below float64's range are taken as 0."""
    xp = pb.xp
    y = pa[..., None] / pb.sc + 0.0 * pb.m_a  # P_a / s_k per subchannel
    rate = pb.per_user(xp.log1p(1.0 / (pb.m_a + pb.bn / y))) / LN2
    return xp.min(rate, axis=-1) * (1.0 + 1e-12)


def _lower_bound_scalar(lay: _ScalarLayout, pa: float) -> float:
    """:func:`_lower_bound` for one budget on the scalar layout."""
    inv_y = lay.s_total / pa
    t = min([math.log1p(1.0 / (a + inv_y)) for a in lay.a_low]) / LN2
    if lay.ma_max * pa < 1e300:  # equal power cannot overflow x m_a
        x_epa = pa / lay.b.shape[0]
        rate0 = np.add.reduceat(np.log1p(x_epa / (x_epa * lay.m_a + lay.b)), lay.starts)
        t = max(t, float(rate0.min()) / LN2)
    return t


def _upper_bound_scalar(lay: _ScalarLayout, pa: float) -> float:
    """:func:`_upper_bound` for one budget on the scalar layout."""
    y = np.array([pa / si for si in lay.s])[lay.user]
    with np.errstate(over="ignore", divide="ignore"):
        rate = np.add.reduceat(np.log1p(1.0 / (lay.m_a + lay.bn / y)), lay.starts)
    return float(rate.min()) / LN2 * (1.0 + 1e-12)
