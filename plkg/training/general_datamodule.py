"""LightningDataModule over a general dataset (:mod:`plkg.data.general_dataset`) for the set
allocator (:mod:`plkg.models.set_allocator`).

The designs are padded once into [S, D_max] tensors; a batch gathers the designs of its samples
and trims the padding to the batch's largest N_D. Labels are the scale-free targets of the model
(``log(w/P_a)`` with w = 1/(mu ln 2) for ``mu``, ``logit(t/t_sup)`` for ``t``), standardised with the
training split's mean and std; the feature statistics are those of the training samples.

With ``proxy=True`` (residual max-min network) each sample also carries the features of the
low-SNR budget split (:mod:`plkg.solvers.maxmin_proxy`, :func:`plkg.models.set_allocator.proxy_features`)
and the label is ``logit(t/t_sup) - logit(t0/t_sup)``.
"""

from __future__ import annotations

import math
import os

import lightning as L
import numpy as np
import torch

from plkg import units
from plkg.data.general_dataset import load_general_dataset, merge_general_datasets
from plkg.models.set_allocator import pack_sets, proxy_features, saturation_rate_bits

LN2 = math.log(2.0)


def scale_free_label(target: str, mu, t, pa_w, t_sup=None) -> np.ndarray:
    """The model's target: log(w/P_a) (``mu``) or logit(t/t_sup) (``t``, t_sup [T] the
    saturation rate of :func:`plkg.models.set_allocator.saturation_rate_bits`)."""
    if target == "mu":
        return -np.log(np.asarray(mu) * LN2) - np.log(pa_w)
    q = np.asarray(t) / np.asarray(t_sup)
    return np.log(q) - np.log1p(-q)


def dataset_tensors(path, target: str, proxy: bool = False, k_max: int = 12) -> dict:
    """Padded set tensors + per-sample (set index, log P_a, label, split) of a general dataset.

    ``path`` may be a list of files (merged by
    :func:`plkg.data.general_dataset.merge_general_datasets`). ``proxy`` (target ``t``): also
    ``ue_feat`` [T, k_max, 3] and ``context`` [T, 1] of the low-SNR split, and the residual label.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    ds = merge_general_datasets([load_general_dataset(p) for p in paths])
    a = ds.arrays
    n_sets = a["set_geometry"].size
    cols = [ds.set_constants(s) for s in range(n_sets)]
    log_m_a, log_m_b, user, mask = pack_sets(
        [c[0] for c in cols], [c[1] for c in cols], [c[2] for c in cols]
    )
    pa_w = units.dbm_to_w(a["pa_dbm"])
    t_sup = np.array([saturation_rate_bits(c[0], c[2], c[3]) for c in cols])[a["sample_set"]]
    label = scale_free_label(target, a["mu"], a["t"], pa_w, t_sup)
    extra = {}
    if proxy:
        ue_feat, context = _proxy_inputs(ds, cols, pa_w, k_max)
        label = label - context[:, 0]
        extra = {
            "ue_feat": torch.as_tensor(ue_feat, dtype=torch.float32),
            "context": torch.as_tensor(context, dtype=torch.float32),
        }
    return {
        **extra,
        "log_m_a": log_m_a,
        "log_m_b": log_m_b,
        "user": user,
        "mask": mask,
        "sample_set": torch.as_tensor(a["sample_set"]),
        "log_pa": torch.as_tensor(np.log(pa_w), dtype=torch.float32),
        "label": torch.as_tensor(label, dtype=torch.float64),
        "split": torch.as_tensor(a["split"]),
        "meta": ds.meta,
    }


def _proxy_inputs(ds, cols, pa_w, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`proxy_features` of every sample (one low-SNR split per set, batched over its P_a)."""
    from plkg.solvers.maxmin_proxy import maxmin_proxy

    n = pa_w.size
    ue_feat = np.zeros((n, k_max, 3))
    context = np.zeros((n, 1))
    sample_set = ds.arrays["sample_set"]
    for s, (m_a, m_b, user, k) in enumerate(cols):
        idx = np.nonzero(sample_set == s)[0]
        if idx.size == 0:
            continue
        prox = maxmin_proxy(m_a, m_b, user, k, pa_w[idx])
        ue_feat[idx], context[idx] = proxy_features(
            prox.rates_bits, prox.shares, m_a, user, k, k_max
        )
    return ue_feat, context


