"""Each UE's allocation at a level offset, and the safeguarded Newton step of the offsets.

For UE k at offset d_k (level w_k = s_k (1 + d_k)) the KKT conditions of the least-power
problem give, per subchannel, x_j / s_k = (d_k - delta_j)^+ / (1/2 + m_a + r_j) with
r_j = sqrt(1/4 + q_j (1 + d_k)) (the per-UE water-filling on c_j'(x) = 1 / (w ln 2), Eq. (46)'s
denominator), and the rate R_k = sum_j c_j of Eq. (42). :func:`_newton_offsets` (arrays) and
:func:`_newton_offsets_scalar` (one budget, Python floats) move every d_k towards a target rate;
:func:`_highpower_offsets` starts them from the high-power approximation, Eq. (57).
"""

from __future__ import annotations

import math
from bisect import bisect_right

from plkg.solvers.maxmin_exact.arrays import quiet_float_warnings
from plkg.solvers.maxmin_exact.problem import _D_MIN, _U_MIN, _Problem, _ScalarLayout
from plkg.solvers.maxmin_exact.residuals import (
    _LINEAR_BITS,
    _TWO_LN2,
    LN2,
    _log_offset,
    _psi_gap,
    _psi_gap_scalar,
)

_MAX_LOG_STEP = 4.0  # largest Newton step down in log d (nepers) per iteration
_MAX_UP_STEP = 50.0  # largest step up (between activation levels, see _newton_offsets)
_NEAR_ACTIVATION = 1e-3  # d - delta_top below this times d: Newton in d (see _newton_offsets)
_DOWN_FACTOR = math.expm1(-_MAX_LOG_STEP)
_UP_FACTOR = math.expm1(_MAX_UP_STEP)


def _evaluate(pb: _Problem, dh, dl):
    """Everything the iterations need at per-UE offsets d_k = dh + dl [..., K].

    The offset is carried as an unevaluated sum (a double-double): where the level sits within
    round-off above a subchannel's activation level b_j >> s_k (a UE whose lowest subchannel
    saturates), ``(dh - delta_j) + dl`` still has full relative precision. Returns
    ``(xr, r_k, slope, xs)``: x_j / s_k [..., N_D], R_k (bits), dR_k/d(log d_k) and the
    normalised power sum_{j in k} x_j / s_k, all [..., K] but xr.
    """
    num, r, xr, rate = _subchannel_terms(pb, dh, dl)
    # the slope is one-sided from above at an activation level (num = 0: see _newton_offsets)
    slope = dh / (1.0 + dh) * pb.per_user(pb.xp.where(num >= 0, 0.5 / r, 0.0)) / LN2
    return xr, pb.per_user(rate), slope, pb.per_user(xr)


def _subchannel_terms(pb: _Problem, dh, dl):
    """Per subchannel [..., N_D] at offsets d_k = dh + dl [..., K]: (d - delta_j, r_j, x_j / s_k,
    c_j in bits), with r_j = sqrt(1/4 + q_j (1 + d)) (so dx_j/dd = 1/(2 r_j) where active)."""
    xp = pb.xp
    ds = pb.to_sub(dh)
    num = (ds - pb.delta) + pb.to_sub(dl)
    r = xp.sqrt(pb.q * ds + pb.q25)
    xr = xp.where(num > 0, num / (pb.hs + r), 0.0)
    rate = xp.log1p(xr / (xr * pb.m_a + pb.bn)) / LN2
    return num, r, xr, rate


def _activation_neighbours(pb: _Problem, dh):
    """Per UE [..., K]: the highest activation offset delta_j <= d (the top active subchannel's),
    the lowest one above d (inf if none) and the plateau sum_{active j} sup_j (inf if an active
    m_a is 0): the rate R_k approaches while the level stays below the next activation."""
    xp = pb.xp
    if pb.act_table is not None:
        # one design: count the activation offsets <= d (delta_j = 0 always is) and look up
        flat_delta, flat_plateau, base, table = pb.act_table
        count = xp.count_nonzero(table <= dh[..., None], axis=-1) + base
        return flat_delta[count - 1], flat_delta[count], flat_plateau[count - 1]
    below, above, plateau = [], [], []
    for ds, sup in zip(pb.delta_sorted, pb.sup_sorted, strict=True):
        k = len(below)
        dk = dh[..., k : k + 1]
        ds = ds + 0.0 * dk
        on = ds <= dk
        below.append(xp.max(xp.where(on, ds, 0.0), axis=-1))
        above.append(xp.min(xp.where(on, math.inf, ds), axis=-1))
        plateau.append(xp.sum(xp.where(on, sup + 0.0 * dk, 0.0), axis=-1))
    return xp.stack(below, axis=-1), xp.stack(above, axis=-1), xp.stack(plateau, axis=-1)


