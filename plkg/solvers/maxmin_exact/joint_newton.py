"""Joint Newton iteration on (t, log d_k) for a batch of budgets: the core of (P2), Eq. (52).

At the optimum of (P2) every UE has C_k = t* (the KKT conditions (54)-(56) of the near-field
paper, with the exact C_k of Eq. (42)) and the budget is used exactly: the K + 1 equations
R_k(d_k) = t, sum_k P_k(d_k) = P_a. :func:`_joint_newton` solves them all at once, batched over
budgets in the array API namespace of the problem; the single-budget twin is
:mod:`plkg.solvers.maxmin_exact.joint_newton_scalar`.
"""

from __future__ import annotations

import math

from plkg.solvers.maxmin_exact.arrays import quiet_float_warnings
from plkg.solvers.maxmin_exact.bounds import _BRACKET_HI, _BRACKET_LO, _upper_bound
from plkg.solvers.maxmin_exact.offsets import _evaluate, _newton_offsets
from plkg.solvers.maxmin_exact.problem import _Problem
from plkg.solvers.maxmin_exact.residuals import LN2, _psi_gap, _psi_mid, _psi_step


def _absorbable(xp, f, p_rel, w_rel, tol_bits):
    """Whether some UE can take the budget residual f (relative to P_a) at a rate change below
    ``tol_bits`` ([...] bool; powers and levels relative to P_a, [..., K]).

    Adding power D raises C_k by at most D / (ln 2 w_k) (C_k is concave in P_k, with slope
    1 / (ln 2 w_k)); removing E lowers it by about E / (ln 2 w_k) while E << P_k. Used to accept
    a t at round-off whose budget residual the iteration cannot remove (saturation): a UE on a
    rate plateau far below its level has a steep but tiny P_k(t) that cannot give up the excess.
    """
    move = xp.abs(f)[..., None] / (LN2 * w_rel)
    fits = (f[..., None] <= 0) | (f[..., None] <= 1e-3 * p_rel)
    return xp.min(xp.where(fits, move, math.inf), axis=-1) <= tol_bits


