"""Train a 1-input/1-output FNN from a :mod:`plkg.data.dataset` file and export a checkpoint.

Generic for KGLM-Net (label mu, Section V-B of the near-field paper) and the fairness FNN (label
t, Section VI-C). Writes ``<out_dir>/<name>.safetensors`` (weights, float64, plus the design
constants ``design.m_a``/``design.m_b``/``design.user`` when the dataset carries them) and
``<out_dir>/<name>.json`` (architecture, normalisation constants, training input range, scenario
fingerprint, metrics, optimiser settings, hashes). The same dataset and seed give byte-identical
files; TensorBoard logs go to ``<log_dir>/<name>/``.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from plkg._version import __version__
from plkg.data.dataset import SPLIT_NAMES, load_dataset
from plkg.data.normalization import MinMax
from plkg.io.atomic import write_bytes_atomic, write_text_atomic
from plkg.io.json_text import dumps_strict
from plkg.io.sidecar_hash import with_sidecar_sha256
from plkg.models.fnn import FNN
from plkg.models.kglm_net import KGLMNet

# Format 2 carries sidecar_sha256 (plkg.io.sidecar_hash): any edit of the JSON is detected.
CHECKPOINT_FORMAT = "plkg-fnn-checkpoint-2"
DESIGN_ARRAYS = ("m_a", "m_b", "user")


@dataclass(frozen=True)
class TrainingOutcome:
    """What :func:`train_regressor` produced.

    Attributes
    ----------
    checkpoint_path, meta_path : Path or None
        The exported files (None when ``export=False``).
    meta : dict
        The checkpoint JSON (``metrics`` inside).
    history : list of dict
        Per-epoch ``train_mse``/``val_mse`` (normalised units), for Fig. 4.
    net : FNN
        The trained network (best validation epoch).
    """

    checkpoint_path: Path | None
    meta_path: Path | None
    meta: dict
    history: list
    net: FNN


def pearson(a, b) -> float:
    """Pearson correlation coefficient of two 1-D arrays."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.corrcoef(a, b)[0, 1])


def _as_column(v) -> torch.Tensor:
    return torch.as_tensor(np.asarray(v, dtype=np.float64)).reshape(-1, 1)


def build_net(network: str, hidden, activation: str, generator: torch.Generator) -> FNN:
    hidden = tuple(int(h) for h in np.atleast_1d(hidden))
    if network == "kglm":
        if len(hidden) != 1:
            raise ValueError(f"KGLM-Net has one hidden layer, got {hidden}")
        return KGLMNet(hidden[0], activation, generator=generator)
    if network == "fnn":
        return FNN(1, hidden, 1, activation, generator=generator)
    raise ValueError(f"network must be 'kglm' or 'fnn', got {network!r}")


def _step_free_checkpoint(model_checkpoint):
    """``ModelCheckpoint`` that also saves when ``trainer.global_step`` did not move.

    Levenberg-Marquardt writes the weights itself (manual optimisation without a torch
    optimiser), so the global step stays 0 and the stock callback, which saves at most once per
    step, would keep nothing. Adam and L-BFGS step normally and are unaffected.
    """

    class StepFreeCheckpoint(model_checkpoint):
        def _should_skip_saving_checkpoint(self, trainer) -> bool:
            self._last_global_step_saved = -1  # checked by the parent; see the docstring
            return super()._should_skip_saving_checkpoint(trainer)

    return StepFreeCheckpoint


