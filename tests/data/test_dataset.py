"""Dataset I/O (plkg.data.dataset) and the (P_a, mu) generator (plkg.data.sumrate_dataset)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plkg import units
from plkg.data.dataset import load_dataset, make_split, save_dataset
from plkg.data.normalization import MinMax
from plkg.data.sumrate_dataset import generate_sumrate_dataset, sample_powers_dbm
from plkg.solvers.water_filling import water_filling

META = {
    "input_name": "pa_dbm",
    "input_units": "dBm",
    "label_name": "mu",
    "label_units": "bit/W",
    "scenario_fingerprint": "abc",
    "solver": "test",
    "seed": 0,
    "package_version": "0",
}


@pytest.fixture
def written(tmp_path, rng):
    x = rng.uniform(-10, 30, 20)
    y = 10 ** rng.uniform(0, 5, 20)
    split = make_split(20, rng)
    path = save_dataset(tmp_path / "d.npz", x, y, split, META, {"m_a": np.arange(3.0)})
    return path, x, y, split


def test_round_trip(written):
    path, x, y, split = written
    ds = load_dataset(path)
    np.testing.assert_array_equal(ds.inputs, x)
    np.testing.assert_array_equal(ds.labels, y)
    np.testing.assert_array_equal(ds.split, split)
    np.testing.assert_array_equal(ds.extras["m_a"], np.arange(3.0))
    assert ds.meta["label_name"] == "mu" and len(ds) == 20
    xt, yt = ds.part("train")
    assert len(xt) + len(ds.part("val")[0]) + len(ds.part("test")[0]) == 20
    with np.load(path, allow_pickle=False) as npz:  # a plain .npz
        assert set(npz.files) == {"inputs", "labels", "split", "m_a"}


def test_split_counts(rng):
    s = make_split(200, rng)
    assert [int(np.sum(s == i)) for i in range(3)] == [140, 30, 30]
    s = make_split(20, rng)
    assert [int(np.sum(s == i)) for i in range(3)] == [14, 3, 3]
    with pytest.raises(ValueError, match="at least 3"):
        make_split(2, rng)


def test_truncated_file(written):
    path = written[0]
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_dataset(path)


def test_corrupt_byte(written):
    path = written[0]
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="corrupt"):
        load_dataset(path)


def test_missing_files(written, tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset(tmp_path / "nope.npz")
    written[0].with_suffix(".json").unlink()
    with pytest.raises(ValueError, match="sidecar"):
        load_dataset(written[0])


def test_sidecar_mismatch(written, rng, tmp_path):
    path = written[0]
    other = save_dataset(
        tmp_path / "o.npz", np.zeros(9), np.arange(1.0, 10.0), make_split(9, rng), META
    )
    path.with_suffix(".json").write_text(other.with_suffix(".json").read_text())
    with pytest.raises(ValueError, match="SHA-256"):
        load_dataset(path)
    side = json.loads(other.with_suffix(".json").read_text())
    side["n_samples"] = 10
    other.with_suffix(".json").write_text(json.dumps(side))
    # The sidecar's own hash catches the edit before the sample count is compared.
    with pytest.raises(ValueError, match="edited"):
        load_dataset(other)


def test_fingerprint_checked(written):
    with pytest.raises(ValueError, match="fingerprint"):
        load_dataset(written[0], expected_fingerprint="other")


@pytest.mark.parametrize(
    ("x", "y", "split", "match"),
    [
        ([1.0, np.nan, 2.0], [1.0, 2.0, 3.0], [0, 1, 2], "inputs contain NaN"),
        ([1.0, 2.0, 3.0], [1.0, np.inf, 3.0], [0, 1, 2], "labels contain NaN"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], [0, 1, 2], "shape mismatch"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0, 0, 2], "val split is empty"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0, 1, 5], "split must only"),
        ([], [], [], "empty"),
    ],
)
def test_bad_arrays_refused(tmp_path, x, y, split, match):
    with pytest.raises(ValueError, match=match):
        save_dataset(tmp_path / "b.npz", x, y, split, META)


def test_missing_meta_and_pickle(tmp_path, rng):
    with pytest.raises(ValueError, match="lacks"):
        save_dataset(tmp_path / "b.npz", [1.0, 2, 3], [1.0, 2, 3], [0, 1, 2], {"seed": 0})
    with pytest.raises(ValueError, match="object dtype"):
        save_dataset(
            tmp_path / "b.npz", [1.0, 2, 3], [1.0, 2, 3], [0, 1, 2], META, {"o": np.array([{}])}
        )


def test_sampling(rng):
    dbm = sample_powers_dbm(rng, 4000, (-10, 30), "dbm")
    assert dbm.min() >= -10 and dbm.max() <= 30
    assert abs(np.mean(dbm) - 10) < 1.0  # uniform in dBm
    w = units.dbm_to_w(sample_powers_dbm(rng, 4000, (-10, 30), "w"))
    assert abs(np.mean(w) - (1e-4 + 1) / 2) < 0.05  # uniform in watt
    with pytest.raises(ValueError):
        sample_powers_dbm(rng, 3, (30, -10), "dbm")
    with pytest.raises(ValueError, match="sampling"):
        sample_powers_dbm(rng, 3, (-10, 30), "log")


def test_sumrate_generation_is_deterministic_and_exact(small_scenario, tmp_path):
    from plkg.precoding.design_cache import design_for_scenario

    design = design_for_scenario(small_scenario)
    kw = {"n_samples": 20, "pa_dbm_range": (-20.0, 10.0), "seed": 3, "design": design}
    a = generate_sumrate_dataset(small_scenario, out_path=tmp_path / "a.npz", **kw)
    generate_sumrate_dataset(small_scenario, out_path=tmp_path / "b.npz", **kw)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    ja = json.loads((tmp_path / "a.json").read_text())
    jb = json.loads((tmp_path / "b.json").read_text())
    # npz_file differs by name, and so does the sidecar hash that covers it.
    for key in ("npz_file", "sidecar_sha256"):
        ja.pop(key), jb.pop(key)
    assert ja == jb
    assert a.meta["scenario_fingerprint"] == small_scenario.fingerprint()
    assert a.meta["split_counts"] == {"train": 14, "val": 3, "test": 3}
    # labels are the exact multipliers: recompute independently per sample
    for i in (0, 7, 19):
        ref = water_filling(units.dbm_to_w(a.inputs[i]), design.m_a, design.m_b)
        assert a.labels[i] == pytest.approx(float(ref.mu), rel=1e-12)
    assert np.all(a.extras["kkt_residual"] <= 1e-8)
    c = generate_sumrate_dataset(small_scenario, **{**kw, "seed": 4})
    assert not np.array_equal(c.inputs, a.inputs)


def test_committed_dataset():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "datasets" / "fig6_sumrate.npz"
    ds = load_dataset(path)
    assert len(ds) == 200 and ds.meta["split_counts"] == {"train": 140, "val": 30, "test": 30}
    assert ds.meta["label_name"] == "mu" and ds.meta["input_units"] == "dBm"
    lo, hi = ds.meta["input_range"]
    assert np.all((ds.inputs >= lo) & (ds.inputs <= hi))
    ref = water_filling(ds.extras["pa_w"][:5], ds.extras["m_a"], ds.extras["m_b"])
    np.testing.assert_allclose(ds.labels[:5], ref.mu, rtol=1e-12)


def test_minmax_normalisation_eq49_50(rng):
    v = 10 ** rng.uniform(0, 5, 50)
    for kind in ("minmax", "log_minmax"):
        n = MinMax.fit(v, kind)
        z = n.forward(v)
        assert z.min() == pytest.approx(0) and z.max() == pytest.approx(1)
        np.testing.assert_allclose(n.inverse(z), v, rtol=1e-12)
        assert MinMax.from_dict(n.to_dict()) == n
    np.testing.assert_allclose(
        MinMax.fit(v).forward(v), (v - v.min()) / (v.max() - v.min()), rtol=1e-12
    )
    with pytest.raises(ValueError, match="positive"):
        MinMax.fit([-1.0, 1.0], "log_minmax")
    with pytest.raises(ValueError):
        MinMax("minmax", 1.0, 1.0)