def _joint_newton(pb: _Problem, pa, t, u, t_hi, rtol: float, max_iter: int):
    """Newton on the (K+1) equations R_k(d_k) = t, sum_k P_k(d_k) = P_a (all UEs at once).

    With S_k = dR_k/du_k (u_k = log d_k) and dP_k/du_k = ln 2 w_k S_k, eliminating du_k gives
    dt = (sum_k w_k g_k - f / ln 2) / sum_k w_k and du_k = (dt - g_k) / S_k, where g_k = R_k - t
    and f = sum x - P_a. The rate residuals are taken on psi (:func:`_psi_gap`), the budget one on
    log P (f -> P ln(P / P_a)) and dt as a step of psi(t) (:func:`_psi_step`): same root, same
    first order, and exact in the low- and high-power limits. Powers are in units of P_a.

    Safeguards: t stays in a bracket on t* built from the iterates (bisected in psi when Newton
    leaves it), u-steps are clipped to 4 nepers and a clipped step that reverses the previous one
    goes halfway back. Returns ``(t, dh, dl, xr, xs, iterations, converged)`` (d_k = dh + dl,
    see :func:`_evaluate`; ``converged`` [...] bool), so that the caller can solve the rows that
    did not converge by :func:`_robust_scalar`.
    """
    xp = pb.xp
    sr = pb.s_ue / pa[..., None]  # s_k / P_a
    lo_b, up_b = t * 1.0, _upper_bound(pb, pa)  # bracket on t* (t starts at a lower bound)
    dh, dl = xp.exp(u), 0.0 * u
    du_prev = 0.0 * u
    frozen = t < 0  # rows that have converged keep their state (none yet)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        xr, r_k, slope, xs = _evaluate(pb, dh, dl)
        g = r_k - t[..., None]
        rho = xp.sum(sr * xs, axis=-1)  # sum x / P_a
        f = rho - 1.0
        rates_ok = xp.max(xp.abs(g), axis=-1) <= 10.0 * rtol * t
        frozen = frozen | (rates_ok & (xp.abs(f) <= rtol))
        if bool(xp.all(frozen)):
            return t, dh, dl, xr, xs, it, frozen
        # (R_k, P_k) lies on UE k's least-power curve: sum P_k < P_a puts t* above min_k R_k,
        # sum P_k > P_a below max_k R_k
        lo_b = xp.where(f < -rtol, xp.maximum(lo_b, xp.min(r_k, axis=-1)), lo_b)
        up_b = xp.where(f > rtol, xp.minimum(up_b, xp.max(r_k, axis=-1)), up_b)
        w = sr * (1.0 + dh)  # w_k / P_a
        f_log = xp.where(rho > 0, rho * xp.log(xp.where(rho > 0, rho, 1.0)), f)
        w_sum = xp.sum(w, axis=-1)
        g_part = xp.sum(w * _psi_gap(xp, r_k, t[..., None]), axis=-1) / w_sum
        dt_plain = g_part - f / (LN2 * w_sum)
        dt = g_part - f_log / (LN2 * w_sum)
        # Near saturation (sup C_k) P_k(t) is so steep that the power residual cannot reach
        # rtol * P_a in float64; t itself has converged when its Newton step is at round-off on
        # both P - P_a and P ln(P / P_a) (one alone can vanish where the other does not)
        small = (xp.abs(dt_plain) <= 1e-14 * t) & (xp.abs(dt) <= 1e-14 * t)
        small = small & _absorbable(xp, f, sr * xs, w, 1e-13 * t)
        frozen = frozen | (rates_ok & small)
        if bool(xp.all(frozen)):
            return t, dh, dl, xr, xs, it, frozen
        # power far below the water level: P(t) is linear there (low power, or a rate plateau
        # where saturated subchannels hold the rate of a UE whose level is far above its power
        # and P ln(P / P_a) vanishes): Newton on P - P_a, a step in t itself
        plain = rho / w_sum < 1e-3
        t_new = xp.where(plain, t + dt_plain, _psi_step(xp, t, dt))
        t_new = xp.minimum(t_new, 0.5 * (t + t_hi))
        # a long step down from saturation: linear in tau = -ln(t_hi - t) (there P ~ 1 /
        # (t_hi - t), and dt = -ln(P / P_a) (t_hi - t) on P ln(P / P_a): exact)
        gap = t_hi - t
        p_over_slope = rho / (LN2 * w_sum)  # P / P'(t) ~ t_hi - t where P ~ 1 / (t_hi - t)
        down = (gap > 0) & (dt < -0.5 * gap) & xp.isfinite(gap)
        down = down & (p_over_slope >= 0.5 * gap) & (p_over_slope <= 2.0 * gap)
        with quiet_float_warnings(xp):
            tau = t_hi - gap * xp.exp(xp.minimum(-dt / xp.where(down, gap, 1.0), 700.0))
        t_new = xp.where(down, tau, t_new)
        inside = (t_new > lo_b * _BRACKET_LO) & (t_new < up_b * _BRACKET_HI)
        t_new = xp.where(inside | ~(lo_b < up_b), t_new, _psi_mid(xp, lo_b, up_b))
        # t pinned at sup C_k in float64 (saturation) with budget to spare: t cannot use it; the
        # rates are equal, and _finish gives the residual to the saturated UE
        frozen = frozen | (rates_ok & (t_new == t) & (t >= t_hi) & (f < 0))
        if bool(xp.all(frozen)):
            return t, dh, dl, xr, xs, it, frozen
        dh_new, dl_new, du_prev = _newton_offsets(pb, dh, dl, r_k, slope, t_new[..., None], du_prev)
        keep = frozen[..., None]
        dh, dl = xp.where(keep, dh, dh_new), xp.where(keep, dl, dl_new)
        t = xp.where(frozen, t, t_new)
    xr, r_k, slope, xs = _evaluate(pb, dh, dl)
    return t, dh, dl, xr, xs, it, frozen
