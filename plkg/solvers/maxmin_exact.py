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
  (:func:`_newton_offsets`).
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
  built from the iterates, converges in a handful of steps; :func:`_robust_scalar` (Newton on t
  inside a bisected bracket, each P_k(t) solved segment by segment between activation levels) is
  the fallback for the budgets it leaves (extreme saturation), so that non-convergence is an
  error, never a returned status.

Tolerances on t and on the rates are relative (t can be 1e-280 bits at a tiny budget). The same
code runs on NumPy arrays and on torch tensors (float64), batched over any leading dimensions of
``pa_w`` / ``t_bits``.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_right
from dataclasses import dataclass
from operator import mul

import numpy as np

from plkg.errors import SolverError as _SolverError
from plkg.solvers.options import check_max_iter, check_rtol
from plkg.solvers.water_level import (
    LEVEL_MIN_W,
    RATIO_MAX,
    RATIO_MIN,
    PowerDomainError,
    budget_ceiling,
    check_power_domain,
    normalise,
    offset_limit,
)

LN2 = math.log(2.0)
_WARM_MAX_LOG_STEP = math.log(10.0)  # warm start only within 10 dB of the last single budget
_MAX_LOG_STEP = 4.0  # largest Newton step down in log d (nepers) per iteration
_MAX_UP_STEP = 50.0  # largest step up (between activation levels, see _newton_offsets)
_NEAR_ACTIVATION = 1e-3  # d - delta_top below this times d: Newton in d (see _newton_offsets)
_DOWN_FACTOR = math.expm1(-_MAX_LOG_STEP)
_UP_FACTOR = math.expm1(_MAX_UP_STEP)
_TWO_LN2 = 2.0 * LN2
_INV_LN2 = 1.0 / LN2
_MAX_PSI_STEP = 50.0  # largest step of psi(t) = log(2^t - 1) per iteration (nepers)
_U_MIN = -700.0  # lowest log offset visited (d = 1e-304; every optimum lies above ~1e-295)
_D_MIN = math.exp(_U_MIN)
_LINEAR_BITS = 40.0  # above it psi(R) - psi(t) = (R - t) ln 2 to 1e-12: plain steps
_CLOSE_BITS = 16.0  # psi residual via log1p when R, t within 16 bits and a factor 2
# Newton steps of t may leave the bracket on t* by this relative slack (round-off) unpunished
_BRACKET_LO, _BRACKET_HI = 1.0 - 1e-6, 1.0 + 1e-6
_TINY = float(np.finfo(np.float64).tiny)
_EPS = float(np.finfo(np.float64).eps)
_DOMAIN_MARGIN = 1e-9  # the cached budget interval is this much inside check_power_domain's


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

    def clip(self, a, lo, hi):
        return self.minimum(self.maximum(a, lo), hi)

    def all(self, cond) -> bool:
        return bool(cond.all())

    def amax(self, a, axis):
        return a.amax(dim=axis) if self.torch else a.max(axis=axis)

    def amin(self, a, axis):
        return a.amin(dim=axis) if self.torch else a.min(axis=axis)

    def to_numpy(self, a):
        return a.detach().cpu().numpy() if self.torch else np.asarray(a)

    def quiet(self):
        """Silence NumPy's float warnings (results are checked explicitly); no-op for torch."""
        return (
            _NoOp() if self.torch else np.errstate(over="ignore", invalid="ignore", divide="ignore")
        )


class _NoOp:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------------------------
# psi(R) = log(2^R - 1): residuals and steps that are linear at low and at high power.
# --------------------------------------------------------------------------------------------


def _psi_gap(xp, rate, t):
    """(psi(R) - psi(t)) / psi'(R) in bits (arrays): = R - t to first order, exact Newton in both limits.

    psi(R) = log(2^R - 1); psi'(R) = ln 2 / c(R), c(R) = 1 - 2^-R. Near t (within a factor 2 and
    16 bits) psi(R) - psi(t) = log1p(expm1((R - t) ln 2) / c(t)) keeps full precision; elsewhere
    the difference of psi(R) = R ln 2 + log c(R). R <= 0 (underflow) gives R - t.
    """
    pos = rate > 0
    r = xp.where(pos, rate, t)
    c_r = -xp.expm1(-r * LN2)
    c_t = -xp.expm1(-t * LN2)
    diff = r - t
    close = (r >= 0.5 * t) & (r <= 2.0 * t) & (xp.abs(diff) <= _CLOSE_BITS)
    near = xp.log1p(xp.expm1(xp.where(close, diff, 0.0) * LN2) / c_t)
    far = (r - t) * LN2 + (xp.log(c_r) - xp.log(c_t))
    return xp.where(pos, c_r * xp.where(close, near, far) / LN2, rate - t)


def _psi_step(xp, t, dt):
    """t_new with psi(t_new) = psi(t) + psi'(t) dt (arrays, t > 0): ~t e^(dt/t) low, t + dt high."""
    a = t * LN2
    c = -xp.expm1(-a)
    dy = xp.clip(LN2 * dt / c, -_MAX_PSI_STEP, _MAX_PSI_STEP)
    up = t + xp.log1p(c * xp.expm1(xp.clip(dy, -0.5, None))) / LN2
    z = a + xp.log(c) + dy  # psi(t) + dy
    down = (xp.clip(z, 0.0, None) + xp.log1p(xp.exp(-xp.abs(z)))) / LN2  # softplus(z) / ln 2
    return xp.where(dy >= -0.5, up, down)


def _psi_gap_scalar(rate: float, t: float) -> float:
    """:func:`_psi_gap` on Python floats (t > 0)."""
    if rate <= 0.0:
        return rate - t
    diff = rate - t
    c_r = -math.expm1(-rate * LN2)
    c_t = -math.expm1(-t * LN2)
    if 0.5 * t <= rate <= 2.0 * t and -_CLOSE_BITS <= diff <= _CLOSE_BITS:
        return c_r * math.log1p(math.expm1(diff * LN2) / c_t) / LN2
    return c_r * (diff + (math.log(c_r) - math.log(c_t)) / LN2)


def _psi_step_scalar(t: float, dt: float) -> float:
    """:func:`_psi_step` on Python floats (t > 0)."""
    a = t * LN2
    c = -math.expm1(-a)
    dy = min(max(LN2 * dt / c, -_MAX_PSI_STEP), _MAX_PSI_STEP)
    if dy >= -0.5:
        return t + math.log1p(c * math.expm1(dy)) / LN2
    z = a + math.log(c) + dy
    return (max(z, 0.0) + math.log1p(math.exp(-abs(z)))) / LN2


def _gap(rate: float, t: float) -> float:
    """R - t where both are high (linear regime), else the psi residual (Python floats)."""
    if rate >= _LINEAR_BITS and t >= _LINEAR_BITS:
        return rate - t
    return _psi_gap_scalar(rate, t)


def _log_offset(xp, level_nepers):
    """log(expm1(L)) for L >= 0 (arrays): the log offset of a level e^L times the lowest one."""
    return level_nepers + xp.log(-xp.expm1(-level_nepers))


def _psi_mid(xp, lo, hi):
    """Bisection point of [lo, hi] (bits, 0 < lo < hi, arrays) in psi: ~sqrt(lo hi) at low power,
    (lo + hi) / 2 at high power."""
    z = 0.5 * (_psi(xp, lo) + _psi(xp, hi))
    mid = (xp.clip(z, 0.0, None) + xp.log1p(xp.exp(-xp.abs(z)))) / LN2
    # (the plain mean for a bracket within 0.1 %: psi's round-off would exceed its width)
    return xp.where(hi <= 1.001 * lo, 0.5 * (lo + hi), mid)


def _psi(xp, t):
    """psi(t) = log(2^t - 1) for t > 0 (arrays), without overflow."""
    return t * LN2 + xp.log(-xp.expm1(-t * LN2))


def _psi_mid_scalar(lo: float, hi: float) -> float:
    """:func:`_psi_mid` on Python floats (the plain mean for a bracket within 0.1 %)."""
    if lo >= _LINEAR_BITS or hi <= 1.001 * lo:
        return 0.5 * (lo + hi)
    z = 0.5 * sum([v * LN2 + math.log(-math.expm1(-v * LN2)) for v in (lo, hi)])
    return (max(z, 0.0) + math.log1p(math.exp(-abs(z)))) / LN2


# --------------------------------------------------------------------------------------------
# Problem constants: per-UE normalisation (water_level.py), on one backend.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ScalarLayout:
    """NumPy constants of the single-budget path (1-D m only): subchannels in UE-contiguous order.

    Position i of every array is subchannel ``order[i]``; UE k owns positions
    ``starts[k]:starts[k + 1]``, so per-UE sums are one ``np.add.reduceat(..., starts)``. Per-UE
    constants are Python lists (K is small).
    """

    order: np.ndarray  # [N_D] int: original index of each position
    user: np.ndarray  # [N_D] int: owner UE of each position
    starts: np.ndarray  # [K] int: first position of each UE
    bounds: list  # [K + 1] int: starts and N_D
    b: np.ndarray  # m_b (1 + m_a), W
    m_a: np.ndarray
    hs: np.ndarray  # 1/2 + m_a
    bn: np.ndarray  # b / s_k (>= 1)
    delta: np.ndarray  # b / s_k - 1
    q: np.ndarray  # m_a s_k / m_b
    q25: np.ndarray  # 1/4 + q
    inv_n: np.ndarray  # [D_max] 1 / (1, 2, ..., D_max)
    ue_index: np.ndarray  # [K] 0..K-1
    padded_ell: np.ndarray  # [K, D_max] sorted log(b / s_k), +inf padded
    padded_ell_cumsum: np.ndarray  # [K, D_max] cumulative sums of padded_ell (finite part)
    delta_sorted: list  # [K] lists: each UE's delta_j, ascending
    plateau: list  # [K] lists: cumulative sums of sup_j in that order (inf after an m_a = 0)
    s: list  # [K] s_k (W)
    a_low: list  # [K] m_a of each UE's lowest subchannel
    log_kappa: list  # [K] log(1 + 2 a_low)
    s_total: float  # sum_k s_k (W)
    cap: list  # [K] largest log offset of the domain
    cap_arr: np.ndarray  # [K] the same
    d_max: list  # [K] e^cap
    ma_max: float
    t_hi: float  # min_k sup C_k (bits)
    sup: list  # [K] sup C_k (bits)


