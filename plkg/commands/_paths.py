"""Output paths of the CLI: names from configs become safe file names, results stay inside the
folder the user asked for, and unusable ``--out``/``--export`` values are refused up front.
"""

from __future__ import annotations

import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
MAX_STEM = 100


def safe_stem(name: str, fallback: str = "scenario") -> str:
    """A file-name stem from a config ``name``: letters, digits and ``._+-`` only, no path
    separators, no leading dots (``../../x`` -> ``x``), at most 100 characters."""
    stem = _UNSAFE.sub("_", str(name)).strip("._")[:MAX_STEM].strip("._")
    return stem or fallback


def inside(folder: str | Path, relative: str | Path) -> Path:
    """``folder / relative``, refused (ValueError) unless it resolves inside ``folder``."""
    base = Path(folder).resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise ValueError(f"output path {str(relative)!r} would leave the folder {str(folder)!r}")
    return target


def _check_parents(path: Path, option: str) -> None:
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{option} {str(path)!r}: {str(parent)!r} is a file, not a folder")
            return


def output_file(value: str | None, option: str) -> Path | None:
    """Validate a file argument (``--export``, ``--out`` of a file): non-empty, not a folder, not
    below a regular file. ``None`` (option not given) passes through."""
    if value is None:
        return None
    if not str(value).strip():
        raise ValueError(f"{option} needs a file name, got {value!r}")
    path = Path(value)
    if path.is_dir() or str(value).endswith(("/", "\\")):
        raise ValueError(f"{option} {str(value)!r} is a folder; give a file name")
    _check_parents(path, option)
    return path


def output_folder(value: str | None, option: str) -> Path:
    """Validate a folder argument (``--out``, ``--out-dir``): non-empty, not a regular file, not
    below a regular file."""
    if value is None or not str(value).strip():
        raise ValueError(f"{option} needs a folder name, got {value!r}")
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {str(value)!r} is a file, not a folder")
    _check_parents(path, option)
    return path
