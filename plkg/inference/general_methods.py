"""The registry entries ``fnnpa-general`` and ``fnnpakf-general``: the set allocator of
:mod:`plkg.inference.general_allocator` on a :class:`SubchannelDesign`, one budget per call.

:func:`allocate_fnnpa_general` / :func:`allocate_fnnpakf_general` load the committed (or given)
set-allocator checkpoint and allocate one budget (:func:`plkg.inference.methods.allocate`);
:func:`bind_general` loads it once and :func:`general_result` allocates with it
(:func:`plkg.inference.bind.bind`): the same :class:`AllocationResult`, bit for bit. This module
imports no Lightning.
"""

from __future__ import annotations

import math

import numpy as np

from plkg.inference.general_allocator import (
    DEFAULT_BUDGET,
    DEFAULT_NEWTON_STEPS,
    GeneralAllocator,
    default_checkpoint,
)
from plkg.solvers.allocation import AllocationResult

# method name -> the set allocator's target: mu (sum KR, Eq. (48)) or t (max-min, Eq. (52))
TARGETS = {"fnnpa-general": "mu", "fnnpakf-general": "t"}


def bind_general(method: str, options: dict) -> GeneralAllocator:
    """The set allocator of ``method`` (a key of :data:`TARGETS`) from ``options["checkpoint"]``
    (default: the committed one of its target)."""
    return GeneralAllocator.from_checkpoint(options.get("checkpoint"), TARGETS[method])


def general_options(method: str, options: dict) -> tuple[str, int]:
    """``(budget, newton_steps)`` of the registry options, defaults filled in."""
    budget = options.get("budget") or DEFAULT_BUDGET[TARGETS[method]]
    steps = options.get("newton_steps")
    return budget, DEFAULT_NEWTON_STEPS if steps is None else int(steps)


def general_result(
    alloc: GeneralAllocator, design, pa_w: float, method: str, options: dict
) -> AllocationResult:
    """The registry's :class:`AllocationResult` of ``method`` at one budget ``pa_w`` (W) with the
    loaded set allocator ``alloc``.

    ``objective``: sum KR (``fnnpa-general``) or min_k C_k (``fnnpakf-general``) of Eq. (42),
    bits. ``status``: ``exact_fallback`` (``extras["fallback"]`` says why), ``zero_budget``,
    ``scaled_to_budget`` or ``predicted``.
    """
    target = TARGETS[method]
    budget, steps = general_options(method, options)
    out = alloc.allocation(
        design.m_a,
        design.m_b,
        design.user,
        design.n_users,
        pa_w,
        budget,
        steps,
        fallback=options.get("fallback", True),
        method=method,
    )
    x, c = out.x_w[0], out.c_bits[0]
    objective = float(np.sum(c)) if target == "mu" else float(np.min(c))
    requested = float(out.power_requested_w[0])
    reason = out.fallback[0]
    if reason is not None:
        status = "exact_fallback"
    elif float(pa_w) == 0.0:
        status = "zero_budget"
    else:
        status = "scaled_to_budget" if not math.isclose(requested, float(pa_w)) else "predicted"
    return AllocationResult(
        method=method,
        x_w=x,
        pa_w=float(pa_w),
        status=status,
        iterations=0,
        objective=objective,
        extras={
            "mu" if target == "mu" else "t": float(out.label[0]),
            "power_requested_w": requested,
            "budget": budget,
            "newton_steps": steps if target == "t" else 0,
            "checkpoint": str(options.get("checkpoint") or default_checkpoint(target)),
            "fallback": reason,
        },
    )


def allocate_fnnpa_general(design, pa_w: float, **options) -> AllocationResult:
    """``--method fnnpa-general``: set-network mu -> Eq. (48) -> rescaled to P_a, on any design.

    Options: ``checkpoint`` (default: the committed ``general_sumrate``), ``budget``
    (``exact`` default, or ``cap``), ``fallback`` (default True: the exact water-filling answers
    where the prediction is unusable, with an
    :class:`~plkg.errors.ExactFallbackWarning`; status ``exact_fallback``,
    ``extras["fallback"]`` the reason); others are ignored. Objective: sum KR (bits). P_a = 0
    gives x = 0 (status ``zero_budget``).
    """
    method = "fnnpa-general"
    return general_result(bind_general(method, options), design, pa_w, method, options)


def allocate_fnnpakf_general(design, pa_w: float, **options) -> AllocationResult:
    """``--method fnnpakf-general``: set-network t -> exact least power -> moved onto P_a.

    Options: ``checkpoint`` (default: the committed ``general_fairness``), ``budget`` (``slope``
    default: per-UE first-order move onto the budget,
    :func:`plkg.inference.general_allocator._slope_map`; ``exact`` uniform rescaling; ``cap``),
    and ``newton_steps`` (default :data:`~plkg.inference.general_allocator.DEFAULT_NEWTON_STEPS`
    = 0, the network alone; :data:`~plkg.inference.general_allocator.CORRECTED_NEWTON_STEPS` = 3
    gives the exact optimum to ~1e-7 at three extra least-power solves): Newton corrections of
    t_hat on the budget before the final mapping, and ``fallback`` (default True: exact max-min
    where the prediction is unusable, see :func:`allocate_fnnpa_general`). Objective: min_k C_k
    (bits). P_a = 0 is refused as by ``exact-maxmin``.
    """
    method = "fnnpakf-general"
    return general_result(bind_general(method, options), design, pa_w, method, options)