@dataclass(frozen=True)
class _Problem:
    """Per-subchannel constants of Eq. (42) in per-UE normalised form, on one backend."""

    be: _Backend
    m_a: object  # [..., N_D]
    m_b: object
    b: object  # m_b (1 + m_a), W
    user: object  # [N_D] int
    onehot: object  # [N_D, K]
    n_users: int
    s_ue: object  # [..., K] lowest activation level s_k of each UE (W)
    log_b_min: object  # [..., K] log s_k
    sc: object  # [..., N_D] s_k of the owner UE
    bn: object  # [..., N_D] b / s_k
    delta: object  # [..., N_D] b / s_k - 1
    q: object  # [..., N_D] m_a s_k / m_b
    q25: object  # [..., N_D] 1/4 + q
    hs: object  # [..., N_D] 1/2 + m_a
    a_low: object  # [..., K] m_a of each UE's lowest subchannel
    cap: object  # [..., K] largest log offset inside the domain (offset_limit)
    ell_sorted: list  # per UE [..., D_k] ascending log(b / s_k)
    delta_sorted: list  # per UE [..., D_k] ascending delta_j
    sup_sorted: list  # per UE [..., D_k] sup_j = log2(1 + 1/m_a) in the order of delta_sorted
    sup_bits: np.ndarray  # [..., K] sup_x C_k (NumPy)
    arrays: tuple  # (m_a, m_b, user) NumPy, for check_power_domain
    domain: tuple | None = None  # (lo, hi) W: budgets surely inside the domain (1-D m only)
    scalar: _ScalarLayout | None = None  # single-budget NumPy path (1-D m only)
    # (1-D m only) flat [K * (D + 1)] per-UE ascending delta_j padded with inf, the cumulative
    # sup_j in the same layout, and the row offsets [K]: the lookups of _activation_neighbours
    act_table: tuple | None = None

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


def _check_budgets(pb: _Problem, pa_np) -> None:
    """Raise PowerDomainError for budgets outside check_power_domain's domain (P_a = 0 passes).

    For one design the domain is an interval of P_a; budgets inside the cached interval (a
    margin of 1e-9 inside it) pass with two comparisons, any other goes to check_power_domain.
    """
    if pb.domain is not None:
        lo, hi = pb.domain
        if isinstance(pa_np, float) or np.ndim(pa_np) == 0:
            pa_f = float(pa_np)
            if lo <= pa_f <= hi or pa_f == 0.0:
                return
        elif np.all(((pa_np >= lo) & (pa_np <= hi)) | (pa_np == 0.0)):
            return
    m_a, m_b, user = pb.arrays
    check_power_domain(pa_np, m_a, m_b, user=user, n_users=pb.n_users)


def _domain_constants(m_a_np, m_b_np, user_np, n_users: int):
    """Per UE: s_k, m_a of the lowest subchannel, log of offset_limit, and (1-D m) the budget
    interval (lo, hi) of check_power_domain, shrunk by _DOMAIN_MARGIN (or None)."""
    s_all, a_low, cap, p_lo, p_hi = [], [], [], [], []
    for k in range(n_users):
        sel = user_np == k
        ma_g, mb_g = m_a_np[..., sel], m_b_np[..., sel]
        s, delta, q, hs = normalise(ma_g, mb_g)
        b_g = mb_g * (1.0 + ma_g)
        star = np.argmin(b_g, axis=-1)[..., None]
        a_low.append(np.take_along_axis(ma_g, star, -1)[..., 0])
        d_max = offset_limit(s, q.max(-1))
        s_all.append(s)
        cap.append(np.log(np.where(d_max > 0, d_max, np.exp(_U_MIN))))
        if m_a_np.ndim == 1:
            p_lo.append(RATIO_MIN * float(s))
            ceiling = budget_ceiling(delta, q, hs, float(d_max)) if d_max > 0 else 0.0
            p_hi.append(float(s) * ceiling)
    domain = None
    if m_a_np.ndim == 1:
        lo, hi = max(p_lo) * (1.0 + _DOMAIN_MARGIN), min(p_hi) * (1.0 - _DOMAIN_MARGIN)
        domain = (lo, hi) if math.isfinite(hi) and lo < hi else (math.inf, -math.inf)
    return (
        np.stack(s_all, axis=-1),
        np.stack(a_low, axis=-1),
        np.minimum(np.stack(cap, axis=-1), math.log(RATIO_MAX)),
        domain,
    )


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
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        b_np = m_b_np * (1.0 + m_a_np)
        if not np.all((b_np >= LEVEL_MIN_W) & (b_np <= RATIO_MAX)):
            # names the subchannel whose activation level float64 cannot hold (no budget works)
            check_power_domain(0.0, m_a_np, m_b_np, user=user_np, n_users=n_users)
        s_ue, a_low, cap, domain = _domain_constants(m_a_np, m_b_np, user_np, n_users)
        sc = s_ue[..., user_np]
        delta = (b_np - sc) / sc
        bn = b_np / sc
        q = m_a_np * (sc / m_b_np)
        ell = np.log1p(delta)
        per_sub_sup = np.log1p(1.0 / m_a_np) / LN2
    ell_sorted = [np.sort(ell[..., user_np == k], axis=-1) for k in range(n_users)]
    order_k = [np.argsort(delta[..., user_np == k], axis=-1, kind="stable") for k in range(n_users)]
    delta_sorted = [
        np.take_along_axis(delta[..., user_np == k], o, -1) for k, o in enumerate(order_k)
    ]
    sup_sorted = [
        np.take_along_axis(per_sub_sup[..., user_np == k], o, -1) for k, o in enumerate(order_k)
    ]
    onehot = np.zeros((n_total, n_users))
    onehot[np.arange(n_total), user_np] = 1.0
    sup = np.stack([per_sub_sup[..., user_np == k].sum(axis=-1) for k in range(n_users)], axis=-1)
    scalar = act_table = None
    if m_a_np.ndim == 1:
        width = int(counts.max()) + 1
        pad_delta = np.full((n_users, width), np.inf)
        pad_plateau = np.full((n_users, width), np.inf)
        for k in range(n_users):
            pad_delta[k, : counts[k]] = delta_sorted[k]
            pad_plateau[k, : counts[k]] = np.cumsum(sup_sorted[k])
        act_table = (
            be.asarray(pad_delta.ravel()),
            be.asarray(pad_plateau.ravel()),
            be.index(np.arange(n_users) * width),
            be.asarray(pad_delta[:, :-1]),
        )
    if not be.torch and m_a_np.ndim == 1:
        d_max = int(counts.max())
        padded = np.full((n_users, d_max), np.inf)
        for k in range(n_users):
            padded[k, : counts[k]] = ell_sorted[k]
        order = np.argsort(user_np, kind="stable")
        m_a_s = m_a_np[order]
        scalar = _ScalarLayout(
            order=order,
            user=user_np[order],
            starts=np.concatenate([[0], np.cumsum(counts)[:-1]]),
            bounds=[0, *np.cumsum(counts).tolist()],
            b=b_np[order],
            m_a=m_a_s,
            hs=0.5 + m_a_s,
            bn=bn[order],
            delta=delta[order],
            q=q[order],
            q25=0.25 + q[order],
            inv_n=1.0 / np.arange(1, d_max + 1),
            ue_index=np.arange(n_users),
            padded_ell=padded,
            delta_sorted=[v.tolist() for v in delta_sorted],
            plateau=[np.cumsum(v).tolist() for v in sup_sorted],
            padded_ell_cumsum=np.cumsum(np.where(np.isfinite(padded), padded, 0.0), axis=1),
            s=[float(v) for v in s_ue],
            a_low=[float(v) for v in a_low],
            log_kappa=[math.log1p(2.0 * float(v)) for v in a_low],
            s_total=float(np.sum(s_ue)),
            cap=[float(v) for v in cap],
            cap_arr=np.asarray(cap, dtype=np.float64),
            d_max=[math.exp(float(v)) for v in cap],
            ma_max=float(m_a_np.max()),
            t_hi=float(np.min(sup)),
            sup=[float(v) for v in sup],
        )
    return _Problem(
        be=be,
        m_a=be.asarray(m_a_np),
        m_b=be.asarray(m_b_np),
        b=be.asarray(b_np),
        user=be.index(user_np),
        onehot=be.asarray(onehot),
        n_users=n_users,
        s_ue=be.asarray(s_ue),
        log_b_min=be.asarray(np.log(s_ue)),
        sc=be.asarray(sc),
        bn=be.asarray(bn),
        delta=be.asarray(delta),
        q=be.asarray(q),
        q25=be.asarray(0.25 + q),
        hs=be.asarray(0.5 + m_a_np),
        a_low=be.asarray(a_low),
        cap=be.asarray(cap),
        ell_sorted=[be.asarray(v) for v in ell_sorted],
        delta_sorted=[be.asarray(v) for v in delta_sorted],
        sup_sorted=[be.asarray(v) for v in sup_sorted],
        sup_bits=sup,
        arrays=(m_a_np, m_b_np, user_np),
        domain=domain,
        scalar=scalar,
        act_table=act_table,
    )


# --------------------------------------------------------------------------------------------
# Per-UE allocation at given log offsets, the high-power start and the per-UE level iteration.
# --------------------------------------------------------------------------------------------


def _evaluate(pb: _Problem, dh, dl):
    """Everything the iterations need at per-UE offsets d_k = dh + dl [..., K].

    The offset is carried as an unevaluated sum (a double-double): where the level sits within
    round-off above a subchannel's activation level b_j >> s_k (a UE whose lowest subchannel
    saturates), ``(dh - delta_j) + dl`` still has full relative precision. Returns
    ``(xr, r_k, slope, xs)``: x_j / s_k [..., N_D], R_k (bits), dR_k/d(log d_k) and the
    normalised power sum_{j in k} x_j / s_k, all [..., K] but xr.
    """
    be = pb.be
    num, r, xr, rate = _subchannel_terms(pb, dh, dl)
    # the slope is one-sided from above at an activation level (num = 0: see _newton_offsets)
    slope = dh / (1.0 + dh) * pb.per_user(be.where(num >= 0, 0.5 / r, 0.0)) / LN2
    return xr, pb.per_user(rate), slope, pb.per_user(xr)


def _subchannel_terms(pb: _Problem, dh, dl):
    """Per subchannel [..., N_D] at offsets d_k = dh + dl [..., K]: (d - delta_j, r_j, x_j / s_k,
    c_j in bits), with r_j = sqrt(1/4 + q_j (1 + d)) (so dx_j/dd = 1/(2 r_j) where active)."""
    xp, be = pb.be.xp, pb.be
    ds = pb.to_sub(dh)
    num = (ds - pb.delta) + pb.to_sub(dl)
    r = xp.sqrt(pb.q * ds + pb.q25)
    xr = be.where(num > 0, num / (pb.hs + r), 0.0)
    rate = xp.log1p(xr / (xr * pb.m_a + pb.bn)) / LN2
    return num, r, xr, rate


