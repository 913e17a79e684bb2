"""The guaranteed fallback for one budget: Newton-bisection on t, each UE solved segment-wise.

F(t) = sum_k P_k(t) - P_a, with P_k(t) the least power of UE k for C_k = t (Eq. (42)), is
increasing and convex, and t* of (P2), Eq. (52) of the near-field paper, is its root (the KKT
conditions (54)-(56): every C_k = t*, the budget used exactly). :func:`_robust_scalar` brackets
it and takes Newton steps kept inside the bracket; :func:`_least_power_segmentwise` finds each
P_k(t) segment by segment between activation levels. Used where the joint iteration does not
converge (extreme saturation), so that non-convergence is an error, never a returned status.
"""

from __future__ import annotations

import math

import numpy as np

from plkg.solvers.maxmin_exact.bounds import _lower_bound_scalar, _upper_bound_scalar
from plkg.solvers.maxmin_exact.offsets import _MAX_LOG_STEP, _MAX_UP_STEP
from plkg.solvers.maxmin_exact.problem import _Problem, _ScalarLayout
from plkg.solvers.maxmin_exact.residuals import LN2, _psi_gap_scalar, _psi_mid_scalar

_EPS = float(np.finfo(np.float64).eps)


def _ue_state(lay: _ScalarLayout, k: int, hi: float, lo: float):
    """UE k at offset d = hi + lo (one budget): rate (bits), dR/dd, x_j / s_k and their sum."""
    sl = slice(lay.bounds[k], lay.bounds[k + 1])
    num = (hi - lay.delta[sl]) + lo
    r = np.sqrt(lay.q[sl] * (hi + lo) + lay.q25[sl])
    xr = np.where(num > 0, num, 0.0) / (lay.hs[sl] + r)
    rate = float(np.log1p(xr / (xr * lay.m_a[sl] + lay.bn[sl])).sum()) / LN2
    slope = float(np.where(num >= 0, 0.5 / r, 0.0).sum()) / ((1.0 + hi + lo) * LN2)
    return rate, slope, xr, float(xr.sum())


def _least_power_segmentwise(lay: _ScalarLayout, k: int, t: float, rtol: float, max_iter: int):
    """UE k's least-power offset for rate t, robustly: ``(hi, lo, xr, xs, rate, ok)``.

    The rate at the activation levels delta_j picks the segment [delta_n, delta_{n+1}) holding
    the offset; there d = delta_n + e with e >= 0 carried apart (no cancellation however close
    the level is to delta_n). R_k is concave and increasing in e, so the tangent step from
    e = 0 (one-sided slope) lands left of the root; from there Newton in log e on the psi
    residual of R_k - R_k(delta_n) (or on log(P - R_k) where the rate saturates towards the
    plateau P of the active subchannels), kept inside a bracket that is bisected otherwise.
    """
    deltas = lay.delta_sorted[k]
    n, r0 = 0, 0.0
    for j in range(1, len(deltas)):
        if deltas[j] > lay.d_max[k]:  # (beyond the domain: never reached)
            break
        if deltas[j] > deltas[n]:
            rate_j = _ue_state(lay, k, deltas[j], 0.0)[0]
            if rate_j > t:
                break
            n, r0 = j, rate_j
    while n + 1 < len(deltas) and deltas[n + 1] == deltas[n]:
        n += 1
    hi = deltas[n]
    top = lay.plateau[k][n]  # sup of the active subchannels (inf with an m_a = 0)
    end = deltas[n + 1] - hi if n + 1 < len(deltas) else math.inf
    lo_e, hi_e = 0.0, min(end, lay.d_max[k])
    # (rates to round-off, not to rtol: where the level is far above the power, as on a rate
    # plateau, dP_k/dR_k = ln 2 w_k turns a rate error of rtol into a large power error)
    tol = 8.0 * _EPS * t
    rate, slope, xr, xs = _ue_state(lay, k, hi, 0.0)
    if abs(rate - t) <= tol:  # (at the activation level itself)
        return hi, 0.0, xr, xs, rate, True
    if end > lay.d_max[k] and (t >= top or _ue_state(lay, k, hi, lay.d_max[k] - hi)[0] < t):
        # beyond the rate at the largest offset of the domain: no least power within it
        return hi, math.inf, xr, math.inf, top, True
    e = (t - rate) / slope if slope > 0.0 else hi_e * 1e-3
    for _ in range(max_iter):
        if not lo_e < e < hi_e:
            e = math.sqrt(lo_e) * math.sqrt(hi_e) if lo_e > 0.0 else hi_e * 1e-3
        rate, slope, xr, xs = _ue_state(lay, k, hi, e)
        g = rate - t
        if abs(g) <= tol:
            return hi, e, xr, xs, rate, True
        if g < 0.0:
            lo_e = e
        else:
            hi_e = e
        sv = slope * e  # dR/d(log e)
        if sv <= 0.0:
            du = _MAX_LOG_STEP
        elif (
            0.0 < top - rate <= 0.05 * top
            and t < top
            and 0.2 * (top - rate) <= sv <= 20.0 * (top - rate)
        ):
            du = math.log((top - rate) / (top - t)) * (top - rate) / sv
        else:
            du = -_psi_gap_scalar(rate - r0, t - r0) / sv if t > r0 else -g / sv
        e_new = e * math.exp(min(max(du, -_MAX_UP_STEP), _MAX_UP_STEP))
        if not lo_e < e_new < hi_e:  # bisection in log e (or a long step while unbounded)
            e_new = (
                math.sqrt(lo_e) * math.sqrt(hi_e)
                if 0.0 < lo_e and hi_e < math.inf
                else (e * math.exp(_MAX_LOG_STEP) if hi_e == math.inf else 0.5 * (lo_e + hi_e))
            )
        if e_new == e:  # (round-off: the root is here)
            break
        e = e_new
    rate, _, xr, xs = _ue_state(lay, k, hi, e)
    return hi, e, xr, xs, rate, abs(rate - t) <= 1e3 * rtol * t


