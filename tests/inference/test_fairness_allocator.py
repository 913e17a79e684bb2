"""FNNPAKF inference: t_hat -> mu_k (60) -> x (59) ('appro') and the exact mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from plkg.data.dataset import load_dataset
from plkg.inference.fairness_allocator import (
    DEFAULT_CHECKPOINT,
    FairnessAllocator,
    allocate_fnnpakf,
    mapping_allocation,
)
from plkg.solvers.maxmin_highpower import paper_allocation

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "datasets" / "fig6_fairness.npz"


def rates(x, m_a, m_b, user, k):
    """Eq. (42), independent float64 re-implementation."""
    return np.bincount(user, np.log2(1 + (x / m_a / m_b) / (x / m_b + 1 / m_a + 1)), minlength=k)


@pytest.fixture(scope="module")
def alloc():
    if not DEFAULT_CHECKPOINT.is_file():
        pytest.skip("committed fairness checkpoint not present")
    return FairnessAllocator.from_checkpoint(DEFAULT_CHECKPOINT)


@pytest.fixture(scope="module")
def test_part():
    ds = load_dataset(DATASET)
    idx = ds.indices("test")
    return ds.extras["pa_w"][idx], ds.labels[idx]


def test_exact_mapping_reaches_t_hat_and_tracks_cvxpakf(alloc, test_part):
    pa, t = test_part
    out = alloc.allocation(pa, "exact")
    k = alloc.n_users
    for i in range(pa.size):
        c = rates(out.x_w[i], alloc.m_a, alloc.m_b, alloc.user, k)
        if not out.scaled[i]:
            np.testing.assert_allclose(c, out.t_bits[i], rtol=1e-9)
            assert out.x_w[i].sum() <= pa[i]
        else:
            assert out.x_w[i].sum() == pytest.approx(pa[i], rel=1e-12)
    gap = np.abs(out.min_c_bits - t) / t
    assert gap.mean() < 5e-3  # within 0.5 % of CVXPAKF on average over the test powers


def test_appro_mapping_is_paper_eq59_60_where_all_active(alloc, test_part):
    pa, t = test_part
    out = alloc.allocation(pa, "appro")
    assert np.all(out.x_w >= 0)
    assert np.all(out.x_w.sum(-1) <= pa * (1 + 1e-12))
    # Eq. (57) rates equal t_hat per UE (before any scaling)
    for i in np.flatnonzero(~out.scaled):
        c57 = np.bincount(alloc.user, np.log2(1 + out.x_w[i] / alloc.m_b), minlength=alloc.n_users)
        np.testing.assert_allclose(c57, out.t_bits[i], rtol=1e-10)
    # on a set where every subchannel is active the corrected form is Eq. (59)-(60) verbatim
    m_b = np.array([1e-9, 1.5e-9, 2e-9, 1.2e-9])
    user = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(
        mapping_allocation(30.0, 600 * m_b, m_b, user, 2, "appro"),
        paper_allocation(30.0, m_b, user, 2),
        rtol=1e-10,
    )
    # the exact mapping is at least as good as the approximate one
    exact = alloc.allocation(pa, "exact")
    assert np.mean(exact.min_c_bits) > np.mean(out.min_c_bits)


def test_overspending_prediction_is_scaled_and_reported(alloc, monkeypatch):
    pa = np.array([0.01])
    t_true = alloc.predict(pa)
    monkeypatch.setattr(alloc, "predict", lambda p: t_true * 1.05)
    out = alloc.allocation(pa, "exact")
    assert out.scaled[0] and out.power_requested_w[0] > pa[0]
    assert out.x_w[0].sum() == pytest.approx(pa[0], rel=1e-12)


def test_underspending_prediction_can_spend_the_budget_canonically(alloc, monkeypatch):
    """t_hat = t*: the exact-maxmin allocation; t_hat < t*: floors at t_hat, budget spent."""
    from plkg.solvers.maxmin_exact import solve_maxmin

    pa = np.array([0.01])
    args = (alloc.m_a, alloc.m_b, alloc.user, alloc.n_users)
    opt = solve_maxmin(*args, float(pa[0]))
    monkeypatch.setattr(alloc, "predict", lambda p: np.atleast_1d(opt.t_bits) + 0.0 * p)
    out = alloc.allocation(pa, "exact", spend_slack=True)
    assert not out.slack_spent[0]
    np.testing.assert_allclose(out.x_w[0], opt.x_w, rtol=1e-7, atol=1e-12 * pa[0])
    low = 0.97 * float(opt.t_bits)
    monkeypatch.setattr(alloc, "predict", lambda p: np.full(np.shape(p), low))
    assert alloc.allocation(pa, "exact").slack_spent is None  # off by default
    out = alloc.allocation(pa, "exact", spend_slack=True)
    assert out.slack_spent[0] and not out.scaled[0]
    assert out.x_w[0].sum() == pytest.approx(pa[0], rel=1e-12)
    c = rates(out.x_w[0], *args)
    assert c.min() >= low * (1 - 1e-9) and c.sum() > alloc.n_users * low


def test_registry_function_and_status(alloc, monkeypatch):
    design = SimpleNamespace(m_a=alloc.m_a, m_b=alloc.m_b, user=alloc.user)
    res = allocate_fnnpakf(design, 0.01, mapping="exact")
    assert res.method == "fnnpakf" and res.status in ("predicted", "scaled_to_budget")
    assert res.extras["mapping"] == "exact" and res.extras["t"] > 0
    res = allocate_fnnpakf(design, 0.01)
    assert res.extras["mapping"] == "appro" and len(res.extras["mu"]) == alloc.n_users
    res = allocate_fnnpakf(design, 0.01, mapping="appro-paper")
    assert res.status == "negative_powers"  # Eq. (59) on the fig6 weak subchannels
    with pytest.raises(ValueError, match="mapping"):
        allocate_fnnpakf(design, 0.01, mapping="bogus")
    other = SimpleNamespace(m_a=alloc.m_a * 2, m_b=alloc.m_b, user=alloc.user)
    with pytest.raises(ValueError, match="other subchannels"):
        allocate_fnnpakf(other, 0.01)


@pytest.mark.parametrize("pa", [0.0, -1.0, float("nan"), 100.0])
def test_bad_powers(alloc, pa):
    with pytest.raises(ValueError, match="P_a|training range"):
        alloc.allocation(pa)


def test_wrong_checkpoint_kind_refused():
    kglm = ROOT / "checkpoints" / "kglm_fig6.safetensors"
    if not kglm.is_file():
        pytest.skip("KGLM checkpoint not present")
    with pytest.raises(ValueError, match="expected 't'|predicts"):
        FairnessAllocator.from_checkpoint(kglm)


def test_no_lightning_import():
    code = (
        "import sys, plkg.inference.fairness_allocator\n"
        "bad = [m for m in sys.modules if m.startswith(('lightning', 'pytorch_lightning', "
        "'plkg.training'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
