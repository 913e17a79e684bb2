"""Exact max-min key-rate power allocation, problem (P2) of the near-field paper (Eq. (52)).

Beyond the paper: the optimum of (P2) on the exact C_k of Eq. (42), without the high-power
approximation (57) and without a generic conic solver.

Structure used
--------------
Write b = m_b (1 + m_a), so the j-th term of Eq. (42) is c(x) = log2(1 + x / (x m_a + b)), which is
concave and increasing with c'(x) = m_b / (Q(x) ln 2), Q(x) = m_a x^2 + m_b (2 m_a + 1) x + m_b^2
(m_a + 1) (the denominator of Eq. (46)).

* **Least power for rate t (one UE).** min sum_j x_j s.t. sum_j c_j(x_j) >= t is convex; its KKT
  conditions are a per-UE water-filling: c_j'(x_j) = 1 / (w ln 2) on the active subchannels and
  x_j = 0 where c_j'(0) = 1 / (b_j ln 2) <= 1 / (w ln 2), i.e. where b_j >= w. Solving the quadratic
  Q(x) = m_b w in the cancellation-free form

      x_j(w) = 2 (w - b_j) / (1 + 2 m_a + sqrt(1 + 4 m_a (1 + m_a) w / b_j)),   w > b_j,

  gives the allocation for a water level w (W). The UE's rate R_k(w) is increasing in w; the level
  reaching R_k = t is found by a safeguarded Newton iteration in log w, using
  dx_j/dw = 1 / (1 + 2 m_a + 2 m_a x_j / m_b) and dR_k/d(log w) = sum_j dx_j/dw / ln 2.
* **Max-min.** At the optimum of (P2) every UE has C_k = t* (the KKT conditions (54)-(56) hold
  with the exact C_k) and the budget is used exactly, so t* solves F(t) = sum_k P_k(t) - P_a = 0,
  where P_k(t) is the least power of UE k for rate t. F is convex and increasing with
  F'(t) = ln 2 sum_k w_k(t); a safeguarded Newton iteration on t with warm-started inner levels
  converges in a handful of steps.

The same code runs on NumPy arrays and on torch tensors (float64), batched over any leading
dimensions of ``pa_w`` / ``t_bits``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from plkg.errors import SolverError as _SolverError
from plkg.solvers.allocation import AllocationResult
from plkg.solvers.equal_power import check_power_budget
from plkg.solvers.options import check_max_iter, check_rtol
from plkg.solvers.water_level import check_power_domain

LN2 = math.log(2.0)
_TWO_LN2 = 2.0 * LN2
_WARM_MAX_LOG_STEP = math.log(10.0)  # warm start only within 10 dB of the last single budget
_MAX_LOG_STEP = 4.0  # largest Newton step in log(w) (nepers) before falling back to bisection


# Defined in plkg.errors (one type for every solver); re-exported here for existing imports.
SolverError = _SolverError


# --------------------------------------------------------------------------------------------
# NumPy / torch backend: the handful of operations the solver needs, dispatched on input type.
# --------------------------------------------------------------------------------------------


class _Backend:
    def __init__(self, like):
        torch = sys.modules.get("torch")
        self.torch = torch is not None and isinstance(like, torch.Tensor)
        if self.torch:
            self.xp = torch
            self.device = like.device
        else:
            self.xp = np
            self.device = None

    def asarray(self, value):
        if self.torch:
            return self.xp.as_tensor(value, dtype=self.xp.float64, device=self.device)
        return np.asarray(value, dtype=np.float64)

    def index(self, value):
        if self.torch:
            return self.xp.as_tensor(np.asarray(value), dtype=self.xp.long, device=self.device)
        return np.asarray(value, dtype=np.int64)

    def full(self, shape, value):
        if self.torch:
            return self.xp.full(
                tuple(shape), float(value), dtype=self.xp.float64, device=self.device
            )
        return np.full(tuple(shape), float(value))

    def where(self, cond, a, b):
        if self.torch:
            a = a if isinstance(a, self.xp.Tensor) else self.asarray(a)
            b = b if isinstance(b, self.xp.Tensor) else self.asarray(b)
        return self.xp.where(cond, a, b)

    def maximum(self, a, b):
        return self.xp.maximum(
            a, b if not self.torch or isinstance(b, self.xp.Tensor) else self.asarray(b)
        )

    def minimum(self, a, b):
        return self.xp.minimum(
            a, b if not self.torch or isinstance(b, self.xp.Tensor) else self.asarray(b)
        )

    def all(self, cond) -> bool:
        return bool(cond.all())

    def amax(self, a, axis):
        return a.amax(dim=axis) if self.torch else a.max(axis=axis)

    def amin(self, a, axis):
        return a.amin(dim=axis) if self.torch else a.min(axis=axis)

    def to_numpy(self, a):
        return a.detach().cpu().numpy() if self.torch else np.asarray(a)


@dataclass(frozen=True)
class _ScalarLayout:
    """NumPy constants of the single-budget path (1-D m only): subchannels in UE-contiguous order.

    Position i of every array is subchannel ``order[i]``; UE k owns positions
    ``starts[k]:starts[k + 1]``, so per-UE sums are one ``np.add.reduceat(..., starts)``.
    """

    order: np.ndarray  # [N_D] int: original index of each position
    user: np.ndarray  # [N_D] int: owner UE of each position
    starts: np.ndarray  # [K] int: first position of each UE
    b: np.ndarray  # m_b (1 + m_a)
    m_a: np.ndarray
    hs: np.ndarray  # (1 + 2 m_a) / 2
    qa: np.ndarray  # m_a / m_b = m_a (1 + m_a) / b
    inv_n: np.ndarray  # [D_max] 1 / (1, 2, ..., D_max)
    ue_index: np.ndarray  # [K] 0..K-1
    log_b_min_arr: np.ndarray  # [K]
    log_b_min: list  # [K] Python floats
    t_hi: float  # min_k sup C_k (bits)


def _scalar_layout(m_a_np, m_b_np, user_np, log_b_min, sup, d_max: int) -> _ScalarLayout:
    order = np.argsort(user_np, kind="stable")
    user_s = user_np[order]
    counts = np.bincount(user_s, minlength=log_b_min.shape[-1])
    m_a_s, m_b_s = m_a_np[order], m_b_np[order]
    return _ScalarLayout(
        order=order,
        user=user_s,
        starts=np.concatenate([[0], np.cumsum(counts)[:-1]]),
        b=m_b_s * (1.0 + m_a_s),
        m_a=m_a_s,
        hs=0.5 + m_a_s,
        qa=m_a_s / m_b_s,
        inv_n=1.0 / np.arange(1, d_max + 1),
        ue_index=np.arange(counts.size),
        log_b_min_arr=np.array(log_b_min, dtype=np.float64),
        log_b_min=[float(v) for v in log_b_min],
        t_hi=float(np.min(sup)),
    )


@dataclass(frozen=True)
class _Problem:
    """Per-subchannel constants of Eq. (42) and the UE membership, on one backend."""

    be: _Backend
    m_a: object  # [..., N_D]
    m_b: object
    b: object  # m_b (1 + m_a)
    s: object  # 1 + 2 m_a
    a4: object  # 4 m_a (1 + m_a)
    user: object  # [N_D] int
    onehot: object  # [N_D, K]
    n_users: int
    log_b_min: object  # [..., K]: log of the smallest b of each UE (R_k = 0 below it)
    a4_over_b: object  # 4 m_a (1 + m_a) / b
    two_ma_over_mb: object  # 2 m_a / m_b
    sup_bits: np.ndarray  # [..., K] sup_x C_k (NumPy)
    padded_log_b: np.ndarray | None = None  # [K, D_max] sorted log b, +inf padded (1-D m only)
    padded_cumsum: np.ndarray | None = None  # [K, D_max] cumulative sums of padded_log_b
    log_b_sorted: list = field(default_factory=list)  # per UE [..., D_k], ascending
    scalar: _ScalarLayout | None = None  # single-budget NumPy path (1-D m only)

    def per_user(self, values):
        """Per-UE sums [..., K] of per-subchannel values [..., N_D]."""
        if self.be.torch:
            # index_add_ rather than a matmul with the one-hot matrix: small float64 matmuls go
            # through multi-threaded BLAS, which is orders of magnitude slower on a busy CPU.
            out = values.new_zeros(values.shape[:-1] + (self.n_users,))
            return out.index_add_(-1, self.user, values)
        return values @ self.onehot

    def to_sub(self, per_ue):
        """Per-subchannel copies [..., N_D] of per-UE values [..., K]."""
        if self.be.torch:
            return per_ue.index_select(-1, self.user)
        return per_ue[..., self.user]


def _plain(value):
    """NumPy view of a NumPy array, tensor or sequence."""
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def _prepare(m_a, m_b, user, n_users: int, like) -> _Problem:
    be = _Backend(like)
    m_a_np = np.asarray(_plain(m_a), dtype=np.float64)
    m_b_np = np.asarray(_plain(m_b), dtype=np.float64)
    user_np = np.asarray(_plain(user))
    if m_a_np.shape != m_b_np.shape or m_a_np.ndim < 1:
        raise ValueError(
            f"m_a and m_b must have the same shape [..., N_D], got {m_a_np.shape} and {m_b_np.shape}"
        )
    n_total = m_a_np.shape[-1]
    if n_total == 0:
        raise ValueError("no subchannels: m_a and m_b are empty")
    if user_np.shape != (n_total,) or not np.issubdtype(user_np.dtype, np.integer):
        raise ValueError(f"user must be an integer array of shape [N_D] = [{n_total}]")
    n_users = int(n_users)
    if n_users < 1 or user_np.min() < 0 or user_np.max() >= n_users:
        raise ValueError(f"user indices must lie in 0..K-1 with K = {n_users}")
    counts = np.bincount(user_np, minlength=n_users)
    if np.any(counts == 0):
        raise ValueError(
            f"UE(s) {np.flatnonzero(counts == 0).tolist()} have no subchannel (D_k = 0): "
            "their key rate is 0 and max-min fairness is meaningless"
        )
    for name, arr in (("m_a", m_a_np), ("m_b", m_b_np)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf")
    if np.any(m_a_np < 0):
        raise ValueError("m_a must be >= 0")
    if np.any(m_b_np <= 0):
        raise ValueError("m_b must be > 0")
    b_np = m_b_np * (1.0 + m_a_np)
    log_b = np.log(b_np)
    log_b_min = np.stack([log_b[..., user_np == k].min(axis=-1) for k in range(n_users)], axis=-1)
    log_b_sorted = [np.sort(log_b[..., user_np == k], axis=-1) for k in range(n_users)]
    onehot = np.zeros((n_total, n_users))
    onehot[np.arange(n_total), user_np] = 1.0
    padded_log_b = padded_cumsum = None
    if log_b.ndim == 1:
        d_max = int(counts.max())
        padded_log_b = np.full((n_users, d_max), np.inf)
        for k in range(n_users):
            padded_log_b[k, : counts[k]] = log_b_sorted[k]
        padded_cumsum = np.cumsum(np.where(np.isfinite(padded_log_b), padded_log_b, 0.0), axis=1)
    with np.errstate(divide="ignore"):
        per_sub_sup = np.log1p(1.0 / m_a_np) / LN2
    sup = np.stack([per_sub_sup[..., user_np == k].sum(axis=-1) for k in range(n_users)], axis=-1)
    return _Problem(
        be=be,
        m_a=be.asarray(m_a_np),
        m_b=be.asarray(m_b_np),
        b=be.asarray(b_np),
        s=be.asarray(1.0 + 2.0 * m_a_np),
        a4=be.asarray(4.0 * m_a_np * (1.0 + m_a_np)),
        user=be.index(user_np),
        onehot=be.asarray(onehot),
        n_users=n_users,
        log_b_min=be.asarray(log_b_min),
        a4_over_b=be.asarray(4.0 * m_a_np * (1.0 + m_a_np) / b_np),
        two_ma_over_mb=be.asarray(2.0 * m_a_np / m_b_np),
        sup_bits=sup,
        padded_log_b=padded_log_b,
        padded_cumsum=padded_cumsum,
        log_b_sorted=[be.asarray(v) for v in log_b_sorted],
        scalar=None
        if be.torch or padded_log_b is None
        else _scalar_layout(m_a_np, m_b_np, user_np, log_b_min, sup, padded_log_b.shape[1]),
    )


def _allocation_at_levels(pb: _Problem, log_w):
    """x_j(w), c_j(x_j) and dx_j/dw for per-UE levels log_w [..., K]; all [..., N_D]."""
    xp, be = pb.be.xp, pb.be
    w = xp.exp(pb.to_sub(log_w))
    excess = w - pb.b
    active = excess > 0
    x = be.where(active, 2.0 * excess / (pb.s + xp.sqrt(1.0 + pb.a4_over_b * w)), 0.0)
    rate = xp.log1p(x / (x * pb.m_a + pb.b)) / LN2
    dxdw = be.where(active, 1.0 / (pb.s + pb.two_ma_over_mb * x), 0.0)
    return x, rate, dxdw


def _highpower_levels(pb: _Problem, t_bits):
    """log w_k reaching rate t on the approximation (57) with x >= 0 (per-UE water-filling).

    On (57) with b in place of m_b, the n best subchannels active: R_k = sum_{i<n} log2(w / b_i),
    so log w = (t ln 2 + sum_{i<n} log b_i) / n; the right n is the largest with log w > log b_{n-1}.
    Used as the starting point of the exact Newton iteration. ``t_bits`` [...]; returns [..., K].
    """
    xp, be = pb.be.xp, pb.be
    out = []
    for lb in pb.log_b_sorted:
        n = be.asarray(np.arange(1, lb.shape[-1] + 1))
        cums = xp.cumsum(lb, -1) if be.torch else np.cumsum(lb, axis=-1)
        cand = (t_bits[..., None] * LN2 + cums) / n  # [..., D_k]
        valid = cand > lb
        n_act = valid.sum(-1) if be.torch else valid.sum(axis=-1)
        n_act = be.maximum(n_act, 1) if not be.torch else n_act.clamp(min=1)
        idx = (n_act - 1)[..., None]
        if be.torch:
            picked = xp.take_along_dim(cand.expand(idx.shape[:-1] + cand.shape[-1:]), idx, dim=-1)
        else:
            picked = np.take_along_axis(
                np.broadcast_to(cand, idx.shape[:-1] + cand.shape[-1:]), idx, axis=-1
            )
        out.append(picked[..., 0])
    return xp.stack(out, -1) if be.torch else np.stack(out, axis=-1)


def _solve_levels(pb: _Problem, t_bits, log_w, tol_bits, max_iter: int):
    """Safeguarded Newton in log w: per UE, the level with R_k(w_k) = t. t_bits [...] -> [..., K]."""
    be, xp = pb.be, pb.be.xp
    target = t_bits[..., None]
    lo = pb.log_b_min + 0.0 * target  # R_k(lo) = 0 <= t
    hi = be.full(lo.shape, math.inf)
    log_w = be.maximum(log_w + 0.0 * target, lo)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007
        x, rate, dxdw = _allocation_at_levels(pb, log_w)
        r_k = pb.per_user(rate)
        g = r_k - target
        done = xp.abs(g) <= tol_bits
        if be.all(done):
            return log_w, x, r_k, pb.per_user(dxdw) / LN2, iterations, True
        hi = be.where(g > 0, be.minimum(hi, log_w), hi)
        lo = be.where(g < 0, be.maximum(lo, log_w), lo)
        slope = pb.per_user(dxdw) / LN2
        newton = log_w - g / be.where(slope > 0, slope, 1.0)
        ok = (slope > 0) & (newton > lo) & (newton < hi) & (xp.abs(newton - log_w) <= _MAX_LOG_STEP)
        finite_hi = xp.isfinite(hi)
        fallback = be.where(
            finite_hi, 0.5 * (lo + be.where(finite_hi, hi, 0.0)), log_w + _MAX_LOG_STEP
        )
        log_w = be.where(done, log_w, be.where(ok, newton, fallback))
    x, rate, dxdw = _allocation_at_levels(pb, log_w)
    r_k = pb.per_user(rate)
    converged = be.all(xp.abs(r_k - target) <= 1e3 * tol_bits)
    return log_w, x, r_k, pb.per_user(dxdw) / LN2, iterations, converged


def _rate_tolerance(t_bits, rtol):
    return rtol * (1.0 + abs(t_bits))


@dataclass(frozen=True)
class LeastPowerAllocation:
    """Each UE's least-power allocation reaching key rate t (exact C_k of Eq. (42)).

    Attributes
    ----------
    x_w : [..., N_D] float64, W
    power_w : [..., K] float64, W
        P_k(t) = sum_j x_{k,j}: least power of UE k for C_k = t.
    water_level_w : [..., K] float64, W
        w_k with c'_{k,j}(x_{k,j}) = 1 / (w_k ln 2) on the active subchannels.
    rate_bits : [..., K]
        C_k reached (= t up to the tolerance).
    status : str
        ``converged`` or ``max_iter``.
    iterations : int
    objective : float
        Total power sum_k P_k(t) of the first batch element (W).
    """

    x_w: object
    power_w: object
    water_level_w: object
    rate_bits: object
    status: str
    iterations: int
    objective: float


def least_power_allocation(
    t_bits, m_a, m_b, user, n_users: int, *, rtol: float = 1e-13, max_iter: int = 200
) -> LeastPowerAllocation:
    """Least-power allocation giving every UE the key rate ``t_bits`` (inner step of the max-min).

    Solves, per UE k, min sum_j x_{k,j} s.t. C_k >= t, x >= 0 with C_k the exact Eq. (42), by
    per-UE water-filling on the exact derivative (see the module docstring). This is the "exact
    mapping" t -> {x_{k,j}} that replaces Eqs. (59)-(60) of the near-field paper.

    Parameters
    ----------
    t_bits : float, ndarray or Tensor, shape [...], bits per probing round, >= 0
        Target key rate per UE.
    m_a, m_b : shape [N_D] (or [..., N_D] broadcastable with ``t_bits``), float64, W
        Constants of Eq. (42).
    user : shape [N_D], int
        Owner UE of each subchannel.
    n_users : int
        K.
    rtol : float
        Rate tolerance relative to (1 + t) bits.
    max_iter : int

    Returns
    -------
    LeastPowerAllocation
        NumPy arrays for NumPy input, float64 tensors when ``t_bits`` is a tensor.

    Raises
    ------
    ValueError
        NaN or negative t, t at or above a UE's supremum rate sum_j log2(1 + 1/m_a), bad m.
    """
    return ExactMaxMin(m_a, m_b, user, n_users).least_power(t_bits, rtol=rtol, max_iter=max_iter)


def _sup_rate(pb: _Problem) -> np.ndarray:
    """sup_x C_k = sum_j log2(1 + 1/m_a) per UE (inf where some m_a = 0), shape [..., K]."""
    return pb.sup_bits


@dataclass(frozen=True)
class MaxMinSolution:
    """Exact optimum of (P2), Eq. (52) of the near-field paper, for a batch of budgets.

    Attributes
    ----------
    x_w : [..., N_D] float64, W
        Optimal allocation; sum_j x = P_a exactly (last step rescales by 1 +- 1e-12).
    t_bits : [...] float64
        Max-min key rate t* (every C_k equals it at the optimum).
    rate_bits : [..., K]
        C_k of Eq. (42) at ``x_w``.
    water_level_w : [..., K]
        Per-UE water levels w_k (W).
    status : str
        ``optimal`` or ``max_iter``.
    iterations : int
        Outer (Newton on t) iterations.
    inner_iterations : int
        Total inner Newton iterations.
    objective : float
        min_k C_k of the first batch element (bits).
    """

    x_w: object
    t_bits: object
    rate_bits: object
    water_level_w: object
    status: str
    iterations: int
    inner_iterations: int
    objective: float


def _joint_newton(pb: _Problem, pa, t, log_w, t_hi, rtol: float, max_iter: int):
    """Newton on the (K+1) equations R_k(w_k) = t, sum_k P_k(w_k) = P_a (all UEs at once).

    With S_k = dR_k/d(log w_k) and dP_k/d(log w_k) = ln 2 w_k S_k, eliminating d log w_k gives
    dt = (sum_k w_k g_k - f / ln 2) / sum_k w_k and d log w_k = (dt - g_k) / S_k, where
    g_k = R_k - t and f = sum x - P_a. Steps are clipped; returns a convergence flag so that the
    caller can fall back to the nested safeguarded iteration.
    """
    be, xp = pb.be, pb.be.xp
    tol_p = rtol * pa
    for it in range(1, max_iter + 1):
        x, rate, dxdw = _allocation_at_levels(pb, log_w)
        r_k = pb.per_user(rate)
        slope = pb.per_user(dxdw) / LN2
        g = r_k - t[..., None]
        f = x.sum(-1) - pa
        tol_bits = 10.0 * rtol * (1.0 + xp.abs(t))
        rates_ok = be.amax(xp.abs(g), -1) <= tol_bits
        if be.all(rates_ok & (xp.abs(f) <= tol_p)):
            return t, log_w, x, r_k, it, True
        if not be.all(slope > 0):
            return t, log_w, x, r_k, it, False
        w = xp.exp(log_w)
        dt = ((w * g).sum(-1) - f / LN2) / w.sum(-1)
        # Near saturation (sup C_k) P_k(t) is so steep that the power residual cannot reach
        # rtol * P_a in float64; t itself has converged when its Newton step is at round-off.
        if be.all(rates_ok & ((xp.abs(f) <= tol_p) | (xp.abs(dt) <= 1e-14 * (1.0 + xp.abs(t))))):
            return t, log_w, x, r_k, it, True
        t_new = be.minimum(t + dt, 0.5 * (t + t_hi))
        du = (t_new[..., None] - t[..., None] - g) / slope
        log_w = log_w + be.minimum(be.maximum(du, -_MAX_LOG_STEP), _MAX_LOG_STEP)
        log_w = be.maximum(log_w, pb.log_b_min)
        t = t_new
    x, rate, _ = _allocation_at_levels(pb, log_w)
    return t, log_w, x, pb.per_user(rate), max_iter, False


def _joint_newton_scalar(pb: _Problem, pa: float, rtol: float, max_iter: int, start=None):
    """:func:`_joint_newton` for one budget on NumPy, per-UE bookkeeping in Python floats.

    Same equations and safeguards as the batched version, tuned for a single solve, which is
    dominated by per-call overhead (K is small, so the K-vectors are cheaper as Python lists):

    * subchannels in UE-contiguous order (:class:`_ScalarLayout`), per-UE sums by one
      ``np.add.reduceat``; ``x = (w - b)^+ / (s/2 + sqrt(1/4 + w m_a / m_b))`` and, from
      Q'(x) = m_b sqrt(1 + 4 m_a w / m_b) at the level, ``dx/dw = 1 / sqrt(1 + 4 m_a w / m_b)``
      reuse the same square root;
    * the budget equation is linearised in log P (``P ln(P / P_a)`` in place of ``P - P_a``):
      P(t) grows like 2^(t / D_k), so the step from the EPA lower bound on t lands close to t*
      instead of overshooting (typically 4-6 evaluations instead of 7-9);
    * a step in t longer than half the way to t_hi = min_k sup C_k is taken linearly in
      -ln(t_hi - t) (log P_k ~ -D_k ln(sup_k - t) near saturation), but never shorter than the
      bisection step of the batched version.

    Starts from ``start = (t, log_w)`` when given (a warm start), else from the EPA lower bound on
    t and the high-power levels at that t. Returns ``(t, log_w, w, x, p_k, r_k, slope2, iterations,
    ok)`` with ``x`` in the layout order and ``slope2_k = 2 ln 2 dR_k/d(log w_k)``.
    """
    lay = pb.scalar
    b, m_a, hs, qa, user, starts = lay.b, lay.m_a, lay.hs, lay.qa, lay.user, lay.starts
    n_total = b.shape[0]
    t_hi = lay.t_hi
    log_b_min = lay.log_b_min
    if start is None:
        x_epa = pa / n_total
        rate0 = np.add.reduceat(np.log1p(x_epa / (x_epa * m_a + b)), starts)
        t = float(rate0.min()) / LN2
        cand = (t * LN2 + pb.padded_cumsum) * lay.inv_n
        n_act = np.maximum((cand > pb.padded_log_b).sum(axis=1), 1)
        log_w = np.maximum(cand[lay.ue_index, n_act - 1], lay.log_b_min_arr).tolist()
    else:
        t, log_w = start
    tol_p = rtol * pa
    buf = np.empty((3, n_total))  # per-subchannel rate (nats), 2 dx/dw, x: one reduceat
    e = np.empty(n_total)
    tmp = np.empty(n_total)
    x = buf[2]
    p_k = r_k = slope2 = w = []
    for it in range(1, max_iter + 1):  # noqa: B007
        w = [math.exp(u) for u in log_w]
        ws = np.array(w)[user]
        np.subtract(ws, b, out=e)
        active = e > 0.0
        np.maximum(e, 0.0, out=e)
        np.multiply(ws, qa, out=tmp)
        tmp += 0.25
        np.sqrt(tmp, out=tmp)  # sqrt(1 + 4 m_a w / m_b) / 2
        np.divide(active, tmp, out=buf[1])
        tmp += hs
        np.divide(e, tmp, out=x)
        np.multiply(x, m_a, out=tmp)
        tmp += b
        np.divide(x, tmp, out=tmp)
        np.log1p(tmp, out=buf[0])
        rate_n, slope2, p_k = np.add.reduceat(buf, starts, axis=1).tolist()
        r_k = [v / LN2 for v in rate_n]
        g = [r - t for r in r_k]
        p_tot = sum(p_k)
        f = p_tot - pa
        # Rates to rtol / 10 (the batched path: 10 rtol): Newton's last step costs nothing there
        # and keeps single and batched optima equal to ~1e-13 (instead of ~1e-11) near saturation.
        rates_ok = max(map(abs, g)) <= 0.1 * rtol * (1.0 + abs(t))
        if rates_ok and abs(f) <= tol_p:
            return t, log_w, w, x, p_k, r_k, slope2, it, True
        if min(slope2) <= 0.0:
            return t, log_w, w, x, p_k, r_k, slope2, it, False
        # Newton on log P: P ln(P / P_a) in place of P - P_a (same root, same first order).
        f_log = p_tot * math.log(p_tot / pa) if p_tot > 0.0 else f
        dt = (sum([wk * gk for wk, gk in zip(w, g, strict=True)]) - f_log / LN2) / sum(w)
        if rates_ok and abs(dt) <= 1e-14 * (1.0 + abs(t)):
            return t, log_w, w, x, p_k, r_k, slope2, it, True
        gap = t_hi - t
        if dt <= 0.5 * gap:
            t_new = t + dt
        elif 0.0 < gap < math.inf:
            # Long step towards saturation: at least the bisection step, at most the step linear in
            # tau = -ln(t_hi - t) (log P_k ~ -D_k ln(sup_k - t) there), which never reaches t_hi.
            t_new = t + gap * max(0.5, -math.expm1(-dt / gap))
        else:
            t_new = t + 0.5 * gap
        # dR_k / d(log w_k) = sum_j dx_j/dw / ln 2 = slope2_k / (2 ln 2)
        log_w = [
            max(u + min(max((t_new - t - gk) * _TWO_LN2 / sk, -_MAX_LOG_STEP), _MAX_LOG_STEP), lo)
            for u, gk, sk, lo in zip(log_w, g, slope2, log_b_min, strict=True)
        ]
        t = t_new
    return t, log_w, w, x, p_k, r_k, slope2, max_iter, False


def _finish_scalar(pb: _Problem, pa: float, w, x, p_k, r_k, iterations: int) -> MaxMinSolution:
    """Budget-exact rescaling (as in :meth:`ExactMaxMin.solve`) and the result, one budget.

    ``x`` (layout order), ``p_k`` and ``r_k`` are from the last evaluation of
    :func:`_joint_newton_scalar`. The residual dP is shared as dP_k = dP w_k / sum w; on the active
    subchannels every c'_j = 1 / (w_k ln 2), so C_k moves by dP_k / (w_k ln 2) up to O(dP^2), which
    is below round-off when |dP| <= 1e-9 P_a (otherwise the rates are re-evaluated).
    """
    lay = pb.scalar
    dp = pa - sum(p_k)
    w_sum = sum(w)
    dp_k = [dp * wk / w_sum for wk in w]
    scale = np.array([1.0 + d / p if p > 0.0 else 1.0 for d, p in zip(dp_k, p_k, strict=True)])
    x_sorted = x * scale[lay.user]
    if abs(dp) <= 1e-9 * pa:
        rate = np.array([r + d / (wk * LN2) for r, d, wk in zip(r_k, dp_k, w, strict=True)])
    else:
        rate = np.add.reduceat(np.log1p(x_sorted / (x_sorted * lay.m_a + lay.b)), lay.starts) / LN2
    x_out = np.empty_like(x_sorted)
    x_out[lay.order] = x_sorted
    t = rate.min()
    return MaxMinSolution(
        x_w=x_out,
        t_bits=t,
        rate_bits=rate,
        water_level_w=np.array(w),
        status="optimal",
        iterations=iterations,
        inner_iterations=0,
        objective=float(t),
    )


def _solve_nested(pb: _Problem, pa, t, log_w, t_lo, t_hi, rtol, max_iter, max_inner_iter):
    """Safeguarded Newton on t (convex F(t) = sum_k P_k(t) - P_a), inner levels per UE."""
    be, xp = pb.be, pb.be.xp
    tol_p = rtol * pa
    inner_total = 0
    status = "max_iter"
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007
        tol_bits = _rate_tolerance(float(be.to_numpy(be.amax(t.reshape(-1), 0))), 10 * rtol)
        log_w, x, r_k, slope, n_in, _ = _solve_levels(pb, t, log_w, tol_bits, max_inner_iter)
        inner_total += n_in
        f = x.sum(-1) - pa
        if be.all(xp.abs(f) <= tol_p):
            status = "optimal"
            break
        t_lo = be.where(f < 0, be.maximum(t_lo, t), t_lo)
        t_hi = be.where(f > 0, be.minimum(t_hi, t), t_hi)
        dfdt = LN2 * xp.exp(log_w).sum(-1)
        t_new = t - f / dfdt
        finite_hi = xp.isfinite(t_hi)
        mid = 0.5 * (t_lo + be.where(finite_hi, t_hi, 0.0))
        bad = ~((t_new > t_lo) & (t_new < t_hi))
        t_new = be.where(bad & finite_hi, mid, t_new)
        t_new = be.where(xp.abs(f) <= tol_p, t, t_new)
        # Predict each UE's level for the new t (first-order), clipped to a sane step.
        dt = (t_new - t)[..., None]
        step = dt / be.where(slope > 0, slope, 1.0)
        step = be.minimum(be.maximum(step, -_MAX_LOG_STEP), _MAX_LOG_STEP)
        log_w = log_w + be.where(slope > 0, step, 0.0)
        t = t_new
    else:
        log_w, x, r_k, slope, n_in, _ = _solve_levels(
            pb, t, log_w, _rate_tolerance(1.0, rtol), max_inner_iter
        )
        inner_total += n_in
        if be.all(xp.abs(x.sum(-1) - pa) <= 1e3 * tol_p):
            status = "optimal"
    return t, log_w, x, status, iterations, inner_total


def _is_scalar(value) -> bool:
    """A Python / NumPy real scalar or 0-d array (not a tensor)."""
    if isinstance(value, (float, int, np.floating, np.integer)):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0


class ExactMaxMin:
    """Exact max-min solver for one subchannel set, constants prepared once.

    Parameters
    ----------
    m_a, m_b : [N_D] float64, W
        Constants of Eq. (42).
    user : [N_D] int
    n_users : int

    ``solve(pa_w)`` and ``least_power(t_bits)`` accept NumPy input or torch tensors (float64,
    batched over leading dimensions); see :func:`solve_maxmin` and :func:`least_power_allocation`.

    A single NumPy budget takes a low-overhead path (:func:`_joint_newton_scalar`), warm-started
    from the previous single-budget solution when that budget is within 10 dB (a sweep, or a
    repeated budget, then takes 1-4 evaluations instead of 5-8); the optimum is the same to
    round-off either way, the instance just remembers the last (P_a, t, levels).
    """

    def __init__(self, m_a, m_b, user, n_users: int):
        self._args = (m_a, m_b, user, int(n_users))
        self._np = _prepare(m_a, m_b, user, n_users, like=None)
        self._torch = {}
        self._last = None  # (P_a, t, log_w, w, slope2) of the last single-budget solve

    def check_domain(self, pa_w) -> None:
        """Raise PowerDomainError (naming P_a) where float64 cannot hold the problem.

        :func:`plkg.solvers.water_level.check_power_domain` with each UE normalised by its own
        lowest activation level.
        """
        m_a, m_b, user, n_users = self._args
        check_power_domain(pa_w, _plain(m_a), _plain(m_b), user=_plain(user), n_users=n_users)

    def clear_warm_start(self) -> None:
        """Forget the last single-budget solution: the next solve starts cold."""
        self._last = None

    def _warm_start(self, pa: float):
        """(t, log_w) predicted from the last single-budget solution, or None (cold start).

        First order along the optimum path: dt/d(ln P_a) = P_a / (ln 2 sum_k w_k) (from
        F'(t) = ln 2 sum_k w_k) and d(log w_k) = dt / S_k. Only used within 10 dB of the last budget;
        the Newton iteration converges to the same optimum (to round-off) from either start.
        """
        if self._last is None:
            return None
        pa0, t0, log_w0, w0, slope2 = self._last
        step = math.log(pa / pa0)
        if abs(step) > _WARM_MAX_LOG_STEP:
            return None
        dt = step * pa0 / (LN2 * sum(w0))
        t = max(min(t0 + dt, 0.5 * (t0 + self._np.scalar.t_hi)), 0.5 * t0)
        log_w = [
            max(u + min(max((t - t0) * _TWO_LN2 / sk, -_MAX_LOG_STEP), _MAX_LOG_STEP), lo)
            for u, sk, lo in zip(log_w0, slope2, self._np.scalar.log_b_min, strict=True)
        ]
        return t, log_w

    def _problem(self, like) -> _Problem:
        be = _Backend(like)
        if not be.torch:
            return self._np
        key = str(be.device)
        if key not in self._torch:
            self._torch[key] = _prepare(*self._args, like=like)
        return self._torch[key]

    def least_power(
        self, t_bits, *, rtol: float = 1e-13, max_iter: int = 200
    ) -> LeastPowerAllocation:
        """Each UE's least-power allocation for rate ``t_bits`` [...]; see :func:`least_power_allocation`."""
        pb = self._problem(t_bits)
        be = pb.be
        t = be.asarray(t_bits)
        t_np = be.to_numpy(t)
        if not np.all(np.isfinite(t_np)) or np.any(t_np < 0):
            raise ValueError("target key rate t must be finite and >= 0 bits")
        sup = _sup_rate(pb)
        if np.any(t_np[..., None] >= sup):
            raise ValueError(
                f"target key rate t exceeds the largest rate some UE can reach with unlimited power "
                f"(sup C_k = {np.min(sup):.6g} bits, Eq. (42) saturates at log2(1 + 1/m_a))"
            )
        log_w, x, r_k, _, iters, conv = _solve_levels(
            pb, t, _highpower_levels(pb, t), _rate_tolerance(float(np.max(t_np)), rtol), max_iter
        )
        x = be.where(t[..., None] > 0, x, 0.0)
        power = pb.per_user(x)
        return LeastPowerAllocation(
            x_w=x,
            power_w=power,
            water_level_w=be.xp.exp(log_w),
            rate_bits=r_k,
            status="converged" if conv else "max_iter",
            iterations=iters,
            objective=float(np.ravel(be.to_numpy(power).sum(axis=-1))[0]),
        )

    def solve(
        self,
        pa_w,
        *,
        rtol: float = 1e-12,
        max_iter: int = 100,
        max_inner_iter: int = 100,
        max_joint_iter: int = 60,
    ) -> MaxMinSolution:
        """Exact optimum of (P2) for budgets ``pa_w`` [...] (W); see :func:`solve_maxmin`."""
        if self._np.scalar is not None and _is_scalar(pa_w):
            # One budget on NumPy: the low-overhead path (falls through if it does not converge).
            pa_f = float(pa_w)
            if not math.isfinite(pa_f):
                raise ValueError("power budget P_a contains NaN or inf")
            if pa_f <= 0:
                raise ValueError(
                    "power budget P_a must be > 0 W for max-min allocation "
                    "(P_a = 0 gives every UE key rate 0)"
                )
            res = None
            start = self._warm_start(pa_f)
            if start is not None:
                res = _joint_newton_scalar(self._np, pa_f, rtol, max_joint_iter, start)
            if res is None or not res[-1]:
                res = _joint_newton_scalar(self._np, pa_f, rtol, max_joint_iter)
            t, log_w, w, x, p_k, r_k, slope2, iterations, ok = res
            if ok:
                try:
                    sol = _certified(
                        _finish_scalar(self._np, pa_f, w, x, p_k, r_k, iterations), pa_f
                    )
                except SolverError:
                    self.check_domain(pa_f)  # outside float64's reach: say so, naming P_a
                    raise
                self._last = (pa_f, t, log_w, w, slope2)
                return sol
        pb = self._problem(pa_w)
        be, xp = pb.be, pb.be.xp
        pa = be.asarray(pa_w)
        pa_np = be.to_numpy(pa)
        if not np.all(np.isfinite(pa_np)):
            raise ValueError("power budget P_a contains NaN or inf")
        if np.any(pa_np <= 0):
            raise ValueError(
                "power budget P_a must be > 0 W for max-min allocation (P_a = 0 gives every UE key rate 0)"
            )
        self.check_domain(pa_np)
        # Bracket: EPA is feasible, so min_k C_k(EPA) <= t*; t* < min_k sup C_k (Eq. (42) saturates).
        n_total = pb.m_a.shape[-1]
        x_epa = pa[..., None] / n_total + 0.0 * pb.m_a
        t_lo = be.amin(pb.per_user(xp.log1p(x_epa / (x_epa * pb.m_a + pb.b)) / LN2), -1)
        t_hi = be.asarray(np.min(pb.sup_bits, axis=-1)) + 0.0 * t_lo
        t, log_w, x, _, iterations, ok = _joint_newton(
            pb, pa, t_lo, _highpower_levels(pb, t_lo), t_hi, rtol, max_joint_iter
        )
        inner_total = 0
        status = "optimal"
        if not ok:
            t, log_w, x, status, it2, inner_total = _solve_nested(
                pb,
                pa,
                t_lo,
                _highpower_levels(pb, t_lo),
                t_lo,
                t_hi,
                rtol,
                max_iter,
                max_inner_iter,
            )
            iterations += it2
        # Use the budget exactly. The residual dP is shared as dP_k = dP w_k / sum w, which keeps
        # the rates equal to first order (dC_k/dP_k = 1 / (ln 2 w_k)); near saturation this puts
        # it on the saturated UE instead of disturbing the others.
        w = xp.exp(log_w)
        p_k = pb.per_user(x)
        dp_k = (pa - x.sum(-1))[..., None] * w / w.sum(-1)[..., None]
        x = x * pb.to_sub(1.0 + dp_k / be.where(p_k > 0, p_k, 1.0))
        rate = pb.per_user(xp.log1p(x / (x * pb.m_a + pb.b)) / LN2)
        sol = MaxMinSolution(
            x_w=x,
            t_bits=be.amin(rate, -1),
            rate_bits=rate,
            water_level_w=xp.exp(log_w),
            status=status,
            iterations=iterations,
            inner_iterations=inner_total,
            objective=float(np.ravel(be.to_numpy(be.amin(rate, -1)))[0]),
        )
        return _certified(sol, pa_np, be) if status == "optimal" else sol


# An "optimal" max-min result must use the budget, and give every UE the rate t, to this
# relative accuracy (at the optimum every C_k equals t: t < min_k sup C_k).
CERTIFY_BUDGET_RTOL = 1e-6
CERTIFY_RATE_RTOL = 1e-6


def _certified(sol: MaxMinSolution, pa, be=None) -> MaxMinSolution:
    """Return ``sol`` if it is a usable optimum, else raise SolverError (never NaN as optimal).

    Checked: finite, non-negative x that uses the budget (|sum x - P_a| <= 1e-6 P_a) and a finite
    t > 0 (P_a > 0 and finite m give t > 0 mathematically; t = 0 means the rates underflowed
    float64, e.g. m_b / P_a beyond ~1e300).
    """
    to_np = (lambda v: np.asarray(v, dtype=np.float64)) if be is None else be.to_numpy
    x, t, pa = to_np(sol.x_w), to_np(sol.t_bits), np.asarray(pa, dtype=np.float64)
    problem = None
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t))):
        problem = "NaN or inf in the allocation or rate (float64 overflow)"
    elif np.any(x < 0):
        problem = "negative powers in the allocation"
    elif np.any(np.abs(x.sum(-1) - pa) > CERTIFY_BUDGET_RTOL * pa):
        problem = "the allocation does not use the power budget"
    elif np.any(t <= 0):
        problem = "the key rates underflow float64 (t = 0 with P_a > 0)"
    elif np.any(to_np(sol.rate_bits).max(-1) - t > CERTIFY_RATE_RTOL * t):
        # the water levels sit within ~eps of m_b (1 + m_a) when P_a << m_b: x = (w - b)^+ then
        # holds only a few digits and the UEs' rates cannot be equalised
        problem = (
            f"the UEs' key rates could not be equalised (t = {float(np.min(t)):.3g} bits is "
            "below the float64 resolution of the water levels: P_a far below m_b)"
        )
    if problem is not None:
        raise SolverError(
            f"exact max-min gave no usable optimum: {problem}; the m_a, m_b and P_a values span "
            "too many decades for float64 (rescale the powers)"
        )
    return sol


