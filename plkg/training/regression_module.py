"""Lightning module fitting a small FNN to (input, label) pairs: KGLM-Net (Section V-B of the
near-field paper) and the fairness FNN (Section VI-C).

Inputs and labels arrive already normalised (Eqs. (49)-(50), :mod:`plkg.data.normalization`).
Each epoch is one full batch (the whole training set); the loss is the MSE of Eq. (51). The
default optimiser is Levenberg-Marquardt (:mod:`plkg.training.levenberg_marquardt`, MATLAB
``trainlm``); ``adam`` and ``lbfgs`` are options. Early stopping (patience 6 on ``val_mse``) is a
Lightning callback set up by :mod:`plkg.training.train`; the module remembers the parameters of
the best validation epoch (what ``trainlm`` returns) in :attr:`best_state`.
"""

from __future__ import annotations

import copy

import lightning as L
import torch
from torch import nn

from plkg.training.levenberg_marquardt import (
    LevenbergMarquardt,
    flat_parameters,
    load_flat,
    module_residual_fn,
)

OPTIMIZERS = ("lm", "adam", "lbfgs")


class RegressionModule(L.LightningModule):
    """Full-batch MSE regression of ``net`` with LM (default), Adam or L-BFGS.

    Parameters
    ----------
    net : nn.Module
        Maps [B, 1] -> [B, 1] in normalised units.
    optimizer : ``lm`` | ``adam`` | ``lbfgs``
    lr : float
        Learning rate for Adam/L-BFGS (ignored by LM).
    lm_options : dict, optional
        ``mu``, ``mu_dec``, ``mu_inc``, ``mu_max`` of :class:`LevenbergMarquardt`.

    Attributes
    ----------
    history : list of dict
        Per epoch: ``epoch``, ``train_mse``, ``val_mse`` (after that epoch's update).
    best_state : dict
        ``state_dict`` of the epoch with the lowest ``val_mse``; ``best_epoch``, ``best_val_mse``.
    stop_reason : str or None
        ``lm_mu_max`` if LM could not decrease the error any more.
    """

    def __init__(self, net: nn.Module, optimizer: str = "lm", lr: float = 1e-2, lm_options=None):
        super().__init__()
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
        # the settings go to the checkpoint's hparams (and TensorBoard); the net is a submodule
        self.save_hyperparameters(ignore=["net"])
        self.net = net
        self.example_input_array = torch.zeros(1, 1, dtype=torch.float64)  # for the graph
        self.optimizer_name = optimizer
        self.lr = float(lr)
        self.automatic_optimization = False
        self.lm = LevenbergMarquardt(**(lm_options or {})) if optimizer == "lm" else None
        self.history: list[dict] = []
        self.best_state: dict | None = None
        self.best_epoch = -1
        self.best_val_mse = float("inf")
        self.stop_reason: str | None = None
        self._train_batch = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @staticmethod
    def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Eq. (51): mean of squared errors."""
        return torch.mean((pred - target) ** 2)

    def configure_optimizers(self):
        if self.optimizer_name == "adam":
            return torch.optim.Adam(self.net.parameters(), lr=self.lr)
        if self.optimizer_name == "lbfgs":
            return torch.optim.LBFGS(
                self.net.parameters(), lr=self.lr, max_iter=20, line_search_fn="strong_wolfe"
            )
        return None

    def training_step(self, batch, batch_idx):
        x, y = batch
        self._train_batch = (x, y)
        if self.optimizer_name == "lm":
            step = self.lm.step(module_residual_fn(self.net, x, y), flat_parameters(self.net))
            load_flat(self.net, step.theta)
            self.log("lm_mu", step.mu, on_epoch=True, on_step=False)
            if not step.improved:
                self.stop_reason = "lm_mu_max"
                self.trainer.should_stop = True
            return None
        opt = self.optimizers()
        if self.optimizer_name == "adam":
            opt.zero_grad()
            loss = self.mse(self.net(x), y)
            self.manual_backward(loss)
            opt.step()
        else:

            def closure():
                opt.zero_grad()
                loss = self.mse(self.net(x), y)
                self.manual_backward(loss)
                return loss

            opt.step(closure=closure)
        return None

    def validation_step(self, batch, batch_idx):
        x, y = batch
        val = self.mse(self.net(x), y)
        self.log("val_mse", val, on_epoch=True, on_step=False, prog_bar=False)
        return val

    def on_validation_epoch_end(self):
        if self.trainer.sanity_checking or self._train_batch is None:
            return
        x, y = self._train_batch
        with torch.no_grad():
            train_mse = float(self.mse(self.net(x), y))
        val_mse = float(self.trainer.callback_metrics["val_mse"])
        self.log("train_mse", train_mse, on_epoch=True, on_step=False)
        self.history.append(
            {"epoch": self.current_epoch, "train_mse": train_mse, "val_mse": val_mse}
        )
        if val_mse < self.best_val_mse:
            self.best_val_mse = val_mse
            self.best_epoch = self.current_epoch
            self.best_state = copy.deepcopy(self.net.state_dict())
