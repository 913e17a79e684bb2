"""The result table of a sweep: a folder of Parquet parts, checksummed, written by one process.

``results.parquet/`` holds

* ``_spec.json``: the spec the table belongs to (a folder holding rows of another spec is refused,
  unless that spec extends this one: :func:`plkg.sweep.spec.extension_problem`);
* ``_parts.json``: the SHA-256, row count and size of every part, recorded when the part is
  written (before it gets its final name);
* ``part-*.parquet``: whole tasks each, written under a temporary dot-name and renamed, so the
  folder is a consistent table at every instant, including after Ctrl-C or a killed job; every row
  carries the ``task_index`` and ``eval_index`` of the spec in ``_spec.json`` (parts kept by an
  extension are rewritten with those of the new spec, so the table's order is that of a fresh run
  of it);
* ``_lock.json`` while a ``plkg sweep`` writes it (:func:`plkg.data.folder_lock.exclusive_owner`:
  a second writer is refused, a lock left by a dead process is taken over);
* ``_rejected-part-*.parquet``: parts that failed verification, kept for inspection.

Readers (pyarrow, pandas, DuckDB, Dask) ignore names starting with ``.`` or ``_``. Resuming
verifies every part against ``_parts.json`` before reading its ``task_id``, ``method`` and
``pa_dbm`` columns (the finished evaluations of each task): a damaged,
truncated or unlisted part is moved aside (one warning line naming it) and its tasks recomputed;
a listed part that is missing has its tasks recomputed too. :func:`read_results` reads the folder
back as one table in task order, refusing parts that do not verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
import uuid
from pathlib import Path

from plkg.data.atomic import atomic_path, write_text_atomic
from plkg.data.folder_lock import LOCK_FILE, exclusive_owner
from plkg.errors import PlkgInputError
from plkg.sweep.tasks import ROW_FIELDS

SPEC_FILE = "_spec.json"
PARTS_FILE = "_parts.json"
PARTS_FORMAT = "plkg-sweep-parts-1"
REJECTED_PREFIX = "_rejected-"
PART_GLOB = "part-*.parquet"
# Parts are flushed when this many rows are buffered or the flush interval has passed. The interval
# grows with the number of parts (FLUSH_SECONDS_PER_PART each, at most FLUSH_SECONDS_MAX), so a
# week-long sweep writes thousands of parts, not a hundred thousand, and _parts.json stays small.
FLUSH_ROWS = 2000
FLUSH_SECONDS = 5.0
FLUSH_SECONDS_PER_PART = 0.05
FLUSH_SECONDS_MAX = 300.0
_OWN_NAMES = {SPEC_FILE, PARTS_FILE, LOCK_FILE}
# The columns that identify a row: its task and evaluation (plkg.sweep.spec.TASK_IDS).
_KEY_COLUMNS = ("task_id", "method", "pa_dbm")
# The columns that place a row in the table: positions in the spec's expansion.
_INDEX_COLUMNS = ("task_index", "eval_index")


def warn_stderr(message: str) -> None:
    """The default warning sink: one line on stderr."""
    print(f"plkg sweep: warning: {message}", file=sys.stderr)


# ----------------------------------------------------------------------------- schema
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
    """Arrow type of a swept column of one kind (:attr:`plkg.sweep.spec.SweepSpec.kinds`)."""
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


# ----------------------------------------------------------------------------- folder checks
def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def _is_table_name(name: str) -> bool:
    return (
        name in _OWN_NAMES
        or name.startswith(REJECTED_PREFIX)
        or (name.startswith("part-") and name.endswith(".parquet"))
        or _is_temporary(name)
    )


def check_table_path(value, option: str = "--out") -> Path:
    """Validate the table folder argument before anything is written.

    Refused (PlkgInputError naming ``option`` and the path): an empty name; a regular file; a
    path below a regular file; an existing folder that is not a sweep table (it holds other
    files); a table with parts but no ``_spec.json``; a folder that cannot be written.
    """
    if value is None or not str(value).strip():
        raise PlkgInputError(f"{option} needs a folder name for the result table, got {value!r}")
    path = Path(value)
    shown = f"{option} {str(value)!r}"
    if path.exists() and not path.is_dir():
        raise PlkgInputError(f"{shown} is a file, not a sweep result folder")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
        if existing.exists() and not existing.is_dir():
            raise PlkgInputError(f"{shown}: {str(existing)!r} is a file, not a folder")
    if path.is_dir():
        names = sorted(p.name for p in path.iterdir())
        has_parts = any(n.startswith("part-") and n.endswith(".parquet") for n in names)
        if SPEC_FILE not in names and has_parts:
            raise PlkgInputError(f"{shown} holds parts without {SPEC_FILE}: not a table of plkg")
        foreign = [n for n in names if not _is_table_name(n)]
        if foreign and SPEC_FILE not in names:  # a killed run may leave only its _lock.json
            shown_names = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise PlkgInputError(
                f"{shown} is a folder that holds no sweep table ({shown_names}); "
                "choose a new folder name"
            )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PlkgInputError(f"{shown}: folder {str(existing)!r} is not writable")
    return path


def _read_part(path: Path, columns=None):
    """(SHA-256 hex, table or None) of one part, its bytes read once. The table is None (and the
    reader's exception type returned instead) when pyarrow cannot read the bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    try:
        return digest, pq.read_table(pa.BufferReader(blob), columns=columns)
    except Exception as exc:  # noqa: BLE001 - any reader failure makes the part unreadable
        return digest, type(exc).__name__


def _read_json(path: Path, what: str, shown: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise PlkgInputError(
            f"{shown}: {what} {path.name} is damaged ({type(exc).__name__}); "
            f"delete {str(path)!r} to recompute every part, or choose another folder"
        ) from exc


def _read_parts(path: Path, shown: str) -> dict | None:
    """The part records of ``_parts.json`` (name -> {sha256, rows, bytes}), None if absent."""
    data = _read_json(path / PARTS_FILE, "part list", shown)
    if data is None:
        return None
    parts = data.get("parts") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("format") != PARTS_FORMAT
        or not isinstance(parts, dict)
        or not all(isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in parts.values())
    ):
        raise PlkgInputError(
            f"{shown}: part list {PARTS_FILE} is damaged (not {PARTS_FORMAT}); delete "
            f"{str(path / PARTS_FILE)!r} to re-check every part (those that cannot be read are "
            "recomputed), or choose another folder"
        )
    return parts


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
        The folder (conventionally ``*.parquet``), checked by :func:`check_table_path`.
    spec_record : dict
        :meth:`plkg.sweep.spec.SweepSpec.record`; a folder holding rows of another spec is refused
        unless this spec extends it (:func:`plkg.sweep.spec.extension_problem`).
    schema : pyarrow.Schema
        From :func:`result_schema`.
    warn : callable(str), optional
        Where the one-line warnings go (a rejected part, a stale lock taken over, a stray file);
        default: stderr.
    option : str
        The option that named the folder, for messages.
    tasks : list of dict, optional
        :func:`plkg.sweep.spec.expand` of the spec: a kept part whose ``task_index`` or
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
        from plkg.data.folder_lock import describe_holder

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
        from plkg.sweep.spec import extension_problem

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


def _same_points(stored: dict, new: dict) -> bool:
    """Whether two spec records describe the same rows: equal but for where a checkpoint of the
    same SHA-256 lies (its path)."""

    def points(record: dict) -> dict:
        checkpoints = record.get("checkpoints")
        if not isinstance(checkpoints, dict):
            return record
        shas = {m: c.get("sha256") if isinstance(c, dict) else c for m, c in checkpoints.items()}
        return {**record, "checkpoints": shas}

    return isinstance(stored, dict) and points(stored) == points(new)


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


# ----------------------------------------------------------------------------- reading
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
