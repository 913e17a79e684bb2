"""plkg.training._fit.fit maps what Lightning makes of an interrupt back to plkg's contract:
Ctrl-C -> KeyboardInterrupt (exit 130), SIGTERM -> Terminated (exit 143), whichever way
Lightning saw the signal."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import pytest
from lightning.pytorch.trainer.states import TrainerStatus
from lightning.pytorch.utilities.exceptions import SIGTERMException

from plkg.errors import Terminated
from plkg.training._fit import fit, interrupt_recorder

pytestmark = pytest.mark.surface  # exception mapping only


class _Trainer:
    """What ``fit`` reads of a Lightning Trainer that stopped on a signal."""

    def __init__(self, raised: BaseException, received_sigterm: bool):
        self.raised = raised
        self.received_sigterm = received_sigterm
        self.state = SimpleNamespace(status=TrainerStatus.RUNNING)

    def fit(self, module, **kwargs):
        self.state.status = TrainerStatus.INTERRUPTED
        raise self.raised


def test_lightnings_own_sigterm_stop_is_terminated():
    trainer = _Trainer(SIGTERMException(), received_sigterm=True)
    with pytest.raises(Terminated) as info:
        fit(trainer, None, interrupt_recorder())
    assert info.value.signum == signal.SIGTERM


def test_a_recorded_interrupt_is_raised_as_it_was():
    recorder = interrupt_recorder()
    recorder.exception = Terminated(signal.SIGTERM)
    with pytest.raises(Terminated):
        fit(_Trainer(SystemExit(1), received_sigterm=True), None, recorder)
    recorder.exception = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt) as info:
        fit(_Trainer(SystemExit(1), received_sigterm=False), None, recorder)
    assert not isinstance(info.value, Terminated)


def test_ctrl_c_without_sigterm_stays_a_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt) as info:
        fit(_Trainer(SystemExit(1), received_sigterm=False), None, interrupt_recorder())
    assert not isinstance(info.value, Terminated)
