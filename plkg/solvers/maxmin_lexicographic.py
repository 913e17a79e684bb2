"""Canonical max-min optimum: max-min key rate first, then the sum key rate (lexicographic).

Problem (P2) of the near-field paper (Eq. (52); (P3), Eq. (53), with the slack t) fixes the
minimum key rate t* = max_x min_k C_k, not the allocation: every allocation that keeps
C_k >= t* for every UE within the budget is optimal for (P2). This module defines the one
allocation every max-min method reports (``exact-maxmin``, ``cvxpakf``, the reference
allocations of the fairness paths):

    stage 1:  t* = max_x min_k C_k(x)               s.t. sum x <= P_a, x >= 0   (Eq. (52))
    stage 2:  max_x sum_k C_k(x)  s.t. C_k(x) >= t* for every k, sum x <= P_a, x >= 0

with C_k the exact Eq. (42). Stage 2 is concave. Its KKT conditions are a water-filling with
per-UE floors: with F_k the floor level of UE k (the water level of its least-power allocation
reaching t*, :func:`plkg.solvers.maxmin_exact.least_power_allocation`) and a common level w_c,
every UE is filled to the level

    W_k = max(w_c, F_k),    c'_{k,j}(x_{k,j}) = 1 / (W_k ln 2) where b_{k,j} < W_k, else x = 0,

and w_c is set so that the budget is spent (sum_k P_k(W_k) = P_a). UEs with F_k >= w_c sit at
C_k = t*; the others get more.

How t* enters stage 2 (the numerical definition)
------------------------------------------------
* t* is the exact max-min value of :func:`plkg.solvers.maxmin_exact.solve_maxmin` (relative
  accuracy about 1e-12); the floor is t* itself, not t* minus a tolerance.
* The slack S = P_a - sum_k P_k(t*) (P_k(t*) the least power of UE k for rate t*) is zero in
  exact arithmetic whenever every UE has a subchannel: C_k is strictly increasing in P_k and never
  reaches its supremum, so every UE binds and the optimum of (P2) is unique. In float64, t* is
  known to a relative accuracy rho, and sum_k P_k(t) moves by ln 2 sum_k F_k rho t* within it
  (dP_k/dt = ln 2 F_k). A slack below that resolution,

      S <= S_res = ln 2 (sum_k F_k) T_RTOL t*,   T_RTOL = 1e-10,

  is round-off of t* (measured: ``abs(S) < 8e-12 P_a``, at least 60 times below S_res, on the Fig. 6
  design and random 3-UE / 4-UE N = 128 designs at -10..30 dBm; S_res >= T_RTOL P_a because
  P_k(t) is convex with P_k(0) = 0), and the stage-1 allocation (every UE at t*, budget spent) is
  returned unchanged (``stage2 = "binding"``). Each UE's stage-1 allocation is its least-power
  allocation for its own rate C_k >= t*, so S = ln 2 sum_k w_k (C_k - t*) to first order; only
  when that estimate exceeds S_res / 2 are the floors P_k(t*) solved for.
* A slack above S_res is spent by the common level (``stage2 = "water-filled"``). For the exact t*
  this does not happen (t* could otherwise be raised). It does for a max-min rate that is not the
  optimum -- a t predicted by a fairness FNN or interpolated from a table, whose least-power
  allocation leaves part of the budget (:func:`spend_slack`, opt-in there: a shortfall of 1e-6
  relative at 25 dBm frees enough power to raise the sum KR of Fig. 6 from 511 to ~895 bits).

Why this matters: the unique optimum is very ill-conditioned at high P_a. A UE near its plateau
has a tiny rate slope 1 / (w_k ln 2), so moving 1e-7 P_a from it to a strong UE lowers its rate by
~1e-10 bits and raises the strong UE's by bits. A generic conic solver, stopped at a tolerance of
~1e-9 on t, lands on such a point: the same min KR, a larger sum KR that changes from run to
run (Fig. 6 at 25 dBm: +0.5 to +1.8 bits; a random 3-UE N = 128 design: +5.2 bits). The
canonical optimum removes that dependence on the solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from plkg.errors import SolverError
from plkg.solvers.allocation import AllocationResult
from plkg.solvers.equal_power import check_power_budget
from plkg.solvers.maxmin_exact import ExactMaxMin, MaxMinSolution
from plkg.solvers.options import check_max_iter, check_rtol

LN2 = math.log(2.0)
# Relative accuracy of t* below which a stage-2 slack counts as round-off (see the module doc).
T_RTOL = 1e-10
_BISECT_ITER = 200


@dataclass(frozen=True)
class LexicographicMaxMin:
    """The canonical max-min optimum for one budget.

    Attributes
    ----------
    x_w : ndarray [N_D] float64, W
        Allocation; sum x = P_a (to round-off), C_k >= t* for every UE.
    pa_w : float, W
    t_bits : float
        Stage-1 max-min key rate t* (bits per probing round).
    rate_bits : ndarray [K]
        C_k of Eq. (42) at ``x_w``.
    min_kr_bits, sum_kr_bits : float
        min_k C_k and sum_k C_k at ``x_w`` (bits).
    floor_level_w : ndarray [K], W
        F_k: water level of UE k's least-power allocation for t*.
    common_level_w : float, W
        w_c of stage 2 (NaN when the slack is round-off and every UE binds).
    slack_w : float, W
        S = P_a - sum_k P_k(t*) (its first-order estimate ln 2 sum_k w_k (C_k - t*) from the
        stage-1 solution where that is below half the resolution S_res).
    stage2 : str
        ``"binding"`` (S <= S_res: the stage-1 allocation, unique optimum) or
        ``"water-filled"`` (S spent by the common level).
    iterations : int
        Stage-1 iterations.
    """

    x_w: np.ndarray
    pa_w: float
    t_bits: float
    rate_bits: np.ndarray
    min_kr_bits: float
    sum_kr_bits: float
    floor_level_w: np.ndarray
    common_level_w: float
    slack_w: float
    stage2: str
    iterations: int = 0

    def summary(self) -> dict:
        """JSON-ready values for ``AllocationResult.extras``."""
        return {
            "optimum": "lexicographic",
            "min_kr_bits": float(self.min_kr_bits),
            "sum_kr_bits": float(self.sum_kr_bits),
            "stage2": self.stage2,
            "slack_w": float(self.slack_w),
        }


def level_allocation(level_w, m_a, b):
    """x_j(W) of a water level W on the exact Eq. (42): c'_j(x_j) = 1 / (W ln 2), x_j >= 0.

    With b = m_b (1 + m_a), (x m_a + b)(x (1 + m_a) + b) = W b; the root is written without
    cancellation as 2 (W - b) / (1 + 2 m_a + sqrt(1 + 4 m_a (1 + m_a) W / b)).

    Parameters
    ----------
    level_w : float or ndarray broadcastable with ``m_a``, W
    m_a, b : ndarray [n], W
    """
    excess = level_w - b
    with np.errstate(invalid="ignore", over="ignore"):
        x = (
            2.0
            * excess
            / (1.0 + 2.0 * m_a + np.sqrt(1.0 + 4.0 * m_a * (1.0 + m_a) * (level_w / b)))
        )
    return np.where(excess > 0, x, 0.0)


def implied_level(x_w, m_a, m_b):
    """The water level W at which x_j is optimal: (x m_a + b)(x (1 + m_a) + b) / b, W."""
    b = m_b * (1.0 + m_a)
    return (x_w * m_a + b) * (x_w * (1.0 + m_a) + b) / b


def _rates(x, m_a, m_b, user, n_users):
    from plkg.keyrate.subchannel import user_key_rates_bits

    return np.asarray(user_key_rates_bits(x, m_a, m_b, user, n_users), dtype=np.float64)


def floored_water_filling(
    m_a, m_b, user, n_users: int, pa_w: float, floor_x_w, floor_level_w
) -> tuple[np.ndarray, float]:
    """Stage 2 for a positive slack: x with per-UE levels max(w_c, F_k) spending ``pa_w``.

    Parameters
    ----------
    m_a, m_b : ndarray [N_D], W; user : ndarray [N_D] int; n_users : int
    pa_w : float, W
    floor_x_w : ndarray [N_D], W
        Each UE's least-power allocation for the floor rate (sum < ``pa_w``).
    floor_level_w : ndarray [K], W
        Its water levels F_k.

    Returns
    -------
    (x_w [N_D], w_c)
        UEs with F_k >= w_c keep ``floor_x_w``; the others are filled to w_c; sum x = P_a.
    """
    m_a, m_b = np.asarray(m_a, float), np.asarray(m_b, float)
    user = np.asarray(user)
    floor_x = np.asarray(floor_x_w, float)
    floors = np.asarray(floor_level_w, float)
    b = m_b * (1.0 + m_a)
    floor_sub = floors[user]
    slack = pa_w - float(floor_x.sum())

    def filled(level):
        raised = floor_sub < level
        x = np.where(raised, np.maximum(level_allocation(level, m_a, b), floor_x), floor_x)
        return x, raised

    def extra(level):
        x, _ = filled(level)
        return float((x - floor_x).sum())

    lo = float(floors.min())
    hi = max(lo, float(b.min())) * 2.0 + pa_w
    while extra(hi) < slack:
        hi *= 2.0
        if not math.isfinite(hi):
            raise SolverError(f"canonical max-min: no common water level spends P_a = {pa_w:.6g} W")
    # bisection in log W: extra(W) is increasing, continuous
    llo, lhi = math.log(lo), math.log(hi)
    for _ in range(_BISECT_ITER):
        mid = 0.5 * (llo + lhi)
        if extra(math.exp(mid)) < slack:
            llo = mid
        else:
            lhi = mid
        if lhi - llo <= 4e-16 * max(1.0, abs(lhi)):
            break
    level = math.exp(lhi)
    x, raised = filled(level)
    # the last round-off of the budget goes to the raised UEs, in proportion to their power
    residual = pa_w - float(x.sum())
    p_raised = float(x[raised].sum())
    if p_raised > 0:
        x = np.where(raised, x * (1.0 + residual / p_raised), x)
    return x, level


def canonical_from_maxmin(
    solver: ExactMaxMin, pa_w: float, sol: MaxMinSolution, *, t_rtol: float = T_RTOL
) -> LexicographicMaxMin:
    """Stage 2 on top of a stage-1 exact max-min solution ``sol`` (one budget, NumPy).

    Parameters
    ----------
    solver : ExactMaxMin
        The exact solver for these constants (its least-power machinery gives the floors).
    pa_w : float, W, > 0
    sol : MaxMinSolution
        ``solver.solve(pa_w)`` (or :class:`plkg.solvers.maxmin_bound.BoundMaxMin`'s), scalar.
    t_rtol : float
        Relative accuracy of t* that sets the slack resolution S_res (module docstring).
    """
    m_a, m_b, user, n_users = solver._args
    m_a, m_b, user = np.asarray(m_a, float), np.asarray(m_b, float), np.asarray(user)
    pa = float(pa_w)
    t = float(sol.t_bits)
    x_mm = np.asarray(sol.x_w, dtype=np.float64)
    levels = np.asarray(sol.water_level_w, dtype=np.float64)
    # Each UE's stage-1 allocation is a water-filling, i.e. its least-power allocation for its
    # own rate r_k >= t*, so S = sum_k (P_k(r_k) - P_k(t*)) = ln 2 sum_k w_k (r_k - t*) to first
    # order: a rate spread far below the resolution needs no least-power solve.
    spread = LN2 * float(np.sum(levels * (np.asarray(sol.rate_bits, dtype=np.float64) - t)))
    if spread <= 0.5 * slack_resolution(levels, t, t_rtol):
        floors_x, floors, slack = None, levels, spread
    else:
        floors_x, floors, slack = _floors(solver, t, pa)
    if floors_x is None or not slack > slack_resolution(floors, t, t_rtol):
        x, level, stage = x_mm, math.nan, "binding"
        if floors is None:
            floors = np.asarray(sol.water_level_w, dtype=np.float64)
    else:
        x, level = floored_water_filling(m_a, m_b, user, n_users, pa, floors_x, floors)
        stage = "water-filled"
    rates = _rates(x, m_a, m_b, user, n_users)
    return LexicographicMaxMin(
        x_w=x,
        pa_w=pa,
        t_bits=t,
        rate_bits=rates,
        min_kr_bits=float(rates.min()),
        sum_kr_bits=float(rates.sum()),
        floor_level_w=np.asarray(floors, dtype=np.float64),
        common_level_w=level,
        slack_w=slack,
        stage2=stage,
        iterations=int(sol.iterations),
    )


def slack_resolution(floor_level_w, t_bits: float, t_rtol: float = T_RTOL) -> float:
    """S_res = ln 2 (sum_k F_k) t_rtol t (W): the change of sum_k P_k(t) within t_rtol of t.

    dP_k/dt = ln 2 F_k (F_k the water level of UE k at rate t, W), so a slack below S_res is
    round-off of t.
    """
    return LN2 * float(np.sum(floor_level_w)) * t_rtol * float(t_bits)


def _floors(solver: ExactMaxMin, t: float, pa: float):
    """(x [N_D], F [K], S) of the least-power allocation for t; (None, None, 0.0) where t lies
    within round-off of a UE's supremum (no least power: the stage-1 allocation is kept)."""
    try:
        lp = solver.least_power(t)
    except ValueError:
        return None, None, 0.0
    if lp.status != "converged":
        return None, None, 0.0
    x = np.asarray(lp.x_w, dtype=np.float64)
    return x, np.asarray(lp.water_level_w, dtype=np.float64), pa - float(x.sum())


def canonical_maxmin(
    m_a, m_b, user, n_users: int, pa_w: float, *, solver: ExactMaxMin | None = None, **options
) -> LexicographicMaxMin:
    """The canonical (lexicographic) max-min optimum for one budget ``pa_w`` (W).

    Parameters
    ----------
    m_a, m_b : array_like [N_D], W; user : [N_D] int; n_users : int
    pa_w : float, W, > 0
    solver : ExactMaxMin, optional
        Reused when given (constants prepared once; its warm start speeds up sweeps).
    **options
        ``rtol``, ``max_iter``, ``max_inner_iter``, ``max_joint_iter`` of stage 1
        (:meth:`ExactMaxMin.solve`).

    Raises
    ------
    ValueError, PowerDomainError, SolverError
        As :func:`plkg.solvers.maxmin_exact.solve_maxmin`.
    """
    solver = solver or ExactMaxMin(m_a, m_b, user, n_users)
    sol = solver.solve(float(pa_w), **options)
    return canonical_from_maxmin(solver, float(pa_w), sol)


def spend_slack(solver: ExactMaxMin, t_bits: float, pa_w: float, least_power=None):
    """Allocation reaching rate ``t_bits`` for every UE, with the rest of ``pa_w`` spent as in
    stage 2 (floors at ``t_bits``, common level), for a t that is not the exact t* (a predicted or
    interpolated max-min rate).

    Parameters
    ----------
    solver : ExactMaxMin
    t_bits : float, bits, >= 0
    pa_w : float, W
    least_power : LeastPowerAllocation, optional
        ``solver.least_power(t_bits)`` if already computed.

    Returns
    -------
    (x_w [N_D], spent: bool)
        ``spent`` is False (and x the least-power allocation) when that allocation needs P_a or
        more, or leaves at most the resolution :func:`slack_resolution` at ``t_bits``.
    """
    lp = least_power if least_power is not None else solver.least_power(float(t_bits))
    x = np.asarray(lp.x_w, dtype=np.float64)
    levels = np.asarray(lp.water_level_w, dtype=np.float64)
    pa = float(pa_w)
    if not pa - float(x.sum()) > slack_resolution(levels, float(t_bits)):
        return x, False
    m_a, m_b, user, n_users = solver._args
    x, _ = floored_water_filling(
        np.asarray(m_a, float), np.asarray(m_b, float), np.asarray(user), n_users, pa, x, levels
    )
    return x, True


def spend_slack_rows(solver: ExactMaxMin, t_bits, pa_w, x_w):
    """:func:`spend_slack` row by row: least-power rows x_w [B, N_D] for rates t_bits [B] that
    leave budget pa_w [B] (W) unspent get it spent by stage 2. Returns (x [B, N_D], spent [B])."""
    x = np.array(x_w, dtype=np.float64, copy=True)
    t = np.broadcast_to(np.asarray(t_bits, dtype=np.float64), x.shape[:1])
    pa = np.broadcast_to(np.asarray(pa_w, dtype=np.float64), x.shape[:1])
    spent = np.zeros(x.shape[0], dtype=bool)
    for i in np.flatnonzero(x.sum(-1) < pa):
        x[i], spent[i] = spend_slack(solver, float(t[i]), float(pa[i]))
    return x, spent


def allocate(design, pa_w: float, **options) -> AllocationResult:
    """Exact max-min allocation (method ``exact-maxmin``) for a subchannel design.

    Reports the canonical max-min optimum (:mod:`plkg.solvers.maxmin_lexicographic`: the
    max-min key rate t*, then the largest sum key rate with every C_k >= t*); when every UE binds
    (the usual case) that is the optimum of (P2) itself.

    Parameters
    ----------
    design : :class:`plkg.precoding.subchannel_design.SubchannelDesign`
    pa_w : float, W, > 0
    **options
        ``rtol``, ``max_iter``, ``max_joint_iter`` forwarded to :func:`solve_maxmin`; others
        ignored.

    Returns
    -------
    AllocationResult
        ``objective`` = t* (bits); ``extras``: ``t``, ``water_level_w``, ``rate_spread_bits``,
        ``inner_iterations``, and the canonical optimum's ``min_kr_bits``, ``sum_kr_bits``,
        ``stage2``, ``slack_w``, ``optimum``.

    Raises
    ------
    SolverError
        If the iteration does not converge (never returned silently).
    """
    pa = check_power_budget(pa_w)
    rtol = float(options.get("rtol", 1e-12))
    max_iter = int(options.get("max_iter", 100))
    max_joint_iter = int(options.get("max_joint_iter", 60))
    check_rtol(rtol, "rtol")
    check_max_iter(max_iter, "max_iter")
    check_max_iter(max_joint_iter, "max_joint_iter")
    solver = ExactMaxMin(design.m_a, design.m_b, design.user, design.n_users)
    sol = solver.solve(pa, rtol=rtol, max_iter=max_iter, max_joint_iter=max_joint_iter)
    if sol.status != "optimal":
        raise SolverError(
            f"exact max-min did not converge in {sol.iterations} iterations at P_a = {pa:.6g} W"
        )
    # a looser stage 1 leaves a rate spread of about rtol: that is not budget to water-fill
    canon = canonical_from_maxmin(solver, pa, sol, t_rtol=max(T_RTOL, rtol))
    rates = canon.rate_bits
    return AllocationResult(
        method="exact-maxmin",
        x_w=canon.x_w,
        pa_w=pa,
        status="optimal",
        iterations=sol.iterations,
        objective=float(sol.t_bits),
        extras={
            "t": float(sol.t_bits),
            "water_level_w": np.asarray(sol.water_level_w).tolist(),
            "rate_spread_bits": float(rates.max() - rates.min()),
            "inner_iterations": sol.inner_iterations,
            **canon.summary(),
        },
    )


__all__ = [
    "T_RTOL",
    "allocate",
    "LexicographicMaxMin",
    "canonical_from_maxmin",
    "canonical_maxmin",
    "floored_water_filling",
    "implied_level",
    "level_allocation",
    "slack_resolution",
    "spend_slack",
    "spend_slack_rows",
]
