"""Fast-path benchmark pieces: correct answers and a rendered report; never timed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from plkg.bench import _fast
from plkg.bench._report import render_markdown
from plkg.commands.bench import _call
from plkg.solvers.water_filling import water_filling

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_minimal_reference_is_the_exact_water_filling(rng):
    """The baseline must solve the same problem, or the ratio means nothing."""
    m_a, m_b = 10 ** rng.uniform(-3, 1, 60), 10 ** rng.uniform(-3, 1, 60)
    for pa in 10 ** rng.uniform(-4, 3, 10):
        x, level = _fast.minimal_water_filling(pa, m_a, m_b)
        ref = water_filling(pa, m_a, m_b)
        np.testing.assert_allclose(x, ref.x_w, rtol=0, atol=1e-12 * pa)
        assert level == pytest.approx(float(ref.level_w), rel=1e-12)


def test_fast_sections_run_and_render(machine):
    from plkg.inference.allocator import DEFAULT_CHECKPOINT, Allocator

    alloc = Allocator.from_checkpoint(DEFAULT_CHECKPOINT)
    lo, hi = alloc.training_range_dbm
    fast = {
        "single": _fast.single_allocation(alloc, _fast.budgets_w(lo, hi, 3), repeats=1),
        "batched_water_filling": _fast.batched_water_filling(
            repeats=1, device="cpu", n_batch=20, n_sub=30
        ),
    }
    diff = fast["single"]["max_rel_diff"]
    assert diff["bound_wf_vs_water_filling"] <= 1e-12
    assert diff["bound_fnnpa_vs_allocator"] <= 1e-12
    assert fast["batched_water_filling"]["max_rel_diff_vs_water_filling"] <= 1e-12
    assert "torch_cpu_s" in fast["batched_water_filling"]
    block = {
        "fast": fast,
        "n_subchannels": alloc.m_a.size,
        "single": {
            "pa_dbm": 10.0,
            "cvxpy_status": "optimal",
            "cvxpy_solver": "CLARABEL",
            "median_s": {"fnnpa": 1e-4, "wfpa_exact": 5e-4, "cvxpy_p1": 1e-2},
            "ratio_wfpa_over_fnnpa": 5.0,
            "ratio_cvxpy_over_fnnpa": 100.0,
        },
        "batched": {
            "n_powers": 10,
            "allocations_per_s": {"fnnpa": 1.0, "wfpa_numpy": 1.0, "wfpa_torch_cpu": 1.0},
            "ratio_wfpa_numpy_over_fnnpa_time": 1.0,
            "ratio_wfpa_torch_over_fnnpa_time": 1.0,
            "fnnpa_over_wfpa_sum_kr_min": 1.0,
            "fnnpa_over_wfpa_sum_kr_mean": 1.0,
        },
    }
    text = render_markdown({"machine": machine, "benchmarks": {"allocation": block}}, "plkg bench")
    assert "Online fast path" in text and "summary unavailable" not in text
    assert "Limit of one allocation" in text and "No GPU in this run" in text


def test_device_goes_only_to_benchmarks_that_take_it():
    seen = {}

    def with_device(quick=False, device=None):
        seen["with"] = device
        return {}

    def without(quick=False):
        seen["without"] = quick
        return {}

    args = SimpleNamespace(quick=True, device="cuda")
    _call(with_device, args)
    _call(without, args)
    assert seen == {"with": "cuda", "without": True}


def test_bad_device_is_one_clear_error():
    import torch

    from plkg.commands.bench import check_device

    assert check_device(None) is None and check_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="not a torch device"):
        check_device("foo")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            check_device("cuda")
