"""Common result type of every power-allocation method of the near-field paper."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class AllocationResult:
    """A power allocation {x_{k,j}} and how it was obtained.

    Attributes
    ----------
    method : str
        ``epa``, ``wfpa``, ``fnnpa``, ``cvxpakf``, ``wfpakf``, ``fnnpakf`` or ``exact-maxmin``.
    x_w : ndarray [N_D] float64, watt
        Power per subchannel (Eq. (44): sum(x) <= P_a).
    pa_w : float
        Power budget P_a (W).
    status : str
        ``optimal``, ``converged``, ``closed_form``, ``predicted``, ``scaled_to_budget``, ...
    iterations : int
    objective : float
        The method's own objective (sum KR or min KR in bits, per Eq. (42)).
    extras : dict
        Method-specific values (``mu``, ``t``, ``checkpoint``, ...), JSON-serialisable.
    """

    method: str
    x_w: np.ndarray
    pa_w: float
    status: str
    iterations: int = 0
    objective: float = float("nan")
    extras: dict = field(default_factory=dict)
