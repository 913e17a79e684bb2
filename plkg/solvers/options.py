"""Validation of solver options (tolerances, iteration caps), shared by every solver.

A tolerance given as a string, NaN, or outside (0, 1) would either raise a TypeError deep inside
an iteration or silently never (or always) stop; it is refused here with the option's name. A
wrong *type* (None, a str, a bool) is a :class:`plkg.errors.PlkgTypeError`, a wrong *value* a
:class:`plkg.errors.PlkgInputError` (both ``ValueError``; CLI exit status 2).
"""

from __future__ import annotations

from plkg.checks import check_integer, check_number
from plkg.errors import PlkgInputError, PlkgTypeError


def check_rtol(value, name: str = "rtol") -> float:
    """A relative tolerance: a real number in (0, 1). Returns it as float."""
    try:
        return check_number(value, name, low=0.0, high=1.0, low_open=True, high_open=True)
    except PlkgTypeError:
        raise
    except PlkgInputError:  # NaN, inf, out of range: the option's own wording
        raise PlkgInputError(f"{name} must lie in (0, 1), got {value!r}") from None


def check_max_iter(value, name: str = "max_iter") -> int:
    """An iteration cap: an integer >= 1 (not a bool, not a float). Returns it as int."""
    return check_integer(value, name, low=1)
