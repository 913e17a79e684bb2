"""The files of a sweep result folder: their names, the part list and the checks of the folder.

``_parts.json`` records the SHA-256, row count and size of every ``part-*.parquet``;
:func:`check_table_path` refuses a folder argument before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from plkg.errors import PlkgInputError
from plkg.io.folder_lock import LOCK_FILE

SPEC_FILE = "_spec.json"
PARTS_FILE = "_parts.json"
PARTS_FORMAT = "plkg-sweep-parts-1"
REJECTED_PREFIX = "_rejected-"
PART_GLOB = "part-*.parquet"
_OWN_NAMES = {SPEC_FILE, PARTS_FILE, LOCK_FILE}


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
