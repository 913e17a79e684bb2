"""Ctrl-C (SIGINT) exits 130 and SIGTERM 143, with one stderr line, from real ``python -m plkg``
processes: ``plkg train`` (Lightning catches KeyboardInterrupt inside ``fit``; plkg re-raises it
and exports no checkpoint) and a long ``plkg keyrate``. The processes of one test run at the same
time, to keep the wall time down."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.surface  # exit codes and messages, no floating-point kernel

STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
MESSAGE = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (signal 15)"}
TIMEOUT_S = 240


def _start(argv, cwd) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "plkg", *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate, what: str, procs) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not predicate():
        if any(p.poll() is not None for p in procs):
            raise AssertionError(f"a process ended before {what}: {[p.returncode for p in procs]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _check(proc: subprocess.Popen, signum) -> None:
    try:
        _, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == STATUS[signum], err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("plkg ") and MESSAGE[signum] in err, err


def _training_epochs_logged(run_dir: Path) -> bool:
    """TensorBoard's event file has grown past its header: epochs are being logged, so the
    signal lands inside Lightning's ``fit``."""
    events = list(run_dir.rglob("events.out.tfevents.*"))
    return bool(events) and events[0].stat().st_size > 3000


def test_train_interrupted_inside_lightning_fit(tmp_path):
    procs = {}
    for signum in STATUS:
        work = tmp_path / signum.name
        work.mkdir()
        argv = ["train", "kglm", "--max-epochs", "1000", "--patience", "1000", "--json",
                "--log-dir", str(work / "runs"), "--out-dir", str(work / "ck")]  # fmt: skip
        procs[signum] = (_start(argv, work), work)
    try:
        for signum, (proc, work) in procs.items():
            _wait_for(lambda w=work: _training_epochs_logged(w / "runs"), "training", [proc])
            proc.send_signal(signum)
        for signum, (proc, work) in procs.items():
            _check(proc, signum)
            assert not (work / "ck").exists() or list((work / "ck").iterdir()) == []
    finally:
        for proc, _ in procs.values():
            proc.kill()


def test_long_keyrate_interrupted(tmp_path):
    """Thirty CVXPY max-min solves take tens of seconds; the signal comes after 3 s."""
    powers = [str(p) for p in range(-10, 20)]
    argv = ["keyrate", "--method", "cvxpakf", "--json", "--pa-dbm", *powers]
    procs = {signum: _start(argv, tmp_path) for signum in STATUS}
    try:
        time.sleep(3.0)  # past the import of plkg.cli: the boundary is in place
        for signum, proc in procs.items():
            assert proc.poll() is None, "keyrate ended before the signal"
            proc.send_signal(signum)
        for signum, proc in procs.items():
            _check(proc, signum)
    finally:
        for proc in procs.values():
            proc.kill()
