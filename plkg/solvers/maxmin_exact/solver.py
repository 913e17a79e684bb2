"""The exact max-min solver of (P2), Eq. (52) of the near-field paper: ExactMaxMin, solve_maxmin.

:class:`ExactMaxMin` prepares the constants of Eq. (42) once and solves (P2) for budgets P_a:
the joint Newton iteration on (t, log d_k) (the KKT conditions (54)-(56): every C_k = t*, the
budget used exactly), its single-budget twin (warm-started along a sweep), the segment-wise
fallback for rows it leaves, the budget-exact rescaling and the certificate. It also gives each
UE's least power for a key rate
(:func:`~plkg.solvers.maxmin_exact.least_power.least_power_allocation`).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.errors import SolverError
from plkg.solvers.maxmin_exact.arrays import (
    is_torch,
    namespace_of,
    quiet_float_warnings,
    to_numpy,
)
from plkg.solvers.maxmin_exact.bounds import _lower_bound
from plkg.solvers.maxmin_exact.certify import _certified
from plkg.solvers.maxmin_exact.finish import MaxMinSolution, _finish, _finish_scalar
from plkg.solvers.maxmin_exact.joint_newton import _joint_newton
from plkg.solvers.maxmin_exact.joint_newton_scalar import _joint_newton_scalar
from plkg.solvers.maxmin_exact.least_power import LeastPowerAllocation, _least_power
from plkg.solvers.maxmin_exact.offsets import _MAX_LOG_STEP, _highpower_offsets, _slopes
from plkg.solvers.maxmin_exact.problem import _U_MIN, _check_budgets, _prepare, _Problem
from plkg.solvers.maxmin_exact.residuals import _LINEAR_BITS, LN2, _gap, _psi_step_scalar
from plkg.solvers.maxmin_exact.robust import _robust_scalar
from plkg.solvers.options import check_max_iter, check_rtol

_WARM_MAX_LOG_STEP = math.log(10.0)  # warm start only within 10 dB of the last single budget


def _is_scalar(value) -> bool:
    """A Python / NumPy real scalar or 0-d array (not a tensor)."""
    if isinstance(value, (float, int, np.floating, np.integer)):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0


class ExactMaxMin:
    """Exact max-min solver for one subchannel set, constants prepared once.

    Parameters
    ----------
    m_a, m_b : [N_D] float64, W
        Constants of Eq. (42).
    user : [N_D] int
    n_users : int

    ``solve(pa_w)`` and ``least_power(t_bits)`` accept NumPy input or torch tensors (float64,
    batched over leading dimensions); see :func:`solve_maxmin` and :func:`least_power_allocation`.

    A single NumPy budget takes a low-overhead path (:func:`_joint_newton_scalar`), warm-started
    from the previous single-budget solution when that budget is within 10 dB (a sweep, or a
    repeated budget, then takes 1-4 evaluations instead of 5-8); the optimum is the same to
    round-off either way, the instance just remembers the last (P_a, t, offsets).

    Raises :class:`PowerDomainError` (at construction) when an activation level m_b (1 + m_a)
    lies outside what float64 can solve for any budget.
    """

    def __init__(self, m_a, m_b, user, n_users: int):
        self._args = (m_a, m_b, user, int(n_users))
        self._np = _prepare(m_a, m_b, user, n_users, like=None)
        self._torch = {}
        self._last = None  # (P_a, t, u, w, slope) of the last single-budget solve

    def clear_warm_start(self) -> None:
        """Forget the last single-budget solution: the next solve starts cold."""
        self._last = None

    def _warm_start(self, pa: float):
        """(t, u) predicted from the last single-budget solution, or None (cold start).

        First order along the optimum path: dt/d(ln P_a) = P_a / (ln 2 sum_k w_k) (from
        F'(t) = ln 2 sum_k w_k), taken as a step of psi(t), and du_k = -psi-gap / S_k. Only used
        within 10 dB of the last budget; the Newton iteration converges to the same optimum (to
        round-off) from either start.
        """
        if self._last is None:
            return None
        pa0, t0, u0, w0, slope0 = self._last
        step = math.log(pa / pa0)
        if abs(step) > _WARM_MAX_LOG_STEP:
            return None
        dt = step * pa0 / (LN2 * sum(w0))
        t = t0 + dt if min(t0, t0 + dt) >= _LINEAR_BITS else _psi_step_scalar(t0, dt)
        t = min(t, 0.5 * (t0 + self._np.scalar.t_hi))
        gap = _gap(t0, t)
        u = [
            min(max(uk - min(max(gap / sk, -_MAX_LOG_STEP), _MAX_LOG_STEP), _U_MIN), ck)
            for uk, sk, ck in zip(u0, slope0, self._np.scalar.cap, strict=True)
        ]
        return t, u

    def _problem(self, like) -> _Problem:
        """The prepared constants in the namespace of ``like`` (torch: one set per device)."""
        xp, device = namespace_of(like)
        if not is_torch(xp):
            return self._np
        key = str(device)
        if key not in self._torch:
            self._torch[key] = _prepare(*self._args, like=like)
        return self._torch[key]

    def least_power(
        self, t_bits, *, rtol: float = 1e-13, max_iter: int = 200
    ) -> LeastPowerAllocation:
        """Each UE's least-power allocation for rate ``t_bits`` [...]; see :func:`least_power_allocation`."""
        return _least_power(self._problem(t_bits), t_bits, rtol, max_iter)

    def solve(
        self,
        pa_w,
        *,
        rtol: float = 1e-12,
        max_iter: int = 100,
        max_inner_iter: int = 100,
        max_joint_iter: int = 60,
    ) -> MaxMinSolution:
        """Exact optimum of (P2) for budgets ``pa_w`` [...] (W); see :func:`solve_maxmin`."""
        if self._np.scalar is not None and _is_scalar(pa_w):
            # One budget on NumPy: the low-overhead path (falls through if it does not converge).
            pa_f = float(pa_w)
            if not math.isfinite(pa_f):
                raise ValueError("power budget P_a contains NaN or inf")
            if pa_f <= 0:
                raise ValueError(
                    "power budget P_a must be > 0 W for max-min allocation "
                    "(P_a = 0 gives every UE key rate 0)"
                )
            _check_budgets(self._np, pa_f)
            res = None
            start = self._warm_start(pa_f)
            if start is not None:
                res = _joint_newton_scalar(self._np, pa_f, rtol, max_joint_iter, start)
            if res is None or not res[-1]:
                res = _joint_newton_scalar(self._np, pa_f, rtol, max_joint_iter)
            t, d, xr, p_k, r_k, inv_r, iterations, ok = res
            if ok:
                sol = _finish_scalar(self._np, pa_f, d, xr, p_k, r_k, iterations)
                sol = _certified(sol, pa_f, levels=False)
                u = [math.log(v) for v in d]
                self._last = (pa_f, t, u, sol.water_level_w.tolist(), _slopes(d, inv_r))
                return sol
            return self._solve_robust(self._np, pa_f, rtol, max_iter, max_inner_iter)
        pb = self._problem(pa_w)
        xp = pb.xp
        pa = pb.asarray(pa_w)
        pa_np = to_numpy(pa)
        if not np.all(np.isfinite(pa_np)):
            raise ValueError("power budget P_a contains NaN or inf")
        if np.any(pa_np <= 0):
            raise ValueError(
                "power budget P_a must be > 0 W for max-min allocation (P_a = 0 gives every UE key rate 0)"
            )
        _check_budgets(pb, pa_np)
        with quiet_float_warnings(xp):
            # Bracket: a feasible point gives t_lo <= t*; t* < min_k sup C_k (Eq. (42) saturates).
            t_lo = _lower_bound(pb, pa)
            t_hi = pb.asarray(np.min(pb.sup_bits, axis=-1)) + 0.0 * t_lo
            start = _highpower_offsets(pb, t_lo)
            t, d, _, xr, xs, iterations, ok = _joint_newton(
                pb, pa, t_lo, start, t_hi, rtol, max_joint_iter
            )
            ok_np = to_numpy(ok)
            sol = _finish(pb, pa, xr, xs, d, iterations, 0, ok)
        if not ok_np.all():
            sol = self._patch_rows(pb, sol, pa_np, ok_np, rtol, max_iter, max_inner_iter)
        return _certified(sol, pa_np)

    def _solve_robust(self, pb: _Problem, pa: float, rtol, max_iter, max_inner_iter):
        """One budget by :func:`_robust_scalar` (the fallback); SolverError if it fails."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = _robust_scalar(pb, pa, rtol, max_iter, max_inner_iter)
        if res is None:
            raise SolverError(
                f"exact max-min did not converge in {max_iter} iterations at P_a = {pa:.6g} W"
            )
        return _certified(_finish_scalar(pb, pa, *res[1:]), pa, levels=False)

    def _patch_rows(self, pb: _Problem, sol, pa_np, ok_np, rtol, max_iter, max_inner_iter):
        """``sol`` with the rows the joint iteration left unconverged solved robustly."""
        m_a, m_b, user = pb.arrays
        out = {
            name: to_numpy(getattr(sol, name)).copy()
            for name in ("x_w", "t_bits", "rate_bits", "water_level_w", "level_offset")
        }
        pa_b = np.broadcast_to(pa_np, ok_np.shape)
        for idx in zip(*np.nonzero(~ok_np), strict=True):
            if m_a.ndim == 1:
                row_pb = self._np
            else:
                row = np.broadcast_to(m_a, ok_np.shape + m_a.shape[-1:])[idx]
                row_b = np.broadcast_to(m_b, ok_np.shape + m_b.shape[-1:])[idx]
                row_pb = _prepare(row, row_b, user, pb.n_users, like=None)
            one = self._solve_robust(row_pb, float(pa_b[idx]), rtol, max_iter, max_inner_iter)
            for name, arr in out.items():
                arr[idx] = getattr(one, name)
        return MaxMinSolution(
            **{
                **sol.__dict__,
                **{name: pb.asarray(arr) for name, arr in out.items()},
                "objective": float(np.ravel(out["t_bits"])[0]),
            }
        )


def solve_maxmin(
    m_a,
    m_b,
    user,
    n_users: int,
    pa_w,
    *,
    rtol: float = 1e-12,
    max_iter: int = 100,
    max_inner_iter: int = 100,
    max_joint_iter: int = 60,
) -> MaxMinSolution:
    """Exact solution of (P2) (Eq. (52)): max_x min_k C_k s.t. sum x <= P_a, x >= 0.

    Parameters
    ----------
    m_a, m_b : shape [N_D] (or [..., N_D] broadcastable with ``pa_w``), float64, W
        Constants of Eq. (42).
    user : shape [N_D], int
    n_users : int
        K; every UE needs at least one subchannel.
    pa_w : float, ndarray or Tensor, shape [...], W, > 0
        Power budgets P_a. A tensor input makes the whole computation run in torch (float64).
    rtol : float
        Relative tolerance on the power residual ``abs(sum(x) - P_a) / P_a`` and on the rates (relative
        to t).
    max_iter, max_inner_iter : int
        Iteration caps of the robust fallback (outer on t, inner per UE and segment).
    max_joint_iter : int
        Iteration cap of the joint Newton iteration tried first.

    Returns
    -------
    MaxMinSolution
        ``status == "optimal"``: finite, sum x = P_a, every C_k = t to 1e-6 (certified).

    Raises
    ------
    ValueError
        NaN / non-positive budget (P_a = 0 leaves every key rate at 0: nothing to optimise), bad
        m_a, m_b or user, or bad tolerances / iteration caps.
    PowerDomainError
        (a ValueError) P_a, m_a, m_b outside the domain float64 can solve
        (:func:`plkg.solvers.water_level.check_power_domain`, per UE); the message names P_a or
        the subchannel.
    SolverError
        No convergence within the iteration caps, or a result that is not a usable optimum
        (raised instead of returned).
    """
    check_rtol(rtol, "rtol")
    for name, value in (
        ("max_iter", max_iter),
        ("max_inner_iter", max_inner_iter),
        ("max_joint_iter", max_joint_iter),
    ):
        check_max_iter(value, name)
    return ExactMaxMin(m_a, m_b, user, n_users).solve(
        pa_w,
        rtol=rtol,
        max_iter=max_iter,
        max_inner_iter=max_inner_iter,
        max_joint_iter=max_joint_iter,
    )
