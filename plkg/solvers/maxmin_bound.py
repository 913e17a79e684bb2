"""Exact max-min (P2) bound once to a design: one solve from a bind-time table, no call history.

:class:`plkg.solvers.maxmin_exact.ExactMaxMin` solves (P2) (Eq. (52) of the near-field paper)
exactly by a joint Newton iteration on (t, log d_k) (d_k the normalised offset of UE k's water
level above its lowest activation level, :mod:`plkg.solvers.water_level`); a *cold* solve starts
from a feasible lower bound on t and takes 5-8 evaluations. :class:`BoundMaxMin` solves the same
problem for a grid of budgets once, at bind time (one batched solve), and starts every call from
the table interpolated at log P_a (linear in log P_a for t and log d_k): typically 2-3
evaluations. A call depends only on its budget (no warm start from previous calls), so the answer
does not depend on call order. The Newton iteration, its safeguards, the convergence test and the
final budget-exact rescaling are those of :class:`ExactMaxMin` (the same private functions), so
the optimum is the same to round-off; if the iteration from the table start fails, or the budget
lies more than a decade outside the table, the cold start is used.

The solvable power domain (:func:`plkg.solvers.water_level.check_power_domain`) is an interval of
P_a for one design, cached at bind time: a budget inside it costs two comparisons, any other is
checked by ``check_power_domain`` (which raises :class:`PowerDomainError` naming it).

:meth:`BoundMaxMin.canonical` reports the canonical max-min optimum
(:mod:`plkg.solvers.maxmin_lexicographic`), as ``exact-maxmin`` and ``cvxpakf`` do.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from plkg.solvers.maxmin_exact import ExactMaxMin, MaxMinSolution, SolverError
from plkg.solvers.maxmin_exact.finish import _finish_scalar
from plkg.solvers.maxmin_exact.joint_newton_scalar import _joint_newton_scalar
from plkg.solvers.maxmin_exact.problem import _U_MIN, _check_budgets
from plkg.solvers.water_level import PowerDomainError

DEFAULT_PA_RANGE_W = (1e-5, 1e2)
DEFAULT_NODES_PER_DECADE = 256
_TABLE_REACH = math.log(10.0)  # table starts up to a decade beyond its ends; cold start beyond


class BoundMaxMin:
    """Exact max-min solver bound to one design; validates its inputs once, at bind time.

    Parameters
    ----------
    m_a, m_b : array [N_D] float64 (m_b in W)
        Constants of Eq. (42); validated by :class:`ExactMaxMin` here, never per call.
    user : array [N_D] int; n_users : int
    pa_range_w : (float, float)
        Budgets (W) covered by the start table (clipped to the solvable domain); outside it a
        call still converges (from the nearest table end, or cold).
    nodes_per_decade : int
    rtol, max_iter : float, int
        As in :meth:`ExactMaxMin.solve` (``rtol``, ``max_joint_iter``).

    Notes
    -----
    ``bound(pa_w)`` (one float budget, W, > 0) returns a :class:`MaxMinSolution` equal to
    ``ExactMaxMin(...).solve(pa_w)`` to round-off (tests: 1e-12); when neither start converges it
    falls back to the robust solver, as :meth:`ExactMaxMin.solve` does. Raises
    :class:`SolverError` when that fails too and :class:`PowerDomainError` outside the solvable
    domain.
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
        pb = self.exact._np
        if pb.scalar is None:
            raise ValueError("BoundMaxMin needs one design: m_a and m_b of shape [N_D]")
        lo, hi = (float(v) for v in pa_range_w)
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise ValueError(f"pa_range_w must be 0 < lo < hi, got {pa_range_w}")
        if int(nodes_per_decade) < 1:
            raise ValueError("nodes_per_decade must be >= 1")
        self.rtol, self.max_iter = float(rtol), int(max_iter)
        self._domain = pb.domain
        self._cap = pb.scalar.cap
        # the table covers the requested range where it is solvable (an empty table: cold starts)
        lo, hi = max(lo, pb.domain[0]), min(hi, pb.domain[1])
        self._lp = self._t = self._log_d = None
        if lo < hi:
            n = max(int(math.ceil(math.log10(hi / lo) * nodes_per_decade)) + 1, 2)
            nodes = np.geomspace(lo, hi, n)
            sol = None
            while sol is None and nodes.size >= 2:
                try:
                    sol = self.exact.solve(nodes, rtol=self.rtol, max_joint_iter=self.max_iter)
                except PowerDomainError:
                    # some UE's optimal power underflows float64 at the lowest budgets (UEs
                    # whose activation levels are ~1e290 apart): the table starts higher
                    nodes = nodes[max(nodes.size // 8, 1) :]
            if sol is not None:
                self._lp = np.log(nodes).tolist()
                self._t = np.asarray(sol.t_bits).tolist()
                self._log_d = np.log(np.asarray(sol.level_offset))

    @classmethod
    def from_design(cls, design, **options) -> BoundMaxMin:
        """Bind to a :class:`plkg.precoding.subchannel_design.SubchannelDesign`."""
        return cls(design.m_a, design.m_b, design.user, design.n_users, **options)

    def _start(self, log_pa: float):
        """(t, log d_k) interpolated linearly in log P_a (clamped to the table ends), or None
        (no table, or the budget more than a decade beyond it)."""
        u = self._lp
        if u is None or not (u[0] - _TABLE_REACH <= log_pa <= u[-1] + _TABLE_REACH):
            return None
        i = min(max(bisect_right(u, log_pa) - 1, 0), len(u) - 2)
        s = min(max((log_pa - u[i]) / (u[i + 1] - u[i]), 0.0), 1.0)
        t = (1.0 - s) * self._t[i] + s * self._t[i + 1]
        lw = (1.0 - s) * self._log_d[i] + s * self._log_d[i + 1]
        return t, [min(max(a, _U_MIN), c) for a, c in zip(lw.tolist(), self._cap, strict=True)]

    def __call__(self, pa_w: float) -> MaxMinSolution:
        """Exact optimum of (P2) for one budget ``pa_w`` (float, W, > 0)."""
        pa = float(pa_w)
        if not (pa > 0.0 and pa < math.inf):
            raise ValueError(
                f"power budget P_a must be finite and > 0 W for max-min allocation, got {pa_w!r}"
            )
        pb = self.exact._np
        if not self._domain[0] <= pa <= self._domain[1]:
            _check_budgets(pb, pa)  # PowerDomainError naming P_a, unless it is inside after all
        start = self._start(math.log(pa))
        res = None
        if start is not None:
            res = _joint_newton_scalar(pb, pa, self.rtol, self.max_iter, start)
        if res is None or not res[-1]:
            res = _joint_newton_scalar(pb, pa, self.rtol, self.max_iter)
        t, d, xr, p_k, r_k, _, iterations, ok = res
        if not ok:
            # neither start converged (saturating UEs at extreme scales): the robust solver
            # ExactMaxMin.solve falls back to as well (SolverError if that fails too)
            return self.exact._solve_robust(pb, pa, self.rtol, 100, 100)
        sol = _finish_scalar(pb, pa, d, xr, p_k, r_k, iterations)
        # x >= 0 and sum x = P_a hold by construction; a NaN anywhere in x reaches t = min_k C_k,
        # and t = 0 means the rates underflowed float64: never return those as optimal.
        if not 0.0 < float(sol.t_bits) < math.inf:
            raise SolverError(
                f"bound exact max-min at P_a = {pa:.6g} W gave t = {float(sol.t_bits)!r} "
                "(float64 overflow or underflow for these m_a, m_b)"
            )
        return sol

    def canonical(self, pa_w: float):
        """The canonical max-min optimum for one budget (W): :meth:`__call__`'s optimum with the
        second stage of :mod:`plkg.solvers.maxmin_lexicographic` (the same allocation, to
        round-off, when every UE binds). Returns a
        :class:`plkg.solvers.maxmin_lexicographic.LexicographicMaxMin`."""
        from plkg.solvers.maxmin_lexicographic import canonical_from_maxmin

        return canonical_from_maxmin(self.exact, float(pa_w), self(pa_w))


__all__ = ["BoundMaxMin"]