class _Collate:
    """Gather the designs of a batch of sample indices (picklable for DataLoader workers)."""

    def __init__(self, tensors: dict, label_mean: float, label_std: float):
        self.t = tensors
        self.label_mean, self.label_std = label_mean, label_std

    def __call__(self, indices):
        idx = torch.as_tensor(indices)
        sets = self.t["sample_set"][idx]
        mask = self.t["mask"][sets]
        d = int(mask.sum(1).max())
        y = (self.t["label"][idx] - self.label_mean) / self.label_std
        inputs = (
            self.t["log_m_a"][sets, :d],
            self.t["log_m_b"][sets, :d],
            self.t["user"][sets, :d],
            mask[:, :d],
            self.t["log_pa"][idx],
        )
        if "ue_feat" in self.t:
            inputs = inputs + (self.t["ue_feat"][idx], self.t["context"][idx])
        return inputs + (y.to(torch.float32),)


class SizeBucketBatches(torch.utils.data.Sampler):
    """Batches of samples with similar N_D (less padding), in a new seeded order every epoch.

    Samples are sorted by N_D plus a random jitter of one batch's worth of rank, cut into batches,
    and the batches are shuffled.
    """

    def __init__(self, indices, sizes, batch_size: int, seed: int):
        self.indices = torch.as_tensor(indices)
        self.sizes = torch.as_tensor(sizes, dtype=torch.float64)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return -(-len(self.indices) // self.batch_size)

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        self.epoch += 1
        rank = torch.argsort(torch.argsort(self.sizes)).to(torch.float64)
        jitter = torch.rand(len(rank), generator=gen, dtype=torch.float64) * self.batch_size
        order = self.indices[torch.argsort(rank + jitter)]
        batches = list(torch.split(order, self.batch_size))
        for b in torch.randperm(len(batches), generator=gen).tolist():
            yield batches[b].tolist()


class GeneralDataModule(L.LightningDataModule):
    """Train/val loaders of a general dataset for ``target`` (``mu`` or ``t``).

    Parameters
    ----------
    dataset_path : path
    target : ``mu`` | ``t``
    batch_size : int
    seed : int
        Seeds the shuffling of the training loader.
    proxy : bool
        Residual max-min inputs and label (target ``t``, see module doc).
    k_max : int
        UE-axis padding of the proxy features (the network's ``k_max``).
    """

    def __init__(
        self,
        dataset_path,
        target: str,
        batch_size: int = 128,
        seed: int = 0,
        proxy: bool = False,
        k_max: int = 12,
    ):
        super().__init__()
        self.dataset_path = (
            str(dataset_path)
            if isinstance(dataset_path, (str, os.PathLike))
            else [str(p) for p in dataset_path]
        )
        self.target = target
        self.proxy = bool(proxy)
        self.k_max = int(k_max)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.tensors: dict | None = None

    def setup(self, stage=None):
        if self.tensors is not None:
            return
        t = dataset_tensors(self.dataset_path, self.target, self.proxy, self.k_max)
        train = torch.nonzero(t["split"] == 0).squeeze(-1)
        val = torch.nonzero(t["split"] == 1).squeeze(-1)
        if train.numel() == 0 or val.numel() == 0:
            raise ValueError(f"{self.dataset_path}: needs samples in both train and val splits")
        self.train_idx, self.val_idx = train, val
        label = t["label"][train]
        self.label_mean, self.label_std = float(label.mean()), float(label.std().clamp_min(1e-6))
        self.feature_mean, self.feature_std = _feature_stats(t, train)
        self.tensors = t

    def _loader(self, idx, shuffle: bool):
        gen = torch.Generator().manual_seed(self.seed)
        return torch.utils.data.DataLoader(
            idx.tolist(),
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=gen if shuffle else None,
            collate_fn=_Collate(self.tensors, self.label_mean, self.label_std),
        )

    def train_dataloader(self):
        sizes = self.tensors["mask"].sum(1)[self.tensors["sample_set"][self.train_idx]]
        return torch.utils.data.DataLoader(
            self.train_idx.tolist(),
            batch_sampler=SizeBucketBatches(
                list(range(len(self.train_idx))), sizes, self.batch_size, self.seed
            ),
            collate_fn=self._collate(),  # the loader maps positions to sample indices
        )

    def _collate(self):
        return _Collate(self.tensors, self.label_mean, self.label_std)

    def val_dataloader(self):
        return self._loader(self.val_idx, False)


def _feature_stats(t: dict, train: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of [log m_a, log(m_b/P_a)] over all subchannels of the training samples."""
    sets = t["sample_set"][train]
    mask = t["mask"][sets].to(torch.float64)
    la = t["log_m_a"][sets].to(torch.float64)
    lb = t["log_m_b"][sets].to(torch.float64) - t["log_pa"][train].to(torch.float64)[:, None]
    n = mask.sum()
    out_mean, out_std = [], []
    for f in (la, lb):
        mean = (f * mask).sum() / n
        var = (((f - mean) ** 2) * mask).sum() / n
        out_mean.append(float(mean))
        out_std.append(float(var.sqrt().clamp_min(1e-6)))
    return np.asarray(out_mean), np.asarray(out_std)
