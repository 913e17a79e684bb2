"""Exact water-filling for (P1) bound once to a subchannel design: the online fast path.

Same problem, same answer as :func:`plkg.solvers.water_filling.water_filling` (Eqs. (45)-(48) of
the near-field paper), arranged so that one call does only the per-power work:

* **Bind time** (:class:`BoundWaterFilling`): the constants are validated once and normalised
  by the lowest activation level s = b_min (:mod:`plkg.solvers.water_level`); subchannels are
  sorted by their activation offset ``delta_j = (b_j - b_min)/s`` (subchannel j is active iff
  the level's offset d exceeds delta_j), the *breakpoints* ``p_j = S(delta_j)`` (the budget at
  which subchannel j switches on) are computed, and a table of the exact offset
  ``log d(log P_a)`` with its slope is solved by the validating solver on a grid in log P_a that
  contains every breakpoint.
* **Per call**: the active count n is one bisection in the breakpoints (so the active set is
  exact before any iteration, and the offset is bracketed by ``[delta_{n-1}, delta_n]``; n = 1
  is closed form), a cubic Hermite interpolation of the table gives an offset accurate to
  ~1e-9, and safeguarded Newton steps (on log S against log d) on the n active subchannels
  only (``x_j = (d - delta_j) / (1/2 + m_a + sqrt(1/4 + q_j (1 + d)))``, ``dx_j/dd = 1 / (2
  r_j)``) finish the job: typically one Newton step and two evaluations of the n-vector. The
  final allocation is rescaled to ``sum x = P_a`` exactly, as the validating path does. A budget
  far below the level (where ``d - delta_{n-1}`` would cancel) goes to the validating path.

The per-call power is checked with two float comparisons (finite, >= 0); everything else was
validated at bind time. The batched call :meth:`BoundWaterFilling.solve` runs the same iteration
over [B] budgets on NumPy or on a torch device.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

import numpy as np

from plkg.keyrate.subchannel import LN2, subchannel_key_rate_bits
from plkg.solvers.water_filling import (
    DEFAULT_MAX_ITER,
    DEFAULT_RTOL,
    WaterFillingError,
    _check_inputs,
    kkt_residual,
    water_filling,
)
from plkg.solvers.water_level import (
    RATIO_MIN,
    budget_ceiling,
    check_power_domain,
    normalise,
    offset_limit,
    x_at_offset,
)

DEFAULT_NODES_PER_DECADE = 32
_EPS = float(np.finfo(np.float64).eps)
_CHUNK_ELEMENTS = 1 << 22  # [rows, N_D] block of the bind-time breakpoints: 32 MiB at most


class FastWaterFilling:
    """One exact (P1) solution from :class:`BoundWaterFilling` (``__slots__``, lazy extras).

    Attributes
    ----------
    x_w : ndarray [N_D] float64, watt
        Optimal allocation (Eq. (48)), sum x = P_a (design order).
    pa_w : float, watt
    level_w : float, watt
        Water level w = 1/(mu ln 2).
    mu : float, bit/W
        Lagrange multiplier of Eq. (47).
    n_active : int
        Number of subchannels with x > 0.
    iterations : int
        Evaluations of the active n-vector (a Newton step between two of them).
    status : str
        ``converged`` (non-convergence raises :class:`WaterFillingError`).
    objective : float (property), bits
        Sum KR of Eq. (42), computed on first access.
    kkt_residual : float (property)
        :func:`plkg.solvers.water_filling.kkt_residual`, computed on first access.
    """

    __slots__ = ("_owner", "x_w", "pa_w", "level_w", "n_active", "iterations", "status")

    def __init__(self, owner, x_w, pa_w, level_w, n_active, iterations):
        self._owner = owner
        self.x_w = x_w
        self.pa_w = pa_w
        self.level_w = level_w
        self.n_active = n_active
        self.iterations = iterations
        self.status = "converged"

    @property
    def mu(self) -> float:
        return 1.0 / (self.level_w * LN2) if self.level_w > 0 else math.inf

    @property
    def objective(self) -> float:
        o = self._owner
        return float(subchannel_key_rate_bits(self.x_w, o.m_a, o.m_b).sum())

    @property
    def kkt_residual(self) -> float:
        o = self._owner
        return float(
            kkt_residual(self.x_w, np.asarray(self.mu), o.m_a, o.m_b, np.asarray(self.pa_w))
        )


def _breakpoints(delta, q, hs) -> np.ndarray:
    """p_j = S(delta_j) / s for ascending offsets delta [N]: the budget activating subchannel j.

    Normalised as in :mod:`plkg.solvers.water_level` (budgets in units of b_min).
    """
    n = delta.size
    out = np.empty(n)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n, chunk):
        d = delta[start : start + chunk, None]
        x, _ = x_at_offset(d, delta[None, :], q[None, :], hs[None, :])
        out[start : start + chunk] = x.sum(axis=1)
    return np.maximum.accumulate(out)  # round-off guard: S is non-decreasing in the offset


class BoundWaterFilling:
    """Exact water-filling of (P1) bound to one design; validates its inputs once, at bind time.

    Parameters
    ----------
    m_a : array [N_D], dimensionless (>= 0); m_b : array [N_D], watt (> 0)
        Constants of Eq. (42). Validated here (finite, signs, shapes), never again per call.
    pa_range_w : (float, float), optional
        Budgets (W) covered by the interpolation table (default: from the first breakpoint to
        1e4 times the last one). Budgets outside it are still solved exactly, with more Newton
        steps from a coarser start.
    nodes_per_decade : int
        Table density in log P_a (besides the breakpoints, which are always nodes).
    rtol : float
        Stop when ``abs(sum(x) - P_a) <= rtol * P_a`` (as the validating path).
    max_iter : int
        Evaluations before :class:`WaterFillingError` is raised.

    Notes
    -----
    ``bound(pa_w)`` (one float budget) returns a :class:`FastWaterFilling`; ``bound.solve(pa_w,
    device=...)`` solves [B] budgets at once on NumPy or torch. Both agree with
    :func:`plkg.solvers.water_filling.water_filling` to ~1e-13 relative (the tests hold them to
    1e-12). Binding costs O(N_D^2) for the breakpoints and one batched validating solve over the
    table (~0.1 s for N_D ~ 1e2; meant for N_D up to ~1e4).
    """

    def __init__(
        self,
        m_a,
        m_b,
        *,
        pa_range_w: tuple[float, float] | None = None,
        nodes_per_decade: int = DEFAULT_NODES_PER_DECADE,
        rtol: float = DEFAULT_RTOL,
        max_iter: int = DEFAULT_MAX_ITER,
    ):
        _, m_a, m_b = _check_inputs(0.0, m_a, m_b)
        if m_a.ndim != 1 or m_a.shape != m_b.shape:
            raise ValueError(
                f"BoundWaterFilling needs m_a and m_b of one shape [N_D], got {m_a.shape}, {m_b.shape}"
            )
        if not (int(nodes_per_decade) >= 1 and rtol > 0 and int(max_iter) >= 1):
            raise ValueError("nodes_per_decade and max_iter must be >= 1 and rtol > 0")
        self.m_a, self.m_b = m_a.copy(), m_b.copy()
        self.n_subchannels = m_a.size
        self.rtol, self.max_iter = float(rtol), int(max_iter)
        # Normalised constants (plkg.solvers.water_level): powers in units of s = b_min, the
        # level as its offset d above b_min, sorted by activation offset.
        with np.errstate(over="ignore", invalid="ignore"):
            s, delta, q, hs = normalise(m_a, m_b)
            self.order = np.argsort(delta, kind="stable")
            self._s = float(s)
            self._delta = delta[self.order]
            self._q = q[self.order]
            self._hs = hs[self.order]
            self._delta_list = self._delta.tolist()
            brk = _breakpoints(self._delta, self._q, self._hs)
            self.breakpoints_w = brk * self._s  # [N_D], ascending; brk[0] = 0
            self._brk_list = brk.tolist()
            d_max = float(offset_limit(self._s, float(self._q.max())))
            self._p_max = budget_ceiling(self._delta, self._q, self._hs, d_max)
        self._build_table(pa_range_w, int(nodes_per_decade))
        n = self.n_subchannels
        self._buf = np.empty((4, n))  # r, den, x, 1/r (views [:n_active])

    @classmethod
    def from_design(cls, design, **options) -> BoundWaterFilling:
        """Bind to a :class:`plkg.precoding.subchannel_design.SubchannelDesign`."""
        return cls(design.m_a, design.m_b, **options)

    # ------------------------------------------------------------------------- bind-time table
    def _build_table(self, pa_range_w, per_decade: int) -> None:
        brk = np.asarray(self._brk_list)
        positive = brk[brk > 0]
        if pa_range_w is None:
            lo = positive[0] if positive.size else 1e-6
            hi = min(self._p_max, positive[-1] if positive.size else 1.0) * 1e4
        else:
            lo, hi = (float(v) for v in pa_range_w)
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
                raise ValueError(f"pa_range_w must be 0 < lo < hi, got {pa_range_w}")
            lo, hi = lo / self._s, hi / self._s
        lo, hi = max(lo, RATIO_MIN), min(hi, self._p_max * (1 - 1e-9))  # inside the domain
        if not hi > 2 * RATIO_MIN:  # no budget of this design is solvable: every call refuses
            self._u, self._v, self._d_left, self._d_right = [0.0], [0.0], [1.0], [1.0]
            return
        lo = min(lo, 0.5 * hi)
        decades = math.log10(hi / lo)
        grid = np.geomspace(lo, hi, max(2, int(math.ceil(decades * per_decade)) + 1))
        nodes = np.unique(np.concatenate([grid, positive[(positive >= lo) & (positive <= hi)]]))
        res = water_filling(
            nodes * self._s, self.m_a, self.m_b, rtol=self.rtol, max_iter=self.max_iter
        )
        offset = np.asarray(res.extras["offset_w"]) / self._s
        # d log d / d log p = p / (d S'(d)), S'(d) = sum_active 1 / sqrt(1 + 4 q (1 + d)). At a
        # breakpoint the slope jumps (subchannel j joins the sum on the right), so each node keeps
        # a left and a right slope and the Hermite cubic of an interval uses the inner ones.
        r = np.sqrt(1.0 + 4.0 * self._q[None, :] * (1.0 + offset[:, None]))
        cum = np.concatenate([np.zeros((nodes.size, 1)), np.cumsum(1.0 / r, axis=1)], axis=1)
        rows = np.arange(nodes.size)
        s_left = cum[rows, np.searchsorted(brk, nodes, side="left")]
        s_right = cum[rows, np.searchsorted(brk, nodes, side="right")]
        self._u = np.log(nodes).tolist()
        self._v = np.log(offset).tolist()
        self._d_left = (nodes / (offset * s_left)).tolist()
        self._d_right = (nodes / (offset * s_right)).tolist()

    def _guess_log_offset(self, log_p: float) -> float:
        """Cubic Hermite interpolation of the bind-time table (linear outside it)."""
        u, v = self._u, self._v
        i = bisect_right(u, log_p) - 1
        if i < 0:
            return v[0] + self._d_right[0] * (log_p - u[0])
        if i >= len(u) - 1:
            return v[-1] + self._d_left[-1] * (log_p - u[-1])
        h = u[i + 1] - u[i]
        t = (log_p - u[i]) / h
        t2 = t * t
        t3 = t2 * t
        return (
            (2 * t3 - 3 * t2 + 1) * v[i]
            + (t3 - 2 * t2 + t) * h * self._d_right[i]
            + (-2 * t3 + 3 * t2) * v[i + 1]
            + (t3 - t2) * h * self._d_left[i + 1]
        )

    # ------------------------------------------------------------------------- one budget
    def __call__(self, pa_w: float) -> FastWaterFilling:
        """Solve (P1) for one budget ``pa_w`` (W, float >= 0); returns :class:`FastWaterFilling`."""
        pa = float(pa_w)
        if not (pa >= 0.0 and pa < math.inf):  # also catches NaN
            raise ValueError(f"power budget P_a must be finite and >= 0 W, got {pa_w!r}")
        out = np.zeros(self.n_subchannels)
        if pa == 0.0:
            return FastWaterFilling(self, out, pa, self._s, 0, 0)
        p = pa / self._s
        if not (RATIO_MIN <= p <= self._p_max):
            check_power_domain(pa, self.m_a, self.m_b)  # names the value (or passes at the edge)
        n = bisect_left(self._brk_list, p)  # p_{n-1} < p <= p_n: exactly n active
        if n == 1:  # one subchannel takes it all: its offset in closed form (inverse of (48))
            out[self.order[0]] = pa
            d = p * (2.0 * self._hs[0] + self._q[0] * p)
            return FastWaterFilling(self, out, pa, self._s + self._s * d, 1, 1)
        lo = self._delta_list[n - 1]
        hi = self._delta_list[n] if n < self.n_subchannels else math.inf
        if 4 * _EPS * lo > self.rtol * p:
            # the budget is far below the level: the validating path measures the level above
            # the top active activation level (plkg.solvers.water_level.refine_on_top_reference)
            return self._validated(pa)
        try:
            d, x, iterations = self._newton(p, n, lo, hi)
        except (ArithmeticError, ValueError, WaterFillingError):
            return self._validated(pa)  # a kernel step left float64's comfort zone
        x *= self._s
        out[self.order[:n]] = x
        return FastWaterFilling(self, out, pa, self._s + self._s * d, n, iterations)

    def _validated(self, pa: float) -> FastWaterFilling:
        res = water_filling(pa, self.m_a, self.m_b, rtol=self.rtol, max_iter=self.max_iter)
        x = np.asarray(res.x_w, dtype=np.float64)
        n = int(np.count_nonzero(x))
        return FastWaterFilling(self, x, pa, float(res.level_w), n, int(res.iterations))

    def _newton(self, p: float, n: int, lo: float, hi: float):
        """Safeguarded Newton on the offset d in [lo, hi) with n active subchannels (normalised)."""
        delta, q, hs = self._delta[:n], self._q[:n], self._hs[:n]
        r, den, x, inv = (row[:n] for row in self._buf)
        d = math.exp(self._guess_log_offset(math.log(p)))
        if not lo < d < hi:
            d = 0.5 * (lo + hi) if hi < math.inf else max(2.0 * lo, lo + p)
        tol = self.rtol * p
        stuck = False
        for it in range(1, self.max_iter + 1):
            np.multiply(q, 1.0 + d, out=r)
            r += 0.25
            np.sqrt(r, out=r)
            np.add(hs, r, out=den)
            np.subtract(d, delta, out=x)
            x /= den
            f = float(x.sum()) - p
            if abs(f) <= tol or stuck:
                x *= p / (f + p)  # sum x = P_a exactly, as the validating path
                return d, x, it
            if f > 0:
                hi = d
            else:
                lo = d
            np.divide(0.5, r, out=inv)  # dx_j/dd = 1 / (2 r_j)
            # Newton on log S against log d (nearly linear; a linear step from far above the
            # root would cancel in d - f / S')
            total = f + p
            step = d * math.exp(-math.log(total / p) * total / (d * float(inv.sum())))
            if lo <= step <= hi:
                d = step
            elif hi == math.inf:
                d = 2.0 * d
            else:
                d = math.sqrt(lo) * math.sqrt(hi) if lo > 0 else 0.5 * hi
            stuck = hi - lo <= 4e-16 * d  # bracket at round-off: converged in float64
        raise WaterFillingError(
            f"bound water-filling did not converge in {self.max_iter} evaluations at "
            f"P_a = {p * self._s:g} W"
        )

    def x(self, pa_w: float) -> np.ndarray:
        """Only the allocation x [N_D] (W) for one budget."""
        return self(pa_w).x_w

    # ------------------------------------------------------------------------- many budgets
    def solve(self, pa_w, device=None):
        """Exact (P1) for budgets ``pa_w`` [B] (W, >= 0), batched; NumPy or a torch ``device``.

        Returns
        -------
        (x_w [B, N_D], level_w [B], iterations int)
            NumPy float64 arrays, or float64 tensors on ``device`` when one is given.
        """
        from plkg.solvers.water_filling_batched import solve_batched_levels

        pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
        if pa.ndim != 1 or not np.all(np.isfinite(pa)) or np.any(pa < 0):
            raise ValueError("power budgets P_a must be a finite, non-negative 1-D array")
        with np.errstate(over="ignore"):
            p = pa / self._s
        outside = (pa > 0) & ~((p >= RATIO_MIN) & (p <= self._p_max))
        if outside.any():
            check_power_domain(pa[outside], self.m_a, self.m_b)
        n_act = np.searchsorted(np.asarray(self._brk_list), p, side="left")
        guess = np.array(
            [self._guess_log_offset(math.log(v)) if v > 0 else 0.0 for v in p.tolist()]
        )
        top = self._delta[np.maximum(n_act, 1) - 1]  # offset of the top active subchannel
        risky = (pa > 0) & (4 * _EPS * top > self.rtol * p)

        def kernel(rows, dev):
            return solve_batched_levels(
                pa[rows],
                self._s,
                self._delta,
                self._q,
                self._hs,
                n_act[rows],
                np.exp(guess[rows]),
                self.order,
                rtol=self.rtol,
                max_iter=self.max_iter,
                device=dev,
            )

        if not risky.any():
            try:
                return kernel(slice(None), device)
            except WaterFillingError:
                risky = pa > 0  # the kernel could not converge: every row on the validating path
        # budgets far below the level: the validating path (top-active reference) for those rows
        x = np.zeros((pa.size, self.n_subchannels))
        w = np.full(pa.size, self._s)
        iterations = 0
        if (~risky).any():
            x_k, w_k, iterations = kernel(~risky, None)
            x[~risky], w[~risky] = x_k, w_k
        res = water_filling(pa[risky], self.m_a, self.m_b, rtol=self.rtol, max_iter=self.max_iter)
        x[risky], w[risky] = res.x_w, res.level_w
        iterations = max(iterations, int(np.max(res.iterations)))
        if device is None:
            return x, w, iterations
        import torch

        as_t = lambda v: torch.as_tensor(v, dtype=torch.float64, device=device)  # noqa: E731
        return as_t(x), as_t(w), iterations


__all__ = ["BoundWaterFilling", "FastWaterFilling"]
