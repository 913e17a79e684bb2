"""WFPAKF: the near-field paper's high-power max-min allocation (Section VI-B, Algorithm 1).

On the high-power approximation (57), C_k ~ sum_j log2(1 + x_{k,j} / m_{b,k,j}), the KKT
conditions (54) give x_{k,j} = 1/(ln 2 mu_k) - m_{b,k,j} (Eq. (59)); equal rates C_k = t give
mu_k of Eq. (60), and the budget gives Eq. (61), solved for t by bisection (Algorithm 1).

Two variants (``variant=``):

* ``"paper"`` -- Eqs. (59)-(61) exactly as written: every subchannel of UE k gets
  x = 2^{(t + sum_j log2 m_b)/D_k} - m_b. When a UE has weak subchannels (m_b above the level)
  these powers are **negative**; the paper does not say what to do with them. Returned as is,
  with status ``negative_powers``, so callers cannot mistake it for a valid allocation.
* ``"corrected"`` (default) -- the same approximation solved properly with x >= 0: a per-UE
  water-filling x_{k,j} = max(0, w_k - m_{b,k,j}), where the level w_k = 1/(ln 2 mu_k) makes
  sum_{j active} log2(w_k / m_{b,k,j}) = t (active set: the n best subchannels, n the largest with
  w_k > m_b of the n-th); Algorithm 1's bisection on t is unchanged. When every subchannel is
  active the two variants coincide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from plkg.keyrate.subchannel import user_key_rates_bits
from plkg.solvers.allocation import AllocationResult
from plkg.solvers.equal_power import check_power_budget
from plkg.solvers.maxmin_exact import SolverError
from plkg.solvers.options import check_max_iter, check_rtol

LN2 = math.log(2.0)
VARIANTS = ("paper", "corrected")


def _check(m_b, user, n_users):
    m_b = np.asarray(m_b, dtype=np.float64)
    user = np.asarray(user)
    if m_b.ndim != 1 or user.shape != m_b.shape:
        raise ValueError("m_b and user must have shape [N_D]")
    if not np.all(np.isfinite(m_b)) or np.any(m_b <= 0):
        raise ValueError("m_b must be finite and > 0")
    if (
        int(n_users) < 1
        or user.min() < 0
        or user.max() >= n_users
        or np.any(np.bincount(user, minlength=n_users) == 0)
    ):
        raise ValueError(f"every UE 0..{n_users - 1} needs at least one subchannel")
    return m_b, user


def paper_levels(t_bits, m_b, user, n_users: int) -> np.ndarray:
    """1/(ln 2 mu_k) of Eq. (60) for every UE: 2^{(t + sum_j log2 m_b)/D_k}, shape [..., K] (W)."""
    m_b, user = _check(m_b, user, n_users)
    t = np.asarray(t_bits, dtype=np.float64)[..., None]
    d_k = np.bincount(user, minlength=n_users).astype(np.float64)
    sum_log2 = np.bincount(user, weights=np.log2(m_b), minlength=n_users)
    return np.exp2((t + sum_log2) / d_k)


def paper_mu(t_bits, m_b, user, n_users: int) -> np.ndarray:
    """Lagrange multipliers mu_k of Eq. (60), shape [..., K] (1/W)."""
    return 1.0 / (LN2 * paper_levels(t_bits, m_b, user, n_users))


def paper_allocation(t_bits, m_b, user, n_users: int) -> np.ndarray:
    """x_{k,j} = 1/(ln 2 mu_k) - m_b (Eqs. (59)-(60)), shape [..., N_D] (W); may be negative."""
    m_b, user = _check(m_b, user, n_users)
    return paper_levels(t_bits, m_b, user, n_users)[..., user] - m_b


def corrected_levels(t_bits, m_b, user, n_users: int) -> np.ndarray:
    """Water levels w_k with sum_j max(0, log2(w_k / m_b)) = t on (57), shape [..., K] (W)."""
    m_b, user = _check(m_b, user, n_users)
    t = np.asarray(t_bits, dtype=np.float64)
    out = []
    for k in range(n_users):
        lb = np.sort(np.log(m_b[user == k]))
        n = np.arange(1, lb.size + 1)
        cand = (t[..., None] * LN2 + np.cumsum(lb)) / n  # log w with the n best active
        n_act = np.maximum((cand > lb).sum(axis=-1), 1)
        out.append(np.take_along_axis(cand, (n_act - 1)[..., None], axis=-1)[..., 0])
    return np.exp(np.stack(out, axis=-1))


def corrected_allocation(t_bits, m_b, user, n_users: int) -> np.ndarray:
    """x_{k,j} = max(0, w_k - m_b) with the corrected levels, shape [..., N_D] (W)."""
    m_b, user = _check(m_b, user, n_users)
    return np.maximum(corrected_levels(t_bits, m_b, user, n_users)[..., user] - m_b, 0.0)


def allocation_for_rate(t_bits, m_b, user, n_users: int, variant: str = "corrected"):
    """x(t) of the chosen variant, shape [..., N_D] (W)."""
    if variant == "paper":
        return paper_allocation(t_bits, m_b, user, n_users)
    if variant == "corrected":
        return corrected_allocation(t_bits, m_b, user, n_users)
    raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


@dataclass(frozen=True)
class HighPowerSolution:
    """Result of Algorithm 1 for a batch of budgets.

    Attributes
    ----------
    x_w : [..., N_D] float64, W (may be negative for ``variant="paper"``)
    t_bits : [...] float64
        The bisection's t: the common rate on the approximation (57) (an upper bound on C_k).
    mu : [..., K] float64, 1/W
        mu_k = 1/(ln 2 w_k).
    status : str
        ``converged``, ``negative_powers`` (paper variant) or ``max_iter``.
    iterations : int
    objective : float
        t of the first batch element (bits, on (57)).
    """

    x_w: np.ndarray
    t_bits: np.ndarray
    mu: np.ndarray
    status: str
    iterations: int
    objective: float


def solve_highpower(
    m_b,
    user,
    n_users: int,
    pa_w,
    variant: str = "corrected",
    *,
    rtol: float = 1e-12,
    max_iter: int = 300,
) -> HighPowerSolution:
    r"""Algorithm 1 of the near-field paper: bisection on t until the budget is spent.

    The bisection stops when :math:`|\sum x - P_a| \le \epsilon`.

    Parameters
    ----------
    m_b : [N_D] float64, W
    user : [N_D] int
    n_users : int
    pa_w : float or ndarray [...], W, > 0
    variant : {"corrected", "paper"}
    rtol : float
        eps = rtol * P_a.
    max_iter : int

    Raises
    ------
    ValueError
        NaN or non-positive budget, bad m_b/user, unknown variant.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    rtol, max_iter = check_rtol(rtol), check_max_iter(max_iter)
    m_b, user = _check(m_b, user, n_users)
    pa = np.asarray(pa_w, dtype=np.float64)
    if not np.all(np.isfinite(pa)) or np.any(pa <= 0):
        raise ValueError("power budget P_a must be finite and > 0 W for max-min allocation")

    def power(t):
        return allocation_for_rate(t, m_b, user, n_users, variant).sum(axis=-1)

    # t_min, t_max of Algorithm 1: power(t) is increasing in t; find a bracket.
    t_min = np.full(pa.shape, -1e3 if variant == "paper" else 0.0)
    t_max = np.full(pa.shape, 64.0)
    for _ in range(60):
        low = power(t_max) < pa
        if not np.any(low):
            break
        t_max = np.where(low, 2.0 * t_max, t_max)
    t = 0.5 * (t_min + t_max)
    status = "max_iter"
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007
        p = power(t)
        if np.all(np.abs(p - pa) <= rtol * pa) or np.all(t_max - t_min <= 1e-13 * (1 + np.abs(t))):
            status = "converged"
            break
        below = p < pa
        t_min = np.where(below, t, t_min)
        t_max = np.where(below, t_max, t)
        t = 0.5 * (t_min + t_max)
    x = allocation_for_rate(t, m_b, user, n_users, variant)
    levels = (paper_levels if variant == "paper" else corrected_levels)(t, m_b, user, n_users)
    if status == "converged" and np.any(x < 0):
        status = "negative_powers"
    if status == "converged" and not (np.all(np.isfinite(x)) and np.all(np.isfinite(t))):
        raise SolverError(
            "WFPAKF bisection gave a non-finite allocation: P_a and m_b span too many decades "
            "for float64 (rescale the powers)"
        )
    return HighPowerSolution(
        x_w=x,
        t_bits=t,
        mu=1.0 / (LN2 * levels),
        status=status,
        iterations=iterations,
        objective=float(np.ravel(t)[0]),
    )


