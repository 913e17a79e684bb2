"""Registry of the near-field power-allocation methods (Section VII-B of the near-field paper).

Each entry names ``module:function`` with signature ``allocate(design, pa_w, **options) ->
AllocationResult``. Modules are imported lazily, so this layer imports no Lightning code.
"""

from __future__ import annotations

import importlib

from plkg.solvers.allocation import AllocationResult

ALLOCATION_METHODS: dict[str, str] = {
    "epa": "plkg.solvers.equal_power:allocate",
    "wfpa": "plkg.solvers.water_filling:allocate",
    "fnnpa": "plkg.inference.allocator:allocate_fnnpa",
    "cvxpakf": "plkg.solvers.maxmin_cvxpy:allocate",
    "wfpakf": "plkg.solvers.maxmin_highpower:allocate",
    "fnnpakf": "plkg.inference.fairness_allocator:allocate_fnnpakf",
    "exact-maxmin": "plkg.solvers.maxmin_exact:allocate",
    "fnnpa-general": "plkg.inference.general_allocator:allocate_fnnpa_general",
    "fnnpakf-general": "plkg.inference.general_allocator:allocate_fnnpakf_general",
    "interp": "plkg.inference.interp_allocator:allocate_interp",
    "interpkf": "plkg.inference.interp_allocator:allocate_interpkf",
}

SUM_RATE_METHODS = ("epa", "wfpa", "fnnpa", "fnnpa-general", "interp")
FAIRNESS_METHODS = ("cvxpakf", "wfpakf", "fnnpakf", "exact-maxmin", "fnnpakf-general", "interpkf")


def method_function(method: str):
    """The allocate function of ``method``; ValueError if unknown or not available."""
    if method not in ALLOCATION_METHODS:
        raise ValueError(
            f"unknown allocation method {method!r}; choose from {', '.join(ALLOCATION_METHODS)}"
        )
    module_name, func_name = ALLOCATION_METHODS[method].split(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, func_name)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise ValueError(
            f"allocation method {method!r} is not available in this build ({exc})"
        ) from exc


def allocate(method: str, design, pa_w: float, **options) -> AllocationResult:
    """Run allocation ``method`` on a subchannel design for power budget ``pa_w`` (W)."""
    return method_function(method)(design, pa_w, **options)
