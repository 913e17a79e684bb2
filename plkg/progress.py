"""Progress on stderr for every step that can take more than a few seconds.

One small interface shared by all commands (stdout stays for results and JSON):

>>> from plkg.progress import progress_bar, step, set_quiet, is_quiet
>>> with progress_bar(40, desc="keys", unit="block") as bar:  # doctest: +SKIP
...     for _ in range(40):
...         bar.update(1, note="UE 2")
>>> step("[demo] 3/9 training KGLM-Net ...")  # doctest: +SKIP

Where stderr is a terminal, :func:`progress_bar` draws a tqdm bar. Where it is not (a log file,
a pipe, a batch job), it writes one compact line at most every :data:`INTERVAL_S` seconds,
``[keys] 12/40 blocks, UE 2, 31 s``, and one summary line at the end,
``[keys] 40/40 blocks in 83.2 s`` -- a log gets a heartbeat, not a redrawn bar. Quiet mode
(:func:`set_quiet`, the CLI's global ``--quiet``, or the environment variable ``PLKG_QUIET=1``)
silences all of it. Nothing here ever writes to stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from contextlib import contextmanager

__all__ = [
    "INTERVAL_S",
    "STAGE_LINES_FROM_N",
    "Throttle",
    "is_quiet",
    "progress_bar",
    "set_quiet",
    "stderr_is_terminal",
    "step",
]

# Seconds between two compact lines when stderr is not a terminal: often enough that no step
# looks hung, rarely enough that a log stays short.
INTERVAL_S = 5.0

# Antenna count from which a design computation (CCM, null spaces, subchannels) writes stage
# lines: there each step takes seconds to minutes.
STAGE_LINES_FROM_N = 512

_state = {"quiet": False}

# The clock of every elapsed time here; tests replace it with a fake one.
_clock = time.monotonic


def set_quiet(quiet: bool = True) -> None:
    """Silence (or re-enable) every progress bar, compact line and :func:`step` line.

    Process-wide. The CLI calls it for the global ``--quiet``; ``PLKG_QUIET=1`` in the
    environment has the same effect.
    """
    _state["quiet"] = bool(quiet)


@contextlib.contextmanager
def quiet():
    """Silence progress output inside the block, then restore the previous setting.

    Sweep tasks run under it: their rows are the output, and stage lines of many tasks
    interleaved with the sweep's own bar would only be noise.
    """
    before = _state["quiet"]
    _state["quiet"] = True
    try:
        yield
    finally:
        _state["quiet"] = before


def is_quiet() -> bool:
    """True when progress output is off (:func:`set_quiet` or ``PLKG_QUIET`` other than 0)."""
    return _state["quiet"] or os.environ.get("PLKG_QUIET", "") not in ("", "0")


def stderr_is_terminal() -> bool:
    """True when stderr is an interactive terminal (then a redrawn bar is welcome)."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, OSError, ValueError):  # closed or replaced stderr
        return False


def _emit(text: str) -> None:
    """One line on stderr, flushed; a closed stderr is not an error of the computation."""
    try:
        print(text, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def step(text: str) -> None:
    """Write one stage line (``"[demo] 3/9 training KGLM-Net ..."``) on stderr, unless quiet."""
    if not is_quiet():
        _emit(text)


class Throttle:
    """Says when the next heartbeat line is due: at most one every ``interval`` seconds.

    Parameters
    ----------
    interval : float
        Minimum seconds between two lines (default :data:`INTERVAL_S`).
    """

    def __init__(self, interval: float | None = None):
        self.interval = INTERVAL_S if interval is None else float(interval)
        self.t0 = _clock()
        self._last = self.t0

    def elapsed(self) -> float:
        """Seconds since the throttle was made."""
        return _clock() - self.t0

    def due(self) -> bool:
        """True (and the timer restarts) when ``interval`` seconds passed since the last line."""
        now = _clock()
        if now - self._last >= self.interval:
            self._last = now
            return True
        return False


def _plural(unit: str, count: int | float) -> str:
    """``block`` -> ``blocks``, ``geometry`` -> ``geometries`` for any count but one; tqdm's
    ``it`` and words ending in ``s`` stay."""
    if count == 1 or unit == "it" or unit.endswith("s"):
        return unit
    if unit.endswith("y") and unit[-2:-1] not in tuple("aeiou"):
        return unit[:-1] + "ies"
    return unit + "s"


def _seconds(t: float) -> str:
    return f"{t:.1f} s" if t < 10 else f"{t:.0f} s"


class _Silent:
    """The bar of quiet mode: counts, prints nothing."""

    def __init__(self, total):
        self.total = total
        self.n = 0

    def update(self, n: int = 1, note: str | None = None) -> None:
        self.n += n

    def set_total(self, total) -> None:
        self.total = total

    def close(self, ok: bool = True) -> None:
        pass


class _Lines(_Silent):
    """Compact heartbeat lines for a log: ``[desc] 12/40 blocks, UE 2, 31 s``.

    A line is written on an update once :data:`INTERVAL_S` passed since the last one, and by a
    background timer when no update comes for that long (one unit of work may take a minute:
    the log still shows that the command is alive).
    """

    def __init__(self, total, desc: str, unit: str, summary: bool = True):
        super().__init__(total)
        self.desc, self.unit, self.note, self.summary = desc, unit, None, summary
        self.throttle = Throttle()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._beat, name=f"progress {desc}", daemon=True)
        self._timer.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.throttle.interval):
            self._line_if_due()

    def _line_if_due(self) -> None:
        with self._lock:
            if not self._stop.is_set() and self.throttle.due():
                note_text = f", {self.note}" if self.note else ""
                elapsed = _seconds(self.throttle.elapsed())
                _emit(f"[{self.desc}] {self._count()}{note_text}, {elapsed}")

    def _count(self) -> str:
        done = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        return f"{done} {_plural(self.unit, self.total if self.total is not None else self.n)}"

    def update(self, n: int = 1, note: str | None = None) -> None:
        self.n += n
        if note is not None:
            self.note = note
        self._line_if_due()

    def close(self, ok: bool = True) -> None:
        with self._lock:
            self._stop.set()
        if ok and self.summary:
            _emit(f"[{self.desc}] {self._count()} in {self.throttle.elapsed():.1f} s")


class _Tqdm(_Silent):
    """A tqdm bar on stderr (interactive terminals)."""

    def __init__(self, total, desc: str, unit: str, summary: bool = True):
        from tqdm import tqdm

        super().__init__(total)
        self.bar = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            file=sys.stderr,
            dynamic_ncols=True,
            leave=summary,  # without a summary the caller prints its own line instead
        )
        self.note = None

    def update(self, n: int = 1, note: str | None = None) -> None:
        self.n += n
        if note is not None and note != self.note:
            self.note = note
            self.bar.set_postfix_str(note, refresh=False)
        self.bar.update(n)

    def set_total(self, total) -> None:
        self.total = total
        self.bar.total = total
        self.bar.refresh()

    def close(self, ok: bool = True) -> None:
        self.bar.close()


@contextmanager
def progress_bar(total: int | None, desc: str, unit: str = "it", summary: bool = True):
    """Progress of a counted loop on stderr; yields an object with ``update(n=1, note=None)``.

    Parameters
    ----------
    total : int or None
        Number of units expected (None: unknown; lines then show the count alone).
    desc : str
        Short name of the step, shown in brackets: ``[desc] ...``.
    unit : str
        What is counted, singular (``"block"``); lines use the plural.
    summary : bool
        Write the summary line (and leave the finished bar in a terminal). False where the
        caller prints its own one-line summary.

    Yields
    ------
    bar
        ``bar.update(n=1, note=None)`` counts ``n`` units done; ``note`` (e.g. ``"UE 2"``) is
        shown until the next note. ``bar.set_total(total)`` corrects the total. ``bar.n`` is
        the count so far.

    Notes
    -----
    A tqdm bar when stderr is a terminal; otherwise one compact line at most every
    :data:`INTERVAL_S` seconds plus a summary line ``[desc] 40/40 blocks in 83.2 s`` when the
    block ends without an error (an error keeps its one line); nothing when :func:`is_quiet`.
    """
    if is_quiet():
        bar = _Silent(total)
    elif stderr_is_terminal():
        bar = _Tqdm(total, desc, unit, summary)
    else:
        bar = _Lines(total, desc, unit, summary)
    ok = False
    try:
        yield bar
        ok = True
    finally:
        bar.close(ok)
