"""The Arrow schema of a sweep's result table, and rows converted to it.

The table holds the fixed columns of :data:`plkg.sweep.tasks.ROW_FIELDS` with the swept
parameters after ``eval_index``; a swept column takes the Arrow type of its kind
(:attr:`plkg.sweep.spec_model.SweepSpec.kinds`).
"""

from __future__ import annotations

from plkg.errors import PlkgInputError
from plkg.sweep.tasks import ROW_FIELDS

# The columns that identify a row: its task and evaluation (plkg.sweep.spec_model.TASK_IDS).
_KEY_COLUMNS = ("task_id", "method", "pa_dbm")
# The columns that place a row in the table: positions in the spec's expansion.
_INDEX_COLUMNS = ("task_index", "eval_index")


def _fixed_types():
    import pyarrow as pa

    f64, i64, s = pa.float64(), pa.int64(), pa.string()
    return {
        "task_id": s,
        "task_index": i64,
        "task_seed": i64,
        "eval_index": i64,
        "pa_dbm": f64,
        "scenario": s,
        "fingerprint": s,
        "method": s,
        "status": s,
        "kr_bits": pa.list_(f64),
        "sum_kr_bits": f64,
        "min_kr_bits": f64,
        "wskr_bits": f64,
        "ub_bits": f64,
        "n_subchannels": i64,
        "iterations": i64,
        "seconds": f64,
        "design_seconds": f64,
        "error": s,
    }


def _kind_type(kind: str):
    """Arrow type of a swept column of one kind (:attr:`plkg.sweep.spec_model.SweepSpec.kinds`)."""
    import pyarrow as pa

    return {
        "integer": pa.int64(),
        "real": pa.float64(),
        "bool": pa.bool_(),
        "string": pa.string(),
        "vector": pa.list_(pa.float64()),
        "points": pa.list_(pa.list_(pa.float64())),
    }[kind]


def _value_type(column: str, values: list):
    """Arrow type of one swept column from its values (specs without kinds): one type per column,
    else PlkgInputError naming the column."""
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    if all(isinstance(v, str) for v in present):
        return pa.string()
    if all(isinstance(v, list) for v in present):
        flat = [x for v in present for x in v]
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat):
            return pa.list_(pa.float64())
        return pa.list_(pa.list_(pa.float64()))  # (x, y) positions of the RIS layouts
    kinds = sorted({type(v).__name__ for v in present})
    raise PlkgInputError(f"swept column {column!r} mixes value types ({', '.join(kinds)})")


def result_schema(tasks: list[dict], kinds: dict | None = None):
    """The table's schema: fixed columns with the swept parameters after ``eval_index``.

    ``kinds`` (column -> kind, from the spec) fixes the type of each swept column; without it the
    type is read from the values, which must then be of one type per column.
    """
    import pyarrow as pa

    fixed = _fixed_types()
    columns = []
    for task in tasks:
        columns += [c for c in task["params"] if c not in columns]
    kinds = kinds or {}
    params = []
    for c in columns:
        if c == "draw":
            params.append(pa.field(c, pa.int64()))
        elif c in kinds:
            params.append(pa.field(c, _kind_type(kinds[c])))
        else:
            params.append(pa.field(c, _value_type(c, [t["params"].get(c) for t in tasks])))
    head = [pa.field(n, fixed[n]) for n in ROW_FIELDS[:4]]
    tail = [pa.field(n, fixed[n]) for n in ROW_FIELDS[4:]]
    return pa.schema(head + params + tail)


def check_params_fit(tasks: list[dict], schema) -> None:
    """Convert every task's parameters to the table's column types now, so that a value that does
    not fit its column is refused before any task runs (not when the first rows are written)."""
    import pyarrow as pa

    names = [n for n in schema.names if n not in ROW_FIELDS]
    if not names:
        return
    sub = pa.schema([schema.field(n) for n in names])
    try:
        pa.Table.from_pylist([{n: t["params"].get(n) for n in names} for t in tasks], schema=sub)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        raise PlkgInputError(f"a swept value does not fit its table column: {exc}") from exc


def rows_to_table(rows: list[dict], schema):
    import pyarrow as pa

    return pa.Table.from_pylist(
        [{name: row.get(name) for name in schema.names} for row in rows], schema=schema
    )
