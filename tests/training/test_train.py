"""Lightning training of the regression FNN and checkpoint export (plkg.training.train)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from plkg.training.train import train_regressor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def dataset(tiny_mu_dataset):
    return tiny_mu_dataset


def test_lm_fit_exports_deterministic_checkpoint(dataset, tmp_path):
    kw = {"max_epochs": 25, "seed": 1, "label_norm": "log_minmax"}
    a = train_regressor(dataset, "net", out_dir=tmp_path / "a", log_dir=tmp_path / "runs", **kw)
    b = train_regressor(dataset, "net", out_dir=tmp_path / "b", log_dir=None, **kw)
    assert a.checkpoint_path.read_bytes() == b.checkpoint_path.read_bytes()
    assert a.meta_path.read_bytes() == b.meta_path.read_bytes()
    assert any((tmp_path / "runs" / "net").rglob("events.out.tfevents*"))  # TensorBoard
    meta = json.loads(a.meta_path.read_text())
    m = meta["metrics"]
    # LM on a smooth 1-D map: the fit is tight and the history is monotone at the start
    assert m["train_pearson"] > 0.99 and m["test_pearson"] > 0.99 and m["train_mse"] < 1e-3
    assert meta["training_range"] == {"lo": -10.0, "hi": 30.0, "units": "dBm"}
    assert (
        meta["architecture"]["type"] == "KGLMNet"
        and meta["normalization"]["label"]["kind"] == "log_minmax"
    )
    assert a.history[0]["train_mse"] > a.history[-1]["train_mse"]
    assert 1 <= m["epochs"] <= 25 and m["stop_reason"] in (
        "early_stopping",
        "max_epochs",
        "lm_mu_max",
    )
    # the exported net is the best-validation epoch
    best = min(h["val_mse"] for h in a.history)
    assert m["val_mse"] == pytest.approx(best, rel=1e-9)
    c = train_regressor(dataset, "net", out_dir=tmp_path / "c", log_dir=None, **{**kw, "seed": 2})
    assert c.checkpoint_path.read_bytes() != a.checkpoint_path.read_bytes()


def test_checkpoint_round_trip_through_inference_loader(dataset, tmp_path):
    from plkg.data.dataset import load_dataset
    from plkg.inference.checkpoint import load_checkpoint

    out = train_regressor(
        dataset, "rt", out_dir=tmp_path, log_dir=None, max_epochs=20, network="fnn"
    )
    ck = load_checkpoint(out.checkpoint_path, expected_fingerprint="tiny", expected_label="mu")
    ds = load_dataset(dataset)
    x = torch.as_tensor(ck.input_norm.forward(ds.inputs)).reshape(-1, 1)
    with torch.no_grad():
        ref = ck.label_norm.inverse(out.net(x).reshape(-1).numpy())
    np.testing.assert_allclose(ck.predict(ds.inputs), ref, rtol=1e-12)
    assert ck.meta["architecture"]["type"] == "FNN"
    # the writer signs its sidecar: load_checkpoint verified sidecar_sha256 above
    assert ck.meta["format"] == "plkg-fnn-checkpoint-2" and len(ck.meta["sidecar_sha256"]) == 64
    np.testing.assert_array_equal(ck.design["m_a"], np.ones(3))


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_other_optimizers_reduce_the_loss(dataset, tmp_path, optimizer):
    out = train_regressor(
        dataset,
        optimizer,
        out_dir=tmp_path,
        log_dir=None,
        max_epochs=15,
        optimizer=optimizer,
        lr=0.05 if optimizer == "adam" else 0.5,
        patience=100,
        export=False,
    )
    assert out.history[-1]["train_mse"] < out.history[0]["train_mse"]
    assert out.checkpoint_path is None


def test_bad_arguments(dataset, tmp_path):
    with pytest.raises(ValueError, match="plain file stem"):
        train_regressor(dataset, "../x", out_dir=tmp_path)
    with pytest.raises(ValueError, match="optimizer"):
        train_regressor(dataset, "x", out_dir=tmp_path, optimizer="sgd", log_dir=None)
    with pytest.raises(ValueError, match="fingerprint"):
        train_regressor(dataset, "x", out_dir=tmp_path, expected_fingerprint="other")
    with pytest.raises(ValueError, match="one hidden layer"):
        train_regressor(dataset, "x", out_dir=tmp_path, hidden=(4, 4), log_dir=None)
