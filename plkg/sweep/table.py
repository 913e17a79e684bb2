"""The result table of a sweep: a folder of Parquet parts, written atomically as tasks finish.

``results.parquet/`` holds ``_spec.json`` (the spec it belongs to) and ``part-*.parquet`` files.
Each part holds whole tasks (every row of a task lands in the same part) and is written under a
temporary dot-name and renamed, so the folder is a consistent table at every instant, including
after Ctrl-C or a killed job: readers (pyarrow, pandas, DuckDB, Dask) ignore names starting with
``.`` or ``_``. Resuming reads the ``task_id`` column of the parts and skips those tasks.
:func:`read_results` reads the folder back as one table in task order.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from plkg.data.atomic import write_text_atomic, write_with_atomic
from plkg.sweep.tasks import ROW_FIELDS

SPEC_FILE = "_spec.json"
# Parts are flushed when this many rows are buffered or this many seconds have passed.
FLUSH_ROWS = 2000
FLUSH_SECONDS = 5.0


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


def _value_type(values: list):
    """Arrow type of one swept column from its values: int64, float64, bool, string, list."""
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    if all(isinstance(v, list) for v in present):
        flat = [x for v in present for x in v]
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat):
            return pa.list_(pa.float64())
        return pa.list_(pa.list_(pa.float64()))  # (x, y) positions of the RIS layouts
    return pa.string()


def result_schema(tasks: list[dict]):
    """The table's schema: fixed columns with the swept parameters after ``eval_index``."""
    import pyarrow as pa

    fixed = _fixed_types()
    columns = []
    for task in tasks:
        columns += [c for c in task["params"] if c not in columns]
    params = [pa.field(c, _value_type([t["params"].get(c) for t in tasks])) for c in columns]
    head = [pa.field(n, fixed[n]) for n in ROW_FIELDS[:4]]
    tail = [pa.field(n, fixed[n]) for n in ROW_FIELDS[4:]]
    return pa.schema(head + params + tail)


def rows_to_table(rows: list[dict], schema):
    import pyarrow as pa

    return pa.Table.from_pylist(
        [{name: row.get(name) for name in schema.names} for row in rows], schema=schema
    )


class ResultTable:
    """Writer of one sweep's result folder.

    Parameters
    ----------
    path : path
        The folder (conventionally ``*.parquet``); created if missing.
    spec_record : dict
        :meth:`plkg.sweep.spec.SweepSpec.record`; a folder holding another spec is refused.
    schema : pyarrow.Schema
        From :func:`result_schema`.
    """

    def __init__(self, path, spec_record: dict, schema):
        self.path = Path(path)
        self.schema = schema
        self._buffer: list[dict] = []
        self._last_flush = time.monotonic()
        self._check_spec(spec_record)

    def _check_spec(self, record: dict) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"--out {str(self.path)!r} exists and is not a sweep result folder")
        spec_path = self.path / SPEC_FILE
        text = json.dumps(record, indent=1, sort_keys=True)
        if spec_path.exists():
            if json.loads(spec_path.read_text()) != json.loads(text):
                raise ValueError(
                    f"--out {str(self.path)!r} holds results of a different spec; "
                    "choose another --out or delete that folder"
                )
            return
        if self.path.exists() and any(self.path.glob("part-*.parquet")):
            raise ValueError(f"--out {str(self.path)!r} holds parts without {SPEC_FILE}")
        self.path.mkdir(parents=True, exist_ok=True)
        write_text_atomic(spec_path, text)

    def done_task_ids(self) -> set[str]:
        """Task ids already in the table (their rows are complete)."""
        import pyarrow.parquet as pq

        done: set[str] = set()
        for part in sorted(self.path.glob("part-*.parquet")):
            done.update(pq.read_table(part, columns=["task_id"]).column(0).to_pylist())
        return done

    def add(self, rows: list[dict]) -> None:
        """Buffer the rows of one finished task; flush when the buffer is big or old."""
        self._buffer.extend(rows)
        if len(self._buffer) >= FLUSH_ROWS or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> Path | None:
        """Write the buffered rows as one part (atomically); returns its path."""
        import pyarrow.parquet as pq

        self._last_flush = time.monotonic()
        if not self._buffer:
            return None
        table = rows_to_table(self._buffer, self.schema)
        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
        path = write_with_atomic(self.path / name, lambda tmp: pq.write_table(table, tmp))
        self._buffer = []
        return path


def read_results(path):
    """The whole result folder as one ``pyarrow.Table``, sorted by task and evaluation."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    parts = sorted(path.glob("part-*.parquet"))
    if not parts:
        if not path.is_dir():
            raise FileNotFoundError(f"sweep results {str(path)!r} do not exist")
        raise ValueError(f"sweep results {str(path)!r} hold no rows yet")
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    return table.sort_by([("task_index", "ascending"), ("eval_index", "ascending")])


def count_failed_tasks(table) -> int:
    """Number of distinct tasks with at least one error row."""
    import pyarrow.compute as pc

    errors = table.filter(pc.equal(table.column("status"), "error"))
    return len(set(errors.column("task_id").to_pylist()))
