"""Each UE's least power for a key rate t: the inner problem of the max-min (P2), Eq. (52).

Per UE k, min sum_j x_j s.t. C_k >= t, x >= 0, with C_k the exact Eq. (42) of the near-field
paper, is convex; its KKT conditions are a per-UE water-filling on the exact derivative of
Eq. (42). The offset d_k of the water level reaching C_k = t is found by a bracketed Newton
iteration in log d_k (:func:`_solve_levels`), batched over targets in the array API namespace
of the input; for one design, UEs it leaves off their rate are solved segment by segment
(:func:`plkg.solvers.maxmin_exact.robust._least_power_segmentwise`). This exact mapping
t -> {x_{k,j}} replaces Eqs. (59)-(60) of the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plkg.solvers.maxmin_exact.arrays import quiet_float_warnings, to_numpy
from plkg.solvers.maxmin_exact.offsets import _evaluate, _highpower_offsets, _newton_offsets
from plkg.solvers.maxmin_exact.problem import (
    _U_MIN,
    _check_budgets,
    _prepare,
    _Problem,
    _raise_underflow,
    _sup_rate,
)
from plkg.solvers.maxmin_exact.robust import _least_power_segmentwise
from plkg.solvers.water_level import PowerDomainError


def _solve_levels(pb: _Problem, t_bits, dh, dl, rtol: float, max_iter: int):
    """Per UE, the offset with R_k = t: Newton in log d on the psi residual, bracketed.

    ``t_bits`` [...] > 0, ``(dh, dl)`` [..., K] start; rates to ``rtol * t``. The bracket (in
    log d) starts as [_U_MIN, cap_k] (every offset of the domain); a Newton step is clipped to 4
    nepers and replaced by bisection when it leaves the bracket (steps below 1e-10, which the
    bracket cannot resolve, are Newton's). Returns ``(dh, dl, xr, r_k, slope, xs, iterations,
    converged)``.
    """
    xp = pb.xp
    target = t_bits[..., None]
    tol = rtol * target
    lo = pb.cap * 0.0 + _U_MIN + 0.0 * target
    hi = pb.cap + 0.0 * target
    dh, dl = dh + 0.0 * target, dl + 0.0 * target
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007
        xr, r_k, slope, xs = _evaluate(pb, dh, dl)
        g = r_k - target
        done = xp.abs(g) <= tol
        if bool(xp.all(done)):
            return dh, dl, xr, r_k, slope, xs, iterations, True
        u = xp.log(dh)
        hi = xp.where(g > 0, xp.minimum(hi, u), hi)
        lo = xp.where(g < 0, xp.maximum(lo, u), lo)
        dh_new, dl_new, du = _newton_offsets(pb, dh, dl, r_k, slope, target, 0.0 * dh)
        u_new = xp.log(dh_new)
        ok = ((u_new > lo) & (u_new < hi)) | (xp.abs(du) <= 1e-10)
        mid = xp.exp(0.5 * (lo + hi))
        dh = xp.where(done, dh, xp.where(ok, dh_new, mid))
        dl = xp.where(done, dl, xp.where(ok, dl_new, 0.0))
    xr, r_k, slope, xs = _evaluate(pb, dh, dl)
    converged = bool(xp.all(xp.abs(r_k - target) <= 1e3 * tol))
    return dh, dl, xr, r_k, slope, xs, iterations, converged


def _patch_levels(pb: _Problem, t_bits, d, xr, r_k, xs, rtol: float, max_iter: int):
    """The UEs :func:`_solve_levels` left off their rate, solved by
    :func:`_least_power_segmentwise` (NumPy, one design). Returns ``(d, xr, r_k, xs, converged)``."""
    lay = pb.scalar
    d, xr, r_k, xs = (np.array(v, dtype=np.float64) for v in (d, xr, r_k, xs))
    t_b = np.broadcast_to(np.asarray(t_bits, dtype=np.float64)[..., None], r_k.shape)
    bad = ~(np.abs(r_k - t_b) <= rtol * t_b)
    converged = True
    for idx in zip(*np.nonzero(bad), strict=True):
        k = int(idx[-1])
        hi, e, xr_k, xs_k, rate, ok = _least_power_segmentwise(
            lay, k, float(t_b[idx]), rtol, max_iter
        )
        converged = converged and ok
        d[idx], xs[idx], r_k[idx] = hi + e, xs_k, rate
        xr[idx[:-1] + (lay.order[lay.bounds[k] : lay.bounds[k + 1]],)] = xr_k
    return d, xr, r_k, xs, converged


@dataclass(frozen=True)
class LeastPowerAllocation:
    """Each UE's least-power allocation reaching key rate t (exact C_k of Eq. (42)).

    Attributes
    ----------
    x_w : [..., N_D] float64, W
    power_w : [..., K] float64, W
        P_k(t) = sum_j x_{k,j}: least power of UE k for C_k = t.
    water_level_w : [..., K] float64, W
        w_k with c'_{k,j}(x_{k,j}) = 1 / (w_k ln 2) on the active subchannels.
    rate_bits : [..., K]
        C_k reached (= t up to the tolerance).
    status : str
        ``converged`` or ``max_iter``.
    iterations : int
    objective : float
        Total power sum_k P_k(t) of the first batch element (W).
    """

    x_w: object
    power_w: object
    water_level_w: object
    rate_bits: object
    status: str
    iterations: int
    objective: float


def least_power_allocation(
    t_bits, m_a, m_b, user, n_users: int, *, rtol: float = 1e-13, max_iter: int = 200
) -> LeastPowerAllocation:
    """Least-power allocation giving every UE the key rate ``t_bits`` (inner step of the max-min).

    Solves, per UE k, min sum_j x_{k,j} s.t. C_k >= t, x >= 0 with C_k the exact Eq. (42), by
    per-UE water-filling on the exact derivative (see :mod:`plkg.solvers.maxmin_exact`). This is
    the "exact mapping" t -> {x_{k,j}} that replaces Eqs. (59)-(60) of the near-field paper.

    Parameters
    ----------
    t_bits : float, ndarray or Tensor, shape [...], bits per probing round, >= 0
        Target key rate per UE.
    m_a, m_b : shape [N_D] (or [..., N_D] broadcastable with ``t_bits``), float64, W
        Constants of Eq. (42).
    user : shape [N_D], int
        Owner UE of each subchannel.
    n_users : int
        K.
    rtol : float
        Rate tolerance relative to t.
    max_iter : int

    Returns
    -------
    LeastPowerAllocation
        NumPy arrays for NumPy input, float64 tensors when ``t_bits`` is a tensor.

    Raises
    ------
    ValueError
        NaN or negative t, t at or above a UE's supremum rate sum_j log2(1 + 1/m_a), bad m.
    PowerDomainError
        The least power (as a budget P_a) lies outside
        :func:`plkg.solvers.water_level.check_power_domain`'s domain, or an m_b (1 + m_a) does.
    """
    pb = _prepare(m_a, m_b, user, n_users, like=t_bits)
    return _least_power(pb, t_bits, rtol, max_iter)


def _least_power(pb: _Problem, t_bits, rtol: float, max_iter: int) -> LeastPowerAllocation:
    """:func:`least_power_allocation` on a prepared problem (its namespace: that of ``t_bits``)."""
    xp = pb.xp
    t = pb.asarray(t_bits)
    t_np = to_numpy(t)
    if not np.all(np.isfinite(t_np)) or np.any(t_np < 0):
        raise ValueError("target key rate t must be finite and >= 0 bits")
    sup = _sup_rate(pb)
    if np.any(t_np[..., None] >= sup):
        raise ValueError(
            f"target key rate t exceeds the largest rate some UE can reach with unlimited power "
            f"(sup C_k = {np.min(sup):.6g} bits, Eq. (42) saturates at log2(1 + 1/m_a))"
        )
    pos = t > 0
    with quiet_float_warnings(xp):
        # t = 0 needs no power; any positive rate is iterated there and masked out below
        t_it = xp.where(pos, t, float(min(1.0, 0.5 * np.min(sup))))
        start = xp.exp(_highpower_offsets(pb, t_it))
        d, _, xr, r_k, _, xs, iters, conv = _solve_levels(
            pb, t_it, start, 0.0 * start, rtol, max_iter
        )
        if not conv and pb.scalar is not None:
            d, xr, r_k, xs, conv = _patch_levels(pb, t_it, d, xr, r_k, xs, rtol, max_iter)
        u = xp.log(d)
        pos_k = pos[..., None]
        x = xp.where(pb.to_sub(pos_k + 0 * u) > 0, xr * pb.sc, 0.0)
        power = xp.where(pos_k, pb.s_ue * xs, 0.0)
        level = pb.s_ue * (1.0 + xp.where(pos_k, d, 0.0))
        r_k = xp.where(pos_k, r_k, 0.0)
    t_max = float(np.max(t_np))
    if not all(bool(xp.all(xp.isfinite(v))) for v in (x, power, level, r_k)):
        raise PowerDomainError(
            f"target key rate t = {t_max:.6g} bits: its least power leaves float64 "
            "(docs/assumptions.md, solvable power domain)"
        )
    total = to_numpy(xp.sum(power, axis=-1))
    stuck = to_numpy((u >= pb.cap - 1e-9) & (r_k < t_it[..., None]) & pos_k)
    if not conv and stuck.any():
        raise PowerDomainError(
            f"target key rate t = {t_max:.6g} bits needs a water level above the largest "
            "the exact solver handles in float64 (docs/assumptions.md, solvable power domain)"
        )
    try:
        _check_budgets(pb, total)
    except PowerDomainError as err:
        raise PowerDomainError(
            f"target key rate t = {t_max:.6g} bits needs a power outside the solvable domain: {err}"
        ) from None
    _raise_underflow(total, np.where(to_numpy(pos_k), to_numpy(power), 1.0), to_numpy(pb.s_ue))
    return LeastPowerAllocation(
        x_w=x,
        power_w=power,
        water_level_w=level,
        rate_bits=r_k,
        status="converged" if conv else "max_iter",
        iterations=iters,
        objective=float(np.ravel(total)[0]),
    )
