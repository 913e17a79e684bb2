"""Key rates of a designed allocation: Eq. (17) (the KR) next to Eq. (42) (its upper bound C_k)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plkg.keyrate.gaussian import block_diagonal_key_rate_bits
from plkg.keyrate.subchannel import user_key_rates_bits


@dataclass(frozen=True)
class KeyRateReport:
    """Per-UE key rates of one allocation.

    Attributes
    ----------
    kr_bits : ndarray [K]
        I_k of Eq. (17) with P_{e,k} of Eq. (39), bits per probing round.
    c_bits : ndarray [K]
        C_k of Eq. (42) (>= I_k by Eq. (33)).
    """

    kr_bits: np.ndarray
    c_bits: np.ndarray

    @property
    def sum_kr_bits(self) -> float:
        return float(np.sum(self.kr_bits))

    @property
    def min_kr_bits(self) -> float:
        return float(np.min(self.kr_bits))


def evaluate_allocation(design, x_w) -> KeyRateReport:
    """I_k (Eq. (17)) and C_k (Eq. (42)) of allocation ``x_w`` [N_D] (W) on ``design``."""
    x = design.check_allocation(x_w)
    kr = block_diagonal_key_rate_bits(
        design.ccm, design.precoders(x), design.sigma2_a_hat_w, design.sigma2_b_hat_w
    )
    c = user_key_rates_bits(x, design.m_a, design.m_b, design.user, design.n_users)
    return KeyRateReport(kr_bits=kr, c_bits=np.asarray(c))
