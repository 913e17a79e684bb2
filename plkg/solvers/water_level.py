"""The water level of (P1) and (P2) on O(1) numbers: normalisation, offset form, solvable domain.

Every exact power allocation of the near-field paper (water-filling, Eqs. (45)-(48); the least
power of one UE inside the max-min problem (52)) puts subchannel j on at the *activation level*
``b_j = m_b (1 + m_a)`` (watt) and gives it, at water level ``w > b_j``,

    x_j(w) = (w - b_j) / (1/2 + m_a + sqrt(1/4 + m_a w / m_b))          (Eq. (48), stable form).

Two float64 hazards follow. (1) At a budget P_a far below b_min = min_j b_j the level sits within
round-off of b_min, so ``w - b_j`` cancels to 0 and the allocation vanishes (sum x = 0 at -300 dBm
on the Fig. 6 design). (2) With powers far from 1 W, ``w``, ``m_a w / m_b`` or the key-rate
derivative leave float64's range. Both are removed by the change of variables used by every solver:

* **normalise** every power by the lowest activation level ``s = b_min`` of the row (of the UE, in
  max-min): ``p = P_a / s``, ``q = m_a s / m_b``, ``delta_j = (b_j - b_min) / s``;
* **solve for the offset** ``d = (w - b_min) / s >= 0`` of the level above b_min, never for w:

      x_j / s = (d - delta_j)^+ / (1/2 + m_a + sqrt(1/4 + q (1 + d))),
      d_j(x) = delta_j + (x / s) (1 + 2 m_a + q x / s)          (the offset giving x_j = x),

  so the lowest subchannel's numerator is d itself, with full relative precision at any budget.

The solvable domain is where these O(1) numbers stay in float64 (:func:`check_power_domain`):
every b_j finite and at least ``LEVEL_MIN_W`` (so that mu = 1/(w ln 2) is finite), ``p >= RATIO_MIN``,
and at the full budget on the best subchannel the offset, the level ``w`` and every ``q (1 + d)``
at most ``RATIO_MAX``. It contains every problem whose P_a, m_a and m_b lie in
``[GUARANTEED_MIN, GUARANTEED_MAX]`` (+-300 dB); outside it the solvers refuse with
:class:`PowerDomainError`, naming the value, instead of returning zeros, NaN or inf.
"""

from __future__ import annotations

import numpy as np

from plkg.errors import PlkgInputError

RATIO_MIN = 1e-290
RATIO_MAX = 1e290
LEVEL_MIN_W = 1e-290
GUARANTEED_MIN = 1e-30
GUARANTEED_MAX = 1e30
_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)


class PowerDomainError(PlkgInputError):
    """A power budget and m_a, m_b outside the range the exact solvers handle in float64.

    The message names P_a, the subchannel (and UE) and the quantity that leaves the range.
    """


def activation_levels(m_a, m_b):
    """b_j = m_b (1 + m_a) (watt): subchannel j is active iff the water level exceeds it.

    Parameters
    ----------
    m_a : array or Tensor [..., N_D], dimensionless; m_b : array or Tensor [..., N_D], watt

    Returns
    -------
    b_w : [..., N_D], watt
    """
    return m_b * (1 + m_a)


def offset_at_power(x_rel, delta, q, hs):
    """Normalised offset d_j(x) = delta_j + x (2 hs_j + q_j x) giving subchannel j the power x s.

    All arguments broadcast; ``x_rel`` is x / s, ``hs = 1/2 + m_a``. NumPy or torch.
    """
    return delta + x_rel * (2 * hs + q * x_rel)


