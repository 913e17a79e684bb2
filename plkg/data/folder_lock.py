"""An advisory lock on a folder, so a dataset's ``.npz`` and its sidecar are written as one unit.

On POSIX the lock is ``flock`` on the folder itself (no lock file is left behind, and readers can
take a shared lock in a read-only folder). Elsewhere it falls back to :mod:`filelock` on a hidden
``.plkg.lock`` file in the folder.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


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
