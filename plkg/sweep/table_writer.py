"""The writer of a sweep result folder: resume, lock, Parquet parts and their checksums.

:class:`ResultTable` takes the folder's exclusive lock, checks the stored spec record (the same
spec resumes, a spec that extends it replaces it), verifies every part against ``_parts.json``,
then writes the rows of finished tasks as new parts, each recorded with its SHA-256 before it
gets its final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from pathlib import Path

from plkg.errors import PlkgInputError
from plkg.io.atomic import atomic_path, write_text_atomic
from plkg.io.folder_lock import LOCK_FILE, exclusive_owner
from plkg.io.sidecar_hash import file_sha256
from plkg.sweep.extension import _same_points, extension_problem
from plkg.sweep.table_files import (
    PART_GLOB,
    PARTS_FILE,
    PARTS_FORMAT,
    REJECTED_PREFIX,
    SPEC_FILE,
    _is_table_name,
    _is_temporary,
    _read_json,
    _read_part,
    _read_parts,
    check_table_path,
)
from plkg.sweep.table_schema import _INDEX_COLUMNS, _KEY_COLUMNS, rows_to_table

# Parts are flushed when this many rows are buffered or the flush interval has passed. The interval
# grows with the number of parts (FLUSH_SECONDS_PER_PART each, at most FLUSH_SECONDS_MAX), so a
# week-long sweep writes thousands of parts, not a hundred thousand, and _parts.json stays small.
FLUSH_ROWS = 2000
FLUSH_SECONDS = 5.0
FLUSH_SECONDS_PER_PART = 0.05
FLUSH_SECONDS_MAX = 300.0


def warn_stderr(message: str) -> None:
    """The default warning sink: one line on stderr."""
    print(f"plkg sweep: warning: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- writer
class ResultTable:
    """Writer of one sweep's result folder, used as a context manager.

    Entering it creates the folder (and missing parents), takes the folder's exclusive owner lock,
    removes temporary files of an earlier killed run, checks ``_spec.json`` (a spec that extends
    the table's replaces it, :attr:`extended` is then True), and verifies every part against
    ``_parts.json`` (:meth:`done_task_ids` and :meth:`missing_evaluations` then follow the rows of
    verified parts).
    Leaving it writes the buffered rows and releases the lock. If the table then holds no part at
    all (the run failed or was interrupted before its first task finished), everything this run
    created is removed again: ``_spec.json``, ``_parts.json``, the lock and the folders.

    Parameters
    ----------
    path : path
        The folder (conventionally ``*.parquet``), checked by
        :func:`plkg.sweep.table_files.check_table_path`.
    spec_record : dict
        :meth:`plkg.sweep.spec_model.SweepSpec.record`; a folder holding rows of another spec is
        refused unless this spec extends it (:func:`plkg.sweep.extension.extension_problem`).
    schema : pyarrow.Schema
        From :func:`plkg.sweep.table_schema.result_schema`.
    warn : callable(str), optional
        Where the one-line warnings go (a rejected part, a stale lock taken over, a stray file);
        default: stderr.
    option : str
        The option that named the folder, for messages.
    tasks : list of dict, optional
        :func:`plkg.sweep.expansion.expand` of the spec: a kept part whose ``task_index`` or
        ``eval_index`` differ from those of these tasks (a table extended by inserted grid values)
        is rewritten with them.
    """

    def __init__(
        self, path, spec_record: dict, schema, warn=None, option: str = "--out", tasks=None
    ):
        self.path = Path(path)
        self.schema = schema
        self.spec_record = spec_record
        self.warn = warn or warn_stderr
        self.shown = f"{option} {str(path)!r}"
        self._buffer: list[dict] = []
        self._last_flush = time.monotonic()
        self._parts: dict[str, dict] = {}
        self._done: set[str] = set()
        self._done_evaluations: set[tuple] = set()
        self._whole: set[str] = set()  # tasks with a scenario-level (error) row: nothing to add
        self.extended = False
        self.kept_rows = 0
        self._created_dirs: list[Path] = []
        self._wrote_spec = False
        self._adopting = False
        self._stack = contextlib.ExitStack()
        self._option = option
        self._tasks = None if tasks is None else {t["task_id"]: t for t in tasks}

    # -- opening
    def __enter__(self) -> ResultTable:
        check_table_path(self.path, self._option)
        try:
            self._make_folder()
            self._stack.enter_context(
                exclusive_owner(self.path, self.shown, on_takeover=self._took_over)
            )
            self._remove_temporaries()
            self._check_spec()
            self._done = self._verify_parts()
            if self._wrote_spec or self._adopting or not (self.path / PARTS_FILE).exists():
                self._write_parts_list()
        except BaseException:
            self._close(failed=True)
            raise
        return self

    def _make_folder(self) -> None:
        missing = []
        p = self.path
        while not p.exists():
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
        self.path.mkdir(parents=True, exist_ok=True)
        self._created_dirs = missing  # deepest first

    def _took_over(self, record: dict) -> None:
        from plkg.io.folder_lock import describe_holder

        self.warn(
            f"{self.shown}: taking over the lock of a plkg process that is gone "
            f"({describe_holder(record)})"
        )

    def _remove_temporaries(self) -> None:
        # temporary names of parts and records of a killed run; we hold the lock, so none is live
        for p in self.path.iterdir():
            if _is_temporary(p.name) and not p.name.startswith(f".{LOCK_FILE}."):
                p.unlink(missing_ok=True)

    def _has_parts(self) -> bool:
        return any(self.path.glob(PART_GLOB)) or bool(self._parts)

    def _check_spec(self) -> None:
        spec_path = self.path / SPEC_FILE
        text = json.dumps(self.spec_record, indent=1, sort_keys=True)
        stored = _read_json(spec_path, "spec record", self.shown)
        listed = _read_parts(self.path, self.shown)
        self._parts = listed or {}
        if stored is not None and _same_points(stored, json.loads(text)):
            if stored != json.loads(text):  # a checkpoint moved (same SHA-256): record its path
                write_text_atomic(spec_path, text)
            # a table of an older plkg (no part list): its readable parts are adopted
            self._adopting = listed is None
            return
        if stored is None and any(self.path.glob(PART_GLOB)):
            raise PlkgInputError(f"{self.shown} holds parts without {SPEC_FILE}")
        if stored is not None and self._has_parts():
            problem = (
                extension_problem(stored, json.loads(text))
                if isinstance(stored, dict)
                else "its spec record is not a mapping"
            )
            if problem is not None:
                raise PlkgInputError(
                    f"{self.shown} holds results of a different spec ({problem}); "
                    "choose another --out or delete that folder"
                )
            # the new spec adds points: its record replaces the old one, finished rows stay
            write_text_atomic(spec_path, text)
            self._adopting = listed is None
            self.extended = True
            return
        # a new table, or one whose earlier run wrote no rows: (re)write the spec record
        write_text_atomic(spec_path, text)
        self._parts = {}
        self._wrote_spec = True

    def _verify_parts(self) -> set[str]:
        done: set[str] = set()
        adopted = 0
        files = {p.name: p for p in self.path.glob(PART_GLOB)}
        for name in sorted(set(self._parts) - set(files)):
            self.warn(f"{self.shown}: {name} is listed but missing; its tasks will be recomputed")
            del self._parts[name]
        for name, part in sorted(files.items()):
            entry = self._parts.get(name)
            ids, problem = None, None
            digest, table = _read_part(part, columns=list(_KEY_COLUMNS + _INDEX_COLUMNS))
            if entry is None and not self._adopting:
                problem = f"is not listed in {PARTS_FILE}"
            elif entry is not None and digest != entry["sha256"]:
                problem = "does not match its recorded SHA-256 (damaged or edited)"
            elif isinstance(table, str):
                problem = f"cannot be read ({table})"
            else:
                ids = table.column("task_id").to_pylist()
                if entry is None:  # adopted from a table of an older plkg
                    self._parts[name] = {
                        "sha256": digest,
                        "rows": len(ids),
                        "bytes": part.stat().st_size,
                    }
                    adopted += 1
                elif len(ids) != entry.get("rows"):
                    problem = "holds another number of rows than recorded"
            if problem is not None:
                self._reject(part, problem)
                continue
            done.update(ids)
            self._note_evaluations(table)
            self._place(part, table)
        if adopted:
            self.warn(
                f"{self.shown}: adopted {adopted} part(s) written without a recorded checksum "
                f"(a table of an older plkg); their SHA-256 is recorded in {PARTS_FILE} now"
            )
        for p in sorted(self.path.iterdir()):
            if not _is_table_name(p.name):
                self.warn(f"{self.shown}: ignoring {p.name} (not a file of the sweep table)")
        return done

    def _note_evaluations(self, table) -> None:
        """Record the finished (task id, method, P_a) of a verified part's rows."""
        self.kept_rows += table.num_rows
        columns = [table.column(c).to_pylist() for c in _KEY_COLUMNS]
        for task_id, method, pa_dbm in zip(*columns, strict=True):
            if method is None:  # the scenario failed: the task's one row stands for all of it
                self._whole.add(task_id)
                continue
            self._done_evaluations.add((task_id, method, pa_dbm))
            # an evaluation at the scenario's own power (RIS without P_a) is listed with None
            self._done_evaluations.add((task_id, method, None))

    def _place(self, part: Path, table) -> None:
        """Rewrite a verified part whose index columns are not those of this spec's tasks."""
        if self._tasks is None:
            return
        indices = _spec_indices(table, self._tasks)
        if all(table.column(c).to_pylist() == indices[c] for c in _INDEX_COLUMNS):
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        whole = pq.read_table(part)  # verified against its SHA-256 above; we hold the lock
        for column in _INDEX_COLUMNS:
            i = whole.schema.get_field_index(column)
            whole = whole.set_column(
                i, whole.schema.field(i), pa.array(indices[column], pa.int64())
            )
        # the rows go to a new part (listed before it appears), then the old part goes
        self._write_part(whole, drop=part.name)
        part.unlink(missing_ok=True)

    def _reject(self, part: Path, problem: str) -> None:
        target = self.path / f"{REJECTED_PREFIX}{part.name}"
        n = 1
        while target.exists():
            n += 1
            target = self.path / f"{REJECTED_PREFIX}{n}-{part.name}"
        os.replace(part, target)
        self._parts.pop(part.name, None)
        self.warn(
            f"{self.shown}: {part.name} {problem}; moved to {target.name}, its tasks will be "
            "recomputed"
        )
        self._write_parts_list()

    def _write_parts_list(self) -> None:
        record = {"format": PARTS_FORMAT, "parts": self._parts}
        write_text_atomic(self.path / PARTS_FILE, json.dumps(record, indent=1, sort_keys=True))

    # -- writing
    def done_task_ids(self) -> set[str]:
        """Task ids of the verified parts (at least one row of each is finished)."""
        return set(self._done)

    def missing_evaluations(self, task: dict) -> dict | None:
        """``task`` with only the evaluations that have no row yet (each keeps its ``index``), or
        None when it has nothing left to run."""
        task_id = task["task_id"]
        if task_id in self._whole:
            return None
        if task_id not in self._done:
            return task
        missing = [
            {**ev, "index": i}
            for i, ev in enumerate(task["evaluations"])
            if (task_id, ev["method"], ev["pa_dbm"]) not in self._done_evaluations
        ]
        return {**task, "evaluations": missing} if missing else None

    def _flush_interval(self) -> float:
        return min(FLUSH_SECONDS_MAX, max(FLUSH_SECONDS, FLUSH_SECONDS_PER_PART * len(self._parts)))

    def add(self, rows: list[dict]) -> None:
        """Buffer the rows of one finished task; flush when the buffer is big or old."""
        self._buffer.extend(rows)
        if (
            len(self._buffer) >= FLUSH_ROWS
            or time.monotonic() - self._last_flush >= self._flush_interval()
        ):
            self.flush()

    def flush(self) -> Path | None:
        """Write the buffered rows as one part; returns its path.

        The part is written under a temporary name, its SHA-256 recorded in ``_parts.json``, then
        it is renamed: every visible part is listed, and a part listed but never renamed (a kill in
        between) is recomputed on resume.
        """
        self._last_flush = time.monotonic()
        if not self._buffer:
            return None
        path = self._write_part(rows_to_table(self._buffer, self.schema))
        self._buffer = []
        return path

    def _write_part(self, table, drop: str | None = None) -> Path:
        """Write ``table`` as a new part: temporary name, SHA-256 recorded in ``_parts.json``
        (where the part ``drop`` is unlisted in the same write), rename."""
        import pyarrow.parquet as pq

        name = f"part-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.parquet"
        path = self.path / name
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
            before = dict(self._parts)
            self._parts[name] = {
                "sha256": file_sha256(tmp),
                "rows": table.num_rows,
                "bytes": tmp.stat().st_size,
            }
            if drop is not None:
                self._parts.pop(drop, None)
            try:
                self._write_parts_list()
            except BaseException:
                self._parts = before
                raise
        return path

    # -- closing
    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._buffer:
                try:
                    self.flush()
                except Exception:
                    if exc is None:
                        raise
                    # the run is failing already: report its error, not a second one
        finally:
            self._close(failed=exc is not None)

    def _close(self, failed: bool) -> None:
        try:
            if not self._has_parts() and self._wrote_spec:
                for name in (SPEC_FILE, PARTS_FILE):
                    (self.path / name).unlink(missing_ok=True)
        finally:
            self._stack.close()  # releases the lock (removes _lock.json)
            if not self._has_parts_on_disk():
                for folder in self._created_dirs:
                    with contextlib.suppress(OSError):
                        folder.rmdir()  # only if empty
            self._buffer = []

    def _has_parts_on_disk(self) -> bool:
        try:
            return any(self.path.glob(PART_GLOB))
        except OSError:
            return False


def _spec_indices(table, tasks: dict) -> dict[str, list]:
    """``task_index`` and ``eval_index`` of a part's rows in the spec's tasks (by task id, and
    (method, P_a) within the task); a row the tasks do not hold keeps its own."""
    columns = {c: table.column(c).to_pylist() for c in _KEY_COLUMNS + _INDEX_COLUMNS}
    positions: dict[str, dict] = {}
    task_index, eval_index = [], []
    for task_id, method, pa_dbm, old_task, old_eval in zip(*columns.values(), strict=True):
        task = tasks.get(task_id)
        if task is None:
            task_index.append(old_task)
            eval_index.append(old_eval)
            continue
        task_index.append(task["index"])
        if method is None:  # the scenario's error row stands for the whole task
            eval_index.append(old_eval)
            continue
        where = positions.get(task_id)
        if where is None:
            where = positions[task_id] = {
                (ev["method"], ev["pa_dbm"]): i for i, ev in enumerate(task["evaluations"])
            }
        # an evaluation at the scenario's own power (RIS without P_a) is listed with None
        eval_index.append(where.get((method, pa_dbm), where.get((method, None), old_eval)))
    return {"task_index": task_index, "eval_index": eval_index}
