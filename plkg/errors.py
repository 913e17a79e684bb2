"""Exception types of plkg and the exit codes the CLI gives them.

* :class:`PlkgInputError` (a ValueError): the caller gave something unusable (an option, a file, a
  value, a config field). The message names it. CLI exit status 2. :class:`PlkgTypeError` is the
  wrong-type case (also a TypeError).
* :class:`SolverError` (a RuntimeError; also a ValueError for older callers that catch that): a
  solver did not converge, returned a non-optimal status or a degenerate result, or disagreed
  with the exact solver that checks it. CLI exit status 1.

The CLI boundary (:func:`plkg.cli.main`) maps every other exception class to one of the two; see
docs/reliability.md.
"""

from __future__ import annotations

EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class PlkgError(Exception):
    """Base of the plkg exceptions."""


class PlkgInputError(PlkgError, ValueError):
    """Bad input: an option, file, config field or argument value; the message names it."""


class PlkgTypeError(PlkgInputError, TypeError):
    """An argument of the wrong type; the message names the parameter and what it got.

    Both a ``TypeError`` (what Python raises for a wrong type) and a ``PlkgInputError`` (a
    ``ValueError``: callers that catch bad input as ``ValueError`` keep working).
    """


class NoSubchannelError(PlkgInputError):
    """A UE keeps no subchannel after the null-space projection of Eq. (16) (D_k = 0).

    ``user`` is the 0-based UE index. Such a UE can get no key from this design.
    """

    def __init__(self, message: str, user: int):
        super().__init__(message)
        self.user = int(user)


class SolverError(PlkgError, RuntimeError, ValueError):
    """A solver did not converge or returned an unusable (NaN, degenerate, mismatched) result.

    Subclasses ValueError too so that callers written before this module still catch it.
    """


class ExactFallbackWarning(UserWarning):
    """A general allocator's prediction was unusable; the exact solver answered instead.

    The message names the method, the budget(s) and the reason. Filter it with
    ``warnings.simplefilter("ignore", ExactFallbackWarning)`` or turn it into an error with
    ``"error"`` to refuse instead.
    """


class Terminated(KeyboardInterrupt):
    """Raised by the CLI's SIGTERM handler, so that cleanup (``finally``/``except
    BaseException``, e.g. :func:`plkg.io.atomic.atomic_path`) runs as for Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum
