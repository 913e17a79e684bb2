"""Exact max-min key-rate power allocation, problem (P2) of the near-field paper (Eq. (52)).

Beyond the paper: the optimum of (P2) on the exact C_k of Eq. (42), without the high-power
approximation (57) and without a generic conic solver, for every budget float64 can represent
(:func:`plkg.solvers.water_level.check_power_domain`; outside it :class:`PowerDomainError`).

Structure used
--------------
Write b = m_b (1 + m_a), so the j-th term of Eq. (42) is c(x) = log2(1 + x / (x m_a + b)), which is
concave and increasing with c'(x) = m_b / (Q(x) ln 2), Q(x) = m_a x^2 + m_b (2 m_a + 1) x + m_b^2
(m_a + 1) (the denominator of Eq. (46)).

* **Least power for rate t (one UE).** min sum_j x_j s.t. sum_j c_j(x_j) >= t is convex; its KKT
  conditions are a per-UE water-filling: c_j'(x_j) = 1 / (w ln 2) on the active subchannels and
  x_j = 0 where b_j >= w. Every UE k is solved on O(1) numbers (:mod:`plkg.solvers.water_level`):
  powers in units of its lowest activation level s_k = min_{j in k} b_j, and the unknown is the
  *offset* d_k = (w_k - s_k) / s_k >= 0 of its level, never w_k itself:

      x_j / s_k = (d_k - delta_j)^+ / (1/2 + m_a + sqrt(1/4 + q_j (1 + d_k))),
      delta_j = (b_j - s_k) / s_k,  q_j = m_a s_k / m_b,

  so the lowest subchannel's numerator is d_k itself: at a budget P_a far below s_k (where w - b
  cancels to 0 in float64) the allocation keeps full relative precision. The rate is
  c_j = log1p(x_r / (x_r m_a + b_j / s_k)) / ln 2 with x_r = x_j / s_k, and
  dx_r/dd = 1 / (2 sqrt(1/4 + q (1 + d))), so dR_k/d(log d_k) = d_k / (1 + d_k) sum_j dx_r/dd / ln 2.
  d_k is carried as an unevaluated sum dh + dl, so that a level within round-off above a higher
  activation level b_j >> s_k (a UE whose lower subchannels saturate) keeps d - delta_j exact too.
  The offset reaching R_k = t is found by a safeguarded Newton iteration in log d_k
  (:func:`~plkg.solvers.maxmin_exact.offsets._newton_offsets`).
* **Residuals that are linear at both ends.** R_k behaves like log2(1 + d_k): linear in d_k at low
  power, in log d_k at high power. Newton steps therefore use the residual of
  psi(R) = log(2^R - 1) (psi(R) - psi(t) divided by psi'(R), equal to R - t to first order), and a
  step dt of t is taken as psi(t_new) = psi(t) + psi'(t) dt: a step in log t at low power, in t at
  high power, one Newton step from the exact answer in either limit. Near a rate plateau (the sum
  of log2(1 + 1/m_a) over the active subchannels) the residual is log(P - R_k), and near a newly
  active subchannel the step is linear in d.
* **Max-min.** At the optimum of (P2) every UE has C_k = t* (the KKT conditions (54)-(56) hold
  with the exact C_k) and the budget is used exactly, so t* solves F(t) = sum_k P_k(t) - P_a = 0,
  where P_k(t) is the least power of UE k for rate t. F is convex and increasing with
  F'(t) = ln 2 sum_k w_k(t). A joint Newton iteration on (t, log d_k), with t kept in a bracket
  built from the iterates, converges in a handful of steps; the robust fallback (Newton on t
  inside a bisected bracket, each P_k(t) solved segment by segment between activation levels,
  :func:`~plkg.solvers.maxmin_exact.robust._robust_scalar`) takes the budgets it leaves (extreme
  saturation), so that non-convergence is an error, never a returned status.

Tolerances on t and on the rates are relative (t can be 1e-280 bits at a tiny budget). The same
code runs on NumPy arrays and on torch tensors (float64), batched over any leading dimensions of
``pa_w`` / ``t_bits``, through the array API standard (``array_api_compat``).

Modules, each importing only those above it
-------------------------------------------
* :mod:`~plkg.solvers.maxmin_exact.arrays`: what the solver needs beyond the array API standard.
* :mod:`~plkg.solvers.maxmin_exact.residuals`: psi(R) = log(2^R - 1) residuals and steps.
* :mod:`~plkg.solvers.maxmin_exact.problem`: per-UE normalised constants, the solvable domain.
* :mod:`~plkg.solvers.maxmin_exact.offsets`: allocation at a level offset, Newton on offsets.
* :mod:`~plkg.solvers.maxmin_exact.bounds`: the bracket on t*.
* :mod:`~plkg.solvers.maxmin_exact.robust`: the segment-wise fallback.
* :mod:`~plkg.solvers.maxmin_exact.least_power`: each UE's least power for a rate t.
* :mod:`~plkg.solvers.maxmin_exact.finish`: budget-exact rescaling, :class:`MaxMinSolution`.
* :mod:`~plkg.solvers.maxmin_exact.joint_newton`: the joint Newton iteration, batched;
  :mod:`~plkg.solvers.maxmin_exact.joint_newton_scalar`: the same for one budget.
* :mod:`~plkg.solvers.maxmin_exact.certify`: the certificate of an optimum.
* :mod:`~plkg.solvers.maxmin_exact.solver`: :class:`ExactMaxMin`, :func:`solve_maxmin`.
"""

from plkg.errors import SolverError
from plkg.solvers.maxmin_exact.certify import CERTIFY_BUDGET_RTOL, CERTIFY_RATE_RTOL
from plkg.solvers.maxmin_exact.finish import MaxMinSolution
from plkg.solvers.maxmin_exact.least_power import LeastPowerAllocation, least_power_allocation
from plkg.solvers.maxmin_exact.solver import ExactMaxMin, solve_maxmin
from plkg.solvers.water_level import PowerDomainError

__all__ = [
    "CERTIFY_BUDGET_RTOL",
    "CERTIFY_RATE_RTOL",
    "ExactMaxMin",
    "LeastPowerAllocation",
    "MaxMinSolution",
    "PowerDomainError",
    "SolverError",
    "least_power_allocation",
    "solve_maxmin",
]