def solve_maxmin(
    m_a,
    m_b,
    user,
    n_users: int,
    pa_w,
    *,
    rtol: float = 1e-12,
    max_iter: int = 100,
    max_inner_iter: int = 100,
    max_joint_iter: int = 60,
) -> MaxMinSolution:
    """Exact solution of (P2) (Eq. (52)): max_x min_k C_k s.t. sum x <= P_a, x >= 0.

    Parameters
    ----------
    m_a, m_b : shape [N_D] (or [..., N_D] broadcastable with ``pa_w``), float64, W
        Constants of Eq. (42).
    user : shape [N_D], int
    n_users : int
        K; every UE needs at least one subchannel.
    pa_w : float, ndarray or Tensor, shape [...], W, > 0
        Power budgets P_a. A tensor input makes the whole computation run in torch (float64).
    rtol : float
        Relative tolerance on the power residual |sum x - P_a| / P_a and on the rates.
    max_iter, max_inner_iter : int
        Iteration caps of the safeguarded nested fallback (outer on t, inner per UE).
    max_joint_iter : int
        Iteration cap of the joint Newton iteration tried first.

    Returns
    -------
    MaxMinSolution

    Raises
    ------
    ValueError
        NaN / non-positive budget (P_a = 0 leaves every key rate at 0: nothing to optimise), bad
        m_a, m_b or user, or bad tolerances / iteration caps.
    SolverError
        A result that claims ``optimal`` but is not usable (NaN/inf, negative powers, budget not
        used, t = 0): raised instead of returned. ``status == "max_iter"`` is returned and must be
        checked by the caller.
    """
    check_rtol(rtol, "rtol")
    for name, value in (
        ("max_iter", max_iter),
        ("max_inner_iter", max_inner_iter),
        ("max_joint_iter", max_joint_iter),
    ):
        check_max_iter(value, name)
    return ExactMaxMin(m_a, m_b, user, n_users).solve(
        pa_w,
        rtol=rtol,
        max_iter=max_iter,
        max_inner_iter=max_inner_iter,
        max_joint_iter=max_joint_iter,
    )


