"""Advisory locks on a folder.

* :func:`folder_lock`: a short lock, so a dataset's ``.npz`` and its sidecar are written as one
  unit. On POSIX it is ``flock`` on the folder itself (no lock file is left behind, and readers
  can take a shared lock in a read-only folder). Elsewhere it falls back to :mod:`filelock` on a
  hidden ``.plkg.lock`` file in the folder.
* :func:`exclusive_owner`: one writing process for a long job (a sweep table), a second writer
  refused with the holder's pid and host, a stale holder (a dead process) taken over.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

from plkg.errors import PlkgInputError


@contextmanager
def folder_lock(folder: str | Path, shared: bool = False):
    """Hold an exclusive (writers) or shared (readers) lock on ``folder`` while in the block.

    Parameters
    ----------
    folder : path of an existing folder
    shared : bool
        True for readers (many at a time), False for a writer (alone).
    """
    folder = Path(folder)
    if fcntl is None:  # pragma: no cover - Windows
        from filelock import FileLock

        with FileLock(str(folder / ".plkg.lock")):
            yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        # A folder we cannot open cannot be written either; the read/write that follows reports it.
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        except OSError:  # pragma: no cover - file systems without flock (some NFS mounts)
            pass  # the sidecar's npz_sha256 still detects a mixed pair on load
        yield
    finally:
        os.close(fd)  # closing releases the lock


# ----------------------------------------------------------------------------- one owner
LOCK_FILE = "_lock.json"


class FolderBusyError(PlkgInputError):
    """The folder is held by another writer (a live process); the message names it."""


def _hostname() -> str:
    import socket

    return socket.gethostname()


def process_start_ticks(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux ``/proc/PID/stat`` field
    22), or None where unknown: with the pid it identifies a process across pid reuse."""
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
        return int(stat[stat.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _valid_pid(pid) -> bool:
    return not isinstance(pid, bool) and isinstance(pid, int) and pid > 0


def process_alive(pid: int, start_ticks: int | None = None) -> bool:
    """Whether process ``pid`` (with that start time, when given and known) runs on this host.
    A pid that names no single process (0, negative: ``kill`` would test a process group; not an
    integer) is not alive."""
    if not _valid_pid(pid):
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # exists, owned by someone else (or an unusable pid: do not take over)
    if start_ticks is not None:
        now = process_start_ticks(pid)
        if now is not None and now != start_ticks:
            return False  # the pid was reused by another process
    return True


def read_holder(folder: str | Path) -> dict | None:
    """The lock record of ``folder`` (pid, host, started, command), {} if unreadable, None if
    there is none."""
    path = Path(folder) / LOCK_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def describe_holder(record: dict | None) -> str:
    """``pid 123 on host node7, since 2026-12-07T20:00:00`` (what is known of it)."""
    if not record:
        return "holder unknown"
    parts = [f"pid {record.get('pid', '?')} on host {record.get('host', '?')}"]
    if record.get("started"):
        parts.append(f"since {record['started']}")
    return ", ".join(parts)


# Tokens of the records this process holds (exclusive_owner blocks not yet left).
_HELD_TOKENS: set[str] = set()


def _holder_is_stale(record: dict, host: str) -> bool:
    if not record:
        return True  # an unreadable record: written by a process killed mid-write
    if record.get("host") != host:
        return False  # a process on another host cannot be checked from here
    pid = record.get("pid")
    ticks = record.get("start_ticks")
    if isinstance(ticks, bool) or not isinstance(ticks, int):
        ticks = None  # not recorded (or damaged): the pid alone decides
    if not _valid_pid(pid):
        return True  # a damaged record (pid 0, negative, a bool, not an integer)
    if pid == os.getpid():
        # this process, or an earlier one that had our pid (then it is gone)
        if record.get("token") in _HELD_TOKENS:
            return False
        return ticks is None or ticks != process_start_ticks(pid)
    return not process_alive(pid, ticks)


def _new_record(host: str) -> dict:
    import datetime
    import sys
    import uuid

    return {
        "pid": os.getpid(),
        "host": host,
        "start_ticks": process_start_ticks(os.getpid()),
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(sys.argv)[:500],
        "token": uuid.uuid4().hex,
    }


def _move_stale_aside(folder: Path, stale: dict, token: str) -> bool:
    """Move the stale lock record ``stale`` out of the way (``os.rename``: of processes taking
    over at once, one wins). False if the record is gone (another process won) or is no longer
    the stale one (another process took over first: its record is put back)."""
    lock = folder / LOCK_FILE
    aside = folder / f".{LOCK_FILE}.{token}.stale.tmp"
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return False
    try:
        try:
            moved = json.loads(aside.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            moved = {}
        if (moved if isinstance(moved, dict) else {}) == stale:
            return True
        try:  # a live record of the process that took over first: put it back
            os.link(aside, lock)
        except OSError:
            pass
        return False
    finally:
        aside.unlink(missing_ok=True)


def _place_record(folder: Path, record: dict, stale: dict | None = None) -> bool:
    """Write the lock record: created only if absent (``os.link`` of a complete temporary file,
    atomic also on NFS), after moving the ``stale`` record aside when taking over. False if
    another writer created or took over one first."""
    import tempfile

    if stale is not None and not _move_stale_aside(folder, stale, record["token"]):
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{LOCK_FILE}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh)
        try:
            os.link(tmp, folder / LOCK_FILE)
        except FileExistsError:
            return False
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextmanager
def exclusive_owner(folder: str | Path, what: str, on_takeover=None):
    """Hold ``folder`` for one writing process for a long job (a sweep table that a run fills for
    days), refusing a second writer.

    Two mechanisms together: an exclusive non-blocking ``flock`` on the folder (released by the
    kernel when the process dies, even by SIGKILL) and a record ``_lock.json`` in the folder (pid,
    host, process start time, start date, command line), which names the holder in the refusal
    and protects file systems without working ``flock``. A record left by a process that is gone
    (same host, pid not running or reused) is stale and taken over, with ``on_takeover(record)``
    called first; a record of a process on *another* host is never taken over (it cannot be
    checked): the refusal says to delete ``_lock.json`` if that process is gone. The record is
    removed when the block exits.

    Parameters
    ----------
    folder : path of an existing folder
    what : str
        What the folder is, for messages (``"--out 'results.parquet'"``).
    on_takeover : callable(dict), optional
        Called with the stale record before it is replaced (to print a warning).

    Raises
    ------
    FolderBusyError
        Another live writer holds the folder.
    """
    folder = Path(folder)
    host = _hostname()
    fd = None
    if fcntl is not None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderBusyError(
                f"{what} is in use by another plkg process "
                f"({describe_holder(read_holder(folder))}); "
                "wait for it to finish or choose another folder"
            ) from None
        except OSError:  # pragma: no cover - file systems without flock: the record alone
            pass
    try:
        record = _new_record(host)
        held = read_holder(folder)
        if held is not None and not _holder_is_stale(held, host):
            hint = (
                f"if that process is gone, delete {str(folder / LOCK_FILE)!r}"
                if held.get("host") != host
                else "wait for it to finish or choose another folder"
            )
            raise FolderBusyError(
                f"{what} is in use by another plkg process ({describe_holder(held)}); {hint}"
            )
        if held is not None and on_takeover is not None:
            on_takeover(held)
        if not _place_record(folder, record, stale=held):
            raise FolderBusyError(
                f"{what} is in use by another plkg process "
                f"({describe_holder(read_holder(folder))}); "
                "wait for it to finish or choose another folder"
            )
        _HELD_TOKENS.add(record["token"])
        try:
            yield record
        finally:
            _HELD_TOKENS.discard(record["token"])
            if (read_holder(folder) or {}).get("token") == record["token"]:
                (folder / LOCK_FILE).unlink(missing_ok=True)
    finally:
        if fd is not None:
            os.close(fd)  # closing releases the flock
