"""The shared kernel of the checkpoint allocators FNNPA and FNNPAKF, prepared once per design.

Both the validating allocators (:class:`plkg.inference.allocator.Allocator`,
:class:`plkg.inference.fairness_allocator.FairnessAllocator`) and their online twins
(:class:`plkg.inference.fast_allocator.FastFNNPA`, :class:`~plkg.inference.fast_allocator.FastFNNPAKF`)
compute with the objects of this module, which imports neither of them: the validating classes
never import the fast ones (a fast allocator is built from a validating one, so it imports its
class, one way).

* :class:`NumpyFNN` -- the forward pass of a one-input FNN checkpoint (P_a in dBm -> mu_hat or
  t_hat) in float64 NumPy (or torch on a device): a few tanh layers of ~20 units.
* :class:`FNNPAKernel` -- Eq. (48) of the near-field paper at KGLM-Net's mu_hat (Eqs. (49)-(51)),
  then the scaling down to the budget (Eq. (44)): six in-place NumPy calls on preallocated
  [2, N_D] rows per budget (q w + 1/4 and w - b from one multiply and one subtract).
* :class:`FNNPAKFKernel` -- the corrected Eq. (60) at the fairness FNN's t_hat (Eq. (62)) and
  Eq. (59), per-UE water-filling with x >= 0, then the budget scaling; the per-UE constants
  (sorted log m_b, running sums) are padded [K, D_max] arrays.

Every input of a kernel call is assumed validated (a finite P_a > 0 in W, its dBm value from
:func:`dbm_of`); the callers check. This module imports neither Lightning nor
:mod:`plkg.training`.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np

from plkg.errors import PlkgInputError
from plkg.inference.checkpoint import NumpyNet
from plkg.keyrate.subchannel import LN2

_ACTIVATIONS = {"tanh": np.tanh, "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v))}


def _float64_layers(net) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight [out, in], bias [out]) float64 copies of the Linear layers of either backend."""
    if isinstance(net, NumpyNet):
        return [(w.copy(), b.copy()) for w, b in net.layers]
    import torch

    return [
        (
            layer.weight.detach().to(torch.float64).cpu().numpy().copy(),
            layer.bias.detach().to(torch.float64).cpu().numpy().copy(),
        )
        for layer in net.layers
        if isinstance(layer, torch.nn.Linear)
    ]


class NumpyFNN:
    """Forward pass of a :class:`plkg.models.fnn.FNN` checkpoint in float64 NumPy (or torch).

    Parameters
    ----------
    checkpoint : plkg.inference.checkpoint.Checkpoint
        Its net must have one input and one output (P_a in dBm -> a label).
    """

    def __init__(self, checkpoint):
        arch = checkpoint.meta.get("architecture", {})
        if arch.get("in_features") != 1 or arch.get("out_features") != 1:
            raise ValueError("the fast path needs a one-input, one-output FNN")
        self.activation = str(arch.get("activation"))
        if self.activation not in _ACTIVATIONS and self.activation != "relu":
            raise ValueError(f"unsupported activation {self.activation!r}")
        self._act_fn = (
            (lambda h: np.maximum(h, 0.0, out=h))
            if self.activation == "relu"
            else _ACTIVATIONS[self.activation]
        )
        self.layers = _float64_layers(checkpoint.net)
        self._first_w = self.layers[0][0][:, 0].copy()
        self._first_wb = np.stack([self._first_w, self.layers[0][1]], axis=1)  # [H, 2]
        self._zv = np.ones(2)
        self._hidden = tuple(self.layers[1:-1])
        self._last_w = self.layers[-1][0][0].copy()
        self._last_b = float(self.layers[-1][1][0])
        inp, lab = checkpoint.input_norm, checkpoint.label_norm
        if inp.kind != "minmax":
            raise ValueError("the fast path needs a minmax input normalisation (P_a in dBm)")
        self.in_lo, self.in_scale = inp.lo, inp.hi - inp.lo
        self.out_lo, self.out_scale, self.out_log = (
            lab.lo,
            lab.hi - lab.lo,
            lab.kind == "log_minmax",
        )

    def _act(self, h):
        return self._act_fn(h)

    def scalar(self, dbm: float) -> float:
        """Denormalised output for one input in dBm (float)."""
        zv = self._zv
        zv[0] = (dbm - self.in_lo) / self.in_scale
        act = self._act_fn
        h = act(self._first_wb @ zv)  # [W_1 | b_1] @ [z, 1]: one call
        for w, b in self._hidden:
            h = act(w @ h + b)
        v = (float(np.dot(self._last_w, h)) + self._last_b) * self.out_scale + self.out_lo
        return math.exp(v) if self.out_log else v

    def batch(self, dbm, device=None):
        """Denormalised outputs [B] for inputs [B] (dBm); NumPy, or torch on ``device``."""
        if device is None:
            h = ((np.asarray(dbm, dtype=np.float64) - self.in_lo) / self.in_scale)[:, None]
            for w, b in self.layers[:-1]:
                h = self._act(h @ w.T + b)
            w, b = self.layers[-1]
            v = (h @ w.T + b)[:, 0] * self.out_scale + self.out_lo
            return np.exp(v) if self.out_log else v
        import torch

        t = torch.as_tensor(dbm, dtype=torch.float64, device=device)
        h = ((t - self.in_lo) / self.in_scale)[:, None]
        for w, b in self.layers[:-1]:
            h = torch.addmm(
                torch.as_tensor(b, device=device), h, torch.as_tensor(w.T, device=device)
            )
            h = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[self.activation](
                h
            )
        w, b = self.layers[-1]
        h = torch.addmm(torch.as_tensor(b, device=device), h, torch.as_tensor(w.T, device=device))
        v = h[:, 0] * self.out_scale + self.out_lo
        return v.exp() if self.out_log else v


