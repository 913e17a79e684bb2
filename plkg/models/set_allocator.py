"""Permutation-invariant set network that predicts the water level (sum KR) or the max-min rate
from a design's subchannel constants: the generalising allocator (docs/general_allocator.md).

Input: the subchannels of one design (m_a, m_b, user of Eq. (42) of the near-field paper) and the
budget P_a. Eq. (42) is unchanged when x, m_b and P_a are scaled by the same factor, so the
network reads only the scale-free log features ``log m_a`` and ``log(m_b / P_a)`` (standardised
with the training set's mean and std, stored as buffers) and predicts a scale-free label:

* ``target="mu"`` (sum KR, (P1)): ``y = log(w / P_a)``, w = 1/(mu ln 2) the water level of Eq. (48);
* ``target="t"`` (max-min, (P2)): ``y = logit(t / t_sup)``, t_sup = min_k sum_j log2(1 + 1/m_a)
  the rate no budget can exceed (Eq. (42) saturates; :func:`saturation_rate_bits`). Over the
  training distribution t/t_sup has median 0.8 and its top decile above 0.99, so predicting log t
  would spend the network's accuracy on a quantity the closed form already bounds; the logit is
  ~log(t/t_sup) far from saturation and resolves 1 - t/t_sup close to it.

Architecture (DeepSets, Zaheer et al. 2017): phi maps each subchannel's features to a vector;
for ``mu`` the vectors are pooled over all subchannels (sum/100, mean, max) and rho maps the pool
to y; for ``t`` they are first pooled per UE (sum/16, mean), psi maps each UE's pool to a
vector, and those are pooled over the UEs (mean, max, min) before rho.

Residual max-min (``proxy=True``): the network also reads the low-SNR budget split of
:mod:`plkg.solvers.maxmin_proxy` (a feasible allocation whose min rate t0 <= t*), per UE
(:data:`N_UE_FEATURES` values appended to the UE's pool before psi) and as context (logit(t0/t_sup)
appended before rho), and predicts ``y = logit(t/t_sup) - logit(t0/t_sup)`` (>= 0 for the exact t*).
Over held-out geometries log(t*/t0) spans 0-0.25 against 1.5 for the standard deviation of log t*,
so the same relative error of the network is a much smaller error of t. Every pooling is a masked
reduction, so the output does not depend on the order of subchannels or UEs, and any K <= k_max
and any N_D work. A plain ``nn.Module`` (no Lightning).
"""

from __future__ import annotations

import torch
from torch import nn

TARGETS = ("mu", "t")
SUM_SCALE_ALL = 100.0  # sum pooling divided by a typical N_D, so its scale matches the mean's
SUM_SCALE_UE = 16.0  # ... and by a typical D_k
N_UE_FEATURES = 3  # per-UE proxy features (see proxy_features)


def saturation_rate_bits(m_a, user, n_users: int) -> float:
    """t_sup = min_k sum_{j in k} log2(1 + 1/m_a): the max-min rate at infinite power, Eq. (42)."""
    import numpy as np

    per_sub = np.log2(1.0 + 1.0 / np.asarray(m_a, dtype=np.float64))
    return float(np.min(np.bincount(np.asarray(user), weights=per_sub, minlength=int(n_users))))


def logit(q):
    """log(q / (1 - q)) elementwise (NumPy), for 0 < q < 1."""
    import numpy as np

    q = np.asarray(q, dtype=np.float64)
    return np.log(q) - np.log1p(-q)


def saturation_rates_per_ue(m_a, user, n_users: int):
    """Each UE's rate at infinite power, sum_{j in k} log2(1 + 1/m_a) (Eq. (42)); shape [K]."""
    import numpy as np

    per_sub = np.log2(1.0 + 1.0 / np.asarray(m_a, dtype=np.float64))
    return np.bincount(np.asarray(user), weights=per_sub, minlength=int(n_users))


