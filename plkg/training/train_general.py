"""Train the generalising set allocator the Lightning way and export a checkpoint.

``seed_everything``, a :class:`GeneralDataModule`, ``ModelCheckpoint`` on ``val_loss`` (the best
epoch's weights are exported to ``<out_dir>/<name>.safetensors`` + ``<name>.json``),
``EarlyStopping``, TensorBoard with the hyper-parameters (hparams tab) and the model graph,
``accelerator="auto"`` and progress (Lightning's bar in a terminal, compact epoch lines on
stderr otherwise, :mod:`plkg.training._progress`) that ``quiet`` turns off. The JSON holds the
architecture, the feature/label standardisation, the dataset hash and spec, metrics and hashes
(:mod:`plkg.io.sidecar_hash`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from plkg._version import __version__
from plkg.io.json_text import dumps_strict

CHECKPOINT_FORMAT = "plkg-set-allocator-1"


@dataclass(frozen=True)
class GeneralTrainingOutcome:
    """``checkpoint_path``/``meta_path`` (None without export), ``meta`` and the trained ``net``."""

    checkpoint_path: Path | None
    meta_path: Path | None
    meta: dict
    net: torch.nn.Module


def train_general(
    dataset_path,
    target: str,
    name: str,
    out_dir="checkpoints",
    hidden: int = 64,
    max_epochs: int = 60,
    patience: int = 15,
    batch_size: int = 128,
    lr: float = 2e-3,
    weight_decay: float = 1e-5,
    seed: int = 0,
    log_dir="runs",
    quiet: bool = False,
    export: bool = True,
    proxy: bool | None = None,
    accelerator: str = "auto",
    progress: bool | str = "auto",
    progress_desc: str | None = None,
) -> GeneralTrainingOutcome:
    """Fit a :class:`SetAllocator` for ``target`` (``mu`` or ``t``) on a general dataset.

    Parameters
    ----------
    dataset_path : path or list of paths
        ``.npz`` of :func:`plkg.data.general_dataset.generate_general_dataset` (several are
        merged, each keeping its own train/val split).
    target : ``mu`` | ``t``
    name : str
        Checkpoint stem.
    max_epochs, patience : int
        Epoch budget (also the cosine schedule length) and early-stopping patience on ``val_loss``.
    seed : int
        ``lightning.seed_everything`` (weights init and shuffling).
    log_dir : path or None
        TensorBoard folder (None: no logging).
    quiet : bool
        No progress output and no Lightning summary (same as ``progress="none"``).
    proxy : bool or None
        Residual max-min network on the low-SNR split (:mod:`plkg.solvers.maxmin_proxy`);
        None (default): True for target ``t``, False for ``mu`` (which has no proxy).
    accelerator : str
        Lightning's ``accelerator``: ``auto`` (default) takes a GPU when there is one; ``cpu``
        forces the CPU (the committed checkpoints were trained there).
    progress : bool or str
        ``"auto"`` (default): Lightning's bar when stdout is a terminal, otherwise a compact
        epoch line on stderr at most every few seconds and one final line; ``"bar"``,
        ``"lines"``, ``"none"`` force one of them.
    progress_desc : str or None
        Name in the epoch lines' brackets (default ``train <name>``).
    """
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from plkg.training.general_datamodule import GeneralDataModule
    from plkg.training.general_module import SetAllocatorModule

    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ValueError(f"checkpoint name must be a plain file stem, got {name!r}")
    if int(max_epochs) < 1 or int(patience) < 1 or int(batch_size) < 1:
        raise ValueError("max_epochs, patience and batch_size must be >= 1")
    proxy = (target == "t") if proxy is None else bool(proxy)
    L.seed_everything(int(seed), workers=True, verbose=False)
    dm = GeneralDataModule(dataset_path, target, batch_size=batch_size, seed=seed, proxy=proxy)
    dm.setup("fit")
    module = SetAllocatorModule(
        target=target,
        hidden=hidden,
        lr=lr,
        weight_decay=weight_decay,
        max_epochs=max_epochs,
        label_std=dm.label_std,
        proxy=proxy,
    )
    _set_standardisation(module.net, dm)
    logger = False
    if log_dir is not None:
        from lightning.pytorch.loggers import TensorBoardLogger

        logger = TensorBoardLogger(
            save_dir=str(log_dir), name=name, default_hp_metric=False, log_graph=True
        )
    from plkg.training._fit import fit, interrupt_recorder
    from plkg.training._progress import progress_settings

    recorder = interrupt_recorder()  # Ctrl-C/SIGTERM inside fit: re-raised, nothing exported
    bar, lines = progress_settings(
        "none" if quiet else progress, progress_desc or f"train {name}", "train_loss", "val_loss"
    )
    with tempfile.TemporaryDirectory(prefix="plkg-general-") as tmp:
        best = ModelCheckpoint(dirpath=tmp, monitor="val_loss", mode="min", save_top_k=1)
        early = EarlyStopping(monitor="val_loss", mode="min", patience=int(patience))
        lightning_log = logging.getLogger("lightning.pytorch")
        level = lightning_log.level
        if not bar:  # Lightning's info lines (GPU available ...) belong with its bar
            lightning_log.setLevel(logging.WARNING)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*does not have many workers.*")
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                trainer = L.Trainer(
                    max_epochs=int(max_epochs),
                    accelerator=accelerator,
                    devices=1,
                    logger=logger,
                    callbacks=[best, early, recorder, *lines],
                    enable_progress_bar=bar,
                    enable_model_summary=bar,
                    num_sanity_val_steps=0,
                    deterministic=True,
                )
                fit(trainer, module, recorder, datamodule=dm)
        finally:
            lightning_log.setLevel(level)
        if not best.best_model_path:
            raise RuntimeError("training produced no validation epoch")
        state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
        best_score = float(best.best_model_score)
        epochs = int(trainer.current_epoch)
    net = module.net.cpu().eval()
    meta = {
        "format": CHECKPOINT_FORMAT,
        "name": name,
        "architecture": net.architecture(),
        "target": target,
        "label_definition": _label_definition(target, proxy),
        "feature_definition": "[log m_a, log(m_b/P_a)] standardised (natural log, W)",
        "dataset": _dataset_record(dataset_path, dm.tensors["meta"]),
        "training": {
            "hidden": int(hidden),
            "max_epochs": int(max_epochs),
            "epochs_run": epochs,
            "patience": int(patience),
            "batch_size": int(batch_size),
            "lr": float(lr),
            "weight_decay": float(weight_decay),
            "seed": int(seed),
        },
        "metrics": {"best_val_loss": best_score, "val_loss_history": module.val_history},
        "package_version": __version__,
    }
    if not export:
        return GeneralTrainingOutcome(None, None, meta, net)
    return _export(net, meta, Path(out_dir), name)


def _dataset_record(dataset_path, meta: dict) -> dict:
    """Which data trained the net: file name(s), npz hash(es), seed(s), spec, sample count."""
    parts = meta.get("parts") or [meta]
    paths = [dataset_path] if isinstance(dataset_path, (str, os.PathLike)) else list(dataset_path)
    one = len(parts) == 1
    names = [Path(p).name for p in paths]
    return {
        "file": names[0] if one else names,
        "npz_sha256": parts[0]["npz_sha256"] if one else [m["npz_sha256"] for m in parts],
        "seed": parts[0]["seed"] if one else [m["seed"] for m in parts],
        "spec": meta["spec"],
        "n_samples": meta["n_samples"],
    }


def _label_definition(target: str, proxy: bool) -> str:
    if target == "mu":
        return "log(w/P_a), w = 1/(mu ln 2) [W]"
    if proxy:
        return (
            "logit(t/t_sup) - logit(t0/t_sup), t_sup = min_k sum_j log2(1 + 1/m_a) [bit], "
            "t0 = min rate of the low-SNR split (plkg.solvers.maxmin_proxy)"
        )
    return "logit(t/t_sup), t_sup = min_k sum_j log2(1 + 1/m_a) [bit]"


def _set_standardisation(net, dm) -> None:
    with torch.no_grad():
        net.feature_mean.copy_(torch.as_tensor(dm.feature_mean))
        net.feature_std.copy_(torch.as_tensor(dm.feature_std))
        net.label_mean.fill_(dm.label_mean)
        net.label_std.fill_(dm.label_std)


def _export(net, meta: dict, out_dir: Path, name: str) -> GeneralTrainingOutcome:
    from safetensors.torch import save

    from plkg.io.atomic import write_bytes_atomic, write_text_atomic
    from plkg.io.sidecar_hash import with_sidecar_sha256

    tensors = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    blob = save(tensors, metadata={"format": CHECKPOINT_FORMAT})
    meta = dict(meta, safetensors_sha256=hashlib.sha256(blob).hexdigest())
    meta = with_sidecar_sha256(meta)
    ckpt = write_bytes_atomic(out_dir / f"{name}.safetensors", blob)
    meta_path = write_text_atomic(
        out_dir / f"{name}.json", dumps_strict(meta, indent=2, sort_keys=True) + "\n"
    )
    return GeneralTrainingOutcome(ckpt, meta_path, meta, net)
