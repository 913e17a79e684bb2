"""Subchannels that provably carry no power in the max-min optimum of the near-field paper.

At the optimum of (P2) UE k has a water level w_k, and subchannel j of UE k is active iff
b_j = m_b (1 + m_a) < w_k (m_a, m_b the constants of Eq. (42)). The level is bounded by the one
at which UE k alone would spend the whole budget P_a, so every subchannel with b_j at or above
that bound can be dropped from (P3) (Eq. (53)) without changing its optimum
(:func:`inactive_mask`).
"""

from __future__ import annotations

import math

import numpy as np


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