def dbm_of(pa: float) -> float:
    """P_a in dBm as every scalar path computes it (Python float arithmetic), for P_a > 0 W."""
    return 10.0 * math.log10(pa) + 30.0


def refuse_zero_allocation(pa: float, mu: float, training_range: tuple[float, float]) -> None:
    """Refuse a predicted mu whose level lies below every activation level (x = 0).

    Inside the training range KGLM-Net's level is far above the activation levels; an all-zero
    allocation only comes from extrapolation far below it (``--allow-extrapolation`` at
    -100 dBm), where the level w = 1/(mu ln 2) and the activation levels b agree to more digits
    than the network resolves, so ``w - b`` (or the offset form of
    :mod:`plkg.solvers.water_level`, which keeps the digits of w but cannot add the network's
    missing ones) is 0 or noise. Returning x = 0 would be a silent unused budget.

    Parameters
    ----------
    pa : float
        P_a (W).
    mu : float
        KGLM-Net's mu_hat (bit/W) at that budget.
    training_range : (float, float)
        The checkpoint's training range of P_a (dBm), named in the message.

    Raises
    ------
    PlkgInputError
        Always: one line naming P_a, mu_hat and the training range.
    """
    lo, hi = training_range
    raise PlkgInputError(
        f"P_a = {pa:.4g} W: KGLM-Net's mu_hat = {mu:.4g} bit/W puts the water level below every "
        f"activation level (an all-zero allocation), extrapolating far outside its training "
        f"range [{lo:g}, {hi:g}] dBm; use --method wfpa or fnnpa-general there"
    )


def _refuse_mu(mu: float) -> None:
    if not (mu > 0.0 and mu < math.inf):
        raise ValueError("KGLM-Net predicted a non-positive or non-finite mu (extrapolating?)")