def x_at_offset(d, delta, q, hs):
    """Normalised allocation x_j / s = (d - delta_j)^+ / (hs_j + sqrt(1/4 + q_j (1 + d))).

    ``d`` [..., 1] (or broadcastable), ``delta, q, hs`` [..., N_D]; NumPy or torch.
    Returns (x_rel, r) with r = sqrt(1/4 + q (1 + d)), so dx_j/dd = 1/(2 r_j) on active ones.
    """
    r = (q * (1 + d) + 0.25) ** 0.5
    num = d - delta
    x = num / (hs + r)
    # where, not a product with the mask: an inactive subchannel may sit at delta = inf
    if isinstance(x, np.ndarray):
        return np.where(num > 0, x, 0.0), r
    return x.where(num > 0, x.new_zeros(())), r


def normalise(m_a, m_b):
    """The O(1) constants of one row: (s, delta, q, hs), NumPy or torch, float64.

    Parameters
    ----------
    m_a : [..., N_D], dimensionless; m_b : [..., N_D], watt

    Returns
    -------
    s : [...], watt
        Lowest activation level b_min = min_j m_b (1 + m_a): the unit of every power.
    delta : [..., N_D]
        (b_j - b_min) / s >= 0, the offset at which subchannel j switches on.
    q : [..., N_D]
        m_a s / m_b.
    hs : [..., N_D]
        1/2 + m_a.
    """
    b = activation_levels(m_a, m_b)
    s = b.min(-1) if isinstance(b, np.ndarray) else b.amin(-1)
    return s, (b - s[..., None]) / s[..., None], m_a * (s[..., None] / m_b), 0.5 + m_a


def _top_reference(delta, d):
    """Index [R] of the highest activation offset within round-off of d [R] or below it.

    The top active subchannel, or one that d sits within its own round-off below (its power is
    then decided by the refinement, not by the sign of a cancelled difference).
    """
    below = delta <= (d * (1 + 16 * _EPS) + 16 * _EPS)[:, None]
    if isinstance(delta, np.ndarray):
        return np.where(below, delta, -1.0).argmax(-1)
    return delta.where(below, delta.new_full((), -1.0)).argmax(-1)


def needs_top_reference(_delta, d, p, rtol: float):
    """Rows [R] whose allocation is not resolved by the offset above b_min (a bool mask).

    The top active subchannel t gets ``(d - delta_t) s``; d carries an absolute round-off of
    ~eps d, so the split is at risk when that exceeds rtol of the budget p.
    """
    return 4 * _EPS * d > rtol * p


