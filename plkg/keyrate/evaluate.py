"""Key rates of a designed allocation: Eq. (17) (the KR) next to Eq. (42) (its upper bound C_k)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plkg.checks import check_real_array, describe
from plkg.errors import PlkgInputError, PlkgTypeError
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

    def __post_init__(self) -> None:
        kr = check_real_array(self.kr_bits, "kr_bits", ndim=1, nonnegative=True, allow_empty=False)
        c = check_real_array(self.c_bits, "c_bits", ndim=1, nonnegative=True)
        if c.shape != kr.shape:
            raise PlkgInputError(
                f"kr_bits and c_bits must have one entry per UE each, got shapes {kr.shape} and "
                f"{c.shape}"
            )
        object.__setattr__(self, "kr_bits", kr)
        object.__setattr__(self, "c_bits", c)

    @property
    def sum_kr_bits(self) -> float:
        """sum_k I_k, bits per probing round (the sum-rate objective)."""
        return float(np.sum(self.kr_bits))

    @property
    def min_kr_bits(self) -> float:
        """min_k I_k, bits per probing round (the max-min objective)."""
        return float(np.min(self.kr_bits))


# What evaluate_allocation uses of a SubchannelDesign. Checked by attribute, not by class:
# keyrate/ sits below precoding/ and imports nothing from it.
_DESIGN_ATTRIBUTES = (
    "check_allocation",
    "precoders",
    "ccm",
    "m_a",
    "m_b",
    "user",
    "n_users",
    "sigma2_a_hat_w",
    "sigma2_b_hat_w",
)


def _check_design(design) -> None:
    if not all(hasattr(design, name) for name in _DESIGN_ATTRIBUTES):
        raise PlkgTypeError(
            "design must be a SubchannelDesign (from plkg.design_for_scenario), got "
            f"{describe(design)}"
        )


def evaluate_allocation(design, x_w) -> KeyRateReport:
    """I_k (Eq. (17)) and C_k (Eq. (42)) of allocation ``x_w`` [N_D] (W) on ``design``.

    Parameters
    ----------
    design : SubchannelDesign
        From :func:`plkg.design_for_scenario`.
    x_w : array_like [N_D], float, watt
        Power per subchannel (``AllocationResult.x_w``): real, finite, >= 0.

    Returns
    -------
    KeyRateReport
        ``kr_bits`` [K] (Eq. (17)) and ``c_bits`` [K] (Eq. (42)).

    Raises
    ------
    PlkgTypeError
        ``design`` is not a SubchannelDesign; ``x_w`` is None, a str, bool or complex.
    PlkgInputError
        ``x_w`` of another length than N_D, or with NaN, inf or negative entries.
    """
    _check_design(design)
    x = design.check_allocation(x_w)
    if x.ndim != 1:
        raise PlkgInputError(
            f"x_w must be one allocation of shape [{design.n_total}], got shape {x.shape}"
        )
    kr = block_diagonal_key_rate_bits(
        design.ccm, design.precoders(x), design.sigma2_a_hat_w, design.sigma2_b_hat_w
    )
    c = user_key_rates_bits(x, design.m_a, design.m_b, design.user, design.n_users)
    return KeyRateReport(kr_bits=kr, c_bits=np.asarray(c))
