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

    Raises
    ------
    ValueError
        (NumPy inputs) NaN/inf, negative powers x or m_a, m_b <= 0, shapes that differ in N_D,
        non-integer ``user`` or an index outside 0..K-1 (that subchannel would silently vanish).
    """
    if _namespace(x_w) is np:
        _check_rate_inputs(x_w, m_a, m_b, user, n_users)
    return per_user_sum(subchannel_key_rate_bits(x_w, m_a, m_b), user, n_users)


def _check_rate_inputs(x_w, m_a, m_b, user, n_users) -> None:
    x, ma, mb = (np.asarray(v, dtype=np.float64) for v in (x_w, m_a, m_b))
    u = np.asarray(user)
    n_d = u.shape[-1] if u.ndim == 1 else None
    if n_d is None or not np.issubdtype(u.dtype, np.integer):
        raise ValueError(f"user must be a 1-D integer array [N_D], got {u.dtype} {u.shape}")
    for name, v in (("x_w", x), ("m_a", ma), ("m_b", mb)):
        if v.ndim < 1 or v.shape[-1] != n_d:
            raise ValueError(f"{name} must have last dimension N_D = {n_d}, got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains NaN or inf")
    if np.any(x < 0):
        raise ValueError(f"x_w holds negative powers (min {x.min():.3g} W)")
    if np.any(ma < 0) or np.any(mb <= 0):
        raise ValueError("m_a must be >= 0 and m_b > 0 (Eq. (42))")
    if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)) or n_users < 1:
        raise ValueError(f"n_users (K) must be an integer >= 1, got {n_users!r}")
    if u.size and (u.min() < 0 or u.max() >= n_users):
        raise ValueError(
            f"user indices must lie in 0..K-1 = 0..{n_users - 1}, got {u.min()}..{u.max()}"
        )