def _activation_neighbours(pb: _Problem, dh):
    """Per UE [..., K]: the highest activation offset delta_j <= d (the top active subchannel's),
    the lowest one above d (inf if none) and the plateau sum_{active j} sup_j (inf if an active
    m_a is 0): the rate R_k approaches while the level stays below the next activation."""
    be, xp = pb.be, pb.be.xp
    if pb.act_table is not None:
        # one design: count the activation offsets <= d (delta_j = 0 always is) and look up
        flat_delta, flat_plateau, base, table = pb.act_table
        count = (table <= dh[..., None]).sum(-1) + base
        return flat_delta[count - 1], flat_delta[count], flat_plateau[count - 1]
    below, above, plateau = [], [], []
    for ds, sup in zip(pb.delta_sorted, pb.sup_sorted, strict=True):
        k = len(below)
        dk = dh[..., k : k + 1]
        ds = ds + 0.0 * dk
        on = ds <= dk
        below.append(be.amax(be.where(on, ds, 0.0), -1))
        above.append(be.amin(be.where(on, math.inf, ds), -1))
        plateau.append(be.where(on, sup + 0.0 * dk, 0.0).sum(-1))
    stack = (lambda v: xp.stack(v, -1)) if be.torch else (lambda v: np.stack(v, axis=-1))
    return stack(below), stack(above), stack(plateau)


def _reverses(xp, du, du_prev):
    """Steps that undo at least half of a previous step of 0.01 nepers or more: a 2-cycle across
    a kink of R_k (an activation level above a saturated subchannel) in the making."""
    return (du * du_prev < 0) & (xp.abs(du) >= 0.5 * xp.abs(du_prev)) & (xp.abs(du_prev) >= 1e-2)


def _newton_offsets(pb: _Problem, dh, dl, r_k, slope, target, du_prev):
    """One safeguarded Newton step of every UE's offset towards the rate ``target``.

    ``(dh, dl)`` [..., K] is the offset d_k = dh + dl (see :func:`_evaluate`), ``r_k`` and
    ``slope`` = dR_k/d(log d) its rate and slope, ``target`` [..., K] or [..., 1], ``du_prev``
    the previous steps (log d). Returns ``(dh, dl, du)``.

    * Far above the top active activation level delta_top (d - delta_top > 1e-3 d): Newton in
      log d on the psi residual (:func:`_psi_gap`), or on log(P - R_k) where the rate saturates
      towards the plateau P of its active subchannels (:func:`_activation_neighbours`), up to
      50 nepers; a step down of 4 or more after a step up, or one that reverses the previous
      one by half or more, goes halfway back instead (a kink would 2-cycle); a step up beyond
      4 nepers (any, for a saturating UE) that passes the next activation level *snaps* to it.
    * Near delta_top: R_k is linear in d - delta_top, so Newton in d on R_k - t (at most 4 nepers
      down; a step up that passes the next activation level snaps to it). At a snapped level the
      slope is the one-sided one from above (:func:`_evaluate`), so the next step is exact even
      where the level sits within round-off above delta_j (a UE whose lower subchannels
      saturate: R_k is flat up to its next activation level, and steep right above it).

    A step below 1e-6 d is added exactly (two-sum into dl); a longer one drops dl. The offsets
    stay within [e^_U_MIN, e^cap_k].
    """
    be, xp = pb.be, pb.be.xp
    below, above, plateau = _activation_neighbours(pb, dh)
    near = (dh - below) + dl <= _NEAR_ACTIVATION * dh
    safe = be.where(slope > 0, slope, 1.0)
    du = -_psi_gap(xp, r_k, target) / safe
    # saturating below the plateau P: R_k = P - c d^-a to leading order (recognised by R_k within
    # 5 % of P and its slope, dR_k/d(log d) = a (P - R_k), a within 0.2..20), so Newton on
    # log(P - R_k) (exact there; on R_k it would gain 1/a neper per step)
    left, room = plateau - r_k, plateau - target
    sat = (left > 0) & (left <= 0.05 * plateau) & (room > 0)
    sat = sat & (slope >= 0.2 * left) & (slope <= 20.0 * left)
    with be.quiet():
        du_sat = xp.log(be.where(sat, left / room, 1.0)) * be.where(sat, left, 0.0) / safe
    du = be.where(sat, du_sat, du)
    # at or above the plateau the rate is reached only past the next activation level: go there
    du = be.where((room <= 0) & (r_k < target) & xp.isfinite(above), _MAX_UP_STEP, du)
    back = ((du <= -_MAX_LOG_STEP) & (du_prev > 0)) | _reverses(xp, du, du_prev)
    # (down at most 4 nepers, 50 on the saturation model, which is exact for R = P - c d^-a)
    floor = be.where(sat, -_MAX_UP_STEP, -_MAX_LOG_STEP)
    du = be.where(back, -0.5 * du_prev, be.minimum(be.maximum(du, floor), _MAX_UP_STEP))
    lin = be.maximum(-(r_k - target) * dh / safe, dh * _DOWN_FACTOR)
    lin = be.minimum(lin, dh * _UP_FACTOR)
    step = be.where(near, lin, dh * xp.expm1(du))
    # a rate that underflows (R_k = 0, slope 0): the longest step up
    flat = ~(slope > 0)
    du = be.where(flat, _MAX_UP_STEP, du)
    step = be.where(flat, dh * _UP_FACTOR, step)
    # up beyond 4 nepers: within the segment up to 50; past the next activation level: to it
    with be.quiet():
        far = xp.log(above / dh)
    # (a saturated UE, R_k within 0.1 % of its plateau, snaps to any activation level its step
    # would pass: R_k jumps there)
    up = ((du > _MAX_LOG_STEP) | ((left <= 1e-3 * plateau) & (du > 0))) & ~near
    snap = (up & (du >= far)) | (near & (dh + step >= above))
    with be.quiet():
        du = be.where(snap, far, xp.log1p(step / dh))
    # (dh, dl) + step: exact (two-sum) for a small step
    s = dh + step
    bb = s - dh
    lo = dl + ((dh - (s - bb)) + (step - bb))
    hi = s + lo
    fine = xp.abs(step) <= 1e-6 * dh
    lo = be.where(fine, lo - (hi - s), 0.0)
    hi = be.where(fine, hi, s)
    hi, lo = be.where(snap, above, hi), be.where(snap, 0.0, lo)
    d_max = xp.exp(pb.cap)
    clipped = (hi < _D_MIN) | (hi > d_max)
    return be.clip(hi, _D_MIN, d_max), be.where(clipped, 0.0, lo), du


def _allocation_at_levels(pb: _Problem, log_w):
    """x_j(w) (W), c_j(x_j) (bits) and dx_j/dw for per-UE levels log w [..., K]; all [..., N_D]."""
    xp, be = pb.be.xp, pb.be
    with be.quiet():
        d = be.maximum(xp.expm1(log_w - pb.log_b_min), 0.0)
        _, r, xr, rate = _subchannel_terms(pb, d, 0.0 * d)
    return xr * pb.sc, rate, be.where(xr > 0, 0.5 / r, 0.0)


def _highpower_offsets(pb: _Problem, t_bits):
    """log d_k reaching rate t on the approximation (57) with x >= 0 (per-UE water-filling).

    On (57) with b in place of m_b, the n best subchannels active: R_k = sum_{i<n} log2(w / b_i),
    so log(w / s_k) = (t ln 2 + sum_{i<n} ell_i) / n with ell_i = log(b_i / s_k); the right n is
    the largest with log(w / s_k) > ell_{n-1}; d_k = expm1(log(w / s_k)). (57) overestimates the
    rate at a given level. Where (57) has one subchannel on, that subchannel alone has R_k =
    d / ((1 + 2 m_a) ln 2) to first order (x / s = d / (1 + 2 m_a) there), which (57) misses
    where m_a is large: the start is the larger of the two offsets. ``t_bits`` [...] -> [..., K].
    """
    xp, be = pb.be.xp, pb.be
    out, single = [], []
    for ell in pb.ell_sorted:
        n = be.asarray(np.arange(1, ell.shape[-1] + 1))
        cums = xp.cumsum(ell, -1) if be.torch else np.cumsum(ell, axis=-1)
        cand = (t_bits[..., None] * LN2 + cums) / n  # [..., D_k]
        valid = cand > ell
        n_act = valid.sum(-1) if be.torch else valid.sum(axis=-1)
        n_act = n_act.clamp(min=1) if be.torch else np.maximum(n_act, 1)
        idx = (n_act - 1)[..., None]
        if be.torch:
            picked = xp.take_along_dim(cand.expand(idx.shape[:-1] + cand.shape[-1:]), idx, dim=-1)
        else:
            picked = np.take_along_axis(
                np.broadcast_to(cand, idx.shape[:-1] + cand.shape[-1:]), idx, axis=-1
            )
        out.append(picked[..., 0])
        single.append(n_act == 1)
    stack = (lambda v: xp.stack(v, -1)) if be.torch else (lambda v: np.stack(v, axis=-1))
    level, single = stack(out), stack(single)
    with be.quiet():
        # the lowest subchannel alone: R_k = d / ((1 + 2 m_a) ln 2) to first order
        low = xp.log(t_bits[..., None] * LN2) + xp.log1p(2.0 * pb.a_low)
        u = _log_offset(xp, level)
        return be.clip(be.where(single, be.maximum(u, low), u), _U_MIN, pb.cap)


def _solve_levels(pb: _Problem, t_bits, dh, dl, rtol: float, max_iter: int):
    """Per UE, the offset with R_k = t: Newton in log d on the psi residual, bracketed.

    ``t_bits`` [...] > 0, ``(dh, dl)`` [..., K] start; rates to ``rtol * t``. The bracket (in
    log d) starts as [_U_MIN, cap_k] (every offset of the domain); a Newton step is clipped to 4
    nepers and replaced by bisection when it leaves the bracket (steps below 1e-10, which the
    bracket cannot resolve, are Newton's). Returns ``(dh, dl, xr, r_k, slope, xs, iterations,
    converged)``.
    """
    be, xp = pb.be, pb.be.xp
    target = t_bits[..., None]
    tol = rtol * target
    lo = pb.cap * 0.0 + _U_MIN + 0.0 * target
    hi = pb.cap + 0.0 * target
    dh, dl = dh + 0.0 * target, dl + 0.0 * target
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007
        xr, r_k, slope, xs = _evaluate(pb, dh, dl)
        g = r_k - target
        done = xp.abs(g) <= tol
        if be.all(done):
            return dh, dl, xr, r_k, slope, xs, iterations, True
        u = xp.log(dh)
        hi = be.where(g > 0, be.minimum(hi, u), hi)
        lo = be.where(g < 0, be.maximum(lo, u), lo)
        dh_new, dl_new, du = _newton_offsets(pb, dh, dl, r_k, slope, target, 0.0 * dh)
        u_new = xp.log(dh_new)
        ok = ((u_new > lo) & (u_new < hi)) | (xp.abs(du) <= 1e-10)
        mid = xp.exp(0.5 * (lo + hi))
        dh = be.where(done, dh, be.where(ok, dh_new, mid))
        dl = be.where(done, dl, be.where(ok, dl_new, 0.0))
    xr, r_k, slope, xs = _evaluate(pb, dh, dl)
    converged = be.all(xp.abs(r_k - target) <= 1e3 * tol)
    return dh, dl, xr, r_k, slope, xs, iterations, converged


