"""LightningModule training the set allocator (:class:`plkg.models.set_allocator.SetAllocator`).

Loss: MSE of the standardised scale-free label (log(w/P_a) or log t, see the model). Also logged:
``val_max_abs_log_err`` (natural-log units; 1e-3 is a 0.1 % relative error of w or t).
Optimiser: AdamW with a cosine learning-rate decay over ``max_epochs``.
"""

from __future__ import annotations

import lightning as L
import torch

from plkg.models.set_allocator import N_UE_FEATURES, SetAllocator


class SetAllocatorModule(L.LightningModule):
    """Parameters: ``target`` (mu|t), ``hidden``, ``k_max``, ``lr``, ``weight_decay``,
    ``max_epochs`` (for the cosine schedule), ``label_std`` (to report errors in log units),
    ``proxy`` (residual max-min network, :class:`SetAllocator`)."""

    def __init__(
        self,
        target: str = "mu",
        hidden: int = 64,
        k_max: int = 12,
        lr: float = 2e-3,
        weight_decay: float = 1e-5,
        max_epochs: int = 100,
        label_std: float = 1.0,
        proxy: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.net = SetAllocator(target, hidden, k_max, proxy)
        self.val_history: list[float] = []  # val_loss per epoch
        b, d = 2, 5
        # traced into TensorBoard's graph tab (TensorBoardLogger(log_graph=True))
        self.example_input_array = (
            torch.zeros(b, d),
            torch.zeros(b, d),
            torch.zeros(b, d, dtype=torch.int64),
            torch.ones(b, d, dtype=torch.bool),
            torch.zeros(b),
        )
        if proxy:
            self.example_input_array += (
                torch.zeros(b, k_max, N_UE_FEATURES),
                torch.zeros(b, 1),
            )

    def forward(self, log_m_a, log_m_b, user, mask, log_pa, ue_feat=None, context=None):
        return self.net(log_m_a, log_m_b, user, mask, log_pa, ue_feat, context)

    def _loss(self, batch):
        *inputs, y = batch
        pred = self(*inputs)
        return torch.mean((pred - y) ** 2), (pred - y).abs().max() * self.hparams.label_std

    def training_step(self, batch, batch_idx):
        loss, _ = self._loss(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(batch[-1]))
        return loss

    def validation_step(self, batch, batch_idx):
        loss, worst = self._loss(batch)
        n = len(batch[-1])
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=n, prog_bar=True)
        self.log("val_max_abs_log_err", worst, on_step=False, on_epoch=True, reduce_fx="max",
                 batch_size=n)  # fmt: skip
        return loss

    def on_fit_start(self):
        if self.logger is not None and hasattr(self.logger, "log_hyperparams"):
            self.logger.log_hyperparams(self.hparams, {"hp/val_loss": float("nan")})

    def on_validation_epoch_end(self):
        if "val_loss" in self.trainer.callback_metrics:
            val = self.trainer.callback_metrics["val_loss"]
            self.log("hp/val_loss", val)
            if not self.trainer.sanity_checking:
                self.val_history.append(float(val))

    def configure_optimizers(self):
        opt = torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.hparams.max_epochs)
        return {"optimizer": opt, "lr_scheduler": sched}
