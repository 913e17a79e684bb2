"""The CLI's one error boundary: every exception becomes one line on stderr and an exit status.

=====================================================  ======  ==========================
exception                                              status  meaning
=====================================================  ======  ==========================
KeyboardInterrupt (Ctrl-C), :class:`Terminated`          130   interrupted (SIGTERM: 143)
:class:`~plkg.errors.SolverError`                          1   runtime failure
MemoryError                                                1   runtime failure
OSError on a named path (missing, directory, read-only,    2   bad file/folder argument
path under a regular file)
OSError otherwise (disk full ...)                          1   runtime failure
ValueError (incl. PlkgInputError, UnicodeDecodeError),     2   bad input
TypeError, KeyError, yaml.YAMLError
anything else                                              1   internal error
=====================================================  ======  ==========================

With ``--debug`` or ``PLKG_DEBUG=1`` the traceback is printed as well.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import traceback
from contextlib import contextmanager

from plkg.errors import EXIT_INTERRUPTED, EXIT_RUNTIME, EXIT_USAGE, SolverError, Terminated

# errno values that mean "this path cannot be used as given": the user's input is at fault.
_PATH_ERRNOS = {
    errno.ENOENT,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.EEXIST,
    errno.ENAMETOOLONG,
    errno.ELOOP,
}

_PATH_ERRORS = (
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    FileExistsError,
)


def debug_requested(argv: list[str]) -> tuple[bool, list[str]]:
    """(debug?, argv without ``--debug``): the flag works before or after the sub-command."""
    head, sep, tail = _split_at_double_dash(argv)
    debug = "--debug" in head or os.environ.get("PLKG_DEBUG", "") not in ("", "0")
    return debug, [a for a in head if a != "--debug"] + sep + tail


def _split_at_double_dash(argv):
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], ["--"], argv[i + 1 :]
    return list(argv), [], []


def _os_message(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    names = [n for n in (exc.filename, exc.filename2) if n is not None]
    return f"{what}: " + " -> ".join(repr(os.fsdecode(n)) for n in names) if names else str(exc)


def classify(exc: BaseException) -> tuple[int, str]:
    """(exit status, one-line message) for an exception escaping a sub-command."""
    import yaml

    if isinstance(exc, Terminated):
        return 128 + exc.signum, f"terminated (signal {exc.signum})"
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, SolverError):
        return EXIT_RUNTIME, f"solver failure: {exc}"
    if isinstance(exc, MemoryError):
        return EXIT_RUNTIME, (
            "out of memory: the scenario or an option is too large for this machine"
            + (f" ({exc})" if str(exc) else "")
        )
    if isinstance(exc, OSError):
        path_problem = isinstance(exc, _PATH_ERRORS) or exc.errno in _PATH_ERRNOS
        return (EXIT_USAGE if path_problem else EXIT_RUNTIME), _os_message(exc)
    if isinstance(exc, UnicodeDecodeError):
        return EXIT_USAGE, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, yaml.YAMLError):
        return EXIT_USAGE, "malformed YAML: " + " ".join(str(exc).split())
    if isinstance(exc, KeyError):
        return EXIT_USAGE, f"missing or unknown key {exc}"
    if isinstance(exc, (ValueError, TypeError)):
        return EXIT_USAGE, str(exc)
    return (
        EXIT_RUNTIME,
        f"internal error {type(exc).__name__}: {exc} (run with --debug for details)",
    )


def one_line(text: str) -> str:
    """Collapse a message to one line (YAML and solver messages may span several)."""
    return " ".join(str(text).split())


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextmanager
def sigterm_as_interrupt():
    """Turn SIGTERM into :class:`Terminated` while in the block (main thread only)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def report(command: str | None, exc: BaseException, debug: bool) -> int:
    """Print the one-line message (and the traceback if ``debug``); return the exit status."""
    status, message = classify(exc)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    prefix = f"plkg {command}" if command else "plkg"
    print(f"{prefix}: error: {one_line(message)}", file=sys.stderr)
    return status
