"""The scaling model of `plkg bench sweep` (arithmetic only; speed itself is measured by the bench)."""

from __future__ import annotations

import math

import pytest

from plkg.bench import benchmark_registry
from plkg.bench.sweep import REPRODUCE_FIGURES, predict_reproduce_s, throughput


def test_registered():
    assert "sweep" in benchmark_registry()


def test_throughput_is_compute_bound_then_scheduler_bound():
    task_s, overhead_s = 0.5, 0.01
    assert throughput(1, task_s, overhead_s, 0.5) == pytest.approx(2.0)  # serial: no loss
    assert throughput(10, task_s, overhead_s, 1.0) == pytest.approx(20.0)
    assert throughput(10, task_s, overhead_s, 0.5) == pytest.approx(10.0)
    # beyond W = task_s / overhead_s = 50 workers the scheduler's per-task cost bounds the rate
    assert throughput(100, task_s, overhead_s, 1.0) == pytest.approx(1 / overhead_s)


def test_reproduce_prediction_limits():
    serial = sum(s for s, _ in REPRODUCE_FIGURES.values())
    assert predict_reproduce_s(1, 0.01, 1.0) == pytest.approx(serial)
    # with as many workers as points and no overhead: the serial figures plus one point per figure
    wide = max(n for _, n in REPRODUCE_FIGURES.values())
    expected = sum(s if n == 0 else s / n for s, n in REPRODUCE_FIGURES.values())
    assert predict_reproduce_s(wide, 0.0, 1.0) == pytest.approx(expected)
    two = sum(s if n == 0 else math.ceil(n / 2) * s / n for s, n in REPRODUCE_FIGURES.values())
    assert predict_reproduce_s(2, 0.0, 1.0) == pytest.approx(two)
    assert predict_reproduce_s(16, 0.01, 1.0) < predict_reproduce_s(2, 0.01, 1.0) < serial