def allocate(design, pa_w: float, **options) -> AllocationResult:
    """WFPAKF (method ``wfpakf``) for a subchannel design and budget ``pa_w`` (W).

    Options: ``variant`` ("corrected" default, or "paper"). ``extras``: ``t`` (bits, on (57)),
    ``mu`` (per UE), ``variant``, ``min_c_bits`` (min_k C_k of the exact Eq. (42) at x, when
    x >= 0), ``n_negative`` (paper variant).

    Raises
    ------
    SolverError
        If the bisection does not converge.
    """
    pa = check_power_budget(pa_w)
    if pa <= 0:
        raise ValueError(
            "power budget P_a must be > 0 W for max-min allocation (P_a = 0 gives every UE key rate 0)"
        )
    variant = options.get("variant", "corrected")
    sol = solve_highpower(design.m_b, design.user, design.n_users, pa, variant)
    if sol.status == "max_iter":
        raise SolverError(f"WFPAKF bisection did not converge at P_a = {pa:.6g} W")
    x = np.asarray(sol.x_w, dtype=np.float64)
    extras = {
        "t": float(sol.t_bits),
        "mu": np.asarray(sol.mu).tolist(),
        "variant": variant,
        "n_negative": int(np.sum(x < 0)),
    }
    if np.all(x >= 0):
        c = user_key_rates_bits(x, design.m_a, design.m_b, design.user, design.n_users)
        extras["min_c_bits"] = float(np.min(c))
    return AllocationResult(
        method="wfpakf",
        x_w=x,
        pa_w=pa,
        status=sol.status,
        iterations=sol.iterations,
        objective=float(sol.t_bits),
        extras=extras,
    )