def proxy_features(rates_bits, shares, m_a, user, n_users: int, k_max: int):
    """Inputs of the residual max-min network from the low-SNR split (NumPy, float64).

    Parameters
    ----------
    rates_bits : array [B, K]
        C_k of the split (:func:`plkg.solvers.maxmin_proxy.maxmin_proxy`), bits.
    shares : array [K]
        The split's budget shares s_k.
    m_a, user : arrays [N_D] of the design; n_users : int; k_max : int (padding of the UE axis)

    Returns
    -------
    ue_feat : array [B, k_max, N_UE_FEATURES]
        Per UE: log(C_k/t0) (how far above the bottleneck), logit(C_k/t_sup_k) (how close to its
        own saturation), log(K s_k); zero for padded UEs.
    context : array [B, 1]
        logit(t0/t_sup), t0 = min_k C_k, t_sup = min_k t_sup_k.
    """
    import numpy as np

    rates = np.asarray(rates_bits, dtype=np.float64)
    sup_k = saturation_rates_per_ue(m_a, user, n_users)
    t0 = rates.min(-1)
    k = int(n_users)
    ue = np.zeros(rates.shape[:-1] + (int(k_max), N_UE_FEATURES))
    ue[..., :k, 0] = np.log(rates / t0[..., None])
    ue[..., :k, 1] = logit(np.minimum(rates / sup_k, 1.0 - 1e-12))
    ue[..., :k, 2] = np.log(k * np.asarray(shares, dtype=np.float64))
    context = logit(np.minimum(t0 / sup_k.min(), 1.0 - 1e-12))[..., None]
    return ue, context


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def _masked_pool(h: torch.Tensor, mask: torch.Tensor, scale: float) -> torch.Tensor:
    """[sum/scale, mean, max] over dim -2 of h [..., D, H] where mask [..., D] -> [..., 3H]."""
    m = mask.unsqueeze(-1).to(h.dtype)
    total = (h * m).sum(-2)
    count = m.sum(-2).clamp_min(1.0)
    big = torch.finfo(h.dtype).max
    peak = torch.where(mask.unsqueeze(-1), h, torch.full_like(h, -big)).amax(-2)
    peak = torch.where(count > 0.5, peak, torch.zeros_like(peak))
    return torch.cat([total / scale, total / count, peak], dim=-1)


