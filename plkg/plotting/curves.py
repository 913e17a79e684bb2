"""Curves of a long table: one curve per distinct value (combination) of the grouping columns.

A long table here is a mapping ``column name -> sequence`` of equal lengths (one entry per row),
as a sweep table or a reproduce CSV holds its results: ``pa_dbm``, ``method``, ``sum_kr_bits``,
... Rows are grouped by the ``by`` columns, sorted by ``x`` inside each group, and drawn with the
house style's cycle (a distinct colour, marker and dash per curve).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.errors import PlkgInputError


def check_columns(table: dict, columns, option: str) -> None:
    """Refuse a column the table does not have; the message names it and lists the available."""
    for name in columns:
        if name not in table:
            raise PlkgInputError(
                f"{option} {name!r}: no such column; available: {', '.join(table)}"
            )


def group_keys(table: dict, by) -> list[tuple]:
    """The distinct value combinations of the ``by`` columns, in order of first appearance."""
    if not by:
        return [()]
    n = len(next(iter(table.values()))) if table else 0
    return list(dict.fromkeys(tuple(table[c][i] for c in by) for i in range(n)))


def group_label(by, key: tuple) -> str:
    """Legend text of one group: the value alone for one column (a method name stays verbatim),
    ``col=value`` pairs for several."""
    if len(by) == 1:
        return _text(key[0])
    return ", ".join(f"{c}={_text(v)}" for c, v in zip(by, key, strict=True))


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _as_float(values) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            pass  # text or an empty cell: no point
    return out


def curve_points(table: dict, x: str, y: str, by, key: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(x [n], y [n]) of the rows in group ``key``: distinct x in ascending order, y the mean of
    the group's rows at that x (several draws); a non-numeric or missing y is NaN (a gap)."""
    n = len(table[x])
    rows = [i for i in range(n) if tuple(table[c][i] for c in by) == tuple(key)]
    xs = _as_float([table[x][i] for i in rows])
    ys = _as_float([table[y][i] for i in rows])
    ok = np.isfinite(xs)
    xs, ys = xs[ok], ys[ok]
    ux = np.unique(xs)
    means = np.full(ux.size, np.nan)
    for j, v in enumerate(ux):
        vals = ys[(xs == v) & np.isfinite(ys)]
        if vals.size:
            means[j] = float(np.mean(vals))
    return ux, means


def plot_curves(ax, table: dict, x: str, y: str, by=()) -> list[str]:
    """Draw one curve of ``y`` against ``x`` per group of ``by`` on ``ax``; returns the labels.

    Markers of curves that coincide are staggered (``markevery`` offsets) so that each stays
    visible; a group with no finite point is skipped.
    """
    by = list(by)
    check_columns(table, [x, y, *by], "column")
    labels = []
    for i, key in enumerate(group_keys(table, by)):
        xs, ys = curve_points(table, x, y, by, key)
        if not np.any(np.isfinite(ys)):
            continue
        label = group_label(by, key) if by else y
        stride = max(1, math.ceil(len(xs) / 12))  # at most ~12 markers per curve
        ax.plot(xs, ys, label=label, markevery=(i % stride, stride))
        labels.append(label)
    return labels


def filter_rows(table: dict, where: dict) -> dict:
    """The rows whose columns equal ``where``'s values (compared as text, numbers as numbers)."""
    check_columns(table, list(where), "--where")
    n = len(next(iter(table.values()))) if table else 0
    keep = [i for i in range(n) if all(_equal(table[c][i], v) for c, v in where.items())]
    return {c: [vals[i] for i in keep] for c, vals in table.items()}


def _equal(cell, wanted: str) -> bool:
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        try:
            return float(cell) == float(wanted)
        except ValueError:
            return False
    return str(cell) == wanted