def _patch_levels(pb: _Problem, t_bits, d, xr, r_k, xs, rtol: float, max_iter: int):
    """The UEs :func:`_solve_levels` left off their rate, solved by
    :func:`_least_power_segmentwise` (NumPy, one design). Returns ``(d, xr, r_k, xs, converged)``."""
    lay = pb.scalar
    d, xr, r_k, xs = (np.array(v, dtype=np.float64) for v in (d, xr, r_k, xs))
    t_b = np.broadcast_to(np.asarray(t_bits, dtype=np.float64)[..., None], r_k.shape)
    bad = ~(np.abs(r_k - t_b) <= rtol * t_b)
    converged = True
    for idx in zip(*np.nonzero(bad), strict=True):
        k = int(idx[-1])
        hi, e, xr_k, xs_k, rate, ok = _least_power_segmentwise(
            lay, k, float(t_b[idx]), rtol, max_iter
        )
        converged = converged and ok
        d[idx], xs[idx], r_k[idx] = hi + e, xs_k, rate
        xr[idx[:-1] + (lay.order[lay.bounds[k] : lay.bounds[k + 1]],)] = xr_k
    return d, xr, r_k, xs, converged


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
        Rate tolerance relative to t.
    max_iter : int

    Returns
    -------
    LeastPowerAllocation
        NumPy arrays for NumPy input, float64 tensors when ``t_bits`` is a tensor.

    Raises
    ------
    ValueError
        NaN or negative t, t at or above a UE's supremum rate sum_j log2(1 + 1/m_a), bad m.
    PowerDomainError
        The least power (as a budget P_a) lies outside
        :func:`plkg.solvers.water_level.check_power_domain`'s domain, or an m_b (1 + m_a) does.
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
        ``optimal`` (non-convergence raises :class:`SolverError`).
    iterations : int
        Outer (Newton on t) iterations.
    inner_iterations : int
        Total inner Newton iterations.
    objective : float
        min_k C_k of the first batch element (bits).
    level_offset : [..., K] or None
        d_k = (w_k - s_k) / s_k, the level above UE k's lowest activation level s_k in units of
        s_k (full relative precision where w_k rounds to s_k, i.e. P_a far below s_k).
    """

    x_w: object
    t_bits: object
    rate_bits: object
    water_level_w: object
    status: str
    iterations: int
    inner_iterations: int
    objective: float
    level_offset: object = None


def _lower_bound(pb: _Problem, pa):
    """A feasible min_k C_k [...] (a lower bound on t*, > 0): the better of equal power and of
    P_a split over each UE's lowest subchannel in proportion to s_k (x_k / s_k = P_a / sum s)."""
    xp, be = pb.be.xp, pb.be
    x_epa = pa[..., None] / pb.m_a.shape[-1] + 0.0 * pb.m_a
    t_epa = be.amin(pb.per_user(xp.log1p(x_epa / (x_epa * pb.m_a + pb.b))), -1) / LN2
    inv_y = pb.s_ue.sum(-1)[..., None] / pa[..., None]
    t_best = be.amin(xp.log1p(1.0 / (pb.a_low + inv_y)), -1) / LN2
    return be.maximum(t_epa, t_best)


def _upper_bound(pb: _Problem, pa):
    """An upper bound on t* [...]: min_k sum_j c_j(P_a) (every subchannel of UE k with the whole
    budget), raised by 1e-12 against round-off. Terms below float64's range are taken as 0."""
    xp = pb.be.xp
    y = pa[..., None] / pb.sc + 0.0 * pb.m_a  # P_a / s_k per subchannel
    rate = pb.per_user(xp.log1p(1.0 / (pb.m_a + pb.bn / y))) / LN2
    return pb.be.amin(rate, -1) * (1.0 + 1e-12)


def _absorbable(xp, be, f, p_rel, w_rel, tol_bits):
    """Whether some UE can take the budget residual f (relative to P_a) at a rate change below
    ``tol_bits`` ([...] bool; powers and levels relative to P_a, [..., K]).

    Adding power D raises C_k by at most D / (ln 2 w_k) (C_k is concave in P_k, with slope
    1 / (ln 2 w_k)); removing E lowers it by about E / (ln 2 w_k) while E << P_k. Used to accept
    a t at round-off whose budget residual the iteration cannot remove (saturation): a UE on a
    rate plateau far below its level has a steep but tiny P_k(t) that cannot give up the excess.
    """
    move = xp.abs(f)[..., None] / (LN2 * w_rel)
    fits = (f[..., None] <= 0) | (f[..., None] <= 1e-3 * p_rel)
    return be.amin(be.where(fits, move, math.inf), -1) <= tol_bits


def _joint_newton(pb: _Problem, pa, t, u, t_hi, rtol: float, max_iter: int):
    """Newton on the (K+1) equations R_k(d_k) = t, sum_k P_k(d_k) = P_a (all UEs at once).

    With S_k = dR_k/du_k (u_k = log d_k) and dP_k/du_k = ln 2 w_k S_k, eliminating du_k gives
    dt = (sum_k w_k g_k - f / ln 2) / sum_k w_k and du_k = (dt - g_k) / S_k, where g_k = R_k - t
    and f = sum x - P_a. The rate residuals are taken on psi (:func:`_psi_gap`), the budget one on
    log P (f -> P ln(P / P_a)) and dt as a step of psi(t) (:func:`_psi_step`): same root, same
    first order, and exact in the low- and high-power limits. Powers are in units of P_a.

    Safeguards: t stays in a bracket on t* built from the iterates (bisected in psi when Newton
    leaves it), u-steps are clipped to 4 nepers and a clipped step that reverses the previous one
    goes halfway back. Returns ``(t, dh, dl, xr, xs, iterations, converged)`` (d_k = dh + dl,
    see :func:`_evaluate`; ``converged`` [...] bool), so that the caller can solve the rows that
    did not converge by :func:`_robust_scalar`.
    """
    be, xp = pb.be, pb.be.xp
    sr = pb.s_ue / pa[..., None]  # s_k / P_a
    lo_b, up_b = t * 1.0, _upper_bound(pb, pa)  # bracket on t* (t starts at a lower bound)
    dh, dl = xp.exp(u), 0.0 * u
    du_prev = 0.0 * u
    frozen = t < 0  # rows that have converged keep their state (none yet)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        xr, r_k, slope, xs = _evaluate(pb, dh, dl)
        g = r_k - t[..., None]
        rho = (sr * xs).sum(-1)  # sum x / P_a
        f = rho - 1.0
        rates_ok = be.amax(xp.abs(g), -1) <= 10.0 * rtol * t
        frozen = frozen | (rates_ok & (xp.abs(f) <= rtol))
        if be.all(frozen):
            return t, dh, dl, xr, xs, it, frozen
        # (R_k, P_k) lies on UE k's least-power curve: sum P_k < P_a puts t* above min_k R_k,
        # sum P_k > P_a below max_k R_k
        lo_b = be.where(f < -rtol, be.maximum(lo_b, be.amin(r_k, -1)), lo_b)
        up_b = be.where(f > rtol, be.minimum(up_b, be.amax(r_k, -1)), up_b)
        w = sr * (1.0 + dh)  # w_k / P_a
        f_log = be.where(rho > 0, rho * xp.log(be.where(rho > 0, rho, 1.0)), f)
        w_sum = w.sum(-1)
        g_part = (w * _psi_gap(xp, r_k, t[..., None])).sum(-1) / w_sum
        dt_plain = g_part - f / (LN2 * w_sum)
        dt = g_part - f_log / (LN2 * w_sum)
        # Near saturation (sup C_k) P_k(t) is so steep that the power residual cannot reach
        # rtol * P_a in float64; t itself has converged when its Newton step is at round-off on
        # both P - P_a and P ln(P / P_a) (one alone can vanish where the other does not)
        small = (xp.abs(dt_plain) <= 1e-14 * t) & (xp.abs(dt) <= 1e-14 * t)
        small = small & _absorbable(xp, be, f, sr * xs, w, 1e-13 * t)
        frozen = frozen | (rates_ok & small)
        if be.all(frozen):
            return t, dh, dl, xr, xs, it, frozen
        # power far below the water level: P(t) is linear there (low power, or a rate plateau
        # where saturated subchannels hold the rate of a UE whose level is far above its power
        # and P ln(P / P_a) vanishes): Newton on P - P_a, a step in t itself
        plain = rho / w_sum < 1e-3
        t_new = be.where(plain, t + dt_plain, _psi_step(xp, t, dt))
        t_new = be.minimum(t_new, 0.5 * (t + t_hi))
        # a long step down from saturation: linear in tau = -ln(t_hi - t) (there P ~ 1 /
        # (t_hi - t), and dt = -ln(P / P_a) (t_hi - t) on P ln(P / P_a): exact)
        gap = t_hi - t
        p_over_slope = rho / (LN2 * w_sum)  # P / P'(t) ~ t_hi - t where P ~ 1 / (t_hi - t)
        down = (gap > 0) & (dt < -0.5 * gap) & xp.isfinite(gap)
        down = down & (p_over_slope >= 0.5 * gap) & (p_over_slope <= 2.0 * gap)
        with be.quiet():
            tau = t_hi - gap * xp.exp(be.minimum(-dt / be.where(down, gap, 1.0), 700.0))
        t_new = be.where(down, tau, t_new)
        inside = (t_new > lo_b * _BRACKET_LO) & (t_new < up_b * _BRACKET_HI)
        t_new = be.where(inside | ~(lo_b < up_b), t_new, _psi_mid(xp, lo_b, up_b))
        # t pinned at sup C_k in float64 (saturation) with budget to spare: t cannot use it; the
        # rates are equal, and _finish gives the residual to the saturated UE
        frozen = frozen | (rates_ok & (t_new == t) & (t >= t_hi) & (f < 0))
        if be.all(frozen):
            return t, dh, dl, xr, xs, it, frozen
        dh_new, dl_new, du_prev = _newton_offsets(pb, dh, dl, r_k, slope, t_new[..., None], du_prev)
        keep = frozen[..., None]
        dh, dl = be.where(keep, dh, dh_new), be.where(keep, dl, dl_new)
        t = be.where(frozen, t, t_new)
    xr, r_k, slope, xs = _evaluate(pb, dh, dl)
    return t, dh, dl, xr, xs, it, frozen


