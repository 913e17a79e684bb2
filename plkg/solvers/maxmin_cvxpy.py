"""CVXPAKF: problem (P3) of the near-field paper (Eq. (53)) in CVXPY, with its numerical fixes.

(P3): max t s.t. C_k >= t for every UE, sum_{k,j} x_{k,j} <= P_a, x >= 0, with C_k of Eq. (42).

The paper solves (P3) with the CVX toolbox. Written naively on the paper's own scales (noise
-114 dBm, powers in W) the per-subchannel term is entered as
``log(1 + 1/a - (c/a) inv_pos(a x + c))`` (a = m_a, c = m_b (1 + m_a)); 1/a reaches 1e5..1e7 and
the two large terms cancel, so Clarabel stops at ``optimal_inaccurate`` with a max-min value
several percent off and fails at 25 dBm. This module instead

* works in normalised units: x = P_a u with sum(u) <= 1, and the term is written in SNR units as
  log(1 + s), s = 1 / (m_a + b / x) = 0.5 * harmonic_mean([1/m_a, P_a u / b]) -- DCP, no
  difference of large numbers; subchannels with m_a = 0 use s = P_a u / b;
* drops subchannels that provably carry no power at the optimum (b_j >= W_k, where W_k bounds the
  water level of UE k: see :func:`inactive_mask`), so the conic problem has fewer, better-scaled
  cones (``prune=True``; the exact max-min solver certifies this never changes the optimum);
* makes P_a a DPP :class:`cvxpy.Parameter`, so a sweep over P_a compiles the problem once
  (:class:`MaxMinProblem`);
* checks the solver status: ``optimal`` is returned, ``optimal_inaccurate`` is retried with the
  next solver in ``solvers`` and, if no solver is accurate, raised (or, with
  ``accept_inaccurate=True``, returned with status ``optimal_inaccurate`` and a warning) -- never
  reported as optimal.

The parts: the pruning bound in :mod:`plkg.solvers.maxmin_pruning`, the compiled problem in
:mod:`plkg.solvers.maxmin_cvxpy_problem`, the acceptance rules and solver order in
:mod:`plkg.solvers.maxmin_cvxpy_certify`; this module holds the per-band problems and the
method ``cvxpakf`` (:func:`allocate`).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.solvers.allocation import AllocationResult
from plkg.solvers.equal_power import check_power_budget
from plkg.solvers.maxmin_cvxpy_certify import DEFAULT_SOLVERS, CvxSolveResult, refute_against_exact
from plkg.solvers.maxmin_cvxpy_certify import EXACT_CHECK_RTOL as EXACT_CHECK_RTOL
from plkg.solvers.maxmin_cvxpy_certify import SELF_CHECK_RTOL as SELF_CHECK_RTOL
from plkg.solvers.maxmin_cvxpy_problem import CONE_BALANCE_THRESHOLD as CONE_BALANCE_THRESHOLD
from plkg.solvers.maxmin_cvxpy_problem import LN2 as LN2
from plkg.solvers.maxmin_cvxpy_problem import MaxMinProblem
from plkg.solvers.maxmin_pruning import inactive_mask as inactive_mask


class BandedMaxMin:
    """(P3) for budgets in any range: one compiled :class:`MaxMinProblem` per ``band_db`` band.

    The structural pruning of a problem is made for the top of its band (10 dB bands ending at
    multiples of 10 dBm by default), which keeps the cones well scaled at low budgets; inside a
    band every budget reuses the compiled problem (DPP parameters).
    """

    def __init__(self, m_a, m_b, user, n_users: int, band_db: float = 10.0):
        if not band_db > 0:
            raise ValueError(f"band_db must be > 0, got {band_db}")
        self._args = (m_a, m_b, user, int(n_users))
        self.band_db = float(band_db)
        self.problems: dict[float, MaxMinProblem] = {}

    def problem_for(self, pa_w: float) -> MaxMinProblem:
        pa = check_power_budget(pa_w)
        if pa <= 0:
            raise ValueError(
                "power budget P_a must be > 0 W for max-min allocation (P_a = 0 gives every UE key rate 0)"
            )
        top_dbm = math.ceil(10.0 * math.log10(pa * 1e3) / self.band_db - 1e-9) * self.band_db
        if top_dbm not in self.problems:
            top_w = max(10.0 ** (top_dbm / 10.0) * 1e-3, pa)
            self.problems[top_dbm] = MaxMinProblem(*self._args, pa_w_max=top_w)
        return self.problems[top_dbm]

    def solve(self, pa_w: float, **kwargs) -> CvxSolveResult:
        """:meth:`MaxMinProblem.solve` on the band's compiled problem."""
        return self.problem_for(pa_w).solve(pa_w, **kwargs)


