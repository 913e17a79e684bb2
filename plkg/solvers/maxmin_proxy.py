"""Low-SNR budget split for the max-min problem (P2): a cheap, feasible baseline.

With b = m_b (1 + m_a), the j-th term of Eq. (42) of the near-field paper is
c(x) = log2(1 + x / (x m_a + b)) = x / (b ln 2) + O(x^2). At low power each UE spends its share on
its best subchannel (smallest b), so equal rates C_k = t need P_k = t b_k ln 2 with
b_k = min_{j in k} b_j, and the max-min budget split is

    P_k = P_a s_k,   s_k = b_k / sum_i b_i                                    (low-SNR limit)

This module spends P_a s_k on UE k by that UE's own exact water-filling (Eq. (48) restricted to
the UE's subchannels), so the allocation is feasible (sum x = P_a, x >= 0) and its min_k C_k is a
lower bound on the max-min optimum t*, exact as P_a -> 0 and for K = 1. The max-min set
allocator (:mod:`plkg.models.set_allocator`, ``proxy=True``) predicts the correction of t* on top
of it. Cost: one water-filling per UE (no search over t).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MaxMinProxy:
    """The low-SNR split at budgets P_a [B].

    Attributes
    ----------
    shares : ndarray [K]
        s_k = b_k / sum_i b_i (sums to 1).
    power_w : ndarray [B, K]
        P_a s_k, watt.
    rates_bits : ndarray [B, K]
        C_k of Eq. (42) with UE k's exact water-filling of P_k, bits.
    t_bits : ndarray [B]
        min_k C_k: a lower bound on the max-min optimum t*.
    x_w : ndarray [B, N_D]
        The allocation (feasible: sum_j x_j = P_a), watt.
    """

    shares: np.ndarray
    power_w: np.ndarray
    rates_bits: np.ndarray
    t_bits: np.ndarray
    x_w: np.ndarray


def lowsnr_shares(m_a, m_b, user, n_users: int) -> np.ndarray:
    """s_k = b_k / sum_i b_i with b_k = min over UE k's subchannels of m_b (1 + m_a); shape [K].

    Raises
    ------
    ValueError
        A UE without a subchannel (its share is undefined).
    """
    b = np.asarray(m_b, dtype=np.float64) * (1.0 + np.asarray(m_a, dtype=np.float64))
    user = np.asarray(user, dtype=np.int64)
    b_k = np.full(int(n_users), np.inf)
    np.minimum.at(b_k, user, b)
    if not np.all(np.isfinite(b_k)):
        raise ValueError("every UE needs at least one subchannel for the low-SNR split")
    return b_k / b_k.sum()


def maxmin_proxy(m_a, m_b, user, n_users: int, pa_w) -> MaxMinProxy:
    """The low-SNR split of budgets ``pa_w`` [B] (W), each UE water-filling its share exactly.

    Parameters
    ----------
    m_a : array [N_D], dimensionless; m_b : array [N_D], watt; user : int array [N_D]
    n_users : int
    pa_w : float or array [B], watt (> 0)

    Returns
    -------
    MaxMinProxy
    """
    from plkg.solvers.water_filling import water_filling

    m_a = np.asarray(m_a, dtype=np.float64)
    m_b = np.asarray(m_b, dtype=np.float64)
    user = np.asarray(user, dtype=np.int64)
    pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
    shares = lowsnr_shares(m_a, m_b, user, n_users)
    power = pa[:, None] * shares[None, :]
    rates = np.zeros_like(power)
    x = np.zeros((pa.size, m_a.size))
    for k in range(int(n_users)):
        sel = user == k
        wf = water_filling(power[:, k], m_a[sel], m_b[sel])
        x[:, sel] = np.asarray(wf.x_w).reshape(pa.size, -1)
        rates[:, k] = np.asarray(wf.objective).reshape(pa.size)
    return MaxMinProxy(shares, power, rates, rates.min(-1), x)
