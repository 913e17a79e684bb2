"""(P1), Eq. (45) of the near-field paper, solved with CVXPY (reference for tests and benchmarks).

DCP form, in normalised units z = x/P_a (so the budget is sum z <= 1) and per subchannel
c = m_b (1 + m_a)/P_a, gamma = m_a/c. The j-th term of Eq. (42) is log2(1 + s) with
s = z/(m_a z + m_b (1 + m_a)/P_a) = z/(c (1 + gamma z))... inverted: for an SNR s the power
needed is z = c s/(1 - m_a s). With s~ = c s (an SNR in power units) this reads

    z >= s~ + q,   q (1 - gamma s~) >= gamma s~^2   (a rotated second-order cone),

and the objective log2(1 + s~/c) = (log(c + s~) - log c)/ln 2 is concave (exponential cone).
All variables lie in [0, 1], which keeps the conic solver well scaled even though m_b spans
many decades. The multiplier of the budget constraint, divided by P_a, is mu of Eq. (47).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from plkg.errors import SolverError
from plkg.keyrate.subchannel import subchannel_key_rate_bits
from plkg.solvers.allocation import AllocationResult

# Largest accepted |objective_cvxpy - objective_wf| / objective_wf (run-time check against the
# exact water-filling, Eq. (46)-(47)); CVXPY's conic tolerances are ~1e-8, so a larger gap means
# the solver stopped at a wrong point that it still calls optimal.
EXACT_CHECK_RTOL = 1e-4


class CvxpySolveError(SolverError):
    """CVXPY failed on (P1): a status other than ``optimal`` / ``optimal_inaccurate``, or an
    "optimal" point that the exact water-filling refutes."""


@dataclass(frozen=True)
class SumRateCvxpyResult:
    """CVXPY solution of (P1).

    Attributes
    ----------
    x_w : ndarray [N_D] float64, watt
    mu : float, bits per watt
        Multiplier of the budget constraint (Eq. (47)).
    status : str
        CVXPY status (``optimal`` or ``optimal_inaccurate``; the latter also warns).
    iterations : int
        Solver iterations.
    objective : float, bits
        Sum KR of Eq. (42) evaluated at ``x_w`` (not the solver's own value).
    solver : str
    """

    x_w: np.ndarray
    mu: float
    status: str
    iterations: int
    objective: float
    solver: str
    extras: dict = field(default_factory=dict)


def build_problem(pa_w: float, m_a, m_b):
    """The CVXPY problem of (P1) in normalised units; returns (problem, z, budget_constraint)."""
    import cvxpy as cp

    m_a = np.asarray(m_a, dtype=np.float64)
    m_b = np.asarray(m_b, dtype=np.float64)
    if m_a.ndim != 1 or m_a.shape != m_b.shape or m_a.size == 0:
        raise ValueError(f"m_a and m_b must be 1-D of equal length, got {m_a.shape}, {m_b.shape}")
    if not (np.all(np.isfinite(m_a)) and np.all(np.isfinite(m_b))):
        raise ValueError("m_a and m_b must be finite")
    if np.any(m_a < 0) or np.any(m_b <= 0):
        raise ValueError("need m_a >= 0 and m_b > 0")
    if not math.isfinite(pa_w) or pa_w <= 0:
        raise ValueError(f"power budget P_a must be positive and finite, got {pa_w}")
    n = m_a.size
    c = m_b * (1 + m_a) / pa_w
    gamma = m_a / c
    z = cp.Variable(n, nonneg=True)
    s = cp.Variable(n, nonneg=True)
    q = cp.Variable(n, nonneg=True)
    budget = cp.sum(z) <= 1
    cone = cp.SOC(
        q + 1 - cp.multiply(gamma, s),
        cp.vstack([2 * cp.multiply(np.sqrt(gamma), s), q - 1 + cp.multiply(gamma, s)]),
        axis=0,
    )
    constraints = [budget, z >= s + q, cone]
    objective = cp.Maximize(cp.sum(cp.log(1 + cp.multiply(1 / c, s))) / math.log(2))
    return cp.Problem(objective, constraints), z, budget


def solve_sum_rate_cvxpy(
    pa_w: float, m_a, m_b, solver: str | None = None, check_exact: bool = True, **solver_options
):
    """Solve (P1) with CVXPY.

    Parameters
    ----------
    pa_w : float, watt (> 0)
    m_a : array [N_D], dimensionless; m_b : array [N_D], watt (Eq. (42))
    solver : str, optional
        CVXPY solver name (default: CLARABEL if installed, else CVXPY's choice).

    Returns
    -------
    SumRateCvxpyResult

    Raises
    ------
    ValueError
        Bad input.
    CvxpySolveError
        Infeasible/unbounded/failed solve, or a result whose sum KR differs from exact
        water-filling by more than ``EXACT_CHECK_RTOL`` (checked at run time, ``check_exact``).
        ``optimal_inaccurate`` warns (RuntimeWarning).
    """
    import cvxpy as cp

    pa_w = float(pa_w)
    problem, z, budget = build_problem(pa_w, m_a, m_b)
    if solver is None and "CLARABEL" in cp.installed_solvers():
        solver = "CLARABEL"
    try:
        problem.solve(solver=solver, **solver_options)
    except cp.error.SolverError as exc:
        raise CvxpySolveError(f"CVXPY solver failed on (P1): {exc}") from exc
    status = problem.status
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise CvxpySolveError(f"CVXPY returned status {status!r} on (P1)")
    if status == cp.OPTIMAL_INACCURATE:
        warnings.warn(
            "CVXPY reports optimal_inaccurate on (P1); the result is not exact",
            RuntimeWarning,
            stacklevel=2,
        )
    if z.value is None:
        raise CvxpySolveError(f"CVXPY returned status {status!r} on (P1) but no solution")
    x = np.clip(np.asarray(z.value, dtype=np.float64), 0.0, None) * pa_w
    stats = problem.solver_stats
    objective = float(np.sum(subchannel_key_rate_bits(x, np.asarray(m_a), np.asarray(m_b))))
    if check_exact:
        _check_against_water_filling(pa_w, m_a, m_b, x, objective)
    return SumRateCvxpyResult(
        x_w=x,
        mu=float(budget.dual_value) / pa_w,
        status=status,
        iterations=int(stats.num_iters or 0),
        objective=objective,
        solver=str(stats.solver_name),
        extras={"solve_time_s": stats.solve_time},
    )


def _check_against_water_filling(pa_w, m_a, m_b, x, objective) -> None:
    """Refuse a CVXPY point whose sum KR is off the exact optimum or that leaves budget unused."""
    from plkg.solvers.water_filling import water_filling

    exact = float(np.asarray(water_filling(pa_w, m_a, m_b).objective))
    if not (np.isfinite(objective) and np.isfinite(exact)):
        raise CvxpySolveError(f"(P1) at P_a = {pa_w:.6g} W: non-finite objective")
    gap = abs(objective - exact)
    if gap > EXACT_CHECK_RTOL * exact:
        raise CvxpySolveError(
            f"CVXPY's (P1) optimum at P_a = {pa_w:.6g} W is {objective:.6g} bits, exact "
            f"water-filling gives {exact:.6g} bits (relative gap {gap / exact:.2g} > "
            f"{EXACT_CHECK_RTOL:g}): the solver's 'optimal' is refused"
        )


def allocate(design, pa_w: float, **options) -> AllocationResult:
    """(P1) by CVXPY on a :class:`SubchannelDesign` (for comparison with WFPA)."""
    res = solve_sum_rate_cvxpy(pa_w, design.m_a, design.m_b, solver=options.get("solver"))
    return AllocationResult(
        method="cvx-p1",
        x_w=res.x_w,
        pa_w=float(pa_w),
        status=res.status,
        iterations=res.iterations,
        objective=res.objective,
        extras={"mu": res.mu, "solver": res.solver},
    )
