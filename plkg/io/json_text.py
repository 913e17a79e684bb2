"""Strict JSON text: the one encoder of every ``--json`` output and JSON file plkg writes.

RFC 8259 has no NaN or Infinity; Python's :func:`json.dumps` writes them anyway (``NaN``,
``-Infinity``), and strict parsers (``jq``, JavaScript's ``JSON.parse``, Go, Rust) then reject the
whole document. :func:`dumps_strict` never writes them: a command turns every value that may be
non-finite into a documented finite encoding *before* encoding (``pa_dbm: null`` for a zero
budget, ``null`` for a P-value that was not computed, ...), and a non-finite float that still
reaches the encoder is a bug in that command, refused with :class:`NonFiniteJSONError` naming
the field (CLI exit 1, "internal error") instead of an unparsable document.

NumPy scalars and arrays, tuples, :class:`pathlib.PurePath` and :class:`enum.Enum` members are
encoded as their plain equivalents (arrays as nested lists); any other type is refused with
:class:`JSONOutputError` naming the field (also a bug, exit 1), never silently ``str()``-ed.
"""

from __future__ import annotations

import enum
import json
import math
from pathlib import PurePath

import numpy as np

from plkg.errors import PlkgError

__all__ = ["JSONOutputError", "NonFiniteJSONError", "dumps_strict", "nonfinite_as_null"]


class JSONOutputError(PlkgError, RuntimeError):
    """A value JSON cannot hold reached the encoder; the message names the field (a plkg bug)."""


class NonFiniteJSONError(JSONOutputError):
    """A NaN or infinity reached the JSON encoder; the message names the field (a plkg bug)."""


def dumps_strict(obj, **kw) -> str:
    """JSON text of ``obj`` with NumPy values converted and NaN/Infinity refused.

    Parameters
    ----------
    obj : object
        dicts (keys: str, or int/float/bool/None as :func:`json.dumps` allows), lists, tuples,
        str, int, float, bool, None, NumPy scalars and arrays, paths, enum members.
    **kw
        Passed to :func:`json.dumps` (``indent``, ``sort_keys``, ``separators``...).
        ``allow_nan`` and ``default`` are fixed by this function.

    Returns
    -------
    str
        Text that ``json.loads(text, parse_constant=<raise>)`` and any RFC 8259 parser accept.

    Raises
    ------
    NonFiniteJSONError
        A float (or array element) is NaN or infinite; the message gives its path, e.g.
        ``$.methods.proposed.wskr_bits_per_start[3]``.
    JSONOutputError
        A value of a type JSON cannot hold (complex, an arbitrary object), named by its path.
    """
    if "allow_nan" in kw or "default" in kw:
        raise TypeError("dumps_strict fixes allow_nan=False and its own default; do not pass them")
    return json.dumps(_plain(obj, "$"), allow_nan=False, **kw)


def nonfinite_as_null(obj):
    """``obj`` with every NaN/infinite float (also inside NumPy arrays) replaced by None.

    The documented encoding of outputs whose numbers may legitimately be missing (a NIST P-value
    not computed, a benchmark ratio with a zero time): JSON ``null``. Use it only where "null =
    not available" is what the output documents; elsewhere let :func:`dumps_strict` refuse.
    """
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.ndarray):
        return nonfinite_as_null(obj.tolist())
    if isinstance(obj, dict):
        return {k: nonfinite_as_null(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [nonfinite_as_null(v) for v in obj]
    return obj


def _plain(value, path: str):
    """``value`` with NumPy/path/enum values turned into JSON types, non-finite floats refused."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value, path)
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            raise NonFiniteJSONError(
                f"JSON output field {path} is {v!r}: plkg must encode it as a finite value or "
                "null before writing (please report this)"
            )
        return v
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), path)
    if isinstance(value, np.generic):  # complex and other NumPy scalars: not JSON
        raise JSONOutputError(f"JSON output field {path} has NumPy type {type(value).__name__}")
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {_key(k, path): _plain(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise JSONOutputError(f"JSON output field {path} has type {type(value).__name__}, not JSON")


def _key(key, path: str):
    if isinstance(key, (str, bool)) or key is None:
        return key
    if isinstance(key, (int, np.integer)):
        return int(key)
    if isinstance(key, (float, np.floating)) and math.isfinite(float(key)):
        return float(key)
    raise JSONOutputError(f"JSON output object {path} has a key of type {type(key).__name__}")
