"""Problem (P3) of the near-field paper (Eq. (53)) built once in CVXPY and solved for any budget.

(P3): max t s.t. C_k >= t for every UE, sum_{k,j} x_{k,j} <= P_a, x >= 0, with C_k of Eq. (42).
:class:`MaxMinProblem` writes it in normalised units (x = P_a u, one rotated second-order cone
per subchannel, exponential cones for the logarithms), drops the subchannels that
:func:`~plkg.solvers.maxmin_pruning.inactive_mask` proves inactive, and makes every
P_a-dependent constant a DPP parameter, so that a sweep over P_a compiles it once. Its
:meth:`~MaxMinProblem.solve` tries the solvers in order and accepts only a certified optimum
(:mod:`plkg.solvers.maxmin_cvxpy_certify`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from plkg.errors import SolverError
from plkg.solvers.equal_power import check_power_budget
from plkg.solvers.maxmin_cvxpy_certify import (
    DEFAULT_SOLVERS,
    CvxSolveResult,
    _attempts,
    _self_consistent,
    refute_against_exact,
)
from plkg.solvers.maxmin_pruning import inactive_mask

LN2 = math.log(2.0)

CONE_BALANCE_THRESHOLD = 1e2


def _cone_balance(p):
    """Rescaling lambda of the rotated cone factors (see :class:`MaxMinProblem`).

    lambda = 1/sqrt(p) where p = 1/(m_a q) > 100 (saturation SNR far above the EPA SNR), else 1:
    both factors of a b >= sigma^2 are then O(sqrt(p)) instead of O(p) and O(1). Chosen on the
    Fig. 6 sweep (100 random budgets: 0 non-optimal instead of 1) and fuzzed subchannel sets
    (non-optimal 12/60 instead of 17/60).
    """
    return np.where(p > CONE_BALANCE_THRESHOLD, 1.0 / np.sqrt(p), 1.0)


class MaxMinProblem:
    """(P3) for one subchannel set, compiled once; ``solve(pa_w)`` re-solves for any budget.

    Normalised formulation (``form="normalized"``, default). With x = P_a u (sum u <= 1), the
    EPA SNR q_j = P_a / (N b_j) of each kept subchannel sets its unit: sigma_j = s_j / q_j, where
    s_j = x_j / (m_a x_j + b_j) is the SNR inside Eq. (42). Then

        s_j <= x_j / (m_a x_j + b_j)  <=>  (p_j - sigma_j)(g_j u_j - sigma_j) >= sigma_j^2,
                                            p_j = 1 / (m_a q_j),  g_j = P_a / (b_j q_j) = N,

    a rotated second-order cone per subchannel (factors rebalanced by lambda_j, see
    :func:`_cone_balance`), and C_k = sum_j log(1 + q_j sigma_j) / ln 2 (exp cones). All
    P_a-dependent constants are CVXPY Parameters (DPP), so every budget reuses one compiled
    problem; subchannels that :func:`inactive_mask` proves inactive at the current P_a
    get g_j = 0 (forcing sigma_j = 0), those inactive at ``pa_w_max`` are not built at all.

    Parameters
    ----------
    m_a, m_b : array_like [N_D], float64, W
        Constants of Eq. (42).
    user : array_like [N_D], int
    n_users : int
    pa_w_max : float, W
        Largest budget the instance will be asked to solve (structural pruning).
    form : {"normalized", "naive"}
        ``naive``: the paper-scale ``log(1 + 1/a - (c/a) inv_pos(a x + c))`` in W with no pruning,
        kept only to document and test the failure it has.
    """

    def __init__(self, m_a, m_b, user, n_users: int, pa_w_max: float, form: str = "normalized"):
        import cvxpy as cp

        m_a = np.asarray(m_a, dtype=np.float64)
        m_b = np.asarray(m_b, dtype=np.float64)
        user = np.asarray(user)
        if m_a.ndim != 1 or m_a.shape != m_b.shape or user.shape != m_a.shape:
            raise ValueError("m_a, m_b and user must all have shape [N_D]")
        if not (np.all(np.isfinite(m_a)) and np.all(np.isfinite(m_b))):
            raise ValueError("m_a and m_b contain NaN or inf")
        if np.any(m_a <= 0) or np.any(m_b <= 0):
            raise ValueError("m_a and m_b must be > 0 (finite UE power P_b and noise)")
        if int(n_users) < 1 or user.min() < 0 or user.max() >= int(n_users):
            raise ValueError(f"user indices must lie in 0..K-1 with K = {n_users}")
        if np.any(np.bincount(user, minlength=int(n_users)) == 0):
            raise ValueError("every UE needs at least one subchannel (D_k >= 1) for max-min")
        if form not in ("normalized", "naive"):
            raise ValueError(f"form must be 'normalized' or 'naive', got {form!r}")
        self.m_a, self.m_b, self.user, self.n_users = m_a, m_b, user, int(n_users)
        self.form = form
        self.pa_w_max = check_power_budget(pa_w_max)
        if self.pa_w_max <= 0:
            raise ValueError("pa_w_max must be > 0 W")
        if form == "normalized":
            keep = ~inactive_mask(m_a, m_b, user, n_users, self.pa_w_max)
        else:
            keep = np.ones(m_a.shape, dtype=bool)
        self.keep = keep
        ma, mb, us = m_a[keep], m_b[keep], user[keep]
        self._b = mb * (1.0 + ma)
        n = int(keep.sum())
        t = cp.Variable(name="t")
        if form == "normalized":
            u = cp.Variable(n, nonneg=True, name="u")  # x = P_a u
            sigma = cp.Variable(n, nonneg=True, name="sigma")  # SNR / q
            self._q = cp.Parameter(n, pos=True, name="q")
            self._pl = cp.Parameter(n, pos=True, name="p_lambda")  # p lambda
            self._lam = cp.Parameter(n, pos=True, name="lambda")
            self._il = cp.Parameter(n, pos=True, name="inv_lambda")
            self._gil = cp.Parameter(n, nonneg=True, name="g_inv_lambda")  # g / lambda
            # (p - sigma)(g u - sigma) >= sigma^2 as a rotated cone a b >= sigma^2 with the
            # rebalanced factors a = (p - sigma) lambda, b = (g u - sigma) / lambda.
            a = self._pl - cp.multiply(self._lam, sigma)
            b = cp.multiply(self._gil, u) - cp.multiply(self._il, sigma)
            cons = [
                cp.SOC(a + b, cp.vstack([2 * sigma, a - b]), axis=0),
                cp.sum(u) <= 1.0,
            ]
            rate = cp.log(1.0 + cp.multiply(self._q, sigma)) / LN2
        else:
            self._pa = cp.Parameter(nonneg=True, name="P_a")
            u = cp.Variable(n, nonneg=True, name="x_w")
            a, c = ma, self._b
            rate = (
                cp.log(1.0 + 1.0 / a - cp.multiply(c / a, cp.inv_pos(cp.multiply(a, u) + c))) / LN2
            )
            cons = [cp.sum(u) <= self._pa]
        for k in range(self.n_users):
            cons.append(cp.sum(rate[np.flatnonzero(us == k)]) >= t)
        self.problem = cp.Problem(cp.Maximize(t), cons)
        if not self.problem.is_dcp(dpp=True):  # pragma: no cover - guarded by tests
            raise RuntimeError("(P3) formulation is not DPP")
        self._u, self._t = u, t

    def _set_budget(self, pa: float) -> None:
        if self.form == "naive":
            self._pa.value = pa
            return
        ma = self.m_a[self.keep]
        q = pa / (self.keep.sum() * self._b)
        active = ~inactive_mask(self.m_a, self.m_b, self.user, self.n_users, pa)[self.keep]
        p = 1.0 / (ma * q)
        lam = _cone_balance(p)
        self._q.value = q
        self._pl.value = p * lam
        self._lam.value = lam
        self._il.value = 1.0 / lam
        self._gil.value = np.where(active, pa / (self._b * q), 0.0) / lam

    def solve(
        self,
        pa_w: float,
        solvers=DEFAULT_SOLVERS,
        accept_inaccurate: bool = False,
        check_exact: bool = True,
        **solver_options,
    ) -> CvxSolveResult:
        """Solve (P3) for budget ``pa_w`` (W), trying ``solvers`` in order until one is optimal.

        ``check_exact`` (default True) compares an ``optimal`` result with the exact max-min
        solver (:func:`plkg.solvers.maxmin_exact.solve_maxmin`) at run time and raises
        SolverError when min_k C_k differs by more than ``EXACT_CHECK_RTOL``.

        Raises
        ------
        ValueError
            Bad budget (NaN, <= 0, above ``pa_w_max`` when pruning).
        SolverError
            No solver returned ``optimal`` (and ``accept_inaccurate`` is False, or no solver
            returned even an inaccurate solution), or the exact solver refutes the optimum.
        """
        import cvxpy as cp

        pa = check_power_budget(pa_w)
        if pa <= 0:
            raise ValueError(
                "power budget P_a must be > 0 W for max-min allocation (P_a = 0 gives every UE key rate 0)"
            )
        if pa > self.pa_w_max * (1 + 1e-12):
            raise ValueError(
                f"P_a = {pa:.6g} W exceeds pa_w_max = {self.pa_w_max:.6g} W this problem was pruned for"
            )
        self._set_budget(pa)
        attempts = []
        inaccurate = None
        for solver, opts in _attempts(solvers):
            try:
                with warnings.catch_warnings():
                    # CVXPY warns on inaccurate solutions; the status is checked right below.
                    warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                    self.problem.solve(solver=solver, **{**opts, **solver_options})
            except cp.error.SolverError as exc:
                attempts.append((solver, f"error: {exc}".splitlines()[0][:200]))
                continue
            status = self.problem.status
            if status == cp.OPTIMAL:
                res = self._result(pa, status, solver, attempts + [(solver, status)])
                if _self_consistent(res):
                    attempts.append((solver, status))
                    if check_exact:
                        self._check_against_exact(pa, res.objective)
                    return CvxSolveResult(**{**res.__dict__, "attempts": tuple(attempts)})
                # The solver's t disagrees with min_k C_k at its own x: its tolerances are too
                # coarse for this instance (e.g. key rates ~1e-9 bits). Treat as inaccurate.
                status = "optimal (failed self-check)"
                attempts.append((solver, status))
                if inaccurate is None:
                    inaccurate = CvxSolveResult(**{**res.__dict__, "status": cp.OPTIMAL_INACCURATE})
                continue
            attempts.append((solver, status))
            if status == cp.OPTIMAL_INACCURATE and inaccurate is None:
                inaccurate = self._result(pa, status, solver, attempts)
        if inaccurate is not None and accept_inaccurate:
            warnings.warn(
                f"CVXPAKF at P_a = {pa:.6g} W: no solver was accurate ({attempts}); returning the "
                "optimal_inaccurate solution as such",
                RuntimeWarning,
                stacklevel=2,
            )
            return CvxSolveResult(**{**inaccurate.__dict__, "attempts": tuple(attempts)})
        raise SolverError(
            f"CVXPAKF (P3) at P_a = {pa:.6g} W: no solver returned 'optimal': {attempts}"
        )

    def _check_against_exact(self, pa: float, objective: float) -> None:
        """Refuse an ``optimal`` CVXPY point whose min_k C_k is off the exact max-min optimum."""
        from plkg.solvers.maxmin_exact import solve_maxmin

        exact = solve_maxmin(self.m_a, self.m_b, self.user, self.n_users, pa)
        refute_against_exact(pa, objective, float(exact.t_bits), exact.status)

    def _result(self, pa, status, solver, attempts) -> CvxSolveResult:
        from plkg.keyrate.subchannel import user_key_rates_bits

        u = np.maximum(np.asarray(self._u.value, dtype=np.float64), 0.0)
        x_kept = pa * u if self.form == "normalized" else u
        x = np.zeros(self.m_a.shape)
        x[self.keep] = x_kept
        rates = user_key_rates_bits(x, self.m_a, self.m_b, self.user, self.n_users)
        stats = self.problem.solver_stats
        iters = int(getattr(stats, "num_iters", 0) or 0)
        solve_time = getattr(stats, "solve_time", None)
        return CvxSolveResult(
            x_w=x,
            t_bits=float(self._t.value),
            status=status,
            solver=solver,
            iterations=iters,
            objective=float(np.min(rates)),
            attempts=tuple(attempts),
            solve_time_s=float(solve_time) if solve_time is not None else float("nan"),
        )
