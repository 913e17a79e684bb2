"""Joint Newton iteration on (t, log d_k) for one budget: (P2), Eq. (52), on Python floats.

The same K + 1 equations and safeguards as :mod:`plkg.solvers.maxmin_exact.joint_newton`
(every C_k of Eq. (42) equal to t, the KKT conditions (54)-(56) of the near-field paper, and the
budget used exactly), tuned for a single solve: subchannels in UE-contiguous NumPy order, per-UE
bookkeeping in Python floats (K is small).
"""

from __future__ import annotations

import math
from operator import mul

import numpy as np

from plkg.solvers.maxmin_exact.bounds import (
    _BRACKET_HI,
    _BRACKET_LO,
    _lower_bound_scalar,
    _upper_bound_scalar,
)
from plkg.solvers.maxmin_exact.offsets import _MAX_LOG_STEP, _newton_offsets_scalar, _slopes
from plkg.solvers.maxmin_exact.problem import _U_MIN, _Problem
from plkg.solvers.maxmin_exact.residuals import (
    _INV_LN2,
    _LINEAR_BITS,
    _TWO_LN2,
    LN2,
    _gap,
    _psi_mid_scalar,
    _psi_step_scalar,
)


def _cold_start_scalar(pb: _Problem, pa: float):
    """(t, u) for one budget: t a feasible lower bound (:func:`_lower_bound`), u the high-power
    offsets at t (:func:`_highpower_offsets`), on the scalar layout."""
    lay = pb.scalar
    t = _lower_bound_scalar(lay, pa)
    cand = (t * LN2 + lay.padded_ell_cumsum) * lay.inv_n
    n_act = np.maximum((cand > lay.padded_ell).sum(axis=1), 1)
    level = cand[lay.ue_index, n_act - 1].tolist()
    low = math.log(t * LN2)
    return t, [
        min(max(v + math.log(-math.expm1(-v)), low + a if n == 1 else _U_MIN, _U_MIN), c)
        for v, a, c, n in zip(level, lay.log_kappa, lay.cap, n_act.tolist(), strict=True)
    ]


