"""The constants of (P2) in per-UE normalised form, and the domain float64 can solve.

Eq. (42) of the near-field paper, term j of UE k: c_j(x) = log2(1 + x / (x m_a + b_j)) with
b_j = m_b (1 + m_a), the activation level of subchannel j. Each UE is normalised by its lowest
activation level s_k = min_{j in k} b_j (:func:`plkg.solvers.water_level.normalise`): the
solver's unknown is the level offset d_k = (w_k - s_k) / s_k, with per-subchannel constants
delta_j = b_j / s_k - 1 and q_j = m_a s_k / m_b. :func:`_prepare` validates m_a, m_b, user and
builds these constants once (:class:`_Problem`, in the array namespace of the input; for one
design also the NumPy layout of the single-budget path, :class:`_ScalarLayout`).
:func:`_check_budgets` and :func:`_raise_underflow` keep budgets and results inside
:func:`plkg.solvers.water_level.check_power_domain`'s domain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from plkg.solvers.maxmin_exact.arrays import is_torch, namespace_of, to_numpy
from plkg.solvers.maxmin_exact.residuals import LN2
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

_U_MIN = -700.0  # lowest log offset visited (d = 1e-304; every optimum lies above ~1e-295)
_D_MIN = math.exp(_U_MIN)
_TINY = float(np.finfo(np.float64).tiny)
_DOMAIN_MARGIN = 1e-9  # the cached budget interval is this much inside check_power_domain's


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
    """Per-subchannel constants of Eq. (42) in per-UE normalised form, in one array namespace."""

    xp: object  # array API namespace (NumPy or torch)
    device: object  # torch device, None for NumPy
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
        if is_torch(self.xp):
            # index_add_ rather than a matmul with the one-hot matrix: small float64 matmuls go
            # through multi-threaded BLAS, which is orders of magnitude slower on a busy CPU.
            out = values.new_zeros(values.shape[:-1] + (self.n_users,))
            return out.index_add_(-1, self.user, values)
        return values @ self.onehot

    def to_sub(self, per_ue):
        """Per-subchannel copies [..., N_D] of per-UE values [..., K]."""
        if is_torch(self.xp):
            return self.xp.take(per_ue, self.user, axis=-1)
        # NumPy: indexing, not take: its result's memory layout (Fortran order for a batch) fixes
        # the summation order of every later row sum, so the allocations keep their last bits
        return per_ue[..., self.user]

    def asarray(self, value):
        """``value`` as a float64 array of this problem's namespace and device."""
        return _as_float64(self.xp, self.device, value)


def _as_float64(xp, device, value):
    """``value`` as a float64 array of namespace ``xp`` on ``device``."""
    return xp.asarray(value, dtype=xp.float64, device=device)


def _as_index(xp, device, value):
    """``value`` (integers) as an int64 array of namespace ``xp`` on ``device``."""
    return xp.asarray(np.asarray(value), dtype=xp.int64, device=device)


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
    """Validate the constants of Eq. (42) and normalise them per UE, in the namespace of ``like``.

    Parameters
    ----------
    m_a, m_b : [N_D] or [..., N_D], float64, W
        Constants of Eq. (42) (NumPy arrays, tensors or sequences).
    user : [N_D] int
        Owner UE of each subchannel.
    n_users : int
        K; every UE needs at least one subchannel.
    like : object
        A torch tensor puts the constants in torch (float64, on its device); anything else in
        NumPy (:func:`plkg.solvers.maxmin_exact.arrays.namespace_of`).

    Returns
    -------
    _Problem

    Raises
    ------
    ValueError
        Shapes, NaN / inf, m_a < 0, m_b <= 0, user indices, a UE without subchannels.
    PowerDomainError
        An activation level m_b (1 + m_a) outside what float64 can solve for any budget.
    """
    xp, device = namespace_of(like)
    m_a_np = np.asarray(to_numpy(m_a), dtype=np.float64)
    m_b_np = np.asarray(to_numpy(m_b), dtype=np.float64)
    user_np = np.asarray(to_numpy(user))
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
            _as_float64(xp, device, pad_delta.ravel()),
            _as_float64(xp, device, pad_plateau.ravel()),
            _as_index(xp, device, np.arange(n_users) * width),
            _as_float64(xp, device, pad_delta[:, :-1]),
        )
    if not is_torch(xp) and m_a_np.ndim == 1:
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
    asarray = partial(_as_float64, xp, device)
    return _Problem(
        xp=xp,
        device=device,
        m_a=asarray(m_a_np),
        m_b=asarray(m_b_np),
        b=asarray(b_np),
        user=_as_index(xp, device, user_np),
        onehot=asarray(onehot),
        n_users=n_users,
        s_ue=asarray(s_ue),
        log_b_min=asarray(np.log(s_ue)),
        sc=asarray(sc),
        bn=asarray(bn),
        delta=asarray(delta),
        q=asarray(q),
        q25=asarray(0.25 + q),
        hs=asarray(0.5 + m_a_np),
        a_low=asarray(a_low),
        cap=asarray(cap),
        ell_sorted=[asarray(v) for v in ell_sorted],
        delta_sorted=[asarray(v) for v in delta_sorted],
        sup_sorted=[asarray(v) for v in sup_sorted],
        sup_bits=sup,
        arrays=(m_a_np, m_b_np, user_np),
        domain=domain,
        scalar=scalar,
        act_table=act_table,
    )


def _sup_rate(pb: _Problem) -> np.ndarray:
    """sup_x C_k = sum_j log2(1 + 1/m_a) per UE (inf where some m_a = 0), shape [..., K]."""
    return pb.sup_bits


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