def _robust_scalar(pb: _Problem, pa: float, rtol: float, max_iter: int, max_inner_iter: int):
    """(P2) for one budget without the joint iteration's shortcuts (its fallback).

    F(t) = sum_k P_k(t) - P_a is increasing and convex; t* is bracketed by a feasible lower bound
    and an upper bound (:func:`_lower_bound_scalar`, :func:`_upper_bound_scalar`). Newton steps
    on F (from the right they approach t* monotonically) are kept inside the bracket, which is
    bisected in psi otherwise; each P_k(t) is :func:`_least_power_segmentwise`. Where F jumps by
    more than rtol P_a between adjacent floats (a UE whose rate is locked by saturated
    subchannels), the iteration stops at the bracket's lower end, and the residual budget is
    placed by :func:`_finish_scalar`. Returns the arguments of :func:`_finish_scalar` and ok.
    """
    lay = pb.scalar
    # (a few ulps down: the feasible bound rounds, and t* may sit within round-off of it)
    lo, hi = _lower_bound_scalar(lay, pa) * (1.0 - 8.0 * _EPS), _upper_bound_scalar(lay, pa)
    t = hi
    best = None
    for it in range(1, max_iter + 1):
        sols = [
            _least_power_segmentwise(lay, k, t, rtol, max_inner_iter) for k in range(len(lay.s))
        ]
        if not all(s[-1] for s in sols):
            return None
        p_k = [si * s[3] for si, s in zip(lay.s, sols, strict=True)]
        f = sum(p_k) - pa
        state = (
            t,
            [s[0] + s[1] for s in sols],
            np.concatenate([s[2] for s in sols]),
            p_k,
            [s[4] for s in sols],
            it,
        )
        if abs(f) <= rtol * pa:
            return state
        if f < 0:
            lo, best = t, state
        else:
            hi = t
        w = sum([si * (1.0 + s[0] + s[1]) for si, s in zip(lay.s, sols, strict=True)])
        t_new = t - f / (LN2 * w)
        if not lo < t_new < hi:
            t_new = _psi_mid_scalar(lo, hi) if lo > 0.0 else 0.5 * hi
        if t_new == t or hi - lo <= 4.0 * _EPS * hi or not lo < t_new < hi:
            # t at float64 resolution: the budget residual goes to a UE that can absorb it
            if best is None:
                sols = [
                    _least_power_segmentwise(lay, k, lo, rtol, max_inner_iter)
                    for k in range(len(lay.s))
                ]
                p_k = [si * s[3] for si, s in zip(lay.s, sols, strict=True)]
                best = (
                    lo,
                    [s[0] + s[1] for s in sols],
                    np.concatenate([s[2] for s in sols]),
                    p_k,
                    [s[4] for s in sols],
                    it,
                )
            return best
        t = t_new
    return None
