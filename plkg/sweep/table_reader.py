"""Reading a sweep result folder back as one table, in task order, every part verified first."""

from __future__ import annotations

import hashlib
from pathlib import Path

from plkg.errors import PlkgInputError
from plkg.sweep.table_files import PART_GLOB, PARTS_FILE, _read_parts


def read_results(path, verify: bool = True, columns=None):
    """The whole result folder as one ``pyarrow.Table``, sorted by task and evaluation.

    Parameters
    ----------
    path : path
        The result folder.
    verify : bool
        Check every part against its SHA-256 in ``_parts.json`` first (default); a part that is
        unlisted or does not match is refused, never read.
    columns : list of str, optional
        Read only these columns (default: all).

    Raises
    ------
    FileNotFoundError
        No such folder.
    PlkgInputError
        No rows yet, no ``_parts.json`` (a table of an older plkg: pass ``verify=False``), or a
        part that does not verify (rerun the ``plkg sweep`` command: it recomputes it).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    shown = f"sweep results {str(path)!r}"
    parts = sorted(path.glob(PART_GLOB))  # before the part list: every part seen is listed in it
    if not parts:
        if not path.is_dir():
            raise FileNotFoundError(2, "sweep results do not exist", str(path))
        raise PlkgInputError(f"{shown} hold no rows yet")
    listed = None
    if verify:
        listed = _read_parts(path, shown)
        if listed is None:
            raise PlkgInputError(
                f"{shown} have no {PARTS_FILE} to verify the parts against (written by an older "
                "plkg?): rerun the plkg sweep command, or read them with verify=False"
            )
    order = ["task_index", "eval_index"]
    wanted = None if columns is None else list(columns) + [c for c in order if c not in columns]
    tables = []
    for part in parts:
        blob = part.read_bytes()  # hashed and parsed from the same bytes, read once
        if listed is not None:
            entry = listed.get(part.name)
            if entry is None or hashlib.sha256(blob).hexdigest() != entry["sha256"]:
                why = "is not listed" if entry is None else "does not match its SHA-256"
                raise PlkgInputError(
                    f"{shown}: {part.name} {why}; rerun the plkg sweep command to recompute it"
                )
        tables.append(pq.read_table(pa.BufferReader(blob), columns=wanted))
    table = pa.concat_tables(tables)
    table = table.sort_by([(c, "ascending") for c in order])
    return table if columns is None else table.select(list(columns))


def count_failed_tasks(table) -> int:
    """Number of distinct tasks with at least one error row."""
    import pyarrow.compute as pc

    errors = table.filter(pc.equal(table.column("status"), "error"))
    return len(set(errors.column("task_id").to_pylist()))
