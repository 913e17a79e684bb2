"""Argument checks of the public API: refuse an unusable argument at the door, in one line.

Every message names the parameter and what it got (``design must be a SubchannelDesign (from
plkg.design_for_scenario), got str 'design'``), so a caller never meets an AttributeError or a
NumPy TypeError from deep inside a computation, nor a silent NaN.

* A wrong *type* (None, a str where a number is expected, a bool used as a number, a complex
  value, an object of another class) raises :class:`plkg.errors.PlkgTypeError`: a ``TypeError`` and, like
  every bad input, a :class:`plkg.errors.PlkgInputError` (CLI exit status 2).
* A wrong *value* (NaN, inf, out of range, wrong shape, unknown name) raises
  :class:`plkg.errors.PlkgInputError` (a ``ValueError``).

Only argument checks live here; this module imports nothing of plkg but :mod:`plkg.errors`.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from plkg.errors import PlkgInputError, PlkgTypeError

__all__ = ["PlkgTypeError"]  # defined in plkg.errors; importable from here as well


_REPR_MAX = 60


def describe(value) -> str:
    """What a caller passed, for a message: ``None``, ``str 'abc'``, ``float nan``, ``ndarray
    of shape (3,) and dtype complex128``."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        if value.size == 1:
            return f"ndarray {value.ravel()[0]!r} of shape {value.shape}"
        return f"ndarray of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > _REPR_MAX:
        text = text[: _REPR_MAX - 3] + "..."
    return f"{type(value).__name__} {text}"


