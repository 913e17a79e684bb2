"""The table ``plkg plot TABLE`` draws: read it, keep the chosen rows, fill in the default columns.

A TABLE is a ``plkg sweep --out`` folder, one Parquet file or a reproduce CSV (numbers parsed,
empty cells NaN). By default x = ``pa_dbm``, one panel per key-rate column with a finite value
(``sum_kr_bits``, ``min_kr_bits``, ``wskr_bits``) and one curve per ``method`` and per other swept
parameter that varies; rows of an errored evaluation are left out.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from plkg.errors import PlkgInputError
from plkg.sweep.tasks import ROW_FIELDS

# Result columns of a sweep table drawn by default (those present with a finite value).
DEFAULT_Y = ("sum_kr_bits", "min_kr_bits", "wskr_bits")

# Columns of a sweep table that are bookkeeping or results, never a curve's grouping: every row
# field but the scenario's name and the method, plus the draw index of random sweeps.
NOT_GROUPING = (set(ROW_FIELDS) - {"scenario", "method"}) | {"draw"}


def _where_pairs(values) -> dict:
    out = {}
    for item in values:
        col, sep, value = str(item).partition("=")
        if not sep or not col:
            raise PlkgInputError(f"--where {item!r}: expected COL=VALUE")
        out[col] = value
    return out


def _number(text: str):
    """A CSV cell as float when it is a number, else the text (empty -> NaN)."""
    if text == "":
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return text


def read_table(path) -> tuple[dict, str]:
    """(columns name -> list of values, what it is) of a sweep folder, a Parquet file or a CSV."""
    path = Path(path)
    if not path.exists():
        raise PlkgInputError(f"TABLE {str(path)!r} does not exist")
    if path.is_dir():
        from plkg.sweep.table import read_results

        return read_results(path).to_pydict(), "sweep"
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pydict(), "sweep"
        except (pa.ArrowException, OSError) as exc:
            raise PlkgInputError(
                f"TABLE {str(path)!r} is not a readable Parquet file: {exc}"
            ) from exc
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        if len(rows) < 2:
            raise PlkgInputError(f"TABLE {str(path)!r} holds no rows")
        header = rows[0]
        table = {
            c: [_number(r[i]) if i < len(r) else float("nan") for r in rows[1:]]
            for i, c in enumerate(header)
        }
        return table, "csv"
    raise PlkgInputError(
        f"TABLE {str(path)!r}: expected a sweep table folder, a .parquet or a .csv file"
    )


def _finite_any(values) -> bool:
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return True
    return False


def _varies(values) -> bool:
    seen = set()
    for v in values:
        if isinstance(v, (list, dict)):
            return False  # vectors and layouts do not label a curve
        seen.add(v)
        if len(seen) > 1:
            return True
    return False


def default_selection(table: dict, kind: str, x, y, by) -> tuple[str, list, list]:
    """(x, y columns, grouping columns), filling in the defaults described in the module doc."""
    if x is None:
        x = (
            "pa_dbm"
            if "pa_dbm" in table
            else next((c for c in table if _finite_any(table[c])), None)
        )
        if x is None:
            raise PlkgInputError(f"no numeric column to plot; available: {', '.join(table)}")
    if y is None:
        y = [c for c in DEFAULT_Y if c in table and c != x and _finite_any(table[c])]
        if not y:
            y = [c for c in table if c != x and _finite_any(table[c])][:1]
        if not y:
            raise PlkgInputError(
                f"no numeric column to plot against {x!r}; available: {', '.join(table)}"
            )
    if by is None:
        by = [c for c in ("method", "scheme") if c in table]
        if kind == "sweep":
            by += [
                c
                for c in table
                if c not in NOT_GROUPING and c not in by and c != x and _varies(table[c])
            ]
    return x, list(y), list(by)


def check_numeric(table: dict, x: str, ys) -> None:
    """Refuse an x or y column without one finite number (text, or empty after --where): it
    would give an empty figure."""
    for option, column in (("--x", x), *(("--y", y) for y in ys)):
        if not _finite_any(table[column]):
            raise PlkgInputError(
                f"{option} {column!r}: column {column!r} is not numeric (no finite number in "
                "the selected rows)"
            )


def _drop_errors(table: dict) -> dict:
    if "status" not in table:
        return table
    keep = [i for i, s in enumerate(table["status"]) if s != "error"]
    return {c: [v[i] for i in keep] for c, v in table.items()}