def _raise_underflow(pa, power_w, s_ue) -> None:
    """PowerDomainError when a UE's optimal power is not a normal float64 (W).

    Inside check_power_domain's domain this happens only when the UEs' lowest activation levels
    are ~1e290 apart: UE k's share of P_a is then ~P_a s_k / sum_j s_j, below 1e-308 W.
    """
    p = np.asarray(power_w, dtype=np.float64)
    bad = ~(p >= _TINY)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), bad.shape)
        s = np.asarray(s_ue, dtype=np.float64)
        pa_i = float(np.broadcast_to(np.asarray(pa, dtype=np.float64), bad.shape[:-1])[idx[:-1]])
        s_row = np.broadcast_to(s, bad.shape)[idx[:-1]]
        raise PowerDomainError(
            f"P_a = {pa_i:.3g} W: the optimal power of UE {idx[-1]} is {p[idx]:.3g} W, below the "
            f"smallest normal float64 ({_TINY:.3g}): the UEs' lowest activation levels "
            f"m_b (1 + m_a) span {s_row.min():.3g} to {s_row.max():.3g} W, too many decades for "
            "float64 allocations in watt"
        )


def _finish(pb: _Problem, pa, xr, xs, d, iterations: int, inner: int, ok=None) -> MaxMinSolution:
    """Budget-exact rescaling and the result (batched).

    The residual dP is shared as dP_k = dP w_k / sum w, which keeps the rates equal to first order
    (dC_k/dP_k = 1 / (ln 2 w_k)). Where that would change some UE's power by more than 1e-6
    (relative), the first order does not hold: the iteration stopped at saturation, where t is
    pinned in float64 while the saturating UE's P_k(t) is too steep to meet the budget (its rate
    sits on a plateau: sup C_k, or the sup of its active subchannels below an activation level
    it cannot reach). The residual then goes to the one UE whose rate moves least when it absorbs
    it (that UE's allocation is scaled, so its water level is the one before the scaling).
    """
    be, xp = pb.be, pb.be.xp
    sr = pb.s_ue / pa[..., None]
    p_rel = sr * xs
    w_rel = sr * (1.0 + d)
    dp = 1.0 - p_rel.sum(-1, keepdim=True) if be.torch else 1.0 - p_rel.sum(-1, keepdims=True)
    share = dp * w_rel / w_rel.sum(-1)[..., None]
    p_safe = be.where(p_rel > 0, p_rel, 1.0)
    first_order = be.amax(xp.abs(share) / p_safe, -1)[..., None] <= 1e-6
    if not be.all(first_order):
        # the UE whose rate moves least when it alone absorbs the residual (one evaluation: each
        # UE's rate depends on its own allocation only): c_k = (1 - sum_{j != k} p_j) / p_k, the
        # other UEs summed apart (p_k may dwarf them)
        others = [
            (p_rel * (be.index(np.arange(pb.n_users)) != k)).sum(-1) for k in range(pb.n_users)
        ]
        others = xp.stack(others, -1) if be.torch else np.stack(others, axis=-1)
        c = (1.0 - others) / p_safe
        fits = (c > 0) & (p_rel > 0)
        c = be.where(fits, c, 1.0)
        rates = [pb.per_user(xp.log1p(v / (v * pb.m_a + pb.bn))) for v in (xr, xr * pb.to_sub(c))]
        moved = be.where(fits, xp.abs(rates[1] - rates[0]), math.inf)
        star = be.index(np.arange(pb.n_users)) == xp.argmin(moved, -1)[..., None]
        any_fits = be.amax(be.where(fits, 1.0, 0.0), -1)[..., None] > 0
        uniform = 1.0 / (1.0 - dp) + 0.0 * c
        scale = be.where(any_fits, be.where(star, c, 1.0), uniform)
        scale = be.where(first_order, 1.0 + share / p_safe, scale)
    else:
        scale = 1.0 + share / p_safe
    xr = xr * pb.to_sub(scale)
    power = pb.s_ue * xs * scale
    if ok is not None:  # (rows that did not converge are solved again: no verdict on them)
        power = be.where(ok[..., None], power, 1.0)
    _raise_underflow(be.to_numpy(pa), be.to_numpy(power), be.to_numpy(pb.s_ue))
    rate = pb.per_user(xp.log1p(xr / (xr * pb.m_a + pb.bn)) / LN2)
    t = be.amin(rate, -1)
    return MaxMinSolution(
        x_w=xr * pb.sc,
        t_bits=t,
        rate_bits=rate,
        water_level_w=pb.s_ue * (1.0 + d),
        status="optimal",
        iterations=iterations,
        inner_iterations=inner,
        objective=float(np.ravel(be.to_numpy(t))[0]),
        level_offset=d,
    )


def _lower_bound_scalar(lay: _ScalarLayout, pa: float) -> float:
    """:func:`_lower_bound` for one budget on the scalar layout."""
    inv_y = lay.s_total / pa
    t = min([math.log1p(1.0 / (a + inv_y)) for a in lay.a_low]) / LN2
    if lay.ma_max * pa < 1e300:  # equal power cannot overflow x m_a
        x_epa = pa / lay.b.shape[0]
        rate0 = np.add.reduceat(np.log1p(x_epa / (x_epa * lay.m_a + lay.b)), lay.starts)
        t = max(t, float(rate0.min()) / LN2)
    return t


def _upper_bound_scalar(lay: _ScalarLayout, pa: float) -> float:
    """:func:`_upper_bound` for one budget on the scalar layout."""
    y = np.array([pa / si for si in lay.s])[lay.user]
    with np.errstate(over="ignore", divide="ignore"):
        rate = np.add.reduceat(np.log1p(1.0 / (lay.m_a + lay.bn / y)), lay.starts)
    return float(rate.min()) / LN2 * (1.0 + 1e-12)


def _cold_start_scalar(pb: _Problem, pa: float):
    """(t, u) for one budget: t a feasible lower bound (:func:`_lower_bound`), u the high-power
    offsets at t (:func:`_highpower_offsets`), on the scalar layout."""
    lay = pb.scalar
    t = _lower_bound_scalar(lay, pa)
    cand = (t * LN2 + lay.padded_ell_cumsum) * lay.inv_n
    n_act = np.maximum((cand > lay.padded_ell).sum(axis=1), 1)
    level = cand[lay.ue_index, n_act - 1].tolist()
    low = math.log(t * LN2)
    return t, [
        min(max(v + math.log(-math.expm1(-v)), low + a if n == 1 else _U_MIN, _U_MIN), c)
        for v, a, c, n in zip(level, lay.log_kappa, lay.cap, n_act.tolist(), strict=True)
    ]


def _newton_offsets_scalar(lay: _ScalarLayout, d, dl, r_k, slope, t, du_prev):
    """:func:`_newton_offsets` on Python lists (one budget), in place on ``d`` and ``dl``.

    Returns ``(du, fine)``, ``fine`` True when some dl is nonzero.
    """
    du, fine = [], False
    linear = t >= _LINEAR_BITS
    for k in range(len(d)):
        dk, lk, rk, sk = d[k], dl[k], r_k[k], slope[k]
        deltas = lay.delta_sorted[k]
        n = bisect_right(deltas, dk)  # top active: deltas[n - 1]; next: deltas[n]
        snap = False
        if sk <= 0.0:  # a rate that underflows: the longest step up
            v = _MAX_UP_STEP
            step = dk * _UP_FACTOR
            snap = n < len(deltas) and dk + step >= deltas[n]
        elif n and (dk - deltas[n - 1]) + lk <= _NEAR_ACTIVATION * dk:
            # near the top active activation level: Newton in d on R - t
            step = -(rk - t) * dk / sk
            step = dk * _DOWN_FACTOR if step < dk * _DOWN_FACTOR else min(step, dk * _UP_FACTOR)
            snap = step > 0.0 and n < len(deltas) and dk + step >= deltas[n]
            v = math.log1p(step / dk)
        else:  # Newton in log d on the psi residual, or on log(P - R) below a plateau
            top = lay.plateau[k][n - 1]
            floor = -_MAX_LOG_STEP
            left = top - rk
            if 0.0 < left <= 0.05 * top and t < top and 0.2 * left <= sk <= 20.0 * left:
                v = math.log(left / (top - t)) * left / sk
                floor = -_MAX_UP_STEP  # (exact for R = P - c d^-a: long steps down too)
            elif rk < t and top <= t and n < len(deltas):
                v = _MAX_UP_STEP  # reached only past the next activation level: go there
            else:
                v = (t - rk if linear and rk >= _LINEAR_BITS else -_psi_gap_scalar(rk, t)) / sk
            p = du_prev[k]
            if (v <= -_MAX_LOG_STEP and p > 0.0) or (
                v * p < 0.0 and abs(v) >= 0.5 * abs(p) and abs(p) >= 1e-2
            ):
                v = -0.5 * p  # halfway back (see _newton_offsets)
            elif v <= floor:
                v = floor
            elif v > _MAX_LOG_STEP or (v > 0.0 and left <= 1e-3 * top):
                # within the segment up to 50 nepers; past the next activation level: to it (a
                # saturated UE, R_k within 0.1 % of its plateau, for any step: R_k jumps there)
                far = math.log(deltas[n] / dk) if n < len(deltas) else math.inf
                if v < far:
                    v = min(v, _MAX_UP_STEP)
                else:
                    snap, v = True, far
            step = dk * math.expm1(v)
        if snap:  # exactly at the next activation level (one-sided slope from there)
            h, lk = deltas[n], 0.0
            v = math.log(h / dk)
        elif -1e-6 * dk <= step <= 1e-6 * dk:  # exact: two-sum into the low part
            h = dk + step
            bb = h - dk
            lk += (dk - (h - bb)) + (step - bb)
            s_ = h
            h = s_ + lk
            lk -= h - s_
            fine = fine or lk != 0.0
        else:
            h, lk = dk + step, 0.0
        if not _D_MIN <= h <= lay.d_max[k]:
            h, lk = min(max(h, _D_MIN), lay.d_max[k]), 0.0
        d[k], dl[k] = h, lk
        du.append(v)
    return du, fine


def _slopes(d, inv_r) -> list:
    """dR_k/d(log d_k) = d / (1 + d) sum_j dx_r/dd / ln 2, with dx_r/dd = 1 / (2 r_j) (lists)."""
    return [dk / (1.0 + dk) * v / _TWO_LN2 for dk, v in zip(d, inv_r, strict=True)]


