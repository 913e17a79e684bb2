"""AO (Section IV) and the baselines: monotone objective, C1 and C2 on every output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plkg.channels.ris_multicell import build_channel_model
from plkg.channels.ris_scenario import two_cell
from plkg.solvers.ris_alternating import evaluate_rates, solve_ris, solve_ris_batched

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    return build_channel_model(two_cell(n_ris_elements=24))


def _check_constraints(model, res):
    power = (res.precoders.abs() ** 2).sum((-1, -2))
    assert bool((power <= model.bs_power_w * (1 + 1e-12)).all())  # C1
    assert float((res.phases.abs() - 1).abs().max()) <= 1e-15  # C2


def test_ao_monotone_and_feasible(model):
    res = solve_ris(model, "proposed", rng=np.random.default_rng(11), max_iter=15)
    h = np.asarray(res.history)
    assert np.all(np.diff(h) >= 0), h
    assert res.iterations == len(h) - 1 and res.status in ("converged", "max_iter")
    _check_constraints(model, res)
    kgr, ub = evaluate_rates(model, res.precoders, res.phases)
    np.testing.assert_allclose(res.kgr_bits, kgr)
    assert res.ub_sum_bits == pytest.approx(res.objective, rel=1e-9)
    # M_e = M: the bound is tight (Remark 4)
    np.testing.assert_allclose(res.kgr_bits, res.ub_bits, rtol=1e-9)


def test_baselines_feasible_and_below_proposed(model):
    rng = np.random.default_rng(2)
    proposed = solve_ris(model, "proposed", rng=rng, max_iter=15)
    for method in ("no-ris", "rand-phase"):
        res = solve_ris(model, method, rng=rng, baseline_kkt_max_iter=100)
        _check_constraints(model, res)
        assert res.iterations == 1
        assert res.wskr_bits < proposed.wskr_bits


def test_ao_with_rf_chains_below_antennas():
    model = build_channel_model(two_cell(n_ris_elements=8, n_rf_chains=2))
    res = solve_ris(model, "proposed", rng=np.random.default_rng(0), max_iter=8)
    assert np.all(np.diff(res.history) >= 0)
    assert all(u >= k - 1e-9 for k, u in zip(res.kgr_bits, res.ub_bits, strict=True))
    _check_constraints(model, res)


def test_bad_arguments(model):
    with pytest.raises(ValueError, match="method"):
        solve_ris(model, "greedy")
    with pytest.raises(ValueError, match="rng"):
        solve_ris(model, "rand-phase")
    with pytest.raises(ValueError, match="unit-modulus"):
        solve_ris(
            model, "proposed", init_phases=torch.full((24,), 2.0 + 0j, dtype=torch.complex128)
        )
    with pytest.raises(ValueError, match="tol"):
        solve_ris(model, "proposed", rng=np.random.default_rng(0), tol=0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_ao_on_cuda_matches_cpu():
    model = build_channel_model(two_cell(n_ris_elements=12))
    cpu = solve_ris(model, "proposed", rng=np.random.default_rng(1), max_iter=5)
    gpu = solve_ris(model, "proposed", rng=np.random.default_rng(1), max_iter=5, device="cuda")
    assert gpu.phases.device.type == "cuda"
    np.testing.assert_allclose(gpu.history, cpu.history, rtol=1e-8)


def test_batched_runs_equal_single_runs(model):
    rng = np.random.default_rng(8)
    init = torch.as_tensor(np.exp(1j * rng.uniform(0, 2 * np.pi, (3, 24))))
    batched = solve_ris_batched(model, "proposed", init_phases=init, max_iter=6)
    for b in range(3):
        single = solve_ris(model, "proposed", init_phases=init[b], max_iter=6)
        np.testing.assert_allclose(batched[b].history, single.history, rtol=1e-9)
        assert batched[b].iterations == single.iterations
        torch.testing.assert_close(batched[b].phases, single.phases, rtol=1e-7, atol=1e-7)
    draws = solve_ris_batched(model, "rand-phase", n_starts=3, rng=np.random.default_rng(1))
    assert len({round(r.wskr_bits, 9) for r in draws}) == 3  # three different random draws
    for r in draws:
        _check_constraints(model, r)


def test_multistart_returns_the_best_seeded_start(model):
    """Best of B batched starts = max over the same starts run by solve_ris_batched; seeded."""
    from plkg.solvers.ris_alternating import solve_ris_multistart

    opts = {"max_iter": 3, "kkt_max_iter": 5, "pga_max_iter": 5}
    multi = solve_ris_multistart(model, n_starts=3, rng=np.random.default_rng(5), **opts)
    runs = solve_ris_batched(model, "proposed", n_starts=3, rng=np.random.default_rng(5), **opts)
    objectives = [r.objective for r in runs]
    assert multi.objectives == objectives
    assert multi.best_index == int(np.argmax(objectives))
    assert multi.objective == max(objectives)
    assert torch.equal(multi.best.phases, runs[multi.best_index].phases)
    _check_constraints(model, multi.best)
    again = solve_ris_multistart(model, n_starts=3, rng=np.random.default_rng(5), **opts)
    assert again.objectives == multi.objectives
    with pytest.raises(ValueError, match="rng"):
        solve_ris_multistart(model, n_starts=2, rng=None)
