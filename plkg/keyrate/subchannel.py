"""Per-subchannel key rate C_k of Eq. (42) of the near-field paper (log2, bits per probing round).

Works on NumPy arrays and torch tensors alike (same arithmetic), so solvers in either framework
share one formula.
"""

from __future__ import annotations

import math
import sys

import numpy as np

LN2 = math.log(2.0)


def _namespace(x):
    # torch is only consulted if already imported: a tensor cannot exist otherwise, and NumPy-only
    # callers do not pay for importing torch.
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return torch
    return np


def subchannel_snr(x_w, m_a, m_b):
    """Effective SNR inside the log of Eq. (42): x/(m_a m_b) / (x/m_b + 1/m_a + 1).

    Written as x / (x m_a + m_b + m_a m_b), which has no cancellation and is finite for x = 0.

    Parameters
    ----------
    x_w, m_a, m_b : array_like or Tensor, broadcastable, watt
    """
    return x_w / (x_w * m_a + m_b + m_a * m_b)


def subchannel_key_rate_bits(x_w, m_a, m_b):
    """log2(1 + x/(x m_a + m_b + m_a m_b)), the j-th term of Eq. (42), elementwise (bits)."""
    xp = _namespace(x_w)
    return xp.log1p(subchannel_snr(x_w, m_a, m_b)) / LN2


def subchannel_key_rate_derivative(x_w, m_a, m_b):
    """d/dx of :func:`subchannel_key_rate_bits` (bits per watt), elementwise.

    With s(x) = x/(x m_a + b), b = m_b + m_a m_b: d/dx log2(1+s) = b / ((x m_a + b)(x(1+m_a) + b) ln 2).
    """
    b = m_b + m_a * m_b
    return b / ((x_w * m_a + b) * (x_w * (1 + m_a) + b) * LN2)


def per_user_sum(values, user, n_users: int):
    """Sum per-subchannel values [..., N_D] into per-UE totals [..., K] (``user`` [N_D] gives owners)."""
    xp = _namespace(values)
    if xp is np:
        values = np.asarray(values)
        out = np.zeros(values.shape[:-1] + (n_users,), dtype=values.dtype)
        for k in range(n_users):
            out[..., k] = values[..., np.asarray(user) == k].sum(axis=-1)
        return out
    import torch

    user_t = torch.as_tensor(user, device=values.device)
    onehot = torch.nn.functional.one_hot(user_t, n_users).to(values.dtype)
    return values @ onehot


def user_key_rates_bits(x_w, m_a, m_b, user, n_users: int):
    """C_k of Eq. (42) for every UE.

    Parameters
    ----------
    x_w : array_like or Tensor, shape [..., N_D], watt
        Power allocation x_{k,j}.
    m_a, m_b : shape [N_D], watt
    user : shape [N_D], int
        Owner UE of each subchannel.

    Returns
    -------
    shape [..., K], bits per probing round.
    """
    return per_user_sum(subchannel_key_rate_bits(x_w, m_a, m_b), user, n_users)