def _joint_newton_scalar(pb: _Problem, pa: float, rtol: float, max_iter: int, start=None):
    """:func:`_joint_newton` for one budget on NumPy, per-UE bookkeeping in Python floats.

    Same equations and safeguards as the batched version, tuned for a single solve, which is
    dominated by per-call overhead (K is small, so the K-vectors are cheaper as Python lists):

    * subchannels in UE-contiguous order (:class:`_ScalarLayout`), per-UE sums by one
      ``np.add.reduceat``; ``x_r = (d - delta)^+ / (hs + r)``, ``r = sqrt(1/4 + q (1 + d))`` and
      ``dx_r/dd = 1 / (2 r)`` reuse the same square root;
    * the budget equation is linearised in log P (``P ln(P / P_a)`` in place of ``P - P_a``):
      P(t) grows like 2^(t / D_k), so the step from the lower bound on t lands close to t*
      instead of overshooting (typically 4-6 evaluations instead of 7-9);
    * rate residuals and steps of t on psi(t) = log(2^t - 1) where t < 40 bits (plain above,
      where psi is linear to 1e-12): exact in log t at low power;
    * a step in t longer than half the way to t_hi = min_k sup C_k is taken linearly in
      -ln(t_hi - t) (log P_k ~ -D_k ln(sup_k - t) near saturation), but never shorter than the
      bisection step of the batched version.

    Starts from ``start = (t, u)`` when given (a warm start), else from :func:`_cold_start_scalar`.
    The offsets are carried as d + dl (see :func:`_evaluate` and :func:`_newton_offsets`). Returns
    ``(t, d, xr, p_k, r_k, inv_r, iterations, ok)`` with ``xr`` (x_j / s_k) in the layout order,
    ``p_k`` = s_k sum_{j in k} x_j / s_k (W) and ``inv_r_k`` = sum_{j in k} 1 / r_j (see
    :func:`_slopes`).
    """
    lay = pb.scalar
    delta, q, q25, hs, m_a, bn = lay.delta, lay.q, lay.q25, lay.hs, lay.m_a, lay.bn
    user, starts = lay.user, lay.starts
    n_total = delta.shape[0]
    t_hi = lay.t_hi
    s_k = lay.s
    t, u = _cold_start_scalar(pb, pa) if start is None else start
    lo_b = t if start is None else 0.0  # bracket on t*, tightened as the iteration goes
    up_b = math.inf
    du_prev = [0.0] * len(u)
    du_prev_max = 0.0
    buf = np.empty((3, n_total))  # per subchannel: rate (nats), 1/r = 2 dx_r/dd, x_r: one reduceat
    e = np.empty(n_total)
    tmp = np.empty(n_total)
    xr = buf[2]
    p_k = r_k = inv_r = []
    d = [math.exp(v) for v in u]
    dl = [0.0] * len(d)  # low parts of the offsets (nonzero only after fine steps)
    fine = False
    for it in range(1, max_iter + 1):  # noqa: B007
        ds = np.array(d)[user]
        np.subtract(ds, delta, out=e)
        if fine:
            e += np.array(dl)[user]
        active = e >= 0.0  # (the one-sided slope at num = 0, see _newton_offsets)
        np.maximum(e, 0.0, out=e)
        np.multiply(ds, q, out=tmp)
        tmp += q25
        np.sqrt(tmp, out=tmp)  # r = sqrt(1/4 + q (1 + d))
        np.divide(active, tmp, out=buf[1])
        tmp += hs
        np.divide(e, tmp, out=xr)
        np.multiply(xr, m_a, out=tmp)
        tmp += bn
        np.divide(xr, tmp, out=tmp)
        np.log1p(tmp, out=buf[0])
        rate_n, inv_r, xs = np.add.reduceat(buf, starts, axis=1).tolist()
        r_k = [v * _INV_LN2 for v in rate_n]
        g = [r - t for r in r_k]
        p_k = list(map(mul, s_k, xs))  # P_k (W)
        rho = sum(p_k) / pa  # sum x / P_a
        f = rho - 1.0
        # Rates to rtol / 10 (the batched path: 10 rtol): Newton's last step costs nothing there
        # and keeps single and batched optima equal to ~1e-13 (instead of ~1e-11) near saturation.
        rates_ok = max(map(abs, g)) <= 0.1 * rtol * t
        if rates_ok and abs(f) <= rtol:
            return t, d, xr, p_k, r_k, inv_r, it, True
        r_min = min(r_k)
        # (R_k, P_k) lies on UE k's least-power curve: sum P_k < P_a puts t* above min_k R_k,
        # sum P_k > P_a below max_k R_k
        if f < -rtol:
            lo_b = max(lo_b, r_min)
        elif f > rtol:
            up_b = min(up_b, max(r_k))
        # Newton on log P: P ln(P / P_a) in place of P - P_a (same root, same first order).
        f_log = rho * math.log(rho) if rho > 0.0 else f
        w = [a + a * dk for a, dk in zip(s_k, d, strict=True)]  # w_k = s_k (1 + d_k) (W)
        w_sum = sum(w)
        gh = g if t >= _LINEAR_BITS and r_min >= _LINEAR_BITS else [_gap(r, t) for r in r_k]
        # dt = (sum_k w_k g_k - P_a f_log / ln 2) / sum_k w_k, with weights w_k / sum w (no
        # product of two tiny numbers)
        g_part = sum([wk / w_sum * gk for wk, gk in zip(w, gh, strict=True)])
        dt_plain = g_part - (pa / w_sum) * f / LN2
        dt = g_part - (pa / w_sum) * f_log / LN2
        # Near saturation (sup C_k) P_k(t) is so steep that the power residual cannot reach
        # rtol * P_a in float64; t itself has converged when its Newton step is at round-off on
        # both P - P_a and P ln(P / P_a) (one alone can vanish where the other does not)
        if (
            rates_ok
            and abs(dt_plain) <= 1e-14 * t
            and abs(dt) <= 1e-14 * t
            # (and some UE can take the residual at a rate change below round-off, see
            # _absorbable: a UE on a rate plateau far below its level has a steep but tiny
            # P_k(t) that cannot give up an excess)
            and min(
                [
                    abs(f * pa) / (LN2 * wk) if f * pa <= 0.0 or f * pa <= 1e-3 * p else math.inf
                    for wk, p in zip(w, p_k, strict=True)
                ]
            )
            <= 1e-13 * t
        ):
            return t, d, xr, p_k, r_k, inv_r, it, True
        gap = t_hi - t
        if (
            0.0 < gap < math.inf
            and dt < -0.5 * gap
            and 0.5 * gap <= rho * pa / (LN2 * w_sum) <= 2.0 * gap
        ):
            # Long step down from saturation: linear in tau = -ln(t_hi - t) (there
            # P ~ 1 / (t_hi - t), recognised by P / (ln 2 sum w) = P / P'(t) ~ t_hi - t, and
            # dt = -ln(P / P_a) (t_hi - t) on P ln(P / P_a): exact)
            t_new = t_hi - gap * math.exp(min(-dt / gap, 700.0))
        else:
            if rho * (pa / w_sum) < 1e-3:
                # power far below the water level: P(t) is linear there (low power, or a rate
                # plateau where saturated subchannels hold the rate of a UE whose level is far
                # above its power and P ln(P / P_a) vanishes): Newton on P - P_a, a step in t
                dt = dt_plain
            elif t < _LINEAR_BITS or t + dt < _LINEAR_BITS:
                dt = _psi_step_scalar(t, dt) - t
            if dt <= 0.5 * gap:
                t_new = t + dt
            elif 0.0 < gap < math.inf:
                # Long step towards saturation: at least the bisection step, at most the step
                # linear in tau = -ln(t_hi - t) (log P_k ~ -D_k ln(sup_k - t) there), which never
                # reaches t_hi.
                t_new = t + gap * min(max(0.5, -math.expm1(-dt / gap)), 1.0 - 1e-9)
            else:
                t_new = t + 0.5 * gap
        if up_b == math.inf and t_new > 2.0 * t:
            up_b = _upper_bound_scalar(pb.scalar, pa)  # (a long step up: bound it)
        if not lo_b * _BRACKET_LO < t_new < up_b * _BRACKET_HI:
            # Newton left the bracket (beyond round-off): bisect it, in psi
            if lo_b <= 0.0:
                lo_b = _lower_bound_scalar(pb.scalar, pa)
            if up_b == math.inf:
                up_b = _upper_bound_scalar(pb.scalar, pa)
            if not lo_b * _BRACKET_LO < t_new < up_b * _BRACKET_HI and lo_b < up_b:
                t_new = _psi_mid_scalar(lo_b, up_b)
        if rates_ok and t_new == t and t >= t_hi and f < 0.0:
            # t pinned at sup C_k in float64 (saturation) with budget to spare: t cannot use it;
            # the rates are equal, and _finish_scalar gives the residual to the saturated UE
            return t, d, xr, p_k, r_k, inv_r, it, True
        # one Newton step of every offset towards t_new: where every rate is high and no step is
        # clipped, plainly in log d (psi is linear there, and a subchannel that has just switched
        # on carries a negligible share of R_k >= 40 bits); else safeguarded
        du = None
        if t_new >= _LINEAR_BITS and r_min >= _LINEAR_BITS:
            # du_k = (t_new - R_k) / S_k with S_k = dR_k/d(log d) (see _slopes)
            du = [
                (t_new - rk) * (1.0 + dk) / (dk * v) * _TWO_LN2
                for rk, dk, v in zip(r_k, d, inv_r, strict=True)
            ]
            du_max = max(map(abs, du))
            # (shrinking steps: Newton converging, no 2-cycle to damp)
            if du_max >= _MAX_LOG_STEP or du_max >= 0.5 * du_prev_max >= 5e-3:
                du = None
        if du is None:
            slope = _slopes(d, inv_r)
            du_prev, fine = _newton_offsets_scalar(lay, d, dl, r_k, slope, t_new, du_prev)
            du_prev_max = max(map(abs, du_prev))
        else:  # (|du| < 4: d stays within e^4 of the domain's largest offset, finite)
            d = [dk * math.exp(v) for dk, v in zip(d, du, strict=True)]
            if fine:
                dl, fine = [0.0] * len(d), False
            du_prev, du_prev_max = du, du_max
        t = t_new
    return t, d, xr, p_k, r_k, inv_r, max_iter, False


