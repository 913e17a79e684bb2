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


def curve_styles(count: int) -> list[dict]:
    """The style (colour, marker, dash, marker size) of curve ``i`` for ``i < count``: the
    ``i``-th entry of the current ``axes.prop_cycle`` (the house style's inside
    :func:`plkg.plotting.house_style`), repeating after its end."""
    import matplotlib

    cycle = list(matplotlib.rcParams["axes.prop_cycle"]) or [{}]
    return [dict(cycle[i % len(cycle)]) for i in range(count)]


def marker_stride(n_points: int, n_curves: int) -> int:
    """Every how many points a curve draws a marker: at most ~12 markers per curve, and every
    2nd point (or sparser) when several curves share the axes, so that staggered markers of
    coinciding curves stay apart; every point for a curve of one or two points."""
    stride = max(1, math.ceil(n_points / 12))
    if n_curves > 1 and n_points >= 3:
        stride = max(2, stride)
    return stride


def plot_curves(ax, table: dict, x: str, y: str, by=()) -> list[str]:
    """Draw one curve of ``y`` against ``x`` per group of ``by`` on ``ax``; returns the labels.

    Group ``i`` (in order of first appearance in ``table``) takes style ``i`` of the cycle
    (:func:`curve_styles`) whatever the other groups hold, so a group has the same colour,
    marker and dash in every panel drawn from the same table. Markers of the curves are
    staggered (curve ``i`` marks every ``stride``-th point from offset ``i % stride``, see
    :func:`marker_stride`) so that coinciding curves stay visible; a group with no finite
    point is not drawn.
    """
    by = list(by)
    check_columns(table, [x, y, *by], "column")
    keys = group_keys(table, by)
    styles = curve_styles(len(keys))
    labels = []
    for i, key in enumerate(keys):
        xs, ys = curve_points(table, x, y, by, key)
        if not np.any(np.isfinite(ys)):
            continue
        label = group_label(by, key) if by else y
        stride = marker_stride(len(xs), len(keys))
        ax.plot(xs, ys, label=label, markevery=(i % stride, stride), **styles[i])
        labels.append(label)
    return labels


def legend_entries(axes, order=None) -> tuple[list, list[str]]:
    """(handles, labels) of every labelled curve of ``axes`` (any iterable of Axes), one entry
    per label (the first panel that draws it), for one legend of a whole figure: a curve
    missing from one panel still has its entry. ``order``: labels in the wanted order (others
    follow in order of appearance)."""
    entries: dict[str, object] = {}
    for ax in np.ravel(axes):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    rank = {label: i for i, label in enumerate(order or [])}
    labels = sorted(entries, key=lambda lab: rank.get(lab, len(rank)))
    return [entries[lab] for lab in labels], labels


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