def allocate(design, pa_w: float, **options) -> AllocationResult:
    """Exact max-min allocation (method ``exact-maxmin``) for a subchannel design.

    Parameters
    ----------
    design : :class:`plkg.precoding.block_diagonalization.SubchannelDesign`
    pa_w : float, W, > 0
    **options
        ``rtol``, ``max_iter`` forwarded to :func:`solve_maxmin`; others ignored.

    Raises
    ------
    SolverError
        If the iteration does not converge (never returned silently).
    """
    pa = check_power_budget(pa_w)
    sol = solve_maxmin(
        design.m_a,
        design.m_b,
        design.user,
        design.n_users,
        pa,
        rtol=float(options.get("rtol", 1e-12)),
        max_iter=int(options.get("max_iter", 100)),
        max_joint_iter=int(options.get("max_joint_iter", 60)),
    )
    if sol.status != "optimal":
        raise SolverError(
            f"exact max-min did not converge in {sol.iterations} iterations at P_a = {pa:.6g} W"
        )
    x = np.asarray(sol.x_w, dtype=np.float64)
    rates = np.asarray(sol.rate_bits)
    return AllocationResult(
        method="exact-maxmin",
        x_w=x,
        pa_w=pa,
        status="optimal",
        iterations=sol.iterations,
        objective=float(sol.t_bits),
        extras={
            "t": float(sol.t_bits),
            "water_level_w": np.asarray(sol.water_level_w).tolist(),
            "rate_spread_bits": float(rates.max() - rates.min()),
            "inner_iterations": sol.inner_iterations,
        },
    )