class FNNPAKernel:
    """FNNPA for one design: P_a -> KGLM-Net -> mu_hat -> Eq. (48) -> budget scaling.

    Parameters
    ----------
    fnn : NumpyFNN
        KGLM-Net (label mu, bit/W; input P_a in dBm).
    m_a : ndarray [N_D] float64, dimensionless; m_b : ndarray [N_D] float64, W
        Constants of Eq. (42) of the design (already validated).
    training_range : (float, float)
        The checkpoint's training range of P_a (dBm), named when a prediction is refused.
    """

    def __init__(self, fnn: NumpyFNN, m_a, m_b, training_range: tuple[float, float]):
        self.fnn = fnn
        self.m_a, self.m_b = m_a, m_b
        self.training_range = training_range
        b = m_b * (1.0 + m_a)
        q = m_a / m_b
        self._hs = 0.5 + m_a
        self._qone = np.stack([q, np.ones_like(q)])  # rows: m_a / m_b, 1
        self._cb = np.stack([np.full_like(b, -0.25), b])  # rows: -1/4, b
        self._ones = np.ones_like(b)
        self._buf = np.empty((2, m_a.size))
        self._r, self._e = self._buf  # row views, made once
        # x > 0 somewhere iff the level 1/(mu ln 2) exceeds the lowest activation level min(b):
        # mu < mu_max. The batched check folds this into the one mu check (one host sync on GPU).
        self.mu_max = 1.0 / (LN2 * float(b.min()))

    def row(self, pa: float, dbm: float) -> tuple[np.ndarray, float, float, bool]:
        """FNNPA for one validated budget: ``(x_w [N_D] float64 W, pa W, mu_hat bit/W, scaled)``.

        The one computation of FNNPA for a single power: the validating
        :meth:`plkg.inference.allocator.Allocator.allocation` and the online
        :class:`plkg.inference.fast_allocator.FastFNNPA` both run it, so their allocations are
        bit for bit the same. ``dbm`` must be ``10 log10(pa) + 30`` (:func:`dbm_of`).
        """
        mu = self.fnn.scalar(dbm)
        _refuse_mu(mu)
        level = 1.0 / (mu * LN2)
        # one multiply and one subtract give both rows: q w + 1/4 and w - b (design order, so the
        # result needs no scatter; inactive subchannels are clipped, as in x_from_mu)
        buf, r = self._buf, self._r
        np.multiply(self._qone, level, out=buf)
        buf -= self._cb
        np.sqrt(r, out=r)  # sqrt(1 + 4 m_a w / m_b) / 2
        r += self._hs
        x = np.divide(self._e, r)  # the returned array (the buffer is reused by the next call)
        np.maximum(x, 0.0, out=x)
        total = float(np.dot(x, self._ones))
        if not total > 0.0:
            refuse_zero_allocation(pa, mu, self.training_range)
        scaled = total > pa
        if scaled:
            x *= pa / total
        return x, pa, mu, scaled

    def _refuse_batch(self, pa: np.ndarray, mu: np.ndarray) -> None:
        """Refuse the first mu_hat outside (0, mu_max): non-positive/non-finite, or all-zero x."""
        i = int(np.argmin((mu > 0) & (mu < self.mu_max)))
        _refuse_mu(mu[i])
        refuse_zero_allocation(float(pa[i]), float(mu[i]), self.training_range)

    def batch(self, pa: np.ndarray, dbm: np.ndarray, device=None):
        """Validated budgets [B] (W) and their dBm [B] -> (mu_hat [B], x_w [B, N_D], scaled [B]).

        Vectorised: ~1e-15 relative from :meth:`row` (NumPy's summation order differs). NumPy,
        or float64 torch tensors on ``device``.
        """
        mu = self.fnn.batch(dbm, device)
        if not bool(((mu > 0) & (mu < self.mu_max)).all()):  # the one host sync of the check
            self._refuse_batch(pa, mu if device is None else mu.cpu().numpy())
        if device is None:
            m_a, m_b, pa_x = self.m_a, self.m_b, pa
        else:
            import torch

            m_a, m_b, pa_x = (
                torch.as_tensor(v, dtype=torch.float64, device=device)
                for v in (self.m_a, self.m_b, pa)
            )
        level = 1.0 / (mu[:, None] * LN2)
        num = level - m_b * (1.0 + m_a)
        x = num / (0.5 + m_a + (m_a / m_b * level + 0.25) ** 0.5)
        x = x * (num > 0)
        total = x.sum(-1)
        if device is None and not (total > 0).all():  # rounding at mu ~ mu_max (NumPy only)
            i = int(np.argmin(total > 0))
            refuse_zero_allocation(float(pa[i]), float(mu[i]), self.training_range)
        scaled = total > pa_x
        factor = pa_x / (total + (total == 0))
        x = x * (factor * scaled + ~scaled)[:, None]
        return mu, x, scaled