def refine_on_top_reference(b, s, delta, q, hs, p, d, rtol: float, max_iter: int = 100):
    r"""Re-solve S = p with the level measured above the top active activation level (rows [R]).

    Where the budget is far below the water level (``needs_top_reference``), ``d - delta_t``
    cancels for the subchannel t that switched on last. Measured as e = (w - b_t) / s, with
    ``D_j = (b_t - b_j) / s`` from the activation levels themselves (exact where b_j is near
    b_t), every active power ``(e + D_j)^+ / (hs_j + r_j)`` keeps full relative precision.

    Parameters
    ----------
    b : ndarray [R, N], watt
        Activation levels.
    s : ndarray [R], watt
        Scale of each row.
    delta, q, hs : ndarray [R, N]
        As returned by :func:`normalise`.
    p : ndarray [R]
        Normalised budgets.
    d : ndarray [R]
        Offsets the :math:`b_\min`-referenced iteration converged to.
    rtol, max_iter : float, int
        Stop when :math:`|S - p| \le` ``rtol`` :math:`p`, or when the bracket reaches float64's
        floor.

    Returns
    -------
    (x_rel [R, N], d [R]): the normalised allocation and offset (NumPy or torch, as the inputs).
    """
    is_np = isinstance(b, np.ndarray)
    xp = np if is_np else __import__("torch")
    rows = xp.arange(b.shape[0]) if is_np else xp.arange(b.shape[0], device=b.device)
    t = _top_reference(delta, d)
    big_d = (b[rows, t][:, None] - b) / s[:, None]
    base = 1 + delta[rows, t]

    def total(e):
        r = (q * (base + e)[:, None] + 0.25) ** 0.5
        num = e[:, None] + big_d
        x = num / (hs + r)
        x = xp.where(num > 0, x, xp.zeros_like(x))
        return x, x.sum(-1), ((num >= 0) * (0.5 / r)).sum(-1)

    e = d - delta[rows, t]
    width = 16 * _EPS * base + 0 * e
    lo, hi = e - width, e + width
    for _ in range(64):  # widen until the bracket holds the root (one or two passes in practice)
        _, s_lo, _ = total(lo)
        _, s_hi, _ = total(hi)
        bad_lo, bad_hi = s_lo > p, s_hi < p
        if not bool((bad_lo | bad_hi).any()):
            break
        width = 2 * width
        lo = xp.where(bad_lo, lo - width, lo)
        hi = xp.where(bad_hi, hi + width, hi)
    # S is concave and increasing in e: from e = 0 (level at b_t) the tangent step lands on the
    # root's left, and Newton then converges monotonically
    _, s_zero, slope_zero = total(xp.zeros_like(e))
    right = s_zero <= p
    lo = xp.where(right, xp.maximum(lo, xp.zeros_like(lo)), lo)
    hi = xp.where(right, hi, xp.minimum(hi, xp.zeros_like(hi)))
    start = (p - s_zero) / slope_zero
    inside = (start >= lo) & (start <= hi)
    e = xp.where(right & inside, start, xp.where((e >= lo) & (e <= hi), e, 0.5 * (lo + hi)))
    for _ in range(max_iter):
        x, tot, slope = total(e)
        f = tot - p
        done = (xp.abs(f) <= rtol * p) | (hi - lo <= 4 * _EPS * (xp.abs(e) + _TINY))
        if bool(done.all()):
            break
        lo = xp.where(f < 0, e, lo)
        hi = xp.where(f > 0, e, hi)
        step = e - f / xp.where(slope > 0, slope, xp.ones_like(slope))
        ok = (slope > 0) & (step >= lo) & (step <= hi)
        e = xp.where(done, e, xp.where(ok, step, 0.5 * (lo + hi)))
    x, _, _ = total(e)
    return x, delta[rows, t] + e


def offset_ceiling(p, delta, q, hs):
    """min_j d_j(p) [...]: the offset at which one subchannel alone takes the budget p = P_a/s.

    The optimal offset never exceeds it (S(d) >= p there), so it is the top of every bracket.
    """
    d = offset_at_power(p[..., None], delta, q, hs)
    return d.min(-1) if isinstance(d, np.ndarray) else d.amin(-1)