_CACHE: dict = {}


def _banded_for(design) -> BandedMaxMin:
    entry = _CACHE.get(id(design))
    if entry is None or entry[0] is not design:
        if len(_CACHE) > 8:
            _CACHE.clear()
        entry = (design, BandedMaxMin(design.m_a, design.m_b, design.user, design.n_users))
        _CACHE[id(design)] = entry
    return entry[1]


def allocate(design, pa_w: float, **options) -> AllocationResult:
    """CVXPAKF (method ``cvxpakf``): (P3) in CVXPY for a subchannel design, budget ``pa_w`` (W).

    The compiled problems are cached per design and 10 dB band (:class:`BandedMaxMin`), so a
    sweep compiles once per band.

    Parameters
    ----------
    design : SubchannelDesign
        The subchannels (constants m_a, m_b of Eq. (42)).
    pa_w : float
        Power budget P_a in watts, > 0.
    **options
        The options below.

    Other Parameters
    ----------------
    solvers : sequence of str, default ("CLARABEL", "SCS")
        CVXPY solvers, tried in this order.
    accept_inaccurate : bool, default False
        Accept a solver status ``optimal_inaccurate``.
    canonical : bool, default True
        Report the canonical max-min optimum (:mod:`plkg.solvers.maxmin_lexicographic`), as
        ``exact-maxmin`` does: CVXPY solves (P3) independently and its optimum is checked against
        the exact t* (``EXACT_CHECK_RTOL``, else SolverError); the reported allocation is the
        canonical one at the exact t*. CVXPY's own point, stopped at its tolerance on t, has the
        same min KR but not a reproducible sum KR (at high P_a a UE near its rate plateau gives
        up power at a rate change below that tolerance). ``False`` reports CVXPY's point.

    Returns
    -------
    AllocationResult
        The allocation x [N_D] (W). ``extras`` holds ``t`` (bits, CVXPY's optimal value), the
        solver name, the attempts, the solve time, ``cvxpy_min_kr_bits`` / ``cvxpy_sum_kr_bits``
        (at CVXPY's point) and, when canonical, the canonical optimum's ``min_kr_bits``,
        ``sum_kr_bits``, ``stage2``, ``slack_w``, ``optimum``.
    """
    from plkg.keyrate.subchannel import user_key_rates_bits

    pa = check_power_budget(pa_w)
    if pa <= 0:
        raise ValueError(
            "power budget P_a must be > 0 W for max-min allocation (P_a = 0 gives every UE key rate 0)"
        )
    canonical = bool(options.get("canonical", True))
    banded = _banded_for(design)
    prob = banded.problem_for(pa)
    res = prob.solve(
        pa,
        solvers=tuple(options.get("solvers", DEFAULT_SOLVERS)),
        accept_inaccurate=bool(options.get("accept_inaccurate", False)),
        check_exact=not canonical,
    )
    rates = user_key_rates_bits(res.x_w, design.m_a, design.m_b, design.user, design.n_users)
    extras = {
        "t": res.t_bits,
        "solver": res.solver,
        "attempts": [list(a) for a in res.attempts],
        "solve_time_s": res.solve_time_s,
        "n_pruned": int((~prob.keep).sum()),
        "cvxpy_min_kr_bits": float(np.min(rates)),
        "cvxpy_sum_kr_bits": float(np.sum(rates)),
    }
    x, objective = res.x_w, res.objective
    if canonical:
        canon = _canonical(banded, pa, res)
        x, objective = canon.x_w, canon.min_kr_bits
        extras.update(canon.summary())
    return AllocationResult(
        method="cvxpakf",
        x_w=x,
        pa_w=pa,
        status=res.status,
        iterations=res.iterations,
        objective=objective,
        extras=extras,
    )


def _canonical(banded: BandedMaxMin, pa: float, res: CvxSolveResult):
    """The canonical optimum at the exact t*, after checking CVXPY's optimum against t*."""
    from plkg.solvers.maxmin_exact import ExactMaxMin
    from plkg.solvers.maxmin_lexicographic import canonical_from_maxmin

    solver = getattr(banded, "_exact", None)
    if solver is None:
        solver = banded._exact = ExactMaxMin(*banded._args)
    sol = solver.solve(pa)
    if res.status == "optimal":
        # an accepted optimal_inaccurate point is reported as such, not refuted
        refute_against_exact(pa, res.objective, float(sol.t_bits), sol.status)
    return canonical_from_maxmin(solver, pa, sol)
