"""Equal power allocation (EPA), Section VII-B of the near-field paper: x_{k,j} = P_a / N_D."""

from __future__ import annotations

import numpy as np

from plkg.keyrate.subchannel import subchannel_key_rate_bits
from plkg.solvers.allocation import AllocationResult


def check_power_budget(pa_w) -> float:
    """Validate a power budget P_a (W): finite and >= 0."""
    if isinstance(pa_w, (str, bytes, bool)):
        raise ValueError(f"power budget P_a must be a number, got {pa_w!r}")
    try:
        pa = float(pa_w)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"power budget P_a must be a number, got {pa_w!r}") from exc
    if not np.isfinite(pa):
        raise ValueError(f"power budget P_a must be finite, got {pa_w!r}")
    if pa < 0:
        raise ValueError(f"power budget P_a must be non-negative, got {pa} W")
    return pa


def equal_power(n_total: int, pa_w: float) -> np.ndarray:
    """x_{k,j} = P_a / N_D for all N_D subchannels, shape [N_D] (W).

    Raises ValueError unless ``n_total`` is an integer >= 1 and ``pa_w`` a finite number >= 0.
    """
    if isinstance(n_total, bool) or not isinstance(n_total, (int, np.integer)) or n_total < 1:
        raise ValueError(
            f"n_total (N_D, number of subchannels) must be an integer >= 1, got {n_total!r}"
        )
    return np.full(int(n_total), check_power_budget(pa_w) / int(n_total))


def allocate(design, pa_w: float, **_options) -> AllocationResult:
    """EPA for a :class:`plkg.precoding.subchannel_design.SubchannelDesign`."""
    x = equal_power(design.n_total, pa_w)
    sum_c = float(np.sum(subchannel_key_rate_bits(x, design.m_a, design.m_b)))
    return AllocationResult(
        method="epa", x_w=x, pa_w=float(pa_w), status="closed_form", iterations=0, objective=sum_c
    )
