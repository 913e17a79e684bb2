"""The last step of (P2), Eq. (52): a budget-exact rescaling, and the solution it gives.

The iterations stop with sum_k P_k within rtol of P_a. The residual is shared as
dP_k = dP w_k / sum w, which keeps every C_k of Eq. (42) equal to first order
(dC_k/dP_k = 1 / (ln 2 w_k), the KKT conditions (54)-(56) of the near-field paper), so that the
returned allocation uses the budget exactly; at saturation, where that first order fails, the
residual goes to the one UE whose rate moves least. :func:`_finish` for a batch (array API
namespace of the problem), :func:`_finish_scalar` for one budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from plkg.solvers.maxmin_exact.arrays import to_numpy
from plkg.solvers.maxmin_exact.problem import _TINY, _Problem, _raise_underflow
from plkg.solvers.maxmin_exact.residuals import LN2


@dataclass(frozen=True)
class MaxMinSolution:
    """Exact optimum of (P2), Eq. (52) of the near-field paper, for a batch of budgets.

    Attributes
    ----------
    x_w : [..., N_D] float64, W
        Optimal allocation; sum_j x = P_a exactly (last step rescales by 1 +- 1e-12).
    t_bits : [...] float64
        Max-min key rate t* (every C_k equals it at the optimum).
    rate_bits : [..., K]
        C_k of Eq. (42) at ``x_w``.
    water_level_w : [..., K]
        Per-UE water levels w_k (W).
    status : str
        ``optimal`` (non-convergence raises :class:`SolverError`).
    iterations : int
        Outer (Newton on t) iterations.
    inner_iterations : int
        Total inner Newton iterations.
    objective : float
        min_k C_k of the first batch element (bits).
    level_offset : [..., K] or None
        d_k = (w_k - s_k) / s_k, the level above UE k's lowest activation level s_k in units of
        s_k (full relative precision where w_k rounds to s_k, i.e. P_a far below s_k).
    """

    x_w: object
    t_bits: object
    rate_bits: object
    water_level_w: object
    status: str
    iterations: int
    inner_iterations: int
    objective: float
    level_offset: object = None


def _finish(pb: _Problem, pa, xr, xs, d, iterations: int, inner: int, ok=None) -> MaxMinSolution:
    """Budget-exact rescaling and the result (batched).

    The residual dP is shared as dP_k = dP w_k / sum w, which keeps the rates equal to first order
    (dC_k/dP_k = 1 / (ln 2 w_k)). Where that would change some UE's power by more than 1e-6
    (relative), the first order does not hold: the iteration stopped at saturation, where t is
    pinned in float64 while the saturating UE's P_k(t) is too steep to meet the budget (its rate
    sits on a plateau: sup C_k, or the sup of its active subchannels below an activation level
    it cannot reach). The residual then goes to the one UE whose rate moves least when it absorbs
    it (that UE's allocation is scaled, so its water level is the one before the scaling).
    """
    xp = pb.xp
    sr = pb.s_ue / pa[..., None]
    p_rel = sr * xs
    w_rel = sr * (1.0 + d)
    dp = 1.0 - xp.sum(p_rel, axis=-1, keepdims=True)
    share = dp * w_rel / xp.sum(w_rel, axis=-1)[..., None]
    p_safe = xp.where(p_rel > 0, p_rel, 1.0)
    first_order = xp.max(xp.abs(share) / p_safe, axis=-1)[..., None] <= 1e-6
    if not bool(xp.all(first_order)):
        # the UE whose rate moves least when it alone absorbs the residual (one evaluation: each
        # UE's rate depends on its own allocation only): c_k = (1 - sum_{j != k} p_j) / p_k, the
        # other UEs summed apart (p_k may dwarf them)
        ue = xp.arange(pb.n_users, device=pb.device)
        others = xp.stack([xp.sum(p_rel * (ue != k), axis=-1) for k in range(pb.n_users)], axis=-1)
        c = (1.0 - others) / p_safe
        fits = (c > 0) & (p_rel > 0)
        c = xp.where(fits, c, 1.0)
        rates = [pb.per_user(xp.log1p(v / (v * pb.m_a + pb.bn))) for v in (xr, xr * pb.to_sub(c))]
        moved = xp.where(fits, xp.abs(rates[1] - rates[0]), math.inf)
        star = ue == xp.argmin(moved, axis=-1)[..., None]
        any_fits = xp.any(fits, axis=-1)[..., None]
        uniform = 1.0 / (1.0 - dp) + 0.0 * c
        scale = xp.where(any_fits, xp.where(star, c, 1.0), uniform)
        scale = xp.where(first_order, 1.0 + share / p_safe, scale)
    else:
        scale = 1.0 + share / p_safe
    xr = xr * pb.to_sub(scale)
    power = pb.s_ue * xs * scale
    if ok is not None:  # (rows that did not converge are solved again: no verdict on them)
        power = xp.where(ok[..., None], power, 1.0)
    _raise_underflow(to_numpy(pa), to_numpy(power), to_numpy(pb.s_ue))
    rate = pb.per_user(xp.log1p(xr / (xr * pb.m_a + pb.bn)) / LN2)
    t = xp.min(rate, axis=-1)
    return MaxMinSolution(
        x_w=xr * pb.sc,
        t_bits=t,
        rate_bits=rate,
        water_level_w=pb.s_ue * (1.0 + d),
        status="optimal",
        iterations=iterations,
        inner_iterations=inner,
        objective=float(np.ravel(to_numpy(t))[0]),
        level_offset=d,
    )


def _finish_scalar(pb: _Problem, pa: float, d, xr, p_k, r_k, iterations: int) -> MaxMinSolution:
    """Budget-exact rescaling (as in :func:`_finish`) and the result, one budget.

    ``xr`` (layout order), ``p_k`` and ``r_k`` are from the last evaluation of
    :func:`_joint_newton_scalar`. The residual dP is shared as dP_k = dP w_k / sum w; on the active
    subchannels every c'_j = 1 / (w_k ln 2), so C_k moves by dP_k / (w_k ln 2) up to O(dP^2), which
    is below round-off when no P_k moves by more than 1e-6 (otherwise, at saturation, the residual
    goes to the UE whose rate moves least, as in :func:`_finish`, and the rates are re-evaluated).
    """
    lay = pb.scalar
    s = lay.s
    if min(p_k) < _TINY:
        _raise_underflow(pa, np.array(p_k), np.array(s))
    w = [si * (1.0 + dk) for si, dk in zip(s, d, strict=True)]  # W
    dp = pa - sum(p_k)
    w_sum = sum(w)
    dp_k = [dp * (wk / w_sum) for wk in w]
    scale = [1.0 + a / p for a, p in zip(dp_k, p_k, strict=True)]
    # (first order: no UE's power moves by more than 1e-6; then C_k moves by dP_k / (w_k ln 2))
    first_order = 1.0 - 1e-6 <= min(scale) and max(scale) <= 1.0 + 1e-6
    if not first_order:  # saturation: the residual to the UE whose rate moves least (_finish)
        # c_k = (P_a - sum_{j != k} P_j) / P_k, the other UEs summed apart (P_k may dwarf them)
        c = [(pa - sum(p_k[:k] + p_k[k + 1 :])) / p for k, p in enumerate(p_k)]
        c = [v if v > 0.0 else 1.0 for v in c]
        xr2 = xr * np.array(c)[lay.user]
        moved = np.add.reduceat(np.log1p(xr2 / (xr2 * lay.m_a + lay.bn)), lay.starts) / LN2
        moved = [
            abs(a - b) if v != 1.0 else math.inf for a, b, v in zip(moved, r_k, c, strict=True)
        ]
        k_star = moved.index(min(moved))
        if moved[k_star] < math.inf:
            scale = [1.0] * len(s)
            scale[k_star] = c[k_star]
        else:
            scale = [pa / (pa - dp)] * len(s)
    x_sorted = xr * np.array([si * c for si, c in zip(s, scale, strict=True)])[lay.user]
    if first_order:
        rate = [r + a / (wk * LN2) for r, a, wk in zip(r_k, dp_k, w, strict=True)]
    else:
        xr2 = xr * np.array(scale)[lay.user]
        rate = (
            np.add.reduceat(np.log1p(xr2 / (xr2 * lay.m_a + lay.bn)), lay.starts) / LN2
        ).tolist()
    x_out = np.empty_like(x_sorted)
    x_out[lay.order] = x_sorted
    t = np.float64(min(rate))
    rate = np.array(rate)
    return MaxMinSolution(
        x_w=x_out,
        t_bits=t,
        rate_bits=rate,
        water_level_w=np.array(w),
        status="optimal",
        iterations=iterations,
        inner_iterations=0,
        objective=float(t),
        level_offset=np.array(d),
    )
