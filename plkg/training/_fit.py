"""``Trainer.fit`` that lets Ctrl-C and SIGTERM through.

Lightning (2.x, ``lightning.pytorch.trainer.call._call_and_handle_interrupt``) catches
``KeyboardInterrupt`` inside ``fit``: it logs "Detected KeyboardInterrupt, attempting graceful
shutdown ...", sets SIGINT to SIG_IGN, marks the trainer ``INTERRUPTED``, tears down and calls
``sys.exit(1)``. plkg's contract is different: Ctrl-C exits 130 and SIGTERM 143 (the CLI turns
SIGTERM into :class:`plkg.errors.Terminated`, a ``KeyboardInterrupt``), each with one line, and
the caller's cleanup (temporary folders, atomic writes) runs. :func:`fit` records the exception
Lightning swallowed (an ``on_exception`` callback), turns its ``SystemExit`` back into that
exception, silences the log line and restores the SIGINT handler, so nothing is exported after
an interrupt and no partial checkpoint is left (the best-epoch weights live in a temporary
folder that the caller removes).
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager

# The logger Lightning's rank_zero_info writes to (the interrupt notice among others).
RANK_ZERO_LOGGER = "lightning.pytorch.utilities.rank_zero"


def interrupt_recorder():
    """A Lightning callback that keeps the ``KeyboardInterrupt`` seen by ``fit`` (``.exception``)."""
    from lightning.pytorch.callbacks import Callback

    class InterruptRecorder(Callback):
        def __init__(self):
            self.exception = None

        def on_exception(self, trainer, pl_module, exception):
            if isinstance(exception, KeyboardInterrupt):
                self.exception = exception

    return InterruptRecorder()


class _DropInterruptNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Detected KeyboardInterrupt" not in record.getMessage()


@contextmanager
def _sigint_kept():
    """Restore the SIGINT handler Lightning replaces with SIG_IGN on an interrupt."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    try:
        yield
    finally:
        if main and previous is not None:
            signal.signal(signal.SIGINT, previous)


def fit(trainer, module, recorder, **fit_kwargs) -> None:
    """``trainer.fit(module, **fit_kwargs)``; re-raises a Ctrl-C/SIGTERM Lightning swallowed.

    Parameters
    ----------
    trainer : lightning.Trainer
        Built with ``recorder`` among its callbacks.
    module : LightningModule
    recorder : the callback of :func:`interrupt_recorder`
    **fit_kwargs
        ``datamodule=...`` etc.

    Raises
    ------
    KeyboardInterrupt
        The original exception (a :class:`plkg.errors.Terminated` for SIGTERM, so the CLI exits
        143), instead of Lightning's ``SystemExit(1)``.
    """
    from lightning.pytorch.trainer.states import TrainerStatus

    notice = _DropInterruptNotice()
    log = logging.getLogger(RANK_ZERO_LOGGER)
    log.addFilter(notice)
    try:
        with _sigint_kept():
            trainer.fit(module, **fit_kwargs)
    except SystemExit:
        if recorder.exception is not None:
            raise recorder.exception from None  # its own traceback: where it was raised
        if getattr(trainer, "received_sigterm", False):
            # SIGTERM seen by Lightning's own handler while the CLI's Terminated got lost (raised
            # inside a finaliser, which Python ignores): Lightning's loop then stops with its
            # SIGTERMException, a SystemExit; the contract is still exit 143
            from plkg.errors import Terminated

            raise Terminated(signal.SIGTERM) from None
        if trainer.state.status == TrainerStatus.INTERRUPTED:
            raise KeyboardInterrupt from None
        raise
    finally:
        log.removeFilter(notice)
    if recorder.exception is not None:  # a Lightning that returns instead of exiting
        raise recorder.exception from None  # its own traceback: where it was raised