def _reverses(xp, du, du_prev):
    """Steps that undo at least half of a previous step of 0.01 nepers or more: a 2-cycle across
    a kink of R_k (an activation level above a saturated subchannel) in the making."""
    return (du * du_prev < 0) & (xp.abs(du) >= 0.5 * xp.abs(du_prev)) & (xp.abs(du_prev) >= 1e-2)


def _newton_offsets(pb: _Problem, dh, dl, r_k, slope, target, du_prev):
    """One safeguarded Newton step of every UE's offset towards the rate ``target``.

    ``(dh, dl)`` [..., K] is the offset d_k = dh + dl (see :func:`_evaluate`), ``r_k`` and
    ``slope`` = dR_k/d(log d) its rate and slope, ``target`` [..., K] or [..., 1], ``du_prev``
    the previous steps (log d). Returns ``(dh, dl, du)``.

    * Far above the top active activation level delta_top (d - delta_top > 1e-3 d): Newton in
      log d on the psi residual (:func:`_psi_gap`), or on log(P - R_k) where the rate saturates
      towards the plateau P of its active subchannels (:func:`_activation_neighbours`), up to
      50 nepers; a step down of 4 or more after a step up, or one that reverses the previous
      one by half or more, goes halfway back instead (a kink would 2-cycle); a step up beyond
      4 nepers (any, for a saturating UE) that passes the next activation level *snaps* to it.
    * Near delta_top: R_k is linear in d - delta_top, so Newton in d on R_k - t (at most 4 nepers
      down; a step up that passes the next activation level snaps to it). At a snapped level the
      slope is the one-sided one from above (:func:`_evaluate`), so the next step is exact even
      where the level sits within round-off above delta_j (a UE whose lower subchannels
      saturate: R_k is flat up to its next activation level, and steep right above it).

    A step below 1e-6 d is added exactly (two-sum into dl); a longer one drops dl. The offsets
    stay within [e^_U_MIN, e^cap_k].
    """
    xp = pb.xp
    below, above, plateau = _activation_neighbours(pb, dh)
    near = (dh - below) + dl <= _NEAR_ACTIVATION * dh
    safe = xp.where(slope > 0, slope, 1.0)
    du = -_psi_gap(xp, r_k, target) / safe
    # saturating below the plateau P: R_k = P - c d^-a to leading order (recognised by R_k within
    # 5 % of P and its slope, dR_k/d(log d) = a (P - R_k), a within 0.2..20), so Newton on
    # log(P - R_k) (exact there; on R_k it would gain 1/a neper per step)
    left, room = plateau - r_k, plateau - target
    sat = (left > 0) & (left <= 0.05 * plateau) & (room > 0)
    sat = sat & (slope >= 0.2 * left) & (slope <= 20.0 * left)
    with quiet_float_warnings(xp):
        du_sat = xp.log(xp.where(sat, left / room, 1.0)) * xp.where(sat, left, 0.0) / safe
    du = xp.where(sat, du_sat, du)
    # at or above the plateau the rate is reached only past the next activation level: go there
    du = xp.where((room <= 0) & (r_k < target) & xp.isfinite(above), _MAX_UP_STEP, du)
    back = ((du <= -_MAX_LOG_STEP) & (du_prev > 0)) | _reverses(xp, du, du_prev)
    # (down at most 4 nepers, 50 on the saturation model, which is exact for R = P - c d^-a)
    floor = xp.where(sat, -_MAX_UP_STEP, xp.full_like(du, -_MAX_LOG_STEP))
    du = xp.where(back, -0.5 * du_prev, xp.minimum(xp.maximum(du, floor), _MAX_UP_STEP))
    lin = xp.maximum(-(r_k - target) * dh / safe, dh * _DOWN_FACTOR)
    lin = xp.minimum(lin, dh * _UP_FACTOR)
    step = xp.where(near, lin, dh * xp.expm1(du))
    # a rate that underflows (R_k = 0, slope 0): the longest step up
    flat = ~(slope > 0)
    du = xp.where(flat, _MAX_UP_STEP, du)
    step = xp.where(flat, dh * _UP_FACTOR, step)
    # up beyond 4 nepers: within the segment up to 50; past the next activation level: to it
    with quiet_float_warnings(xp):
        far = xp.log(above / dh)
    # (a saturated UE, R_k within 0.1 % of its plateau, snaps to any activation level its step
    # would pass: R_k jumps there)
    up = ((du > _MAX_LOG_STEP) | ((left <= 1e-3 * plateau) & (du > 0))) & ~near
    snap = (up & (du >= far)) | (near & (dh + step >= above))
    with quiet_float_warnings(xp):
        du = xp.where(snap, far, xp.log1p(step / dh))
    # (dh, dl) + step: exact (two-sum) for a small step
    s = dh + step
    bb = s - dh
    lo = dl + ((dh - (s - bb)) + (step - bb))
    hi = s + lo
    fine = xp.abs(step) <= 1e-6 * dh
    lo = xp.where(fine, lo - (hi - s), 0.0)
    hi = xp.where(fine, hi, s)
    hi, lo = xp.where(snap, above, hi), xp.where(snap, 0.0, lo)
    d_max = xp.exp(pb.cap)
    clipped = (hi < _D_MIN) | (hi > d_max)
    return xp.minimum(xp.maximum(hi, _D_MIN), d_max), xp.where(clipped, 0.0, lo), du


def _allocation_at_levels(pb: _Problem, log_w):
    """x_j(w) (W), c_j(x_j) (bits) and dx_j/dw for per-UE levels log w [..., K]; all [..., N_D]."""
    xp = pb.xp
    with quiet_float_warnings(xp):
        d = xp.maximum(xp.expm1(log_w - pb.log_b_min), 0.0)
        _, r, xr, rate = _subchannel_terms(pb, d, 0.0 * d)
    return xr * pb.sc, rate, xp.where(xr > 0, 0.5 / r, 0.0)


def _highpower_offsets(pb: _Problem, t_bits):
    """log d_k reaching rate t on the approximation (57) with x >= 0 (per-UE water-filling).

    On (57) with b in place of m_b, the n best subchannels active: R_k = sum_{i<n} log2(w / b_i),
    so log(w / s_k) = (t ln 2 + sum_{i<n} ell_i) / n with ell_i = log(b_i / s_k); the right n is
    the largest with log(w / s_k) > ell_{n-1}; d_k = expm1(log(w / s_k)). (57) overestimates the
    rate at a given level. Where (57) has one subchannel on, that subchannel alone has R_k =
    d / ((1 + 2 m_a) ln 2) to first order (x / s = d / (1 + 2 m_a) there), which (57) misses
    where m_a is large: the start is the larger of the two offsets. ``t_bits`` [...] -> [..., K].
    """
    xp = pb.xp
    out, single = [], []
    for ell in pb.ell_sorted:
        n = xp.arange(1, ell.shape[-1] + 1, dtype=xp.float64, device=pb.device)
        cand = (t_bits[..., None] * LN2 + xp.cumulative_sum(ell, axis=-1)) / n  # [..., D_k]
        n_act = xp.maximum(xp.count_nonzero(cand > ell, axis=-1), 1)
        idx = (n_act - 1)[..., None]
        cand = xp.broadcast_to(cand, idx.shape[:-1] + cand.shape[-1:])
        out.append(xp.take_along_axis(cand, idx, axis=-1)[..., 0])
        single.append(n_act == 1)
    level, single = xp.stack(out, axis=-1), xp.stack(single, axis=-1)
    with quiet_float_warnings(xp):
        # the lowest subchannel alone: R_k = d / ((1 + 2 m_a) ln 2) to first order
        low = xp.log(t_bits[..., None] * LN2) + xp.log1p(2.0 * pb.a_low)
        u = _log_offset(xp, level)
        return xp.minimum(xp.maximum(xp.where(single, xp.maximum(u, low), u), _U_MIN), pb.cap)