class SetAllocator(nn.Module):
    """DeepSets regressor (design, P_a) -> standardised label (see module doc).

    Parameters
    ----------
    target : ``mu`` | ``t``
    hidden : int
        Width of every hidden layer.
    k_max : int
        Largest number of UEs the per-UE pooling (``t``) handles.
    proxy : bool
        ``t`` only: read the low-SNR split's features and predict the residual label (module doc).
        False reproduces checkpoints written before it existed.
    """

    def __init__(self, target: str = "mu", hidden: int = 64, k_max: int = 12, proxy: bool = False):
        super().__init__()
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        self.target = target
        self.hidden = int(hidden)
        self.k_max = int(k_max)
        if proxy and target != "t":
            raise ValueError("proxy=True applies to target 't' only")
        self.proxy = bool(proxy)
        h = self.hidden
        extra_ue, extra_ctx = (N_UE_FEATURES, 1) if self.proxy else (0, 0)
        self.phi = _mlp([2, h, h, h])
        if target == "t":
            self.psi = _mlp([2 * h + extra_ue, h, h])
        self.rho = _mlp([3 * h + extra_ctx, h, h, 1])
        # standardisation of the features and the label (set from the training data)
        self.register_buffer("feature_mean", torch.zeros(2, dtype=torch.float64))
        self.register_buffer("feature_std", torch.ones(2, dtype=torch.float64))
        self.register_buffer("label_mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("label_std", torch.ones((), dtype=torch.float64))

    def architecture(self) -> dict:
        arch = {"type": "set_allocator", "target": self.target, "hidden": self.hidden,
                "k_max": self.k_max}  # fmt: skip
        if self.proxy:
            arch["proxy"] = "lowsnr_split"
        return arch

    def features(self, log_m_a, log_m_b, log_pa) -> torch.Tensor:
        """Standardised [log m_a, log(m_b/P_a)] of shape [B, D, 2] (log_pa [B], natural log, W)."""
        f = torch.stack([log_m_a, log_m_b - log_pa.unsqueeze(-1)], dim=-1)
        return (f - self.feature_mean.to(f.dtype)) / self.feature_std.to(f.dtype)

    def forward(
        self, log_m_a, log_m_b, user, mask, log_pa, ue_feat=None, context=None
    ) -> torch.Tensor:
        """Standardised label [B].

        Parameters
        ----------
        log_m_a, log_m_b : Tensor [B, D]
            Natural logs of m_a (dimensionless) and m_b (W); padding entries are ignored.
        user : Tensor [B, D] int64
            Owner UE (0..K-1) of each subchannel (any value in padding).
        mask : Tensor [B, D] bool
            True for real subchannels.
        log_pa : Tensor [B]
            Natural log of P_a in W.
        ue_feat : Tensor [B, k_max, N_UE_FEATURES], context : Tensor [B, 1]
            ``proxy=True`` only: :func:`proxy_features`.
        """
        if self.proxy and (ue_feat is None or context is None):
            raise ValueError("a proxy network needs ue_feat and context (proxy_features)")
        h = self.phi(self.features(log_m_a, log_m_b, log_pa))
        if self.target == "mu":
            pooled = _masked_pool(h, mask, SUM_SCALE_ALL)
        else:
            onehot = nn.functional.one_hot(user.clamp(0, self.k_max - 1), self.k_max)
            member = onehot.to(h.dtype) * mask.unsqueeze(-1).to(h.dtype)  # [B, D, K]
            # per-UE sum and mean by one matrix product (a per-UE max would need [B, K, D, H])
            total = torch.einsum("bdk,bdh->bkh", member, h)
            count = member.sum(1).unsqueeze(-1)  # [B, K, 1]
            per_ue = torch.cat([total / SUM_SCALE_UE, total / count.clamp_min(1.0)], dim=-1)
            if self.proxy:
                per_ue = torch.cat([per_ue, ue_feat.to(per_ue.dtype)], dim=-1)
            g = self.psi(per_ue)  # [B, K, H]
            ue_mask = count.squeeze(-1) > 0.5  # [B, K]
            m = ue_mask.unsqueeze(-1).to(g.dtype)
            big = torch.finfo(g.dtype).max
            mean = (g * m).sum(1) / m.sum(1).clamp_min(1.0)
            hi = torch.where(ue_mask.unsqueeze(-1), g, torch.full_like(g, -big)).amax(1)
            lo = torch.where(ue_mask.unsqueeze(-1), g, torch.full_like(g, big)).amin(1)
            pooled = torch.cat([mean, hi, lo], dim=-1)
            if self.proxy:
                pooled = torch.cat([pooled, context.to(pooled.dtype)], dim=-1)
        return self.rho(pooled).squeeze(-1)

    def predict_log_label(
        self, log_m_a, log_m_b, user, mask, log_pa, ue_feat=None, context=None
    ) -> torch.Tensor:
        """The de-standardised label [B]: log(w/P_a) for ``mu``, logit(t/t_sup) for ``t``
        (``proxy``: logit(t/t_sup) - logit(t0/t_sup))."""
        y = self.forward(log_m_a, log_m_b, user, mask, log_pa, ue_feat, context)
        return y * self.label_std.to(y.dtype) + self.label_mean.to(y.dtype)


def pack_sets(m_a_list, m_b_list, user_list, dtype=torch.float32):
    """Pad designs of different N_D into batch tensors for :meth:`SetAllocator.forward`.

    Parameters
    ----------
    m_a_list, m_b_list : sequence of array [N_D_s] (m_a dimensionless, m_b in W, all > 0)
    user_list : sequence of int array [N_D_s]

    Returns
    -------
    log_m_a, log_m_b : Tensor [S, D_max] (dtype); user : Tensor [S, D_max] int64;
    mask : Tensor [S, D_max] bool
    """
    import numpy as np

    sizes = [len(u) for u in user_list]
    d_max = max(sizes)
    s = len(sizes)
    la = np.zeros((s, d_max))
    lb = np.zeros((s, d_max))
    us = np.zeros((s, d_max), dtype=np.int64)
    mask = np.zeros((s, d_max), dtype=bool)
    for i, (a, b, u) in enumerate(zip(m_a_list, m_b_list, user_list, strict=True)):
        n = sizes[i]
        la[i, :n], lb[i, :n], us[i, :n], mask[i, :n] = np.log(a), np.log(b), u, True
    return (
        torch.as_tensor(la, dtype=dtype),
        torch.as_tensor(lb, dtype=dtype),
        torch.as_tensor(us),
        torch.as_tensor(mask),
    )