def _joint_newton_scalar(pb: _Problem, pa: float, rtol: float, max_iter: int, start=None):
    """:func:`_joint_newton` for one budget on NumPy, per-UE bookkeeping in Python floats.

    Same equations and safeguards as the batched version, tuned for a single solve, which is
    dominated by per-call overhead (K is small, so the K-vectors are cheaper as Python lists):

    * subchannels in UE-contiguous order (:class:`_ScalarLayout`), per-UE sums by one
      ``np.add.reduceat``; ``x_r = (d - delta)^+ / (hs + r)``, ``r = sqrt(1/4 + q (1 + d))`` and
      ``dx_r/dd = 1 / (2 r)`` reuse the same square root;
    * the budget equation is linearised in log P (``P ln(P / P_a)`` in place of ``P - P_a``):
      P(t) grows like 2^(t / D_k), so the step from the lower bound on t lands close to t*
      instead of overshooting (typically 4-6 evaluations instead of 7-9);
    * rate residuals and steps of t on psi(t) = log(2^t - 1) where t < 40 bits (plain above,
      where psi is linear to 1e-12): exact in log t at low power;
    * a step in t longer than half the way to t_hi = min_k sup C_k is taken linearly in
      -ln(t_hi - t) (log P_k ~ -D_k ln(sup_k - t) near saturation), but never shorter than the
      bisection step of the batched version.

    Starts from ``start = (t, u)`` when given (a warm start), else from :func:`_cold_start_scalar`.
    The offsets are carried as d + dl (see :func:`_evaluate` and :func:`_newton_offsets`). Returns
    ``(t, d, xr, p_k, r_k, inv_r, iterations, ok)`` with ``xr`` (x_j / s_k) in the layout order,
    ``p_k`` = s_k sum_{j in k} x_j / s_k (W) and ``inv_r_k`` = sum_{j in k} 1 / r_j (see
    :func:`_slopes`).
    """
    lay = pb.scalar
    delta, q, q25, hs, m_a, bn = lay.delta, lay.q, lay.q25, lay.hs, lay.m_a, lay.bn
    user, starts = lay.user, lay.starts
    n_total = delta.shape[0]
    t_hi = lay.t_hi
    s_k = lay.s
    t, u = _cold_start_scalar(pb, pa) if start is None else start
    lo_b = t if start is None else 0.0  # bracket on t*, tightened as the iteration goes
    up_b = math.inf
    du_prev = [0.0] * len(u)
    du_prev_max = 0.0
    buf = np.empty((3, n_total))  # per subchannel: rate (nats), 1/r = 2 dx_r/dd, x_r: one reduceat
    e = np.empty(n_total)
    tmp = np.empty(n_total)
    xr = buf[2]
    p_k = r_k = inv_r = []
    d = [math.exp(v) for v in u]
    dl = [0.0] * len(d)  # low parts of the offsets (nonzero only after fine steps)
    fine = False
    for it in range(1, max_iter + 1):  # noqa: B007
        ds = np.array(d)[user]
        np.subtract(ds, delta, out=e)
        if fine:
            e += np.array(dl)[user]
        active = e >= 0.0  # (the one-sided slope at num = 0, see _newton_offsets)
        np.maximum(e, 0.0, out=e)
        np.multiply(ds, q, out=tmp)
        tmp += q25
        np.sqrt(tmp, out=tmp)  # r = sqrt(1/4 + q (1 + d))
        np.divide(active, tmp, out=buf[1])
        tmp += hs
        np.divide(e, tmp, out=xr)
        np.multiply(xr, m_a, out=tmp)
        tmp += bn
        np.divide(xr, tmp, out=tmp)
        np.log1p(tmp, out=buf[0])
        rate_n, inv_r, xs = np.add.reduceat(buf, starts, axis=1).tolist()
        r_k = [v * _INV_LN2 for v in rate_n]
        g = [r - t for r in r_k]
        p_k = list(map(mul, s_k, xs))  # P_k (W)
        rho = sum(p_k) / pa  # sum x / P_a
        f = rho - 1.0
        # Rates to rtol / 10 (the batched path: 10 rtol): Newton's last step costs nothing there
        # and keeps single and batched optima equal to ~1e-13 (instead of ~1e-11) near saturation.
        rates_ok = max(map(abs, g)) <= 0.1 * rtol * t
        if rates_ok and abs(f) <= rtol:
            return t, d, xr, p_k, r_k, inv_r, it, True
        r_min = min(r_k)
        # (R_k, P_k) lies on UE k's least-power curve: sum P_k < P_a puts t* above min_k R_k,
        # sum P_k > P_a below max_k R_k
        if f < -rtol:
            lo_b = max(lo_b, r_min)
        elif f > rtol:
            up_b = min(up_b, max(r_k))
        # Newton on log P: P ln(P / P_a) in place of P - P_a (same root, same first order).
        f_log = rho * math.log(rho) if rho > 0.0 else f
        w = [a + a * dk for a, dk in zip(s_k, d, strict=True)]  # w_k = s_k (1 + d_k) (W)
        w_sum = sum(w)
        gh = g if t >= _LINEAR_BITS and r_min >= _LINEAR_BITS else [_gap(r, t) for r in r_k]
        # dt = (sum_k w_k g_k - P_a f_log / ln 2) / sum_k w_k, with weights w_k / sum w (no
        # product of two tiny numbers)
        g_part = sum([wk / w_sum * gk for wk, gk in zip(w, gh, strict=True)])
        dt_plain = g_part - (pa / w_sum) * f / LN2
        dt = g_part - (pa / w_sum) * f_log / LN2
        # Near saturation (sup C_k) P_k(t) is so steep that the power residual cannot reach
        # rtol * P_a in float64; t itself has converged when its Newton step is at round-off on
        # both P - P_a and P ln(P / P_a) (one alone can vanish where the other does not)
        if (
            rates_ok
            and abs(dt_plain) <= 1e-14 * t
            and abs(dt) <= 1e-14 * t
            # (and some UE can take the residual at a rate change below round-off, see
            # _absorbable: a UE on a rate plateau far below its level has a steep but tiny
            # P_k(t) that cannot give up an excess)
            and min(
                [
                    abs(f * pa) / (LN2 * wk) if f * pa <= 0.0 or f * pa <= 1e-3 * p else math.inf
                    for wk, p in zip(w, p_k, strict=True)
                ]
            )
            <= 1e-13 * t
        ):
            return t, d, xr, p_k, r_k, inv_r, it, True
        gap = t_hi - t
        if (
            0.0 < gap < math.inf
            and dt < -0.5 * gap
            and 0.5 * gap <= rho * pa / (LN2 * w_sum) <= 2.0 * gap
        ):
            # Long step down from saturation: linear in tau = -ln(t_hi - t) (there
            # P ~ 1 / (t_hi - t), recognised by P / (ln 2 sum w) = P / P'(t) ~ t_hi - t, and
            # dt = -ln(P / P_a) (t_hi - t) on P ln(P / P_a): exact)
            t_new = t_hi - gap * math.exp(min(-dt / gap, 700.0))
        else:
            if rho * (pa / w_sum) < 1e-3:
                # power far below the water level: P(t) is linear there (low power, or a rate
                # plateau where saturated subchannels hold the rate of a UE whose level is far
                # above its power and P ln(P / P_a) vanishes): Newton on P - P_a, a step in t
                dt = dt_plain
            elif t < _LINEAR_BITS or t + dt < _LINEAR_BITS:
                dt = _psi_step_scalar(t, dt) - t
            if dt <= 0.5 * gap:
                t_new = t + dt
            elif 0.0 < gap < math.inf:
                # Long step towards saturation: at least the bisection step, at most the step
                # linear in tau = -ln(t_hi - t) (log P_k ~ -D_k ln(sup_k - t) there), which never
                # reaches t_hi.
                t_new = t + gap * min(max(0.5, -math.expm1(-dt / gap)), 1.0 - 1e-9)
            else:
                t_new = t + 0.5 * gap
        if up_b == math.inf and t_new > 2.0 * t:
            up_b = _upper_bound_scalar(pb.scalar, pa)  # (a long step up: bound it)
        if not lo_b * _BRACKET_LO < t_new < up_b * _BRACKET_HI:
            # Newton left the bracket (beyond round-off): bisect it, in psi
            if lo_b <= 0.0:
                lo_b = _lower_bound_scalar(pb.scalar, pa)
            if up_b == math.inf:
                up_b = _upper_bound_scalar(pb.scalar, pa)
            if not lo_b * _BRACKET_LO < t_new < up_b * _BRACKET_HI and lo_b < up_b:
                t_new = _psi_mid_scalar(lo_b, up_b)
        if rates_ok and t_new == t and t >= t_hi and f < 0.0:
            # t pinned at sup C_k in float64 (saturation) with budget to spare: t cannot use it;
            # the rates are equal, and _finish_scalar gives the residual to the saturated UE
            return t, d, xr, p_k, r_k, inv_r, it, True
        # one Newton step of every offset towards t_new: where every rate is high and no step is
        # clipped, plainly in log d (psi is linear there, and a subchannel that has just switched
        # on carries a negligible share of R_k >= 40 bits); else safeguarded
        du = None
        if t_new >= _LINEAR_BITS and r_min >= _LINEAR_BITS:
            # du_k = (t_new - R_k) / S_k with S_k = dR_k/d(log d) (see _slopes)
            du = [
                (t_new - rk) * (1.0 + dk) / (dk * v) * _TWO_LN2
                for rk, dk, v in zip(r_k, d, inv_r, strict=True)
            ]
            du_max = max(map(abs, du))
            # (shrinking steps: Newton converging, no 2-cycle to damp)
            if du_max >= _MAX_LOG_STEP or du_max >= 0.5 * du_prev_max >= 5e-3:
                du = None
        if du is None:
            slope = _slopes(d, inv_r)
            du_prev, fine = _newton_offsets_scalar(lay, d, dl, r_k, slope, t_new, du_prev)
            du_prev_max = max(map(abs, du_prev))
        else:  # (|du| < 4: d stays within e^4 of the domain's largest offset, finite)
            d = [dk * math.exp(v) for dk, v in zip(d, du, strict=True)]
            if fine:
                dl, fine = [0.0] * len(d), False
            du_prev, du_prev_max = du, du_max
        t = t_new
    return t, d, xr, p_k, r_k, inv_r, max_iter, False
