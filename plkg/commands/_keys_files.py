"""The files ``plkg keys --out DIR`` writes: Alice's final key bits and ``summary.json``, as one unit.

``ue<k>.txt`` / ``cell<k>.txt`` / ``link<k>.txt`` (k from 1) hold the final key bits of the blocks
whose two keys are identical, as one line of ASCII 0/1 (what ``plkg nist`` reads). They are
gathered while the run goes (:func:`_maybe_write`) and written by :func:`commit_out` only once the
whole run has succeeded: a failed or interrupted run leaves DIR as it was.
"""

from __future__ import annotations

import re

import numpy as np

#: Names of the files ``--out`` writes; earlier files of these names in DIR are replaced or removed.
KEY_FILE_NAME = re.compile(r"(ue|cell|link)[0-9]+\.txt")

SUMMARY_NAME = "summary.json"


def _keys_of(entry: dict) -> np.ndarray:
    """Alice's final key bits of all blocks whose keys are identical, concatenated."""
    keys = [b.key_a for b in entry.get("blocks", []) if b.keys_agree]
    return np.concatenate(keys).astype(np.int8) if keys else np.zeros(0, dtype=np.int8)


def key_file_texts(rows: list[dict], label: str) -> dict[str, str]:
    """``{label}{k}.txt`` -> Alice's final key bits as ASCII 0/1 (one line), per row with bits.

    ``k`` counts the rows from 1 (``ue1.txt`` is the first UE). Rows without key bits get no
    file. Names follow a fixed pattern: no user text in them.
    """
    files = {}
    for i, row in enumerate(rows):
        bits = _keys_of(row)
        if bits.size:
            files[f"{label}{i + 1}.txt"] = "".join("01"[int(v)] for v in bits) + "\n"
    return files


def _own_file(name: str) -> bool:
    """A name ``--out`` writes: ue<k>.txt, cell<k>.txt, link<k>.txt or summary.json."""
    return name == SUMMARY_NAME or KEY_FILE_NAME.fullmatch(name) is not None


def commit_out(out_dir, files: dict[str, str]) -> None:
    """Write ``files`` (name -> text) into ``out_dir`` as one unit, replacing the last run's.

    Everything is first written into a temporary folder: next to ``out_dir`` when it does not
    exist yet (then renamed to ``out_dir``), inside it otherwise. Only then are the new key files
    renamed into place, then ``summary.json`` (the new run's summary appears only once all its
    key files are there), and last the earlier files of this command's names
    (:func:`_own_file`) that this run did not write are removed. SIGINT / SIGTERM are held
    during these steps (acted on right after them). An error before the renames leaves
    ``out_dir`` as it was; one during them leaves the old summary.json describing the old run
    (whose files are still there) until the new one is in place. The temporary folder is
    removed. Other files in ``out_dir`` are never touched.
    """
    import shutil
    import tempfile
    from pathlib import Path

    out = Path(out_dir)
    names = sorted(files, key=lambda n: n == SUMMARY_NAME)  # summary.json last
    fresh = not out.exists()
    parent = out.parent if fresh else out
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.plkg-keys.", suffix=".tmp", dir=parent))
    try:
        for name in names:
            (stage / name).write_text(files[name], encoding="utf-8")
        with _signals_held():
            if fresh:
                _plain_permissions(stage)
                stage.rename(out)
                return
            stale = [
                q
                for q in out.iterdir()
                if _own_file(q.name) and q.name not in files and q.is_file()
            ]
            for name in names:  # key files first, summary.json last
                (stage / name).replace(out / name)
            for q in stale:  # the previous run's files this run did not write
                q.unlink(missing_ok=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _plain_permissions(folder) -> None:
    """mkdtemp makes 0700 folders; give the renamed folder the mode a plain mkdir would."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)


def _signals_held():
    """Context in which SIGINT and SIGTERM wait (POSIX main thread; elsewhere a no-op)."""
    import contextlib
    import signal
    import threading

    @contextlib.contextmanager
    def held():
        block = getattr(signal, "pthread_sigmask", None)
        if block is None or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = block(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            yield
        finally:
            block(signal.SIG_SETMASK, previous)

    return held()


def _maybe_write(args, rows, label):
    """With ``--out``: the key files' texts are kept for :func:`commit_out` (written only when
    the whole run succeeds); returns the row's number from 1 (as text) -> file name, or None
    without --out."""
    if args.out is None:
        return None
    files = key_file_texts(rows, label)
    if not hasattr(args, "_key_files"):
        args._key_files = {}
    args._key_files.update(files)
    return {name[len(label) : -len(".txt")]: name for name in files}
