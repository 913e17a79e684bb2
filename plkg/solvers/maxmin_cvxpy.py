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
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from plkg.solvers.allocation import AllocationResult
from plkg.solvers.equal_power import check_power_budget
from plkg.solvers.maxmin_exact import SolverError

LN2 = math.log(2.0)
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


def _level_allocation(w, m_a, b):
    """x_j(w) of the per-UE water-filling on the exact Eq. (42) (cancellation-free root)."""
    excess = w - b
    with np.errstate(invalid="ignore", over="ignore"):
        x = 2.0 * excess / (1.0 + 2.0 * m_a + np.sqrt(1.0 + 4.0 * m_a * (1.0 + m_a) * (w / b)))
    return np.where(excess > 0, x, 0.0)


def inactive_mask(m_a, m_b, user, n_users: int, pa_w: float) -> np.ndarray:
    """Subchannels that provably carry no power in the max-min optimum for budget ``pa_w``.

    At the optimum of (P2), UE k has a water level w_k with c'_{k,j}(x_{k,j}) = 1 / (w_k ln 2) on
    its active subchannels, and subchannel j is active iff b_j = m_b (1 + m_a) < w_k. The UE's own
    power sum_j x_j(w_k) is increasing in w_k and at most P_a, so w_k <= W_k, the level at which
    UE k alone would use the whole budget (found here by bisection). Every j with b_j >= W_k is
    inactive. The bound only uses feasibility, so it is valid for every budget <= ``pa_w``.

    Returns
    -------
    ndarray [N_D] bool, True where the subchannel can be dropped.
    """
    m_a = np.asarray(m_a, dtype=np.float64)
    m_b = np.asarray(m_b, dtype=np.float64)
    user = np.asarray(user)
    pa = float(pa_w)
    b = m_b * (1.0 + m_a)
    drop = np.zeros(b.shape, dtype=bool)
    for k in range(int(n_users)):
        idx = np.flatnonzero(user == k)
        lo = math.log(float(b[idx].min()))
        hi = math.log(float(b[idx].min()) + pa) + 1.0
        while _level_allocation(math.exp(hi), m_a[idx], b[idx]).sum() < pa:
            hi += 1.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if _level_allocation(math.exp(mid), m_a[idx], b[idx]).sum() < pa:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-13:
                break
        drop[idx] = b[idx] >= math.exp(hi) * (1.0 + 1e-9)
    return drop


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
CONE_BALANCE_THRESHOLD = 1e2


def _cone_balance(p):
    """Rescaling lambda of the rotated cone factors (see :class:`MaxMinProblem`).

    lambda = 1/sqrt(p) where p = 1/(m_a q) > 100 (saturation SNR far above the EPA SNR), else 1:
    both factors of a b >= sigma^2 are then O(sqrt(p)) instead of O(p) and O(1). Chosen on the
    Fig. 6 sweep (100 random budgets: 0 non-optimal instead of 1) and fuzzed subchannel sets
    (non-optimal 12/60 instead of 17/60).
    """
    return np.where(p > CONE_BALANCE_THRESHOLD, 1.0 / np.sqrt(p), 1.0)


def _self_consistent(res: CvxSolveResult) -> bool:
    """Solver optimum t > 0 and within SELF_CHECK_RTOL of min_k C_k re-evaluated at its x.

    Independent of the exact solver: only the returned x and Eq. (42) are used. t* > 0 always
    holds for P_a > 0 when every UE has a subchannel.
    """
    t, obj = res.t_bits, res.objective
    return bool(t > 0 and obj > 0 and abs(t - obj) <= SELF_CHECK_RTOL * t)


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


def refute_against_exact(pa: float, objective: float, t_exact: float, status: str) -> None:
    """SolverError when CVXPY's min_k C_k ``objective`` is more than ``EXACT_CHECK_RTOL`` off the
    exact max-min t* (``t_exact``, bits) or the exact solve is not ``optimal``."""
    if status != "optimal" or abs(objective - t_exact) > EXACT_CHECK_RTOL * t_exact:
        raise SolverError(
            f"CVXPAKF (P3) at P_a = {pa:.6g} W: CVXPY's optimum {objective:.6g} bits differs "
            f"from the exact max-min {t_exact:.6g} bits (status {status}) by more than "
            f"{EXACT_CHECK_RTOL:g} relative: refused"
        )


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

    Options
    -------
    solvers : sequence of str, default ("CLARABEL", "SCS")
    accept_inaccurate : bool, default False
    canonical : bool, default True
        Report the canonical max-min optimum (:mod:`plkg.solvers.maxmin_lexicographic`), as
        ``exact-maxmin`` does: CVXPY solves (P3) independently and its optimum is checked against
        the exact t* (``EXACT_CHECK_RTOL``, else SolverError); the reported allocation is the
        canonical one at the exact t*. CVXPY's own point, stopped at its tolerance on t, has the
        same min KR but not a reproducible sum KR (at high P_a a UE near its rate plateau gives
        up power at a rate change below that tolerance). ``False`` reports CVXPY's point.

    The compiled problems are cached per design and 10 dB band (:class:`BandedMaxMin`), so a
    sweep compiles once per band.

    ``extras`` holds ``t`` (bits, CVXPY's optimal value), the solver name, the attempts, the solve
    time, ``cvxpy_min_kr_bits`` / ``cvxpy_sum_kr_bits`` (at CVXPY's point) and, when canonical,
    the canonical optimum's ``min_kr_bits``, ``sum_kr_bits``, ``stage2``, ``slack_w``,
    ``optimum``.
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
