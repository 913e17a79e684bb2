"""Swept columns and their values: field addressing, value kinds and coercion.

A column names a scenario field, or one entry of a per-UE / per-cell tuple field (``field[i]``).
Each column has one *kind* (``integer``, ``real``, ``bool``, ``string``, ``vector``,
``points``), that of the base scenario's value, and every value given for it is coerced to that
kind or refused with one :class:`plkg.errors.PlkgInputError` line naming the spec, the column and
the value.
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np

from plkg.errors import PlkgInputError

_INDEXED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]$")
_KIND_TEXT = {  # what an axis of each kind holds
    "integer": "integers",
    "real": "numbers",
    "bool": "true/false values",
    "string": "strings",
    "vector": "non-empty lists of finite numbers",
    "points": "non-empty lists of [x, y] pairs of finite numbers",
}


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {str(exc.filename)!r}"
    return " ".join(str(exc).split())


def _count(value, what: str, low: int) -> int:
    """An integer >= ``low`` (bool and float refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise PlkgInputError(f"{what} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise PlkgInputError(f"{what} must be >= {low}, got {value!r}")
    return int(value)


def _column_field(column: str, base: dict, system: str, where: str) -> tuple[str, int | None]:
    """(field, index) of a swept column; PlkgInputError if it names no scenario field."""
    match = _INDEXED.match(column)
    name, index = (match.group(1), int(match.group(2))) if match else (column, None)
    if name not in base or name == "name":
        known = ", ".join(sorted(k for k in base if k != "name"))
        raise PlkgInputError(
            f"{where}: {column!r} is not a {system} scenario field (known: {known}, pa_dbm)"
        )
    if index is not None:
        value = base[name]
        if not isinstance(value, (list, tuple)):
            raise PlkgInputError(f"{where}: {column!r} indexes {name!r}, which is not a list")
        if index >= len(value):
            raise PlkgInputError(
                f"{where}: {column!r} is out of range ({name} has {len(value)} entries)"
            )
    return name, index


def _check_overlaps(columns: list[str], where: str) -> None:
    whole = {c for c in columns if not _INDEXED.match(c)}
    for c in columns:
        m = _INDEXED.match(c)
        if m and m.group(1) in whole:
            raise PlkgInputError(f"{where}: {c!r} and {m.group(1)!r} cannot both be swept")


def _kind_of(value) -> str | None:
    """Kind of one plain value (None for None)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "integer"
    if isinstance(value, (float, np.floating)):
        return "real"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple)) for v in value):
            return "points"
        return "vector"
    return type(value).__name__


def _base_value(column: str, base: dict):
    match = _INDEXED.match(column)
    return base[match.group(1)][int(match.group(2))] if match else base[column]


def _column_kind(column: str, base: dict, values: list) -> tuple[str, bool]:
    """(kind, nullable) of a swept column: the kind of the base scenario's value. A field whose
    base value is None (an optional field) takes the kind of the values given (ints and floats
    together are reals) and may hold null."""
    if column == "pa_dbm":
        return "real", False
    kind = _kind_of(_base_value(column, base))
    if kind is not None:
        return kind, False
    given = [_kind_of(v) for v in values if v is not None]
    if given and set(given) <= {"integer", "real"}:
        return ("integer" if set(given) == {"integer"} else "real"), True
    return (given[0] if given else "real"), True


def _number(value) -> float | None:
    """A finite float from a number, or from numeric text (YAML 1.1 reads ``1e-3`` as a string);
    None if it is neither."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, numbers.Real):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _coerce(value, kind: str, nullable: bool):
    """``value`` as a plain value of ``kind``; raises ValueError (message: why) otherwise."""
    if value is None and nullable:
        return None
    if kind == "integer":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, str)):
            raise ValueError
        return int(value)  # "16" -> 16; "1.5", "a" -> ValueError
    if kind == "real":
        out = _number(value)
        if out is None:
            raise ValueError
        return out
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError
        return bool(value)
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError
        return value
    if kind == "vector":
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError
        return [_coerce(v, "real", False) for v in value]
    if kind == "points":
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError
        out = []
        for point in value:
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise ValueError
            out.append([_coerce(v, "real", False) for v in point])
        return out
    raise ValueError


def _axis(column: str, values, kind: str, nullable: bool, where: str) -> list:
    """The values of one grid axis, each coerced to the column's kind (one type per axis)."""
    out = []
    for i, value in enumerate(values):
        try:
            out.append(_coerce(value, kind, nullable))
        except (ValueError, TypeError, OverflowError):
            holds = _KIND_TEXT.get(kind, kind) + (" or null" if nullable else "")
            if isinstance(value, float) and not math.isfinite(value):
                holds = f"finite {holds}"
            raise PlkgInputError(
                f"{where}: grid {column} must hold {holds} (one type per axis, the type of the "
                f"field), got {value!r} ({type(value).__name__}) at entry {i + 1}"
            ) from None
    seen: dict = {}
    for i, value in enumerate(out):
        key = _same_key(value)
        if key in seen:
            raise PlkgInputError(
                f"{where}: grid {column} lists {values[i]!r} twice "
                f"(entries {seen[key] + 1} and {i + 1})"
            )
        seen[key] = i
    return out


def _same_key(value):
    """A hashable key equal for equal coerced values (0 and 0.0; nested lists as tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_same_key(v) for v in value)
    return value


def _check_power_dbm(value: float, what: str) -> None:
    """P_a in dBm must give a finite power in W (``plkg keyrate --pa-dbm``)."""
    try:
        watts = 10.0 ** ((value - 30.0) / 10.0)
    except OverflowError:
        watts = math.inf
    if not math.isfinite(watts):
        raise PlkgInputError(f"{what}: {value!r} dBm is not a finite power in W")
