"""Exact water-filling for the sum-key-rate problem (P1), Eqs. (45)-(48) of the near-field paper.

(P1) maximises sum_{k,j} log2(1 + x/(x m_a + m_b + m_a m_b)) subject to sum x <= P_a, x >= 0.
The objective is concave (Eq. (46)), so the KKT conditions (47) are sufficient: every active
subchannel has derivative mu and every inactive one a derivative at x = 0 of at most mu. Eq. (48)
gives x(mu) in closed form; mu is found so that sum x = P_a.

Numerics
--------
We work with the *water level* ``w = 1/(mu ln 2)`` (watt). The quadratic behind Eq. (48) is
``m_a x^2 + m_b (2 m_a + 1) x + m_b (m_b (m_a + 1) - w) = 0``; its discriminant simplifies to
``m_b^2 + 4 m_a m_b w`` and its positive root is written without cancellation as

    x(w) = 2 (w - m_b (1 + m_a)) / (1 + 2 m_a + sqrt(1 + 4 m_a w / m_b)),   clipped at 0,

which equals Eq. (48) exactly (:func:`x_from_mu_paper` keeps the paper's form; it loses all
digits when m_a << 1 because it subtracts two nearly equal numbers and divides by 2 m_a). The
solver never iterates on w itself: powers are normalised by the lowest activation level b_min and
the unknown is the level's offset above it (:mod:`plkg.solvers.water_level`), so that the first
subchannel's power has full precision at any budget and every number is O(1). The sum S(d) is
continuous and increasing; its root is bracketed by ``[min_j d_j(P_a/N_D), min_j d_j(P_a)]``
where ``d_j(x)`` is the offset that gives subchannel j the power x, and found by Newton steps on
log S against log d, safeguarded by geometric bisection. Budgets far below the level are
re-solved above the top active activation level; problems outside float64's reach are refused
by :func:`plkg.solvers.water_level.check_power_domain` with one line naming the value.

Both a float64 NumPy implementation and a batched torch twin (any device) share one code path.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from plkg.errors import SolverError
from plkg.keyrate.subchannel import LN2, subchannel_key_rate_bits
from plkg.solvers.allocation import AllocationResult
from plkg.solvers.options import check_max_iter, check_rtol
from plkg.solvers.water_level import (
    activation_levels,
    check_power_domain,
    needs_top_reference,
    normalise,
    offset_ceiling,
    refine_on_top_reference,
    x_at_offset,
)

DEFAULT_RTOL = 1e-13
DEFAULT_MAX_ITER = 200
SAFE_NEWTON_ITERS = 20
KKT_TOL = 1e-8  # relative KKT residual a converged solution must meet (Eq. (47))


class WaterFillingError(SolverError):
    """The water-level search did not converge, or its result is not finite."""


def _xp(x):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return torch
    return np


# ----------------------------------------------------------------------------- closed forms
def x_from_level(level_w, m_a, m_b):
    """Eq. (48) in the water level ``w = 1/(mu ln 2)``, cancellation-free, clipped at x >= 0.

    Parameters
    ----------
    level_w : array or Tensor, shape [...] or [..., 1], watt
        Water level, broadcast against ``m_a``/``m_b``.
    m_a : array or Tensor, shape [..., N_D], dimensionless (sigma_a^2/(Q P_b lambda_h))
    m_b : array or Tensor, shape [..., N_D], watt (sigma_b^2/(L lambda_h))

    Returns
    -------
    x_w : shape [..., N_D], watt
    """
    xp = _xp(m_b)
    num = level_w - m_b * (1 + m_a)
    den = 1 + 2 * m_a + xp.sqrt(1 + 4 * m_a * (level_w / m_b))
    x = 2 * num / den
    return xp.where(num > 0, x, xp.zeros_like(x))


def level_from_x(x_w, m_a, m_b):
    """Inverse of :func:`x_from_level` on x >= 0: the level giving subchannel power ``x_w``.

    From the derivative of Eq. (42): ``w(x) = (m_a x + b)((1 + m_a) x + b)/b``, b = m_b (1 + m_a),
    expanded to ``b + x (1 + 2 m_a + m_a x / m_b)`` (no product of two powers).
    """
    return m_b * (1 + m_a) + x_w * (1 + 2 * m_a + m_a * (x_w / m_b))


def dx_dlevel(x_w, m_a, m_b):
    """dx/dw of :func:`x_from_level` at an active subchannel (x > 0); shape like ``x_w``."""
    b = m_b * (1 + m_a)
    dw_dx = (m_a * ((1 + m_a) * x_w + b) + (1 + m_a) * (m_a * x_w + b)) / b
    return 1.0 / dw_dx


def mu_to_level(mu):
    """Water level w = 1/(mu ln 2) (watt) of a Lagrange multiplier mu (bits per watt)."""
    return 1.0 / (mu * LN2)


def level_to_mu(level_w):
    """mu = 1/(w ln 2) (bits per watt), the multiplier of Eq. (47)."""
    return 1.0 / (level_w * LN2)


def x_from_mu(mu, m_a, m_b):
    """Eq. (48) of the near-field paper with the x >= 0 projection (numerically stable form).

    Parameters
    ----------
    mu : array or Tensor, shape [...] broadcastable to [..., N_D], bits per watt
    m_a, m_b : shape [..., N_D]; m_a dimensionless, m_b watt

    Returns
    -------
    x_w : shape [..., N_D], watt
    """
    return x_from_level(mu_to_level(mu), m_a, m_b)


def x_from_mu_paper(mu, m_a, m_b):
    """Eq. (48) verbatim (then clipped at 0). Equal to :func:`x_from_mu` in exact arithmetic.

    Loses precision for m_a << 1 (cancellation in the numerator, division by 2 m_a); kept for
    reference and tested against :func:`x_from_mu` where it is well conditioned.
    """
    xp = _xp(m_b)
    root = xp.sqrt(m_b**2 * (2 * m_a + 1) ** 2 - 4 * m_a * m_b * (m_b * (m_a + 1) - 1 / (LN2 * mu)))
    x = root / (2 * m_a) + (-m_b * (2 * m_a + 1)) / (2 * m_a)
    return xp.where(x > 0, x, xp.zeros_like(x))


def kkt_residual(x_w, mu, m_a, m_b, pa_w):
    r"""Relative KKT residual of Eq. (47) for (P1), shape [...].

    The largest of :math:`|g_j(x_j) - \mu| / \mu` over active subchannels (:math:`x_j > 0`),
    :math:`\max(0, g_j(0) - \mu) / \mu` over inactive ones (dual feasibility), and
    :math:`|\sum_j x_j - P_a| / P_a` (the budget binds since :math:`\mu > 0`).
    g_j is the derivative of the j-th term of Eq. (42). Evaluated in levels, g_j(x)/mu =
    w / w_j(x) with w = 1/(mu ln 2) and w_j(x) = :func:`level_from_x`, so that no product of
    powers can overflow where the problem itself is representable.
    """
    xp = _xp(m_b)
    w = mu_to_level(mu)[..., None]
    active = x_w > 0
    w_j = level_from_x(x_w, m_a, m_b)
    stat = xp.where(active, xp.abs(w / w_j - 1), xp.clip(w / w_j - 1, 0, None))
    stat = np.max(stat, axis=-1) if xp is np else xp.amax(stat, dim=-1)
    primal = xp.abs(x_w.sum(-1) - pa_w) / xp.where(pa_w > 0, pa_w, xp.ones_like(pa_w))
    return xp.maximum(stat, primal)


# ----------------------------------------------------------------------------- the solver
@dataclass(frozen=True)
class WaterFillingResult:
    """Exact solution of (P1) for a batch of (scenario, P_a) pairs.

    Attributes
    ----------
    x_w : ndarray or Tensor [..., N_D], watt
        Optimal allocation (Eq. (48)); sum x = P_a to ``rtol``.
    mu : [...] bits per watt
        Lagrange multiplier of Eq. (47) (the KGLM-Net label).
    level_w : [...] watt
        Water level 1/(mu ln 2).
    iterations : [...] int
        Newton/bisection steps used per problem.
    kkt_residual : [...]
        :func:`kkt_residual` at the solution.
    objective : [...] bits
        Sum KR sum_k C_k of Eq. (42).
    status : str
        ``converged`` (non-convergence raises :class:`WaterFillingError`).
    """

    x_w: object
    mu: object
    level_w: object
    iterations: object
    kkt_residual: object
    objective: object
    status: str = "converged"
    extras: dict = field(default_factory=dict)


def _check_inputs(pa_w, m_a, m_b):
    xp = _xp(m_b)
    if xp is np:
        m_a = np.asarray(m_a, dtype=np.float64)
        m_b = np.asarray(m_b, dtype=np.float64)
        pa_w = np.asarray(pa_w, dtype=np.float64)
        isfinite, anyf = np.isfinite, np.any
    else:
        m_a = xp.as_tensor(m_a, dtype=m_b.dtype, device=m_b.device)
        pa_w = xp.as_tensor(pa_w, dtype=m_b.dtype, device=m_b.device)
        isfinite, anyf = xp.isfinite, xp.any
    if m_a.shape[-1:] != m_b.shape[-1:] or m_b.ndim < 1 or m_b.shape[-1] == 0:
        raise ValueError(
            f"m_a and m_b must have the same non-empty last dimension N_D, got shapes "
            f"{tuple(m_a.shape)} and {tuple(m_b.shape)}"
        )
    for name, v in (("m_a", m_a), ("m_b", m_b), ("P_a", pa_w)):
        if bool(anyf(~isfinite(v))):
            raise ValueError(f"{name} contains NaN or inf")
    if bool(anyf(m_a < 0)):
        raise ValueError("m_a must be >= 0")
    if bool(anyf(m_b <= 0)):
        raise ValueError("m_b must be > 0 (it is sigma_b^2/(L lambda_h))")
    if bool(anyf(pa_w < 0)):
        raise ValueError("power budget P_a must be non-negative")
    if xp is np:
        check_power_domain(pa_w, m_a, m_b)
    else:
        check_power_domain(*(v.detach().cpu().numpy() for v in (pa_w, m_a, m_b)))
    return pa_w, m_a, m_b


def _check_result(res: WaterFillingResult, pa_w, rtol: float) -> WaterFillingResult:
    """A converged result is finite and satisfies the KKT conditions; else WaterFillingError.

    Inside the domain of :func:`plkg.solvers.water_level.check_power_domain` this never fires; it
    guards the promise that ``converged`` means optimal, whatever the inputs.
    """
    xp = _xp(res.x_w)
    finite = xp.isfinite
    values = (res.x_w, res.mu, res.level_w, res.objective, res.kkt_residual)
    if not all(bool(finite(v).all()) for v in values):
        raise WaterFillingError(
            "water-filling result is not finite although P_a, m_a and m_b passed the domain "
            "check (please report the inputs)"
        )
    worst = float(res.kkt_residual.max())
    if worst > max(KKT_TOL, 10 * rtol):
        raise WaterFillingError(
            f"water-filling KKT residual {worst:.2e} exceeds {max(KKT_TOL, 10 * rtol):g} "
            f"(P_a up to {float(pa_w.max()):.3g} W)"
        )
    return res


def _solve(pa_w, m_a, m_b, rtol, max_iter):
    """Shared NumPy/torch core. pa_w [...], m_a/m_b [..., N_D] (broadcast).

    Works on the normalised offset d = (w - b_min)/b_min of :mod:`plkg.solvers.water_level`, so
    that the lowest subchannel's power is computed from d itself (no cancellation at any budget)
    and every number in the iteration is O(1) whatever the units of P_a, m_b.
    """
    xp = _xp(m_b)
    is_np = xp is np
    batch = np.broadcast_shapes(tuple(pa_w.shape), tuple(m_a.shape[:-1]), tuple(m_b.shape[:-1]))
    n_d = m_b.shape[-1]
    if is_np:
        pa = np.broadcast_to(pa_w, batch).astype(np.float64)
        ma = np.broadcast_to(m_a, batch + (n_d,))
        mb = np.broadcast_to(m_b, batch + (n_d,))
    else:
        pa = pa_w.expand(batch).clone()
        ma = m_a.expand(batch + (n_d,))
        mb = m_b.expand(batch + (n_d,))

    scale, delta, q, hs = normalise(ma, mb)  # scale = b_min [...], the unit of every power
    zero = pa == 0
    p = xp.where(zero, xp.ones_like(pa), pa) / scale
    # Bracket of the offset (see module docstring), in log d: at d_lo every subchannel gets at
    # most P_a/N_D, at d_hi one alone gets P_a.
    lo = offset_ceiling(p / n_d, delta, q, hs)
    hi = offset_ceiling(p, delta, q, hs)
    d = xp.sqrt(lo) * xp.sqrt(hi)
    iters = xp.zeros_like(pa, dtype=xp.int64) if not is_np else np.zeros(batch, dtype=np.int64)
    done = xp.zeros_like(pa, dtype=bool) if not is_np else np.zeros(batch, dtype=bool)
    for it in range(max_iter):
        x, r = x_at_offset(d[..., None], delta, q, hs)
        total = x.sum(-1)
        f = total - p
        conv = xp.abs(f) <= rtol * p
        done = done | conv
        if bool(done.all()):
            break
        iters = iters + (~done).astype(np.int64) if is_np else iters + (~done).to(xp.int64)
        lo = xp.where(f < 0, d, lo)
        hi = xp.where(f > 0, d, hi)
        # Newton on log S against log d (S grows like d^(1/2)..d^1, nearly linear in logs):
        # d log S / d log d = d S'(d) / S, S'(d) = sum_active dx_j/dd = sum_active 1/(2 r_j).
        # d itself is the iterate (not log d): log d would cost digits where S is steep in d.
        slope = d * (0.5 * (x > 0) / r).sum(-1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = d * xp.exp(-xp.log(total / p) * total / slope)
        ok = xp.isfinite(step) & (step >= lo) & (step <= hi) & (slope > 0)
        if it >= SAFE_NEWTON_ITERS and it % 2:
            # Newton normally converges in < 10 steps; if round-off in S keeps it from meeting
            # rtol, it can creep along one end of the bracket: alternate with bisection so that
            # the bracket halves at least every other step and reaches its float64 floor.
            ok = ok & False
        d_new = xp.where(ok, step, xp.sqrt(lo) * xp.sqrt(hi))
        # a bracket that cannot shrink any further in float64 counts as converged
        stuck = (hi - lo) <= 4 * np.finfo(np.float64).eps * d
        done = done | stuck
        d = xp.where(done, d, d_new)
    else:
        if not bool(done.all()):
            raise WaterFillingError(
                f"water-filling did not converge in {max_iter} iterations "
                f"({int((~done).sum())} of {done.size if is_np else done.numel()} problems, "
                f"P_a up to {float(pa.max()):.3g} W)"
            )
    # P_a = 0: nothing to allocate; mu is the largest slope at x = 0 (the first subchannel's).
    d = xp.where(zero, xp.zeros_like(d), d)
    x, r = x_at_offset(d[..., None], delta, q, hs)
    risky = needs_top_reference(delta, d, p, rtol) & ~zero
    if bool(risky.any()):
        # the budget is far below the level: measure it above the top active activation level
        sel = risky.reshape(-1)
        rows = [v.reshape(-1, n_d)[sel] for v in (activation_levels(ma, mb), delta, q, hs)]
        x_top, d_top = refine_on_top_reference(
            rows[0], scale.reshape(-1)[sel], *rows[1:], p.reshape(-1)[sel], d.reshape(-1)[sel], rtol
        )
        x, d = x.reshape(-1, n_d) * 1, d.reshape(-1) * 1  # writable copies
        x[sel], d[sel] = x_top, d_top
        x, d = x.reshape(risky.shape + (n_d,)), d.reshape(risky.shape)
        r = (q * (1 + d[..., None]) + 0.25) ** 0.5
    offset = scale * d
    w = scale + offset
    # Final projection onto the budget along the level direction dx_j/dd = 1/(2 r_j) (one linear
    # Newton step: every active slope moves together, so stationarity is kept where the bracket
    # reached float64's floor before |S - p| <= rtol p), then a rescale for sum x = P_a exactly.
    # A zero budget keeps x = 0.
    direction = (x > 0) / r
    shift = (p - x.sum(-1)) / xp.where(zero, xp.ones_like(p), direction.sum(-1))
    x = xp.clip(x + shift[..., None] * direction, 0, None) * scale[..., None]
    total = x.sum(-1)
    x = x * (pa / xp.where(total > 0, total, xp.ones_like(total)))[..., None]
    mu = level_to_mu(w)
    kkt = kkt_residual(x, mu, ma, mb, pa)
    objective = subchannel_key_rate_bits(x, ma, mb).sum(-1)
    return WaterFillingResult(
        x_w=x,
        mu=mu,
        level_w=w,
        iterations=iters,
        kkt_residual=kkt,
        objective=objective,
        status="converged",
        extras={"offset_w": offset},
    )


def water_filling(pa_w, m_a, m_b, rtol: float = DEFAULT_RTOL, max_iter: int = DEFAULT_MAX_ITER):
    r"""Solve (P1), Eq. (45) of the near-field paper, exactly (float64 NumPy).

    Parameters
    ----------
    pa_w : float or ndarray [...], watt
        Power budgets P_a (>= 0).
    m_a : ndarray [..., N_D], dimensionless
        m_{a,k,j} of Eq. (42) (>= 0). Leading dims broadcast against ``pa_w``.
    m_b : ndarray [..., N_D], watt
        m_{b,k,j} of Eq. (42) (> 0).
    rtol : float
        Stop when :math:`|\sum_j x_j - P_a| \le` ``rtol`` :math:`P_a`.
    max_iter : int
        Newton/bisection steps before :class:`WaterFillingError` is raised.

    Returns
    -------
    WaterFillingResult
        x_w [..., N_D], mu/level_w/iterations/kkt_residual/objective [...] (NumPy float64).

    Raises
    ------
    ValueError
        NaN/inf, negative P_a or m_a, non-positive m_b, mismatched shapes.
    WaterFillingError
        No convergence within ``max_iter`` steps.
    """
    pa_w, m_a, m_b = _check_inputs(pa_w, m_a, m_b)
    rtol, max_iter = check_rtol(rtol), check_max_iter(max_iter)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # overflow shows up as non-finite values, refused by _check_result with a clear message
        return _check_result(_solve(pa_w, m_a, m_b, rtol, max_iter), pa_w, rtol)


def water_filling_torch(
    pa_w,
    m_a,
    m_b,
    device=None,
    dtype=None,
    rtol: float = DEFAULT_RTOL,
    max_iter: int = DEFAULT_MAX_ITER,
):
    """Batched torch twin of :func:`water_filling` (CPU or GPU).

    Parameters
    ----------
    pa_w : float, array or Tensor [...], watt
    m_a, m_b : array or Tensor [..., N_D]
    device : torch.device or str, optional
        Where to compute (default: ``m_b``'s device if it is a tensor, else CPU).
    dtype : torch.dtype, optional
        Default float64 (use float32 only with a looser ``rtol``).

    Returns
    -------
    WaterFillingResult with torch tensors on ``device``.
    """
    import torch

    dtype = torch.float64 if dtype is None else dtype
    if device is None:
        device = m_b.device if isinstance(m_b, torch.Tensor) else "cpu"
    m_b = torch.as_tensor(m_b, dtype=dtype, device=device)
    m_a = torch.as_tensor(m_a, dtype=dtype, device=device)
    pa_w = torch.as_tensor(pa_w, dtype=dtype, device=device)
    pa_w, m_a, m_b = _check_inputs(pa_w, m_a, m_b)
    rtol, max_iter = check_rtol(rtol), check_max_iter(max_iter)
    if dtype != torch.float64 and rtol < 1e-6:
        rtol = 1e-6
    return _check_result(_solve(pa_w, m_a, m_b, rtol, max_iter), pa_w, rtol)


def allocate(design, pa_w: float, **options) -> AllocationResult:
    """WFPA (Section VII-B): water-filling on a :class:`SubchannelDesign` for budget ``pa_w`` (W).

    Options ``rtol`` and ``max_iter`` are passed on; others (``scenario``, ...) are ignored.
    Extras: ``mu`` (bits/W), ``level_w``, ``kkt_residual``.
    """
    from plkg.solvers.equal_power import check_power_budget

    pa = check_power_budget(pa_w)
    res = water_filling(
        pa,
        design.m_a,
        design.m_b,
        rtol=options.get("rtol", DEFAULT_RTOL),
        max_iter=options.get("max_iter", DEFAULT_MAX_ITER),
    )
    return AllocationResult(
        method="wfpa",
        x_w=np.asarray(res.x_w, dtype=np.float64),
        pa_w=pa,
        status="optimal",
        iterations=int(res.iterations),
        objective=float(res.objective),
        extras={
            "mu": float(res.mu),
            "level_w": float(res.level_w),
            "kkt_residual": float(res.kkt_residual),
        },
    )


__all__ = [
    "WaterFillingError",
    "WaterFillingResult",
    "allocate",
    "dx_dlevel",
    "kkt_residual",
    "level_from_x",
    "level_to_mu",
    "mu_to_level",
    "water_filling",
    "water_filling_torch",
    "x_from_level",
    "x_from_mu",
    "x_from_mu_paper",
]