def _refuse_t_batch(t: np.ndarray) -> None:
    if not np.all(np.isfinite(t) & (t > 0)):
        raise ValueError("the fairness FNN predicted a non-positive or non-finite t")


class FNNPAKFKernel:
    """FNNPAKF (mapping ``appro``) for one design: P_a -> t_hat -> corrected Eq. (60) -> Eq. (59).

    Parameters
    ----------
    fnn : NumpyFNN
        The fairness FNN (label t, bits; input P_a in dBm).
    m_b : ndarray [N_D] float64, W
    user : ndarray [N_D] int64; n_users : int
        Owner UE of each subchannel and K (already validated).
    """

    def __init__(self, fnn: NumpyFNN, m_b, user, n_users: int):
        self.fnn = fnn
        self.m_b, self.user = m_b, user
        k = n_users
        counts = np.bincount(user, minlength=k)
        d_max = int(counts.max())
        lb = np.full((k, d_max), np.inf)
        cums = np.zeros((k, d_max))
        for u in range(k):
            srt = np.sort(np.log(m_b[user == u]))
            lb[u, : srt.size] = srt
            cums[u, : srt.size] = np.cumsum(srt)
        self._lb, self._cums = lb, cums
        self._n = np.arange(1, d_max + 1, dtype=np.float64)
        # With the n best subchannels of UE k active, log w = (t ln 2 + sum_{i<n} log m_b,i) / n,
        # valid while log w > log m_b,n-1, i.e. t ln 2 > n log m_b,n-1 - sum_{i<n} log m_b,i =
        # thr_n, non-decreasing in n: the active count is a bisection in thr (Python floats).
        self._thr = [
            (np.arange(1, c + 1) * lb[u, :c] - cums[u, :c]).tolist() for u, c in enumerate(counts)
        ]
        self._cums_list = [cums[u, :c].tolist() for u, c in enumerate(counts)]

    def levels(self, t_bits):
        """Water levels w_k [..., K] (W) of the corrected Eq. (60) for t_hat [...] (bits)."""
        t = np.asarray(t_bits, dtype=np.float64)[..., None, None]
        cand = (t * LN2 + self._cums) / self._n  # log w_k with the n best active
        n_act = np.maximum((cand > self._lb).sum(-1), 1)
        picked = np.take_along_axis(cand, (n_act - 1)[..., None], axis=-1)[..., 0]
        return np.exp(picked)

    def row(self, pa: float, dbm: float) -> tuple[np.ndarray, float, float, bool]:
        """FNNPAKF for one validated budget: ``(x_w [N_D] float64 W, pa W, t_hat bits, scaled)``."""
        t = self.fnn.scalar(dbm)
        if not (t > 0.0 and t < math.inf):
            raise ValueError("the fairness FNN predicted a non-positive or non-finite t")
        tl = t * LN2
        levels = []
        for thr, cums in zip(self._thr, self._cums_list, strict=True):
            n = max(bisect_left(thr, tl), 1)
            levels.append(math.exp((tl + cums[n - 1]) / n))
        x = np.array(levels).take(self.user)
        x -= self.m_b
        np.maximum(x, 0.0, out=x)
        total = float(x.sum())
        scaled = total > pa
        if scaled:
            x *= pa / total
        return x, pa, t, scaled

    def batch(self, pa: np.ndarray, dbm: np.ndarray):
        """Validated budgets [B] (W) and their dBm [B] -> (t_hat [B], x_w [B, N_D], scaled [B])."""
        t = self.fnn.batch(dbm)
        _refuse_t_batch(t)
        x = np.maximum(self.levels(t)[:, self.user] - self.m_b, 0.0)
        total = x.sum(-1)
        scaled = total > pa
        x *= np.where(scaled, pa / np.where(total > 0, total, 1.0), 1.0)[:, None]
        return t, x, scaled


__all__ = [
    "FNNPAKFKernel",
    "FNNPAKernel",
    "NumpyFNN",
    "dbm_of",
    "refuse_zero_allocation",
]