def offset_limit(s, q_max):
    """The largest offset D [...] that keeps w = s (1 + D) and q (1 + D) within RATIO_MAX."""
    s, q_max = np.asarray(s, dtype=np.float64), np.asarray(q_max, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore"):
        return np.minimum(RATIO_MAX, np.minimum(RATIO_MAX / q_max, RATIO_MAX / s) - 1.0)


def budget_ceiling(delta, q, hs, d_max) -> float:
    """Largest p = P_a/s whose offset ceiling is at most ``d_max``: max_j of d_j^-1(d_max).

    One row: ``delta, q, hs`` [N_D], ``d_max`` float. Inverse of :func:`offset_at_power` per
    subchannel, p_j = 2 (D - delta_j) / (2 hs_j + sqrt(4 hs_j^2 + 4 q_j (D - delta_j))).
    """
    room = np.maximum(d_max - delta, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        p = 2.0 * room / (2.0 * hs + np.sqrt(4.0 * hs * hs + 4.0 * q * room))
    return float(p.max())


def raise_outside_domain(pa_w, s, p, d_hi, q_max, who: str = "") -> None:
    """Raise :class:`PowerDomainError` for the first row whose normalised problem leaves float64.

    All arguments [...] (NumPy, broadcast): budget P_a (W), lowest activation level s (W),
    p = P_a/s, the offset ceiling d_hi and max_j q_j. Rows with P_a = 0 pass.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        r_arg = q_max * (1 + d_hi)
        level = s * (1 + d_hi)
    live = pa_w > 0
    checks = (
        ("P_a / b_min", p, ~(p >= RATIO_MIN)),
        ("the normalised water level at the full budget", d_hi, ~(d_hi <= RATIO_MAX)),
        ("m_a w / m_b at the full budget", r_arg, ~(r_arg <= RATIO_MAX)),
        ("the water level at the full budget (W)", level, ~(level <= RATIO_MAX)),
    )
    for name, value, fail in checks:
        fail = np.broadcast_to(fail & live, np.broadcast_shapes(np.shape(fail), np.shape(live)))
        if fail.any():
            i = np.unravel_index(int(np.argmax(fail)), fail.shape)
            pick = [np.broadcast_to(v, fail.shape)[i] for v in (pa_w, s, value)]
            raise PowerDomainError(
                f"P_a = {pick[0]:.3g} W{who} with lowest activation level m_b (1 + m_a) = "
                f"{pick[1]:.3g} W: {name} is {pick[2]:.3g}, outside [{RATIO_MIN:g}, "
                f"{RATIO_MAX:g}], the range the exact solvers handle in float64 "
                "(docs/assumptions.md, solvable power domain)"
            )


def check_power_domain(pa_w, m_a, m_b, user=None, n_users: int | None = None) -> None:
    """Refuse (P1)/(P2) problems that float64 cannot solve exactly, naming the value.

    Parameters
    ----------
    pa_w : float or array [...], watt (>= 0; 0 needs no check)
    m_a : array [..., N_D], dimensionless (>= 0); m_b : array [..., N_D], watt (> 0)
        Already checked for sign and finiteness by the caller.
    user : array [N_D] of int, optional
        Owner UE of each subchannel: each UE is normalised by its own lowest activation level
        (max-min, Eq. (52)). None: one group (water-filling, Eq. (45)).
    n_users : int, optional
        K (with ``user``).

    Raises
    ------
    PowerDomainError
        See the module docstring for the conditions.
    """
    ma = np.asarray(m_a, dtype=np.float64)
    mb = np.asarray(m_b, dtype=np.float64)
    pa = np.asarray(pa_w, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        b = activation_levels(ma, mb)
        bad = ~np.isfinite(b) | (b < LEVEL_MIN_W) | (b > RATIO_MAX)
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), b.shape)
            raise PowerDomainError(
                f"activation level m_b (1 + m_a) = {b[idx]:.3g} W of subchannel {idx[-1]} "
                f"(m_a = {ma[idx]:.3g}, m_b = {mb[idx]:.3g} W) lies outside "
                f"[{LEVEL_MIN_W:g}, {RATIO_MAX:g}] W, the range the exact solvers handle in float64"
            )
        groups = (
            [(None, slice(None))]
            if user is None
            else [(k, np.asarray(user) == k) for k in range(int(n_users))]
        )
        for k, sel in groups:
            ma_g, mb_g = ma[..., sel], mb[..., sel]
            if ma_g.shape[-1] == 0:
                continue
            s, delta, q, hs = normalise(ma_g, mb_g)
            p = pa / s
            d_hi = offset_ceiling(np.asarray(p), delta, q, hs)
            who = "" if k is None else f" for UE {k + 1}"
            raise_outside_domain(pa, s, p, d_hi, q.max(-1), who)


__all__ = [
    "GUARANTEED_MAX",
    "GUARANTEED_MIN",
    "LEVEL_MIN_W",
    "PowerDomainError",
    "RATIO_MAX",
    "RATIO_MIN",
    "activation_levels",
    "budget_ceiling",
    "check_power_domain",
    "normalise",
    "offset_ceiling",
    "offset_limit",
    "needs_top_reference",
    "raise_outside_domain",
    "refine_on_top_reference",
    "offset_at_power",
    "x_at_offset",
]
