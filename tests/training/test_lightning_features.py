"""The Lightning features of every trainer are in effect: ModelCheckpoint's best
validation weights are the exported ones, the hparams file and TensorBoard's hparams and graph
events are written, and ``quiet`` turns the progress bar off. Cheap runs on tiny data."""

from __future__ import annotations

import json
import os

import pytest
import torch

from plkg.training.train import train_regressor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _seed() -> int:
    return int(os.environ.get("PLKG_TEST_SEED", "0"))


@pytest.fixture(scope="module")
def fnn_dataset(tiny_mu_dataset):
    return tiny_mu_dataset


@pytest.fixture(scope="module")
def general_dataset(tmp_path_factory):
    from plkg.data.general_dataset import GeometrySpec, generate_general_dataset

    spec = GeometrySpec(k_min=2, k_max=3, n_antennas_choices=(64,), n_pb=1, n_pa=8)
    path = tmp_path_factory.mktemp("gds") / "g.npz"
    return generate_general_dataset(path, 8, seed=_seed(), spec=spec, val_fraction=0.25)


def _printed(capfd) -> str:
    out = capfd.readouterr()
    return out.out + out.err


def _events(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (version,) = sorted(run_dir.glob("version_*"))
    acc = EventAccumulator(str(version))
    acc.Reload()
    return version, acc


def _check_tensorboard(run_dir, hparam: str, metric: str) -> None:
    version, acc = _events(run_dir)
    assert hparam in (version / "hparams.yaml").read_text()
    assert acc.Tags()["graph"]  # log_graph traced example_input_array
    hp = acc.PluginTagToContent("hparams")
    assert "_hparams_/experiment" in hp and metric.encode() in hp["_hparams_/experiment"]
    assert metric in acc.Tags()["scalars"]


@pytest.mark.parametrize("network", ["kglm", "fnn"])
def test_fnn_trainer_lightning_features(fnn_dataset, tmp_path, capfd, network):
    kw = {"network": network, "hidden": (6,), "max_epochs": 12, "seed": _seed()}
    out = train_regressor(
        fnn_dataset, "net", out_dir=tmp_path, log_dir=tmp_path / "runs", progress_bar="bar", **kw
    )
    assert "Epoch" in _printed(capfd)  # Lightning's bar is on (forced: stdout is no terminal) ...
    quiet = train_regressor(fnn_dataset, "q", out_dir=tmp_path, log_dir=None, **kw)
    assert "Epoch" not in _printed(capfd)  # ... and off when quiet (progress_bar=False)
    # ModelCheckpoint: the exported weights are the best-validation epoch's
    m = out.meta["metrics"]
    assert m["val_mse"] == pytest.approx(min(h["val_mse"] for h in out.history), rel=1e-9)
    from plkg.inference.checkpoint import load_checkpoint

    ck = load_checkpoint(out.checkpoint_path)  # sidecar format unchanged, hashes verify
    assert ck.meta["format"] == "plkg-fnn-checkpoint-2"
    assert out.checkpoint_path.read_bytes() != b"" and quiet.meta["metrics"] == m  # same seed
    _check_tensorboard(tmp_path / "runs" / "net", "seed", "hp/best_val_mse")


def test_general_trainer_lightning_features(general_dataset, tmp_path, capfd, one_torch_thread):
    from plkg.inference.general_allocator import load_set_allocator
    from plkg.training.general_datamodule import GeneralDataModule
    from plkg.training.train_general import train_general

    kw = {"hidden": 8, "max_epochs": 6, "batch_size": 16, "seed": _seed(), "patience": 50}
    out = train_general(
        general_dataset, "t", "g", out_dir=tmp_path, log_dir=tmp_path / "runs", progress="bar", **kw
    )
    assert "Epoch" in _printed(capfd)
    train_general(general_dataset, "t", "q", out_dir=tmp_path, log_dir=None, quiet=True, **kw)
    assert "Epoch" not in _printed(capfd)
    _check_tensorboard(tmp_path / "runs" / "g", "proxy", "hp/val_loss")
    # ModelCheckpoint: best_val_loss is the minimum over the epochs, and the exported weights
    # (loaded back through the inference loader) reproduce it on the validation split
    m = out.meta["metrics"]
    assert len(m["val_loss_history"]) == 6
    assert m["best_val_loss"] == pytest.approx(min(m["val_loss_history"]), rel=1e-6)
    net, meta = load_set_allocator(out.checkpoint_path)
    assert meta["architecture"]["proxy"] == "lowsnr_split"
    dm = GeneralDataModule(general_dataset, "t", batch_size=16, proxy=True)
    dm.setup("fit")
    sq, n = 0.0, 0
    with torch.no_grad():
        for *inputs, y in dm.val_dataloader():
            sq += float(((net(*inputs) - y) ** 2).sum())
            n += len(y)
    assert sq / n == pytest.approx(m["best_val_loss"], rel=1e-4)
    assert json.loads(out.meta_path.read_text())["training"]["seed"] == _seed()
