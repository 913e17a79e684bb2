"""Validation of solver options (tolerances, iteration caps), shared by every solver.

A tolerance given as a string, NaN, or outside (0, 1) would either raise a TypeError deep inside
an iteration or silently never (or always) stop; it is refused here with the option's name.
"""

from __future__ import annotations

import math
import numbers

from plkg.errors import PlkgInputError


def check_rtol(value, name: str = "rtol") -> float:
    """A relative tolerance: a real number in (0, 1). Returns it as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PlkgInputError(f"{name} must be a number in (0, 1), got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and 0 < v < 1):
        raise PlkgInputError(f"{name} must lie in (0, 1), got {value!r}")
    return v


def check_max_iter(value, name: str = "max_iter") -> int:
    """An iteration cap: an integer >= 1. Returns it as int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise PlkgInputError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)