def train_regressor(
    dataset_path,
    name: str,
    out_dir="checkpoints",
    network: str = "kglm",
    hidden=(20,),
    activation: str = "tanh",
    label_norm: str = "minmax",
    optimizer: str = "lm",
    lr: float = 1e-2,
    max_epochs: int = 1000,
    patience: int = 6,
    seed: int = 0,
    log_dir="runs",
    expected_fingerprint: str | None = None,
    lm_options: dict | None = None,
    export: bool = True,
    progress_bar: bool | str = False,
    accelerator: str = "auto",
    progress_desc: str | None = None,
) -> TrainingOutcome:
    """Fit ``network`` to a dataset with Lightning and export a checkpoint.

    Parameters
    ----------
    dataset_path : path
        ``.npz`` written by :func:`plkg.data.dataset.save_dataset` (train/val/test split inside).
    name : str
        Checkpoint base name (``<out_dir>/<name>.safetensors`` + ``.json``).
    network : ``kglm`` | ``fnn``
        KGLM-Net (1-H-1) or a generic FNN with ``hidden`` widths.
    label_norm : ``minmax`` | ``log_minmax``
        Eq. (50) (paper) or the same on log(label). Inputs always use Eq. (49). Both are fitted on
        all T_D samples, as in the paper (j in 1..T_D).
    optimizer : ``lm`` | ``adam`` | ``lbfgs``
    max_epochs, patience : int
        At most 1000 epochs; stop after ``patience`` epochs without a lower validation MSE
        (Section V-B-4). The best-validation parameters are kept.
    seed : int
        Seeds the weight initialisation (``torch.Generator``); training is otherwise deterministic.
    log_dir : path or None
        TensorBoard folder (None: no logging).
    expected_fingerprint : str, optional
        Refuse a dataset made for another scenario.
    progress_bar : bool or str
        ``True``/``"auto"``: Lightning's bar when stdout is a terminal, otherwise a compact
        epoch line on stderr at most every few seconds and one final line
        (:mod:`plkg.training._progress`); ``"bar"``, ``"lines"`` force one of them;
        ``False``/``"none"`` (default) and quiet mode (:func:`plkg.progress.is_quiet`): nothing.
    accelerator : str
        Lightning's ``accelerator`` (``auto``: a GPU when present, else the CPU; ``cpu`` forces
        the CPU). The committed checkpoints were trained on the CPU; float64 arithmetic on a
        GPU may differ in the last bits, so "same seed, same bytes" is a per-device promise.
    progress_desc : str or None
        Name in the epoch lines' brackets (default ``train <name>``).

    Returns
    -------
    TrainingOutcome
    """
    import tempfile

    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from plkg.training.regression_module import RegressionModule

    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ValueError(f"checkpoint name must be a plain file stem, got {name!r}")
    if int(max_epochs) < 1 or int(patience) < 1:
        raise ValueError("max_epochs and patience must be >= 1")
    ds = load_dataset(dataset_path, expected_fingerprint=expected_fingerprint)
    in_norm = MinMax.fit(ds.inputs, "minmax")
    out_norm = MinMax.fit(ds.labels, label_norm)
    parts = {}
    for split in SPLIT_NAMES:
        x, y = ds.part(split)
        parts[split] = (_as_column(in_norm.forward(x)), _as_column(out_norm.forward(y)), y)
    # seed_everything seeds any global RNG Lightning or a callback may draw from; the weights
    # come from their own generator below (seeded by ``seed`` alone), so the same seed gives
    # the same weights whatever else draws from the global RNG.
    L.seed_everything(int(seed), verbose=False)
    generator = torch.Generator().manual_seed(int(seed))
    net = build_net(network, hidden, activation, generator)
    module = RegressionModule(net, optimizer=optimizer, lr=lr, lm_options=lm_options)

    from plkg.training.regression_datamodule import FullBatchDataModule

    datamodule = FullBatchDataModule(parts)

    logger = False
    if log_dir is not None:
        from lightning.pytorch.loggers import TensorBoardLogger

        # log_graph: the module's example_input_array is traced into TensorBoard's graph tab
        logger = TensorBoardLogger(
            save_dir=str(log_dir), name=name, default_hp_metric=False, log_graph=True
        )
    settings = {"network": network, "hidden": str(tuple(np.atleast_1d(hidden))), "seed": int(seed),
                "label_norm": label_norm, "optimizer": optimizer, "patience": int(patience),
                "max_epochs": int(max_epochs)}  # fmt: skip
    if logger:
        logger.log_hyperparams(settings)  # before fit: hparams.yaml is written when fit ends
    early = EarlyStopping(monitor="val_mse", patience=int(patience), mode="min", check_finite=True)
    lightning_log = logging.getLogger("lightning.pytorch")
    level = lightning_log.level
    lightning_log.setLevel(logging.WARNING)
    tmp = tempfile.TemporaryDirectory(prefix="plkg-train-")
    # the best-validation epoch's weights (strictly lower val_mse, as trainlm keeps them) go to a
    # Lightning checkpoint in a private folder; they are what gets exported to safetensors below
    best = _step_free_checkpoint(ModelCheckpoint)(
        dirpath=tmp.name, monitor="val_mse", mode="min", save_top_k=1, save_weights_only=True
    )
    from plkg.training._fit import fit, interrupt_recorder
    from plkg.training._progress import progress_settings

    recorder = interrupt_recorder()  # Ctrl-C/SIGTERM inside fit: re-raised, nothing exported
    bar, lines = progress_settings(
        progress_bar, progress_desc or f"train {name}", "train_mse", "val_mse"
    )
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*configure_optimizers.*")
            warnings.filterwarnings("ignore", message=".*number of training batches.*")
            trainer = L.Trainer(
                max_epochs=int(max_epochs),
                accelerator=accelerator,
                devices=1,
                logger=logger,
                callbacks=[early, best, recorder, *lines],
                enable_progress_bar=bar,
                enable_model_summary=False,
                num_sanity_val_steps=0,
                log_every_n_steps=1,
                deterministic=True,
            )
            fit(trainer, module, recorder, datamodule=datamodule)
        if not best.best_model_path:
            raise RuntimeError("training produced no validation epoch")
        state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
    finally:
        lightning_log.setLevel(level)
        tmp.cleanup()
    if logger:
        # hparams tab: the run's settings next to its best validation error
        logger.log_hyperparams(settings, {"hp/best_val_mse": float(module.best_val_mse)})
    module.cpu().load_state_dict(state["state_dict"])
    net.eval()

    metrics: dict = {}
    with torch.no_grad():
        for split, (x, y_n, y) in parts.items():
            pred_n = net(x)
            pred = np.asarray(out_norm.inverse(pred_n.reshape(-1).numpy()))
            metrics[f"{split}_mse"] = float(torch.mean((pred_n - y_n) ** 2))
            metrics[f"{split}_pearson"] = pearson(pred, y)
            metrics[f"{split}_max_rel_error"] = float(np.max(np.abs(pred / y - 1)))
    if module.stop_reason is not None:
        stop = module.stop_reason
    elif early.stopped_epoch > 0:
        stop = "early_stopping"
    else:
        stop = "max_epochs"
    metrics.update(
        epochs=len(module.history),
        best_epoch=int(module.best_epoch),
        stop_reason=stop,
    )
    lo, hi = ds.meta.get("input_range", [float(ds.inputs.min()), float(ds.inputs.max())])
    meta = {
        "format": CHECKPOINT_FORMAT,
        "name": name,
        "architecture": net.architecture(),
        "normalization": {"input": in_norm.to_dict(), "label": out_norm.to_dict()},
        "input_name": ds.meta["input_name"],
        "input_units": ds.meta["input_units"],
        "label_name": ds.meta["label_name"],
        "label_units": ds.meta["label_units"],
        "training_range": {"lo": float(lo), "hi": float(hi), "units": ds.meta["input_units"]},
        "scenario_fingerprint": ds.meta["scenario_fingerprint"],
        "scenario_name": ds.meta.get("scenario_name"),
        "dataset": {"file": Path(dataset_path).name, "npz_sha256": ds.meta["npz_sha256"]},
        "training": {
            "optimizer": optimizer,
            "lr": lr if optimizer != "lm" else None,
            "lm_options": lm_options or {},
            "max_epochs": int(max_epochs),
            "patience": int(patience),
            "seed": int(seed),
        },
        "metrics": metrics,
        "history": module.history,
        "package_version": __version__,
    }
    if not export:
        return TrainingOutcome(None, None, meta, module.history, net)
    from safetensors.torch import save

    tensors = {f"net.{k}": v.detach().contiguous() for k, v in net.state_dict().items()}
    if all(k in ds.extras for k in DESIGN_ARRAYS):
        tensors["design.m_a"] = torch.as_tensor(np.asarray(ds.extras["m_a"], dtype=np.float64))
        tensors["design.m_b"] = torch.as_tensor(np.asarray(ds.extras["m_b"], dtype=np.float64))
        tensors["design.user"] = torch.as_tensor(np.asarray(ds.extras["user"], dtype=np.int64))
    blob = save(tensors, metadata={"format": CHECKPOINT_FORMAT})
    meta["safetensors_sha256"] = hashlib.sha256(blob).hexdigest()
    meta = with_sidecar_sha256(meta)
    out_dir = Path(out_dir)
    ckpt = write_bytes_atomic(out_dir / f"{name}.safetensors", blob)
    meta_path = write_text_atomic(
        out_dir / f"{name}.json", dumps_strict(meta, indent=2, sort_keys=True) + "\n"
    )
    return TrainingOutcome(ckpt, meta_path, meta, module.history, net)
