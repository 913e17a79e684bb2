"""Dataset files: sidecar hash, degenerate labels refused, .npz + sidecar written as one unit."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import plkg.data.dataset as dataset_mod
from plkg.data.dataset import load_dataset, make_split, save_dataset
from plkg.io.sidecar_hash import with_sidecar_sha256

pytestmark = pytest.mark.surface  # no floating-point kernel decides these outcomes

META = {
    "input_name": "pa_dbm",
    "input_units": "dBm",
    "label_name": "t",
    "label_units": "bits",
    "scenario_fingerprint": "abc",
    "solver": "test",
    "seed": 0,
    "package_version": "0",
}


def _save(path, labels, meta=META, rng=None):
    rng = rng or np.random.default_rng(0)
    n = len(labels)
    return save_dataset(path, np.linspace(-10, 30, n), labels, make_split(n, rng), meta)


# label vectors a careless solver could produce; each is refused on write (and on load)
DEGENERATE = {
    "all -8.5e-16": np.full(20, -8.5e-16),
    "all zero": np.zeros(20),
    "all equal positive": np.full(20, 3.25),
    "equal to 1e-14 relative": 3.25 * (1 + 1e-14 * np.arange(20)),
    "one negative": np.r_[np.linspace(1, 2, 19), -1e-3],
    "one zero": np.r_[np.linspace(1, 2, 19), 0.0],
    "one NaN": np.r_[np.linspace(1, 2, 19), np.nan],
    "one inf": np.r_[np.linspace(1, 2, 19), np.inf],
}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_degenerate_labels_refused_on_write(tmp_path, case):
    with pytest.raises(ValueError, match="labels"):
        _save(tmp_path / "d.npz", DEGENERATE[case])
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left


def test_real_labels_may_be_negative_but_not_constant(tmp_path):
    meta = {**META, "label_name": "gain_db", "label_units": "dB"}
    _save(tmp_path / "ok.npz", np.linspace(-5, 5, 20), meta)
    assert load_dataset(tmp_path / "ok.npz").meta["label_domain"] == "real"
    with pytest.raises(ValueError, match="all 20 labels are equal"):
        _save(tmp_path / "c.npz", np.full(20, -2.0), meta)
    with pytest.raises(ValueError, match="label_domain"):
        _save(tmp_path / "x.npz", np.linspace(1, 2, 20), {**META, "label_domain": "banana"})


@pytest.mark.parametrize("case", ["all -8.5e-16", "all equal positive"])
def test_degenerate_labels_refused_on_load(tmp_path, monkeypatch, case):
    """A file written by an older writer (no label checks) is refused when read."""
    monkeypatch.setattr(dataset_mod, "_refuse_degenerate_labels", lambda *a: None)
    path = _save(tmp_path / "d.npz", DEGENERATE[case])
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"d\.npz.*labels"):
        load_dataset(path)


def test_sidecar_edit_detected(tmp_path):
    path = _save(tmp_path / "d.npz", np.linspace(1, 2, 20))
    side = path.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["input_range"] = [-300, -250]
    side.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="edited"):
        load_dataset(path)
    side.write_text(json.dumps(with_sidecar_sha256(meta)))  # re-signed: accepted
    assert load_dataset(path).meta["input_range"] == [-300, -250]


def test_concurrent_writers_cannot_mix_npz_and_sidecar(tmp_path, monkeypatch):
    """Writer A is paused between its .npz and its sidecar; writer B must wait for A's pair."""
    path = tmp_path / "d.npz"
    a_wrote_npz, release_a = threading.Event(), threading.Event()
    real_text = dataset_mod.write_text_atomic

    def slow_text(p, text):
        if threading.current_thread().name == "A":
            a_wrote_npz.set()
            assert release_a.wait(10)
        return real_text(p, text)

    monkeypatch.setattr(dataset_mod, "write_text_atomic", slow_text)
    a = threading.Thread(target=_save, args=(path, np.linspace(1, 2, 20)), name="A")
    b = threading.Thread(target=_save, args=(path, np.linspace(5, 9, 20)), name="B")
    a.start()
    assert a_wrote_npz.wait(10)
    b.start()
    try:
        b.join(0.5)
        assert b.is_alive(), "writer B ran while writer A held a half-written pair"
    finally:
        release_a.set()
        a.join(10)
        b.join(10)
    ds = load_dataset(path)  # hash of the sidecar matches the .npz: one writer's pair
    np.testing.assert_array_equal(ds.labels, np.linspace(5, 9, 20))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json", "d.npz"]
