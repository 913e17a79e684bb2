"""The result table of a sweep: a folder of Parquet parts, checksummed, written by one process.

``results.parquet/`` holds

* ``_spec.json``: the spec the table belongs to (a folder holding rows of another spec is refused,
  unless that spec extends this one: :func:`plkg.sweep.extension.extension_problem`);
* ``_parts.json``: the SHA-256, row count and size of every part, recorded when the part is
  written (before it gets its final name);
* ``part-*.parquet``: whole tasks each, written under a temporary dot-name and renamed, so the
  folder is a consistent table at every instant, including after Ctrl-C or a killed job; every row
  carries the ``task_index`` and ``eval_index`` of the spec in ``_spec.json`` (parts kept by an
  extension are rewritten with those of the new spec, so the table's order is that of a fresh run
  of it);
* ``_lock.json`` while a ``plkg sweep`` writes it (:func:`plkg.io.folder_lock.exclusive_owner`:
  a second writer is refused, a lock left by a dead process is taken over);
* ``_rejected-part-*.parquet``: parts that failed verification, kept for inspection.

Readers (pyarrow, pandas, DuckDB, Dask) ignore names starting with ``.`` or ``_``. Resuming
verifies every part against ``_parts.json`` before reading its ``task_id``, ``method`` and
``pa_dbm`` columns (the finished evaluations of each task): a damaged,
truncated or unlisted part is moved aside (one warning line naming it) and its tasks recomputed;
a listed part that is missing has its tasks recomputed too.
:func:`~plkg.sweep.table_reader.read_results` reads the folder back as one table in task order,
refusing parts that do not verify.

The parts are :mod:`plkg.sweep.table_files` (file names, part list, folder checks),
:mod:`plkg.sweep.table_schema` (the Arrow schema), :mod:`plkg.sweep.table_writer`
(:class:`~plkg.sweep.table_writer.ResultTable`: resume, lock, parts) and
:mod:`plkg.sweep.table_reader` (reading back); their public names are importable from here as well.
"""

from plkg.io.sidecar_hash import file_sha256
from plkg.sweep.table_files import (
    PART_GLOB,
    PARTS_FILE,
    PARTS_FORMAT,
    REJECTED_PREFIX,
    SPEC_FILE,
    check_table_path,
)
from plkg.sweep.table_reader import count_failed_tasks, read_results
from plkg.sweep.table_schema import check_params_fit, result_schema, rows_to_table
from plkg.sweep.table_writer import (
    FLUSH_ROWS,
    FLUSH_SECONDS,
    FLUSH_SECONDS_MAX,
    FLUSH_SECONDS_PER_PART,
    ResultTable,
    warn_stderr,
)

__all__ = [
    "FLUSH_ROWS",
    "FLUSH_SECONDS",
    "FLUSH_SECONDS_MAX",
    "FLUSH_SECONDS_PER_PART",
    "PARTS_FILE",
    "PARTS_FORMAT",
    "PART_GLOB",
    "REJECTED_PREFIX",
    "SPEC_FILE",
    "ResultTable",
    "check_params_fit",
    "check_table_path",
    "count_failed_tasks",
    "file_sha256",
    "read_results",
    "result_schema",
    "rows_to_table",
    "warn_stderr",
]