def _newton_offsets_scalar(lay: _ScalarLayout, d, dl, r_k, slope, t, du_prev):
    """:func:`_newton_offsets` on Python lists (one budget), in place on ``d`` and ``dl``.

    Returns ``(du, fine)``, ``fine`` True when some dl is nonzero.
    """
    du, fine = [], False
    linear = t >= _LINEAR_BITS
    for k in range(len(d)):
        dk, lk, rk, sk = d[k], dl[k], r_k[k], slope[k]
        deltas = lay.delta_sorted[k]
        n = bisect_right(deltas, dk)  # top active: deltas[n - 1]; next: deltas[n]
        snap = False
        if sk <= 0.0:  # a rate that underflows: the longest step up
            v = _MAX_UP_STEP
            step = dk * _UP_FACTOR
            snap = n < len(deltas) and dk + step >= deltas[n]
        elif n and (dk - deltas[n - 1]) + lk <= _NEAR_ACTIVATION * dk:
            # near the top active activation level: Newton in d on R - t
            step = -(rk - t) * dk / sk
            step = dk * _DOWN_FACTOR if step < dk * _DOWN_FACTOR else min(step, dk * _UP_FACTOR)
            snap = step > 0.0 and n < len(deltas) and dk + step >= deltas[n]
            v = math.log1p(step / dk)
        else:  # Newton in log d on the psi residual, or on log(P - R) below a plateau
            top = lay.plateau[k][n - 1]
            floor = -_MAX_LOG_STEP
            left = top - rk
            if 0.0 < left <= 0.05 * top and t < top and 0.2 * left <= sk <= 20.0 * left:
                v = math.log(left / (top - t)) * left / sk
                floor = -_MAX_UP_STEP  # (exact for R = P - c d^-a: long steps down too)
            elif rk < t and top <= t and n < len(deltas):
                v = _MAX_UP_STEP  # reached only past the next activation level: go there
            else:
                v = (t - rk if linear and rk >= _LINEAR_BITS else -_psi_gap_scalar(rk, t)) / sk
            p = du_prev[k]
            if (v <= -_MAX_LOG_STEP and p > 0.0) or (
                v * p < 0.0 and abs(v) >= 0.5 * abs(p) and abs(p) >= 1e-2
            ):
                v = -0.5 * p  # halfway back (see _newton_offsets)
            elif v <= floor:
                v = floor
            elif v > _MAX_LOG_STEP or (v > 0.0 and left <= 1e-3 * top):
                # within the segment up to 50 nepers; past the next activation level: to it (a
                # saturated UE, R_k within 0.1 % of its plateau, for any step: R_k jumps there)
                far = math.log(deltas[n] / dk) if n < len(deltas) else math.inf
                if v < far:
                    v = min(v, _MAX_UP_STEP)
                else:
                    snap, v = True, far
            step = dk * math.expm1(v)
        if snap:  # exactly at the next activation level (one-sided slope from there)
            h, lk = deltas[n], 0.0
            v = math.log(h / dk)
        elif -1e-6 * dk <= step <= 1e-6 * dk:  # exact: two-sum into the low part
            h = dk + step
            bb = h - dk
            lk += (dk - (h - bb)) + (step - bb)
            s_ = h
            h = s_ + lk
            lk -= h - s_
            fine = fine or lk != 0.0
        else:
            h, lk = dk + step, 0.0
        if not _D_MIN <= h <= lay.d_max[k]:
            h, lk = min(max(h, _D_MIN), lay.d_max[k]), 0.0
        d[k], dl[k] = h, lk
        du.append(v)
    return du, fine


def _slopes(d, inv_r) -> list:
    """dR_k/d(log d_k) = d / (1 + d) sum_j dx_r/dd / ln 2, with dx_r/dd = 1 / (2 r_j) (lists)."""
    return [dk / (1.0 + dk) * v / _TWO_LN2 for dk, v in zip(d, inv_r, strict=True)]
