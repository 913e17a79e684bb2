"""Exact max-min (P2) bound once to a design: one solve from a bind-time table, no call history.

:class:`plkg.solvers.maxmin_exact.ExactMaxMin` solves (P2) (Eq. (52) of the near-field paper)
exactly by a joint Newton iteration on (t, log w_k); a *cold* solve starts from the EPA lower
bound on t and takes 5-8 evaluations. :class:`BoundMaxMin` solves the same problem for a grid of
budgets once, at bind time (one batched solve), and starts every call from the table interpolated
at log P_a (linear in log P_a for t and log w_k): typically 2-3 evaluations. A call depends only
on its budget (no warm start from previous calls), so the answer does not depend on call order.
The Newton iteration, its safeguards, the convergence test and the final budget-exact rescaling
are those of :class:`ExactMaxMin` (the same private functions), so the optimum is the same to
round-off; if the iteration from the table start fails, the cold start is used.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from plkg.solvers.maxmin_exact import (
    ExactMaxMin,
    MaxMinSolution,
    SolverError,
    _finish_scalar,
    _joint_newton_scalar,
)

DEFAULT_PA_RANGE_W = (1e-5, 1e2)
DEFAULT_NODES_PER_DECADE = 256


class BoundMaxMin:
    """Exact max-min solver bound to one design; validates its inputs once, at bind time.

    Parameters
    ----------
    m_a, m_b : array [N_D] float64 (m_b in W)
        Constants of Eq. (42); validated by :class:`ExactMaxMin` here, never per call.
    user : array [N_D] int; n_users : int
    pa_range_w : (float, float)
        Budgets (W) covered by the start table; outside it a call still converges (from the
        nearest table end, or cold).
    nodes_per_decade : int
    rtol, max_iter : float, int
        As in :meth:`ExactMaxMin.solve` (``rtol``, ``max_joint_iter``).

    Notes
    -----
    ``bound(pa_w)`` (one float budget, W, > 0) returns a :class:`MaxMinSolution` equal to
    ``ExactMaxMin(...).solve(pa_w)`` to round-off (tests: 1e-12). Raises :class:`SolverError`
    when neither start converges.
    """

    def __init__(
        self,
        m_a,
        m_b,
        user,
        n_users: int,
        *,
        pa_range_w: tuple[float, float] = DEFAULT_PA_RANGE_W,
        nodes_per_decade: int = DEFAULT_NODES_PER_DECADE,
        rtol: float = 1e-12,
        max_iter: int = 60,
    ):
        self.exact = ExactMaxMin(m_a, m_b, user, n_users)
        if self.exact._np.scalar is None:
            raise ValueError("BoundMaxMin needs one design: m_a and m_b of shape [N_D]")
        lo, hi = (float(v) for v in pa_range_w)
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise ValueError(f"pa_range_w must be 0 < lo < hi, got {pa_range_w}")
        if int(nodes_per_decade) < 1:
            raise ValueError("nodes_per_decade must be >= 1")
        self.rtol, self.max_iter = float(rtol), int(max_iter)
        nodes = np.geomspace(lo, hi, int(math.ceil(math.log10(hi / lo) * nodes_per_decade)) + 1)
        sol = self.exact.solve(nodes, rtol=self.rtol, max_joint_iter=self.max_iter)
        if sol.status != "optimal":
            raise SolverError("the start table of BoundMaxMin did not converge")
        self._u = np.log(nodes).tolist()
        self._t = np.asarray(sol.t_bits).tolist()
        log_w = np.log(np.asarray(sol.water_level_w))
        self._log_w = log_w
        self._log_b_min = self.exact._np.scalar.log_b_min

    @classmethod
    def from_design(cls, design, **options) -> BoundMaxMin:
        """Bind to a :class:`plkg.precoding.block_diagonalization.SubchannelDesign`."""
        return cls(design.m_a, design.m_b, design.user, design.n_users, **options)

    def _start(self, log_pa: float):
        """(t, log w_k) interpolated linearly in log P_a (clamped to the table ends)."""
        u = self._u
        i = min(max(bisect_right(u, log_pa) - 1, 0), len(u) - 2)
        s = min(max((log_pa - u[i]) / (u[i + 1] - u[i]), 0.0), 1.0)
        t = (1.0 - s) * self._t[i] + s * self._t[i + 1]
        lw = (1.0 - s) * self._log_w[i] + s * self._log_w[i + 1]
        return t, [max(a, b) for a, b in zip(lw.tolist(), self._log_b_min, strict=True)]

    def __call__(self, pa_w: float) -> MaxMinSolution:
        """Exact optimum of (P2) for one budget ``pa_w`` (float, W, > 0)."""
        pa = float(pa_w)
        if not (pa > 0.0 and pa < math.inf):
            raise ValueError(
                f"power budget P_a must be finite and > 0 W for max-min allocation, got {pa_w!r}"
            )
        pb = self.exact._np
        res = _joint_newton_scalar(pb, pa, self.rtol, self.max_iter, self._start(math.log(pa)))
        if not res[-1]:
            res = _joint_newton_scalar(pb, pa, self.rtol, self.max_iter)
        t, log_w, w, x, p_k, r_k, slope2, iterations, ok = res
        if not ok:
            self.exact.check_domain(pa)  # outside float64's reach: say so, naming P_a
            raise SolverError(f"bound exact max-min did not converge at P_a = {pa:.6g} W")
        sol = _finish_scalar(pb, pa, w, x, p_k, r_k, iterations)
        # x >= 0 and sum x = P_a hold by construction; a NaN anywhere in x reaches t = min_k C_k,
        # and t = 0 means the rates underflowed float64: never return those as optimal.
        if not 0.0 < float(sol.t_bits) < math.inf:
            self.exact.check_domain(pa)
            raise SolverError(
                f"bound exact max-min at P_a = {pa:.6g} W gave t = {float(sol.t_bits)!r} "
                "(float64 overflow or underflow for these m_a, m_b)"
            )
        return sol


__all__ = ["BoundMaxMin"]