def _finish_scalar(pb: _Problem, pa: float, d, xr, p_k, r_k, iterations: int) -> MaxMinSolution:
    """Budget-exact rescaling (as in :func:`_finish`) and the result, one budget.

    ``xr`` (layout order), ``p_k`` and ``r_k`` are from the last evaluation of
    :func:`_joint_newton_scalar`. The residual dP is shared as dP_k = dP w_k / sum w; on the active
    subchannels every c'_j = 1 / (w_k ln 2), so C_k moves by dP_k / (w_k ln 2) up to O(dP^2), which
    is below round-off when no P_k moves by more than 1e-6 (otherwise, at saturation, the residual
    goes to the UE whose rate moves least, as in :func:`_finish`, and the rates are re-evaluated).
    """
    lay = pb.scalar
    s = lay.s
    if min(p_k) < _TINY:
        _raise_underflow(pa, np.array(p_k), np.array(s))
    w = [si * (1.0 + dk) for si, dk in zip(s, d, strict=True)]  # W
    dp = pa - sum(p_k)
    w_sum = sum(w)
    dp_k = [dp * (wk / w_sum) for wk in w]
    scale = [1.0 + a / p for a, p in zip(dp_k, p_k, strict=True)]
    # (first order: no UE's power moves by more than 1e-6; then C_k moves by dP_k / (w_k ln 2))
    first_order = 1.0 - 1e-6 <= min(scale) and max(scale) <= 1.0 + 1e-6
    if not first_order:  # saturation: the residual to the UE whose rate moves least (_finish)
        # c_k = (P_a - sum_{j != k} P_j) / P_k, the other UEs summed apart (P_k may dwarf them)
        c = [(pa - sum(p_k[:k] + p_k[k + 1 :])) / p for k, p in enumerate(p_k)]
        c = [v if v > 0.0 else 1.0 for v in c]
        xr2 = xr * np.array(c)[lay.user]
        moved = np.add.reduceat(np.log1p(xr2 / (xr2 * lay.m_a + lay.bn)), lay.starts) / LN2
        moved = [
            abs(a - b) if v != 1.0 else math.inf for a, b, v in zip(moved, r_k, c, strict=True)
        ]
        k_star = moved.index(min(moved))
        if moved[k_star] < math.inf:
            scale = [1.0] * len(s)
            scale[k_star] = c[k_star]
        else:
            scale = [pa / (pa - dp)] * len(s)
    x_sorted = xr * np.array([si * c for si, c in zip(s, scale, strict=True)])[lay.user]
    if first_order:
        rate = [r + a / (wk * LN2) for r, a, wk in zip(r_k, dp_k, w, strict=True)]
    else:
        xr2 = xr * np.array(scale)[lay.user]
        rate = (
            np.add.reduceat(np.log1p(xr2 / (xr2 * lay.m_a + lay.bn)), lay.starts) / LN2
        ).tolist()
    x_out = np.empty_like(x_sorted)
    x_out[lay.order] = x_sorted
    t = np.float64(min(rate))
    rate = np.array(rate)
    return MaxMinSolution(
        x_w=x_out,
        t_bits=t,
        rate_bits=rate,
        water_level_w=np.array(w),
        status="optimal",
        iterations=iterations,
        inner_iterations=0,
        objective=float(t),
        level_offset=np.array(d),
    )


# --------------------------------------------------------------------------------------------
# Guaranteed fallback: outer Newton-bisection on t, each UE's least power segment by segment.
# --------------------------------------------------------------------------------------------


def _ue_state(lay: _ScalarLayout, k: int, hi: float, lo: float):
    """UE k at offset d = hi + lo (one budget): rate (bits), dR/dd, x_j / s_k and their sum."""
    sl = slice(lay.bounds[k], lay.bounds[k + 1])
    num = (hi - lay.delta[sl]) + lo
    r = np.sqrt(lay.q[sl] * (hi + lo) + lay.q25[sl])
    xr = np.where(num > 0, num, 0.0) / (lay.hs[sl] + r)
    rate = float(np.log1p(xr / (xr * lay.m_a[sl] + lay.bn[sl])).sum()) / LN2
    slope = float(np.where(num >= 0, 0.5 / r, 0.0).sum()) / ((1.0 + hi + lo) * LN2)
    return rate, slope, xr, float(xr.sum())


def _least_power_segmentwise(lay: _ScalarLayout, k: int, t: float, rtol: float, max_iter: int):
    """UE k's least-power offset for rate t, robustly: ``(hi, lo, xr, xs, rate, ok)``.

    The rate at the activation levels delta_j picks the segment [delta_n, delta_{n+1}) holding
    the offset; there d = delta_n + e with e >= 0 carried apart (no cancellation however close
    the level is to delta_n). R_k is concave and increasing in e, so the tangent step from
    e = 0 (one-sided slope) lands left of the root; from there Newton in log e on the psi
    residual of R_k - R_k(delta_n) (or on log(P - R_k) where the rate saturates towards the
    plateau P of the active subchannels), kept inside a bracket that is bisected otherwise.
    """
    deltas = lay.delta_sorted[k]
    n, r0 = 0, 0.0
    for j in range(1, len(deltas)):
        if deltas[j] > lay.d_max[k]:  # (beyond the domain: never reached)
            break
        if deltas[j] > deltas[n]:
            rate_j = _ue_state(lay, k, deltas[j], 0.0)[0]
            if rate_j > t:
                break
            n, r0 = j, rate_j
    while n + 1 < len(deltas) and deltas[n + 1] == deltas[n]:
        n += 1
    hi = deltas[n]
    top = lay.plateau[k][n]  # sup of the active subchannels (inf with an m_a = 0)
    end = deltas[n + 1] - hi if n + 1 < len(deltas) else math.inf
    lo_e, hi_e = 0.0, min(end, lay.d_max[k])
    # (rates to round-off, not to rtol: where the level is far above the power, as on a rate
    # plateau, dP_k/dR_k = ln 2 w_k turns a rate error of rtol into a large power error)
    tol = 8.0 * _EPS * t
    rate, slope, xr, xs = _ue_state(lay, k, hi, 0.0)
    if abs(rate - t) <= tol:  # (at the activation level itself)
        return hi, 0.0, xr, xs, rate, True
    if end > lay.d_max[k] and (t >= top or _ue_state(lay, k, hi, lay.d_max[k] - hi)[0] < t):
        # beyond the rate at the largest offset of the domain: no least power within it
        return hi, math.inf, xr, math.inf, top, True
    e = (t - rate) / slope if slope > 0.0 else hi_e * 1e-3
    for _ in range(max_iter):
        if not lo_e < e < hi_e:
            e = math.sqrt(lo_e) * math.sqrt(hi_e) if lo_e > 0.0 else hi_e * 1e-3
        rate, slope, xr, xs = _ue_state(lay, k, hi, e)
        g = rate - t
        if abs(g) <= tol:
            return hi, e, xr, xs, rate, True
        if g < 0.0:
            lo_e = e
        else:
            hi_e = e
        sv = slope * e  # dR/d(log e)
        if sv <= 0.0:
            du = _MAX_LOG_STEP
        elif (
            0.0 < top - rate <= 0.05 * top
            and t < top
            and 0.2 * (top - rate) <= sv <= 20.0 * (top - rate)
        ):
            du = math.log((top - rate) / (top - t)) * (top - rate) / sv
        else:
            du = -_psi_gap_scalar(rate - r0, t - r0) / sv if t > r0 else -g / sv
        e_new = e * math.exp(min(max(du, -_MAX_UP_STEP), _MAX_UP_STEP))
        if not lo_e < e_new < hi_e:  # bisection in log e (or a long step while unbounded)
            e_new = (
                math.sqrt(lo_e) * math.sqrt(hi_e)
                if 0.0 < lo_e and hi_e < math.inf
                else (e * math.exp(_MAX_LOG_STEP) if hi_e == math.inf else 0.5 * (lo_e + hi_e))
            )
        if e_new == e:  # (round-off: the root is here)
            break
        e = e_new
    rate, _, xr, xs = _ue_state(lay, k, hi, e)
    return hi, e, xr, xs, rate, abs(rate - t) <= 1e3 * rtol * t


