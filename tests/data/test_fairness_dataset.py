"""(P_a, t) dataset of the fairness FNN (Section VI-C-2 of the near-field paper)."""

from __future__ import annotations

import numpy as np
import pytest

import plkg.data.fairness_dataset as fd
from plkg.data.dataset import load_dataset
from plkg.solvers.maxmin_exact import SolverError, solve_maxmin


@pytest.fixture(scope="module")
def scenario_and_design():
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.precoding.design_cache import design_for_scenario

    sc = load_scenario("fig6").replace(n_antennas=48, ccm_draws=8)
    return sc, design_for_scenario(sc)


def test_cvxpy_labels_certified_by_exact(scenario_and_design, tmp_path):
    sc, design = scenario_and_design
    out = tmp_path / "fair.npz"
    ds = fd.generate_fairness_dataset(
        sc, n_samples=12, pa_dbm_range=(0.0, 9.0), seed=3, out_path=out, design=design
    )
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert len(ds) == 12 and ds.meta["label_name"] == "t" and ds.meta["input_units"] == "dBm"
    assert sorted(np.bincount(ds.split).tolist()) == sorted([2, 2, 8])
    # Independent check: the labels are the max-min optimum at each P_a.
    t = np.asarray(solve_maxmin(design.m_a, design.m_b, design.user, 4, ds.extras["pa_w"]).t_bits)
    np.testing.assert_allclose(ds.labels, t, rtol=1e-5)
    np.testing.assert_allclose(ds.extras["pa_w"], 1e-3 * 10 ** (ds.inputs / 10), rtol=1e-12)
    src = ds.extras["label_source"]
    assert ds.meta["n_certified"] == int(np.sum(src == fd.SOURCE_CVXPY))
    assert len(ds.meta["disagreements"]) == ds.meta["n_exact_label"]
    assert ds.meta["n_certified"] >= 10


def test_disagreement_and_failure_use_exact_label(scenario_and_design, monkeypatch):
    sc, design = scenario_and_design
    from plkg.solvers import maxmin_cvxpy

    real = maxmin_cvxpy.BandedMaxMin.solve
    calls = {"n": 0}

    def fake(self, pa_w, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SolverError("forced failure")
        res = real(self, pa_w, **kw)
        if calls["n"] == 3:
            return maxmin_cvxpy.CvxSolveResult(**{**res.__dict__, "t_bits": res.t_bits * 1.01})
        return res

    monkeypatch.setattr(maxmin_cvxpy.BandedMaxMin, "solve", fake)
    ds = fd.generate_fairness_dataset(sc, n_samples=5, pa_dbm_range=(0.0, 5.0), design=design)
    src = ds.extras["label_source"]
    assert src[1] == fd.SOURCE_EXACT_CVX_FAILED and src[2] == fd.SOURCE_EXACT_DISAGREE
    np.testing.assert_allclose(ds.labels[[1, 2]], ds.extras["t_exact"][[1, 2]], rtol=0)
    logged = {d["index"] for d in ds.meta["disagreements"]}
    assert logged == {1, 2}
    assert ds.meta["disagreements"][1]["relative_difference"] == pytest.approx(0.01, rel=1e-3)


def test_no_half_written_dataset(scenario_and_design, tmp_path, monkeypatch):
    sc, design = scenario_and_design
    out = tmp_path / "fair.npz"
    out.write_bytes(b"old")
    from plkg.solvers import maxmin_cvxpy

    def boom(self, pa_w, **kw):
        raise RuntimeError("solver crashed mid-way")

    monkeypatch.setattr(maxmin_cvxpy.BandedMaxMin, "solve", boom)
    with pytest.raises(RuntimeError, match="mid-way"):
        fd.generate_fairness_dataset(sc, n_samples=6, out_path=out, design=design)
    assert out.read_bytes() == b"old"
    assert not out.with_suffix(".json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fair.npz"]


def test_exact_labels_deterministic(scenario_and_design, tmp_path):
    sc, design = scenario_and_design
    a = fd.generate_fairness_dataset(
        sc, n_samples=20, seed=1, out_path=tmp_path / "a.npz", design=design, labels="exact"
    )
    b = fd.generate_fairness_dataset(
        sc, n_samples=20, seed=1, out_path=tmp_path / "b.npz", design=design, labels="exact"
    )
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert np.all(a.extras["label_source"] == fd.SOURCE_EXACT_ONLY)
    assert np.all(np.isnan(a.extras["t_cvxpy"]))
    np.testing.assert_array_equal(a.labels, b.labels)
    # t increases with P_a (monotone max-min rate)
    order = np.argsort(a.inputs)
    assert np.all(np.diff(a.labels[order]) > 0)
    loaded = load_dataset(tmp_path / "a.npz", expected_fingerprint=sc.fingerprint())
    assert loaded.meta["solver"].startswith("plkg.solvers.maxmin_exact")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": "cvx"}, "labels"),
        ({"pa_dbm_range": (10.0, 0.0)}, "p_min < p_max"),
        ({"pa_dbm_range": (0.0, float("nan"))}, "finite"),
        ({"n_samples": 2}, "samples"),
    ],
)
def test_bad_arguments(scenario_and_design, kwargs, match):
    sc, design = scenario_and_design
    with pytest.raises(ValueError, match=match):
        fd.generate_fairness_dataset(sc, design=design, **kwargs)
