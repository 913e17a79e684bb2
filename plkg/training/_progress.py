"""How a training run shows progress: a Lightning bar, compact epoch lines, or nothing.

All of it goes to stderr (stdout stays for results). The bar is Lightning's tqdm bar drawn on
stderr (:func:`stderr_bar`); it is the ``auto`` choice where stderr is a terminal. In a log
file (stderr not a terminal) a redrawn bar would be many kilobytes of ``\\r`` updates, so the
run writes compact epoch lines instead (:class:`plkg.progress.Throttle`: at most one every few
seconds),
``[train kglm] epoch 40/200 loss 1.2e-4 val 1.5e-4, 12 s``, and one final line,
``[train kglm] 57 epochs in 14.2 s, loss 1.1e-4 val 1.4e-4``. Quiet mode
(:func:`plkg.progress.is_quiet`, ``--quiet``) shows neither.
"""

from __future__ import annotations

import sys

from plkg.progress import Throttle, is_quiet, stderr_is_terminal, step

#: ``progress`` values of the trainers: ``auto`` is a bar in a terminal and lines otherwise.
PROGRESS_MODES = ("auto", "bar", "lines", "none")


def resolve_progress(progress) -> str:
    """``bar`` | ``lines`` | ``none`` for a trainer's ``progress`` argument.

    Parameters
    ----------
    progress : bool or str
        ``True``/``"auto"``: the bar when stderr is a terminal, epoch lines otherwise;
        ``"bar"``, ``"lines"``; ``False``/``"none"``: nothing. Quiet mode always gives ``none``.
    """
    if progress is True:
        progress = "auto"
    elif progress is False or progress is None:
        progress = "none"
    if progress not in PROGRESS_MODES:
        raise ValueError(f"progress must be one of {', '.join(PROGRESS_MODES)}, got {progress!r}")
    if is_quiet() or progress == "none":
        return "none"
    if progress == "auto":
        return "bar" if stderr_is_terminal() else "lines"
    return progress


def _number(value) -> str:
    try:
        return f"{float(value):.2e}"
    except (TypeError, ValueError):
        return "n/a"


def epoch_lines(desc: str, loss_key: str, val_key: str):
    """A Lightning callback writing compact epoch lines on stderr (see the module docstring).

    Parameters
    ----------
    desc : str
        Shown in brackets, e.g. ``train kglm``.
    loss_key, val_key : str
        Names of the training and validation losses the module logs (``train_mse``/``val_mse``).

    Notes
    -----
    An epoch is reported when the next one starts (or the fit ends): only then has Lightning
    reduced the epoch's logged values into ``trainer.callback_metrics``.
    """
    from lightning.pytorch.callbacks import Callback

    class EpochLines(Callback):
        def __init__(self):
            self.throttle = None

        def _losses(self, trainer) -> str:
            metrics = trainer.callback_metrics
            loss = _number(metrics.get(loss_key))
            val = _number(metrics.get(val_key))
            return f"loss {loss} val {val}"

        def on_fit_start(self, trainer, pl_module):
            self.throttle = Throttle()

        def on_train_epoch_start(self, trainer, pl_module):
            done = int(trainer.current_epoch)
            if done > 0 and self.throttle is not None and self.throttle.due():
                seconds = self.throttle.elapsed()
                step(
                    f"[{desc}] epoch {done}/{trainer.max_epochs} {self._losses(trainer)}, "
                    f"{seconds:.0f} s"
                )

        def on_fit_end(self, trainer, pl_module):
            if self.throttle is None or trainer.interrupted:
                return
            epochs = int(trainer.current_epoch)
            step(
                f"[{desc}] {epochs} epochs in {self.throttle.elapsed():.1f} s, "
                f"{self._losses(trainer)}"
            )

    return EpochLines()


def stderr_bar():
    """Lightning's tqdm progress bar, drawn on stderr (Lightning's own draws on stdout).

    Each ``init_*_tqdm`` makes the bar Lightning makes, with the same description, position,
    ``leave`` and format, on ``sys.stderr`` at the time the bar starts.
    """
    from lightning.pytorch.callbacks import TQDMProgressBar
    from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

    class StderrBar(TQDMProgressBar):
        def _bar(self, desc: str, row: int, leave: bool, **extra):
            return Tqdm(
                desc=desc,
                position=2 * self.process_position + row,
                disable=self.is_disabled,
                leave=leave,
                dynamic_ncols=True,
                file=sys.stderr,
                bar_format=self.BAR_FORMAT,
                **extra,
            )

        def init_sanity_tqdm(self):
            return self._bar(self.sanity_check_description, 0, False)

        def init_train_tqdm(self):
            return self._bar(self.train_description, 0, True, smoothing=0)

        def init_predict_tqdm(self):
            return self._bar(self.predict_description, 0, True, smoothing=0)

        def init_validation_tqdm(self):
            # below the training bar, and gone when done, except in trainer.validate()
            has_main_bar = self.trainer.state.fn != "validate"
            return self._bar(self.validation_description, int(has_main_bar), not has_main_bar)

        def init_test_tqdm(self):
            return self._bar("Testing", 0, True)

    return StderrBar()


def progress_settings(progress, desc: str, loss_key: str, val_key: str) -> tuple[bool, list]:
    """(Lightning's ``enable_progress_bar``, extra callbacks) for a trainer's ``progress``."""
    mode = resolve_progress(progress)
    if mode == "bar":
        return True, [stderr_bar()]
    if mode == "lines":
        return False, [epoch_lines(desc, loss_key, val_key)]
    return False, []
