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
BrokenPipeError on stdout (reader gone: ``| head``)      141   quiet: no message
=====================================================  ======  ==========================

With ``--debug`` or ``PLKG_DEBUG=1`` the traceback is printed as well. A closed stdout ends the
command quietly with 141 = 128 + SIGPIPE (the status a shell reports for a C program killed by
SIGPIPE; ``set -o pipefail`` then sees that the output was cut), following the recipe of the
Python documentation (``signal`` module, "Note on SIGPIPE"): stdout is pointed at
``os.devnull`` so that the interpreter's final flush cannot fail again.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import sys
import traceback
import warnings
from contextlib import contextmanager

from plkg.errors import EXIT_INTERRUPTED, EXIT_RUNTIME, EXIT_USAGE, SolverError, Terminated

# 128 + SIGPIPE: the status of a pipeline writer whose reader went away (``plkg ... | head``).
EXIT_BROKEN_PIPE = 128 + 13

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


def quiet_requested(argv: list[str]) -> tuple[bool, list[str]]:
    """(quiet?, argv without ``--quiet``): no progress on stderr, before or after the sub-command.

    ``PLKG_QUIET=1`` in the environment also means quiet. Sub-commands that list their own
    ``--quiet`` receive it through ``args.quiet`` (see :func:`plkg.cli.main`).
    """
    head, sep, tail = _split_at_double_dash(argv)
    quiet = "--quiet" in head or os.environ.get("PLKG_QUIET", "") not in ("", "0")
    return quiet, [a for a in head if a != "--quiet"] + sep + tail


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
    prefix = f"plkg {command}" if command else "plkg"
    try:
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"{prefix}: error: {one_line(message)}", file=sys.stderr)
    except (OSError, ValueError):  # stderr closed too: the status is all that is left
        pass
    return status


def stdout_broken() -> bool:
    """True when stdout's reader has gone (a pipe whose other end is closed).

    Asked after a :class:`BrokenPipeError`, which may also come from another pipe or socket
    (a Dask worker, a subprocess): only a broken *stdout* ends the command quietly.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced stdout (tests, notebooks)
        fd = None
    if fd is not None and hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0)):
            return True
    try:
        sys.stdout.flush()  # data a failed write left in the buffer fails again
    except BrokenPipeError:
        return True
    except (OSError, ValueError):
        return False
    return False


def quiet_broken_pipe() -> int:
    """Point stdout at ``os.devnull`` (Python docs' SIGPIPE recipe); return 141, print nothing."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return EXIT_BROKEN_PIPE
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)  # the interpreter's final flush of stdout then succeeds silently
    finally:
        os.close(devnull)
    return EXIT_BROKEN_PIPE


@contextmanager
def one_line_warnings(command, debug: bool = False):
    """Show every Python warning as one stderr line ``plkg COMMAND: warning: MESSAGE``.

    ``command`` is a callable giving the sub-command's name (known only after parsing). A
    warning of another category than a plain ``UserWarning`` (or plkg's own) names it:
    ``plkg COMMAND: warning: RuntimeWarning: MESSAGE``. Under ``debug`` (``--debug``) warnings
    keep Python's own format (file and line). The warning filters (which warnings show, how
    often) are unchanged; only their format is.
    """
    if debug:
        yield
        return

    def show(message, category, filename, lineno, file=None, line=None):
        name = command()
        prefix = f"plkg {name}" if name else "plkg"
        plain = category is UserWarning or category.__module__.split(".")[0] == "plkg"
        kind = "" if plain else f"{category.__name__}: "
        try:
            print(f"{prefix}: warning: {kind}{one_line(message)}", file=sys.stderr)
        except (OSError, ValueError):
            pass

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
