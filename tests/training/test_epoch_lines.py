"""Training progress when stdout is not a terminal: no Lightning bar (no ``\\r`` redraws in a
log), compact epoch lines on stderr at most every few seconds and one final line; nothing when
quiet; ``plkg train`` prints its result as a formatted line."""

from __future__ import annotations

import re

import pytest

import plkg.progress as progress
from plkg.training.train import train_regressor

KW = {"network": "kglm", "hidden": (4,), "max_epochs": 8, "seed": 0, "log_dir": None}
FINAL = re.compile(r"^\[train kglm\] \d+ epochs in [0-9.]+ s, loss \S+ val \S+$")


@pytest.fixture(autouse=True)
def not_quiet(monkeypatch):
    monkeypatch.delenv("PLKG_QUIET", raising=False)
    progress.set_quiet(False)


def test_auto_progress_without_terminal_gives_compact_lines(tiny_mu_dataset, tmp_path, capfd):
    train_regressor(
        tiny_mu_dataset, "n", out_dir=tmp_path, progress_bar=True, progress_desc="train kglm", **KW
    )
    out, err = capfd.readouterr()
    assert out == "" and "\r" not in err and "Epoch" not in err  # no Lightning bar
    lines = err.strip().splitlines()
    assert lines and FINAL.match(lines[-1]), lines


def test_epoch_lines_are_throttled(tiny_mu_dataset, tmp_path, capfd, monkeypatch):
    """With a clock that advances 10 s per reading every epoch gets its line (format checked)."""
    t = [0.0]

    def clock():
        t[0] += 10.0
        return t[0]

    monkeypatch.setattr(progress, "_clock", clock)
    train_regressor(
        tiny_mu_dataset, "n", out_dir=tmp_path, progress_bar="lines", progress_desc="train kglm",
        **KW,
    )  # fmt: skip
    lines = capfd.readouterr().err.strip().splitlines()
    epoch = [ln for ln in lines if " epoch " in ln]
    assert epoch and all(
        re.match(r"^\[train kglm\] epoch \d+/8 loss \S+e[-+]\d+ val \S+e[-+]\d+, \d+ s$", ln)
        for ln in epoch
    ), epoch
    assert FINAL.match(lines[-1])


def test_quiet_training_prints_nothing(tiny_mu_dataset, tmp_path, capfd):
    progress.set_quiet(True)
    try:
        train_regressor(tiny_mu_dataset, "q", out_dir=tmp_path, progress_bar=True, **KW)
    finally:
        progress.set_quiet(False)
    assert capfd.readouterr() == ("", "")


def test_general_result_line_is_formatted():
    from types import SimpleNamespace

    from plkg.commands._train_general import general_result_line

    out = SimpleNamespace(
        checkpoint_path="ck/g_sumrate.safetensors",
        meta={
            "metrics": {"best_val_loss": 0.0123, "val_loss_history": [0.5, 0.0123, 0.2]},
            "training": {"epochs_run": 3},
        },
    )
    line = general_result_line(out)
    assert line == (
        "wrote ck/g_sumrate.safetensors: 3 epochs, best validation loss 1.2300e-02 at epoch 2"
    )


def test_bar_is_drawn_on_stderr(tiny_mu_dataset, tmp_path, capfd):
    """The Lightning bar ("bar" mode) writes to stderr; stdout stays empty for results."""
    train_regressor(tiny_mu_dataset, "b", out_dir=tmp_path, progress_bar="bar", **KW)
    out, err = capfd.readouterr()
    assert out == "" and "Epoch" in err


def test_auto_follows_stderr(monkeypatch):
    from plkg.training import _progress

    monkeypatch.setattr(_progress, "stderr_is_terminal", lambda: True)
    assert _progress.resolve_progress("auto") == "bar"
    monkeypatch.setattr(_progress, "stderr_is_terminal", lambda: False)
    assert _progress.resolve_progress(True) == "lines"
