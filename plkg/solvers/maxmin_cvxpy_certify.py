"""When a CVXPY solve of (P3) (Eq. (53) of the near-field paper) counts as optimal.

A solve is accepted only when the solver says ``optimal`` and its value t is within
``SELF_CHECK_RTOL`` of min_k C_k (Eq. (42)) re-evaluated at its own point
(:func:`_self_consistent`); it is refused when that min_k C_k is more than ``EXACT_CHECK_RTOL``
off the exact max-min optimum t* (:func:`refute_against_exact`). ``DEFAULT_SOLVERS`` is the
order in which solvers and settings are tried until one is optimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plkg.errors import SolverError

# Largest accepted |min_k C_k(CVXPY) - t_exact| / t_exact when checking against the exact solver.
EXACT_CHECK_RTOL = 1e-4

# Solver attempts in order: (name, options). Clarabel (the CVXPY default) first; then Clarabel with
# more equilibration and iterations, with more iterative refinement, with stronger static
# regularisation (each rescues some of the ~5 % of budgets where the default stops at
# optimal_inaccurate); then SCS, a first-order solver of a different family.
DEFAULT_SOLVERS = (
    ("CLARABEL", {}),
    ("CLARABEL", {"equilibrate_max_iter": 50, "max_iter": 400}),
    (
        "CLARABEL",
        {"iterative_refinement_reltol": 1e-14, "iterative_refinement_max_iter": 50},
    ),
    ("CLARABEL", {"static_regularization_constant": 1e-7}),
    ("SCS", {"eps_abs": 1e-9, "eps_rel": 1e-9, "max_iters": 20000}),
)


def _attempts(solvers):
    out = []
    for item in solvers:
        if isinstance(item, str):
            out.append((item, {}))
        else:
            name, opts = item
            out.append((str(name), dict(opts)))
    if not out:
        raise ValueError("no solver given")
    return out


@dataclass(frozen=True)
class CvxSolveResult:
    """One CVXPY solve of (P3).

    Attributes
    ----------
    x_w : ndarray [N_D] float64, W
    t_bits : float
        Optimal value of (P3) reported by the solver (bits).
    status : str
        CVXPY status of the accepted solve (``optimal`` or, only when accepted explicitly,
        ``optimal_inaccurate``).
    solver : str
    iterations : int
        Solver iterations (0 when the solver does not report them).
    objective : float
        min_k C_k of Eq. (42) re-evaluated at ``x_w`` (bits).
    attempts : tuple of (solver, status) pairs
    solve_time_s : float
        Wall time of the accepted solve (seconds, CVXPY's own measurement when available).
    """

    x_w: np.ndarray
    t_bits: float
    status: str
    solver: str
    iterations: int
    objective: float
    attempts: tuple = field(default_factory=tuple)
    solve_time_s: float = float("nan")


SELF_CHECK_RTOL = 1e-3


def _self_consistent(res: CvxSolveResult) -> bool:
    """Solver optimum t > 0 and within SELF_CHECK_RTOL of min_k C_k re-evaluated at its x.

    Independent of the exact solver: only the returned x and Eq. (42) are used. t* > 0 always
    holds for P_a > 0 when every UE has a subchannel.
    """
    t, obj = res.t_bits, res.objective
    return bool(t > 0 and obj > 0 and abs(t - obj) <= SELF_CHECK_RTOL * t)


def refute_against_exact(pa: float, objective: float, t_exact: float, status: str) -> None:
    """SolverError when CVXPY's min_k C_k ``objective`` is more than ``EXACT_CHECK_RTOL`` off the
    exact max-min t* (``t_exact``, bits) or the exact solve is not ``optimal``."""
    if status != "optimal" or abs(objective - t_exact) > EXACT_CHECK_RTOL * t_exact:
        raise SolverError(
            f"CVXPAKF (P3) at P_a = {pa:.6g} W: CVXPY's optimum {objective:.6g} bits differs "
            f"from the exact max-min {t_exact:.6g} bits (status {status}) by more than "
            f"{EXACT_CHECK_RTOL:g} relative: refused"
        )
