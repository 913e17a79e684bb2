"""Residuals and steps on psi(R) = log(2^R - 1): linear at low and at high power.

The key rate R of a UE (Eq. (42) of the near-field paper) behaves like log2(1 + d) in its level
offset d: linear in d at low power, in log d at high power. Newton steps taken on
psi(R) - psi(t), divided by psi'(R), equal R - t to first order and are exact in both limits; a
step dt of t is taken as psi(t_new) = psi(t) + psi'(t) dt. Each function has an array version
(array API namespace ``xp``) and a ``_scalar`` twin on Python floats for the single-budget path.
Rates are in bits.
"""

from __future__ import annotations

import math

LN2 = math.log(2.0)
_TWO_LN2 = 2.0 * LN2
_INV_LN2 = 1.0 / LN2
_MAX_PSI_STEP = 50.0  # largest step of psi(t) = log(2^t - 1) per iteration (nepers)
_LINEAR_BITS = 40.0  # above it psi(R) - psi(t) = (R - t) ln 2 to 1e-12: plain steps
_CLOSE_BITS = 16.0  # psi residual via log1p when R, t within 16 bits and a factor 2


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
    dy = xp.minimum(xp.maximum(LN2 * dt / c, -_MAX_PSI_STEP), _MAX_PSI_STEP)
    up = t + xp.log1p(c * xp.expm1(xp.maximum(dy, -0.5))) / LN2
    z = a + xp.log(c) + dy  # psi(t) + dy
    down = (xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))) / LN2  # softplus(z) / ln 2
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
    mid = (xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))) / LN2
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