def _robust_scalar(pb: _Problem, pa: float, rtol: float, max_iter: int, max_inner_iter: int):
    """(P2) for one budget without the joint iteration's shortcuts (its fallback).

    F(t) = sum_k P_k(t) - P_a is increasing and convex; t* is bracketed by a feasible lower bound
    and an upper bound (:func:`_lower_bound_scalar`, :func:`_upper_bound_scalar`). Newton steps
    on F (from the right they approach t* monotonically) are kept inside the bracket, which is
    bisected in psi otherwise; each P_k(t) is :func:`_least_power_segmentwise`. Where F jumps by
    more than rtol P_a between adjacent floats (a UE whose rate is locked by saturated
    subchannels), the iteration stops at the bracket's lower end, and the residual budget is
    placed by :func:`_finish_scalar`. Returns the arguments of :func:`_finish_scalar` and ok.
    """
    lay = pb.scalar
    # (a few ulps down: the feasible bound rounds, and t* may sit within round-off of it)
    lo, hi = _lower_bound_scalar(lay, pa) * (1.0 - 8.0 * _EPS), _upper_bound_scalar(lay, pa)
    t = hi
    best = None
    for it in range(1, max_iter + 1):
        sols = [
            _least_power_segmentwise(lay, k, t, rtol, max_inner_iter) for k in range(len(lay.s))
        ]
        if not all(s[-1] for s in sols):
            return None
        p_k = [si * s[3] for si, s in zip(lay.s, sols, strict=True)]
        f = sum(p_k) - pa
        state = (
            t,
            [s[0] + s[1] for s in sols],
            np.concatenate([s[2] for s in sols]),
            p_k,
            [s[4] for s in sols],
            it,
        )
        if abs(f) <= rtol * pa:
            return state
        if f < 0:
            lo, best = t, state
        else:
            hi = t
        w = sum([si * (1.0 + s[0] + s[1]) for si, s in zip(lay.s, sols, strict=True)])
        t_new = t - f / (LN2 * w)
        if not lo < t_new < hi:
            t_new = _psi_mid_scalar(lo, hi) if lo > 0.0 else 0.5 * hi
        if t_new == t or hi - lo <= 4.0 * _EPS * hi or not lo < t_new < hi:
            # t at float64 resolution: the budget residual goes to a UE that can absorb it
            if best is None:
                sols = [
                    _least_power_segmentwise(lay, k, lo, rtol, max_inner_iter)
                    for k in range(len(lay.s))
                ]
                p_k = [si * s[3] for si, s in zip(lay.s, sols, strict=True)]
                best = (
                    lo,
                    [s[0] + s[1] for s in sols],
                    np.concatenate([s[2] for s in sols]),
                    p_k,
                    [s[4] for s in sols],
                    it,
                )
            return best
        t = t_new
    return None


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
    round-off either way, the instance just remembers the last (P_a, t, offsets).

    Raises :class:`PowerDomainError` (at construction) when an activation level m_b (1 + m_a)
    lies outside what float64 can solve for any budget.
    """

    def __init__(self, m_a, m_b, user, n_users: int):
        self._args = (m_a, m_b, user, int(n_users))
        self._np = _prepare(m_a, m_b, user, n_users, like=None)
        self._torch = {}
        self._last = None  # (P_a, t, u, w, slope) of the last single-budget solve

    def clear_warm_start(self) -> None:
        """Forget the last single-budget solution: the next solve starts cold."""
        self._last = None

    def _warm_start(self, pa: float):
        """(t, u) predicted from the last single-budget solution, or None (cold start).

        First order along the optimum path: dt/d(ln P_a) = P_a / (ln 2 sum_k w_k) (from
        F'(t) = ln 2 sum_k w_k), taken as a step of psi(t), and du_k = -psi-gap / S_k. Only used
        within 10 dB of the last budget; the Newton iteration converges to the same optimum (to
        round-off) from either start.
        """
        if self._last is None:
            return None
        pa0, t0, u0, w0, slope0 = self._last
        step = math.log(pa / pa0)
        if abs(step) > _WARM_MAX_LOG_STEP:
            return None
        dt = step * pa0 / (LN2 * sum(w0))
        t = t0 + dt if min(t0, t0 + dt) >= _LINEAR_BITS else _psi_step_scalar(t0, dt)
        t = min(t, 0.5 * (t0 + self._np.scalar.t_hi))
        gap = _gap(t0, t)
        u = [
            min(max(uk - min(max(gap / sk, -_MAX_LOG_STEP), _MAX_LOG_STEP), _U_MIN), ck)
            for uk, sk, ck in zip(u0, slope0, self._np.scalar.cap, strict=True)
        ]
        return t, u

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
        be, xp = pb.be, pb.be.xp
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
        pos = t > 0
        with be.quiet():
            # t = 0 needs no power; any positive rate is iterated there and masked out below
            t_it = be.where(pos, t, float(min(1.0, 0.5 * np.min(sup))))
            start = xp.exp(_highpower_offsets(pb, t_it))
            d, _, xr, r_k, _, xs, iters, conv = _solve_levels(
                pb, t_it, start, 0.0 * start, rtol, max_iter
            )
            if not conv and pb.scalar is not None:
                d, xr, r_k, xs, conv = _patch_levels(pb, t_it, d, xr, r_k, xs, rtol, max_iter)
            u = xp.log(d)
            pos_k = pos[..., None]
            x = be.where(pb.to_sub(pos_k + 0 * u) > 0, xr * pb.sc, 0.0)
            power = be.where(pos_k, pb.s_ue * xs, 0.0)
            level = pb.s_ue * (1.0 + be.where(pos_k, d, 0.0))
            r_k = be.where(pos_k, r_k, 0.0)
        t_max = float(np.max(t_np))
        if not all(bool(xp.isfinite(v).all()) for v in (x, power, level, r_k)):
            raise PowerDomainError(
                f"target key rate t = {t_max:.6g} bits: its least power leaves float64 "
                "(docs/assumptions.md, solvable power domain)"
            )
        total = be.to_numpy(power.sum(-1))
        stuck = be.to_numpy((u >= pb.cap - 1e-9) & (r_k < t_it[..., None]) & pos_k)
        if not conv and stuck.any():
            raise PowerDomainError(
                f"target key rate t = {t_max:.6g} bits needs a water level above the largest "
                "the exact solver handles in float64 (docs/assumptions.md, solvable power domain)"
            )
        try:
            _check_budgets(pb, total)
        except PowerDomainError as err:
            raise PowerDomainError(
                f"target key rate t = {t_max:.6g} bits needs a power outside the solvable domain: "
                f"{err}"
            ) from None
        _raise_underflow(
            total, np.where(be.to_numpy(pos_k), be.to_numpy(power), 1.0), be.to_numpy(pb.s_ue)
        )
        return LeastPowerAllocation(
            x_w=x,
            power_w=power,
            water_level_w=level,
            rate_bits=r_k,
            status="converged" if conv else "max_iter",
            iterations=iters,
            objective=float(np.ravel(total)[0]),
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
            _check_budgets(self._np, pa_f)
            res = None
            start = self._warm_start(pa_f)
            if start is not None:
                res = _joint_newton_scalar(self._np, pa_f, rtol, max_joint_iter, start)
            if res is None or not res[-1]:
                res = _joint_newton_scalar(self._np, pa_f, rtol, max_joint_iter)
            t, d, xr, p_k, r_k, inv_r, iterations, ok = res
            if ok:
                sol = _finish_scalar(self._np, pa_f, d, xr, p_k, r_k, iterations)
                sol = _certified(sol, pa_f, levels=False)
                u = [math.log(v) for v in d]
                self._last = (pa_f, t, u, sol.water_level_w.tolist(), _slopes(d, inv_r))
                return sol
            return self._solve_robust(self._np, pa_f, rtol, max_iter, max_inner_iter)
        pb = self._problem(pa_w)
        be = pb.be
        pa = be.asarray(pa_w)
        pa_np = be.to_numpy(pa)
        if not np.all(np.isfinite(pa_np)):
            raise ValueError("power budget P_a contains NaN or inf")
        if np.any(pa_np <= 0):
            raise ValueError(
                "power budget P_a must be > 0 W for max-min allocation (P_a = 0 gives every UE key rate 0)"
            )
        _check_budgets(pb, pa_np)
        with be.quiet():
            # Bracket: a feasible point gives t_lo <= t*; t* < min_k sup C_k (Eq. (42) saturates).
            t_lo = _lower_bound(pb, pa)
            t_hi = be.asarray(np.min(pb.sup_bits, axis=-1)) + 0.0 * t_lo
            start = _highpower_offsets(pb, t_lo)
            t, d, _, xr, xs, iterations, ok = _joint_newton(
                pb, pa, t_lo, start, t_hi, rtol, max_joint_iter
            )
            ok_np = be.to_numpy(ok)
            sol = _finish(pb, pa, xr, xs, d, iterations, 0, ok)
        if not ok_np.all():
            sol = self._patch_rows(pb, sol, pa_np, ok_np, rtol, max_iter, max_inner_iter)
        return _certified(sol, pa_np, be)

    def _solve_robust(self, pb: _Problem, pa: float, rtol, max_iter, max_inner_iter):
        """One budget by :func:`_robust_scalar` (the fallback); SolverError if it fails."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = _robust_scalar(pb, pa, rtol, max_iter, max_inner_iter)
        if res is None:
            raise SolverError(
                f"exact max-min did not converge in {max_iter} iterations at P_a = {pa:.6g} W"
            )
        return _certified(_finish_scalar(pb, pa, *res[1:]), pa, levels=False)

    def _patch_rows(self, pb: _Problem, sol, pa_np, ok_np, rtol, max_iter, max_inner_iter):
        """``sol`` with the rows the joint iteration left unconverged solved robustly."""
        be = pb.be
        m_a, m_b, user = pb.arrays
        out = {
            name: be.to_numpy(getattr(sol, name)).copy()
            for name in ("x_w", "t_bits", "rate_bits", "water_level_w", "level_offset")
        }
        pa_b = np.broadcast_to(pa_np, ok_np.shape)
        for idx in zip(*np.nonzero(~ok_np), strict=True):
            if m_a.ndim == 1:
                row_pb = self._np
            else:
                row = np.broadcast_to(m_a, ok_np.shape + m_a.shape[-1:])[idx]
                row_b = np.broadcast_to(m_b, ok_np.shape + m_b.shape[-1:])[idx]
                row_pb = _prepare(row, row_b, user, pb.n_users, like=None)
            one = self._solve_robust(row_pb, float(pa_b[idx]), rtol, max_iter, max_inner_iter)
            for name, arr in out.items():
                arr[idx] = getattr(one, name)
        return MaxMinSolution(
            **{
                **sol.__dict__,
                **{name: be.asarray(arr) for name, arr in out.items()},
                "objective": float(np.ravel(out["t_bits"])[0]),
            }
        )


# An "optimal" max-min result must use the budget, and give every UE the rate t, to this
# relative accuracy (at the optimum every C_k equals t: t < min_k sup C_k).
CERTIFY_BUDGET_RTOL = 1e-6
CERTIFY_RATE_RTOL = 1e-6


def _certified(sol: MaxMinSolution, pa, be=None, levels: bool = True) -> MaxMinSolution:
    """Return ``sol`` if it is a usable optimum, else raise SolverError (never NaN as optimal).

    Checked: finite, non-negative x that uses the budget (|sum x - P_a| <= 1e-6 P_a), a finite
    t > 0 and every UE's rate within 1e-6 t of t (at the optimum every C_k equals t). Inside the
    solvable power domain none of these fires; it guards the promise that ``optimal`` means
    optimal, whatever the inputs.
    """
    if not levels and isinstance(pa, float):
        # One NumPy budget (the scalar path): the same checks on Python floats.
        x, t = sol.x_w, float(sol.t_bits)
        total, low, top = float(x.sum()), float(x.min()), float(sol.rate_bits.max())
        if (
            math.isfinite(total)
            and math.isfinite(t)
            and low >= 0.0
            and abs(total - pa) <= CERTIFY_BUDGET_RTOL * pa
            and t > 0.0
            and top - t <= CERTIFY_RATE_RTOL * t
        ):
            return sol
    to_np = (lambda v: np.asarray(v, dtype=np.float64)) if be is None else be.to_numpy
    x, t, pa = to_np(sol.x_w), to_np(sol.t_bits), np.asarray(pa, dtype=np.float64)
    # (the single-budget path's levels s_k (1 + d_k) are finite by construction: d_k <= e^cap_k)
    w = to_np(sol.water_level_w) if levels else 0.0
    problem = None
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t)) and np.all(np.isfinite(w))):
        problem = "NaN or inf in the allocation, rate or water levels (float64 overflow)"
    elif np.any(x < 0):
        problem = "negative powers in the allocation"
    elif np.any(np.abs(x.sum(-1) - pa) > CERTIFY_BUDGET_RTOL * pa):
        problem = "the allocation does not use the power budget"
    elif np.any(t <= 0):
        problem = "the key rates underflow float64 (t = 0 with P_a > 0)"
    elif np.any(to_np(sol.rate_bits).max(-1) - t > CERTIFY_RATE_RTOL * t):
        problem = (
            f"the UEs' key rates differ by more than {CERTIFY_RATE_RTOL:g} t "
            f"(t = {float(np.min(t)):.3g} bits)"
        )
    if problem is not None:
        raise SolverError(
            f"exact max-min gave no usable optimum at P_a = {float(np.max(pa)):.6g} W: {problem}"
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
        Relative tolerance on the power residual |sum x - P_a| / P_a and on the rates (relative
        to t).
    max_iter, max_inner_iter : int
        Iteration caps of the robust fallback (outer on t, inner per UE and segment).
    max_joint_iter : int
        Iteration cap of the joint Newton iteration tried first.

    Returns
    -------
    MaxMinSolution
        ``status == "optimal"``: finite, sum x = P_a, every C_k = t to 1e-6 (certified).

    Raises
    ------
    ValueError
        NaN / non-positive budget (P_a = 0 leaves every key rate at 0: nothing to optimise), bad
        m_a, m_b or user, or bad tolerances / iteration caps.
    PowerDomainError
        (a ValueError) P_a, m_a, m_b outside the domain float64 can solve
        (:func:`plkg.solvers.water_level.check_power_domain`, per UE); the message names P_a or
        the subchannel.
    SolverError
        No convergence within the iteration caps, or a result that is not a usable optimum
        (raised instead of returned).
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
