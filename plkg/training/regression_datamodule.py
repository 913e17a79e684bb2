"""LightningDataModule of the KGLM-Net / fairness-FNN training: one full batch per split.

The (normalised input, normalised label) columns of each split (Eqs. (49)-(50) of the near-field
paper) are served whole and in order, as ``trainlm`` does (Section V-B-4): no shuffling, no
randomness, so the training is deterministic.
"""

from __future__ import annotations

import lightning as L
import torch


class FullBatchDataModule(L.LightningDataModule):
    """Loaders over ``parts[split] = (x [T, 1], y [T, 1], ...)`` for ``train``/``val``/``test``."""

    def __init__(self, parts: dict):
        super().__init__()
        self.parts = parts

    def _loader(self, split: str):
        x, y = self.parts[split][0], self.parts[split][1]
        return torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x, y), batch_size=len(x), shuffle=False
        )

    def train_dataloader(self):
        return self._loader("train")

    def val_dataloader(self):
        return self._loader("val")

    def test_dataloader(self):
        return self._loader("test")
