"""Exact water-filling for (P1) bound once to a subchannel design: the online fast path.

Same problem, same answer as :func:`plkg.solvers.water_filling.water_filling` (Eqs. (45)-(48) of
the near-field paper), arranged so that one call does only the per-power work:

* **Bind time** (:class:`BoundWaterFilling`): the constants are validated once; subchannels are
  sorted by their activation level ``b_j = m_b (1 + m_a)`` (subchannel j is active iff the water
  level w exceeds b_j), the *breakpoints* ``P_j = S(b_j)`` (the budget at which subchannel j
  switches on) are computed, and a table of the exact level ``log w(log P_a)`` with its slope is
  solved by the validating solver on a grid in log P_a that contains every breakpoint.
* **Per call**: the active count n is one bisection in the breakpoints (so the active set is
  exact before any iteration, and the unknown level is bracketed by ``[b_{n-1}, b_n]``), a cubic
  Hermite interpolation of the table gives a level accurate to ~1e-9, and safeguarded Newton steps
  on the n active subchannels only (``x_j = (w - b_j) / (1/2 + m_a + sqrt(1/4 + w m_a / m_b))``,
  ``dx_j/dw = 1 / sqrt(1 + 4 m_a w / m_b)``) finish the job: typically one Newton step and two
  evaluations of the n-vector. The final allocation is rescaled to ``sum x = P_a`` exactly, as
  the validating path does.

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

DEFAULT_NODES_PER_DECADE = 32
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


def _x_at_level(level_w, b, q, hs):
    """x_j(w) of Eq. (48) for active subchannels (w > b_j); arrays [..., n] (NumPy or torch)."""
    r = (q * level_w + 0.25) ** 0.5  # sqrt(1 + 4 m_a w / m_b) / 2
    return (level_w - b) / (hs + r), r


def _breakpoints(b, q, hs) -> np.ndarray:
    """P_j = S(b_j) = sum_{i<j} x_i(b_j) for ascending b [N]: the budget activating subchannel j."""
    n = b.size
    out = np.empty(n)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n, chunk):
        w = b[start : start + chunk, None]
        x, _ = _x_at_level(w, b[None, :], q[None, :], hs[None, :])
        out[start : start + chunk] = np.where(x > 0, x, 0.0).sum(axis=1)
    return np.maximum.accumulate(out)  # round-off guard: S is non-decreasing in b


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
        Stop when |sum x - P_a| <= rtol P_a (as the validating path).
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
        b = m_b * (1.0 + m_a)
        self.order = np.argsort(b, kind="stable")
        self._b = b[self.order]
        self._q = (m_a / m_b)[self.order]
        self._hs = (0.5 + m_a)[self.order]
        self._b_list = self._b.tolist()
        brk = _breakpoints(self._b, self._q, self._hs)
        self.breakpoints_w = brk  # [N_D], ascending; brk[0] = 0
        self._brk_list = brk.tolist()
        self._build_table(pa_range_w, int(nodes_per_decade))
        n = self.n_subchannels
        self._buf = np.empty((4, n))  # r, den, x, 1/r (views [:n_active])

    @classmethod
    def from_design(cls, design, **options) -> BoundWaterFilling:
        """Bind to a :class:`plkg.precoding.block_diagonalization.SubchannelDesign`."""
        return cls(design.m_a, design.m_b, **options)

    # ------------------------------------------------------------------------- bind-time table
    def _build_table(self, pa_range_w, per_decade: int) -> None:
        brk = self.breakpoints_w
        positive = brk[brk > 0]
        if pa_range_w is None:
            lo = positive[0] if positive.size else 1e-12
            hi = 1e4 * (positive[-1] if positive.size else 1.0)
        else:
            lo, hi = (float(v) for v in pa_range_w)
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
                raise ValueError(f"pa_range_w must be 0 < lo < hi, got {pa_range_w}")
        decades = math.log10(hi / lo)
        grid = np.geomspace(lo, hi, max(2, int(math.ceil(decades * per_decade)) + 1))
        nodes = np.unique(np.concatenate([grid, positive[(positive >= lo) & (positive <= hi)]]))
        level = np.asarray(
            water_filling(nodes, self.m_a, self.m_b, rtol=self.rtol, max_iter=self.max_iter).level_w
        )
        # d log w / d log P = P / (w S'(w)), S'(w) = sum_active 1 / sqrt(1 + 4 m_a w / m_b). At a
        # breakpoint the slope jumps (subchannel j joins the sum on the right), so each node keeps
        # a left and a right slope and the Hermite cubic of an interval uses the inner ones.
        r = np.sqrt(1.0 + 4.0 * self._q[None, :] * level[:, None])
        cum = np.concatenate([np.zeros((nodes.size, 1)), np.cumsum(1.0 / r, axis=1)], axis=1)
        rows = np.arange(nodes.size)
        s_left = cum[rows, np.searchsorted(brk, nodes, side="left")]
        s_right = cum[rows, np.searchsorted(brk, nodes, side="right")]
        self._u = np.log(nodes).tolist()
        self._v = np.log(level).tolist()
        self._d_left = (nodes / (level * s_left)).tolist()
        self._d_right = (nodes / (level * s_right)).tolist()

    def _guess_log_level(self, log_pa: float) -> float:
        """Cubic Hermite interpolation of the bind-time table (linear outside it)."""
        u, v = self._u, self._v
        i = bisect_right(u, log_pa) - 1
        if i < 0:
            return v[0] + self._d_right[0] * (log_pa - u[0])
        if i >= len(u) - 1:
            return v[-1] + self._d_left[-1] * (log_pa - u[-1])
        h = u[i + 1] - u[i]
        t = (log_pa - u[i]) / h
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
            return FastWaterFilling(self, out, pa, self._b_list[0], 0, 0)
        n = bisect_left(self._brk_list, pa)  # P_{n-1} < P_a <= P_n: exactly n active
        lo = self._b_list[n - 1]
        hi = self._b_list[n] if n < self.n_subchannels else math.inf
        w, x, iterations = self._newton(pa, n, lo, hi)
        out[self.order[:n]] = x
        return FastWaterFilling(self, out, pa, w, n, iterations)

    def _newton(self, pa: float, n: int, lo: float, hi: float):
        """Safeguarded Newton on the level w in (lo, hi) with n active subchannels."""
        b, q, hs = self._b[:n], self._q[:n], self._hs[:n]
        r, den, x, inv = (row[:n] for row in self._buf)
        w = math.exp(self._guess_log_level(math.log(pa)))
        if not lo < w < hi:
            w = 0.5 * (lo + hi) if hi < math.inf else max(2.0 * lo, lo + pa)
        tol = self.rtol * pa
        stuck = False
        for it in range(1, self.max_iter + 1):
            np.multiply(q, w, out=r)
            r += 0.25
            np.sqrt(r, out=r)
            np.add(hs, r, out=den)
            np.subtract(w, b, out=x)
            x /= den
            f = float(x.sum()) - pa
            if abs(f) <= tol or stuck:
                x *= pa / (f + pa)  # sum x = P_a exactly, as the validating path
                return w, x, it
            if f > 0:
                hi = w
            else:
                lo = w
            np.divide(0.5, r, out=inv)  # dx_j/dw = 1 / (2 r_j)
            step = w - f / float(inv.sum())
            if lo < step < hi:
                w = step
            else:
                w = 0.5 * (lo + hi) if hi < math.inf else 2.0 * w
            stuck = hi - lo <= 4e-16 * w  # bracket at round-off: converged in float64
        raise WaterFillingError(
            f"bound water-filling did not converge in {self.max_iter} evaluations at P_a = {pa:g} W"
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
        n_act = np.searchsorted(self.breakpoints_w, pa, side="left")
        guess = np.array(
            [self._guess_log_level(math.log(p)) if p > 0 else 0.0 for p in pa.tolist()]
        )
        return solve_batched_levels(
            pa,
            self._b,
            self._q,
            self._hs,
            n_act,
            np.exp(guess),
            self.order,
            rtol=self.rtol,
            max_iter=self.max_iter,
            device=device,
        )


__all__ = ["BoundWaterFilling", "FastWaterFilling"]