def _domain(low, high, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


def _is_real_scalar(value) -> bool:
    """A real number: a Python/NumPy int or float, or any 0-d array-like of integer or float
    dtype (a 0-d ndarray, a 0-d torch tensor); never a bool, str, None or complex."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, numbers.Real):
        return True
    if value is None or isinstance(value, (str, bytes, numbers.Complex)):
        return False
    try:
        if np.ndim(value) != 0:
            return False
        return np.asarray(value).dtype.kind in "iuf"
    except (TypeError, ValueError, RuntimeError):  # an object NumPy cannot read
        return False


def check_instance(value, cls, name: str, what: str | None = None):
    """``value`` itself if it is an instance of ``cls`` (a class or tuple of classes).

    ``what`` describes the expected object for the message (default ``a <ClassName>``).
    """
    if isinstance(value, cls):
        return value
    if what is None:
        names = [c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,))]
        what = "a " + " or ".join(names)
    raise PlkgTypeError(f"{name} must be {what}, got {describe(value)}")


def check_number(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    unit: str = "",
) -> float:
    """A finite real number in the given range, returned as float.

    A number is a Python or NumPy int or float, or a 0-d array of integer or float dtype (a 0-d
    ndarray, a 0-d torch tensor). None, str, bool, complex and arrays with one or more
    dimensions (even of one element, like ``np.array([0.1])``) are a :class:`PlkgTypeError`;
    NaN, inf, an integer too large for a float, and values outside ``[low, high]``
    (``low_open``/``high_open``: strict bounds) a :class:`PlkgInputError`. ``unit`` (e.g.
    ``"W"``) is named in the message.
    """
    unit_text = f" ({unit})" if unit else ""
    expected = f"a finite number{_domain(low, high, low_open, high_open)}{unit_text}"
    if not _is_real_scalar(value):
        raise PlkgTypeError(f"{name} must be {expected}, got {describe(value)}")
    try:
        v = float(value) if isinstance(value, numbers.Real) else float(np.asarray(value))
    except OverflowError:  # an int beyond float range (10**400)
        raise PlkgInputError(
            f"{name} must be {expected}, got an integer too large for a float"
        ) from None
    bad = not np.isfinite(v)
    if low is not None:
        bad = bad or v < low or (low_open and v == low)
    if high is not None:
        bad = bad or v > high or (high_open and v == high)
    if bad:
        raise PlkgInputError(f"{name} must be {expected}, got {value!r}")
    return v


def check_integer(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python or NumPy, not bool, not float) in ``[low, high]``, returned as int."""
    expected = f"an integer{_domain(low, high, False, False)}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise PlkgTypeError(f"{name} must be {expected}, got {describe(value)}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise PlkgInputError(f"{name} must be {expected}, got {v!r}")
    return v


def check_flag(value, name: str) -> bool:
    """A bool (Python or NumPy), returned as bool; 0/1, "yes" or None are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise PlkgTypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def check_choice(value, choices: Iterable[str], name: str) -> str:
    """One of ``choices`` (strings); the message lists them."""
    choices = tuple(choices)
    listing = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise PlkgTypeError(f"{name} must be one of {listing}; got {describe(value)}")
    if value not in choices:
        raise PlkgInputError(f"{name} must be one of {listing}; got {value!r}")
    return value


def check_real_array(
    value,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    size: int | None = None,
    nonnegative: bool = False,
    positive: bool = False,
    allow_empty: bool = True,
    finite: bool = True,
    unit: str = "",
) -> np.ndarray:
    """A real array (any shape unless ``ndim``/``size`` say otherwise), as float64.

    Refused with :class:`PlkgTypeError`: None, str/bytes, bool and complex values or arrays, and
    sequences NumPy cannot read as numbers (an object array, a ragged list). Refused with
    :class:`PlkgInputError`: a wrong number of dimensions or last-axis ``size``, an empty array
    (unless ``allow_empty``), NaN/inf (unless ``finite=False``: the caller checks them itself),
    negative (``nonnegative``) or non-positive (``positive``) entries; the message names the first
    offending entry.
    """
    unit_text = f" ({unit})" if unit else ""
    if value is None or isinstance(value, (str, bytes, bool, np.bool_)):
        raise PlkgTypeError(f"{name} must be real numbers{unit_text}, got {describe(value)}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # a ragged list, an object NumPy cannot convert
        raise PlkgTypeError(
            f"{name} must be real numbers{unit_text}, got {describe(value)} ({exc})"
        ) from exc
    if arr.dtype.kind not in "iuf":
        kind = {"b": "bool", "c": "complex", "U": "str", "S": "bytes"}.get(arr.dtype.kind)
        got = f"{kind} values" if kind else describe(value)
        raise PlkgTypeError(f"{name} must be real numbers{unit_text}, got {got}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise PlkgInputError(f"{name} must have {want} dimension(s), got shape {arr.shape}")
    if size is not None and (arr.ndim == 0 or arr.shape[-1] != size):
        raise PlkgInputError(f"{name} must have {size} entries (last axis), got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise PlkgInputError(f"{name} must not be empty, got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    if finite or nonnegative or positive:
        _check_entries(arr, name, nonnegative=nonnegative, positive=positive, unit_text=unit_text)
    return arr


def _check_entries(arr: np.ndarray, name: str, *, nonnegative, positive, unit_text) -> None:
    """Refuse NaN/inf and (optionally) signs, naming the first offending entry."""
    finite = np.isfinite(arr)
    if positive:
        ok, rule = finite & (arr > 0), "finite and > 0"
    elif nonnegative:
        ok, rule = finite & (arr >= 0), "finite and >= 0"
    else:
        ok, rule = finite, "finite"
    if np.all(ok):
        return
    if arr.ndim == 0:
        raise PlkgInputError(f"{name} must be {rule}{unit_text}, got {float(arr)!r}")
    index = tuple(int(i) for i in np.argwhere(~ok)[0])
    at = index[0] if len(index) == 1 else index
    raise PlkgInputError(
        f"{name} must be {rule}{unit_text}, got {float(arr[index])!r} at index {at}"
    )


def check_power_w(value, name: str = "pa_w") -> float:
    """A power budget in W: a finite number >= 0 (the domain of the CLI's ``--pa-w``)."""
    return check_number(value, name, low=0.0, unit="W")


def check_power_dbm(value, name: str = "pa_dbm") -> float:
    """A power in dBm: a finite number (the domain of the CLI's ``--pa-dbm``)."""
    return check_number(value, name, unit="dBm")


def check_path(value, name: str, *, must_exist: bool = True, kind: str = "file") -> Path:
    """A file-system path (str or os.PathLike), as Path.

    ``must_exist``: a missing path raises ``FileNotFoundError`` naming ``name`` and the path;
    ``kind="file"`` refuses a folder (``"any"`` accepts both). Empty strings are refused.
    """
    if not isinstance(value, (str, os.PathLike)):
        raise PlkgTypeError(f"{name} must be a path (str or pathlib.Path), got {describe(value)}")
    path = Path(value)
    if str(value) == "":
        raise PlkgInputError(f"{name} must be a path, got an empty string")
    if must_exist:
        if not path.exists():
            raise FileNotFoundError(2, f"{name} does not exist", str(path))
        if kind == "file" and not path.is_file():
            raise PlkgInputError(f"{name} {str(path)!r} is not a regular file (a folder?)")
    return path


def check_options(options: Mapping, allowed: Iterable[str], *, call: str, owner: str) -> None:
    """Refuse keyword options outside ``allowed``: ``allocate() got an unknown option 'bogus';
    options of 'wfpa': rtol, max_iter, ...``.

    ``call`` names the function (``"allocate()"``), ``owner`` what the options belong to
    (``"'wfpa'"``).
    """
    allowed = tuple(allowed)
    unknown = [key for key in options if key not in allowed]
    if unknown:
        listing = ", ".join(allowed) if allowed else "none"
        names = ", ".join(repr(k) for k in unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise PlkgTypeError(
            f"{call} got an unknown option{plural} {names}; options of {owner}: {listing}"
        )
