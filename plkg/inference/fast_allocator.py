"""FNNPA and FNNPAKF bound once to a design: the online fast path of the checkpoint allocators.

:class:`plkg.inference.allocator.Allocator` (FNNPA: P_a -> KGLM-Net -> mu_hat -> Eq. (48)) and
:class:`plkg.inference.fairness_allocator.FairnessAllocator` (FNNPAKF: P_a -> fairness FNN ->
t_hat -> Eqs. (59)-(60), corrected form) validate the checkpoint, the design and every input on
every call. Here the same maps are prepared once:

* the network's weights become float64 NumPy arrays (one input, a few tanh layers of ~20 units),
  and the forward pass of one budget is a handful of NumPy calls on 20-vectors;
* Eq. (48) at mu_hat is six in-place NumPy calls on preallocated [2, N_D] rows (q w + 1/4 and
  w - b from one multiply and one subtract);
* the per-UE constants of the corrected Eq. (60) (sorted log m_b, running sums) are padded
  [K, D_max] arrays.

Accuracy: one FNNPA budget is computed by one kernel (:meth:`FastFNNPA.kernel`), which the
validating :meth:`plkg.inference.allocator.Allocator.allocation` also runs row by row, so the fast
and the validating single-budget allocations are bit for bit the same (tested), whatever the batch.
The vectorised :meth:`FastFNNPA.allocation` and the FNNPAKF paths agree with the validating ones to
~1e-15 relative (NumPy's ``tanh`` and summation order differ from torch's in the last bit; the
tests hold them to 1e-12). This module imports neither Lightning nor
:mod:`plkg.training`.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np

from plkg.errors import PlkgInputError
from plkg.inference._bound import BoundAllocator
from plkg.keyrate.subchannel import LN2, subchannel_key_rate_bits, user_key_rates_bits

_ACTIVATIONS = {"tanh": np.tanh, "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v))}


def _float64_layers(net) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight [out, in], bias [out]) float64 copies of the Linear layers of either backend."""
    from plkg.inference.checkpoint import NumpyNet

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


def _refuse_zero_allocation(pa: float, mu: float, allocator) -> None:
    """Refuse a predicted mu whose level lies below every activation level (x = 0).

    Inside the training range KGLM-Net's level is far above the activation levels; an all-zero
    allocation only comes from extrapolation far below it (``--allow-extrapolation`` at
    -100 dBm), where the level w = 1/(mu ln 2) and the activation levels b agree to more digits
    than the network resolves, so ``w - b`` (or the offset form of
    :mod:`plkg.solvers.water_level`, which keeps the digits of w but cannot add the network's
    missing ones) is 0 or noise. Returning x = 0 would be a silent unused budget.
    """
    lo, hi = allocator.checkpoint.training_range
    raise PlkgInputError(
        f"P_a = {pa:.4g} W: KGLM-Net's mu_hat = {mu:.4g} bit/W puts the water level below every "
        f"activation level (an all-zero allocation), extrapolating far outside its training "
        f"range [{lo:g}, {hi:g}] dBm; use --method wfpa or fnnpa-general there"
    )


class _Bound:
    """Shared binding: checkpoint forward, training range (W), design constants."""

    @classmethod
    def from_checkpoint(cls, path=None, scenario=None, design=None, allow_extrapolation=False):
        """Bind a checkpoint (default: the committed Fig. 6 one) to a scenario / design."""
        slow = cls._validating_class()
        return cls(slow.from_checkpoint(path, scenario, design, allow_extrapolation))

    def __init__(self, allocator):
        self.allocator = allocator
        self.fnn = NumpyFNN(allocator.checkpoint)
        self.m_a, self.m_b = allocator.m_a, allocator.m_b
        self.user, self.n_users = allocator.user, allocator.n_users
        self.n_subchannels = self.m_a.size
        lo, hi = allocator.checkpoint.training_range
        tol = 1e-9 * max(1.0, abs(lo), abs(hi))
        self.allow_extrapolation = allocator.allow_extrapolation
        self._dbm_lo, self._dbm_hi = lo - tol, hi + tol

    @staticmethod
    def dbm_of(pa: float) -> float:
        """P_a in dBm as every scalar path computes it (Python float arithmetic)."""
        return 10.0 * math.log10(pa) + 30.0

    def _dbm(self, pa_w) -> tuple[float, float]:
        pa = float(pa_w)
        if not (pa > 0.0 and pa < math.inf):
            raise ValueError(f"P_a must be finite and > 0 W, got {pa_w!r}")
        dbm = self.dbm_of(pa)
        if not self.allow_extrapolation and not (self._dbm_lo <= dbm <= self._dbm_hi):
            # the validating path words the refusal (training range, how to force it)
            self.allocator.predict(pa)
        return pa, dbm

    def _dbm_batch(self, pa_w) -> tuple[np.ndarray, np.ndarray]:
        # a float64 array (the online batch) is validated by the unchecked base check (shape,
        # finite, > 0); anything else first by the allocator's type checks (names pa_w)
        if isinstance(pa_w, np.ndarray) and pa_w.dtype == np.float64:
            pa = BoundAllocator._powers(self.allocator, pa_w)
        else:
            pa = self.allocator._powers(pa_w)
        dbm = 10.0 * np.log10(pa) + 30.0
        if not self.allow_extrapolation and (
            np.any(dbm < self._dbm_lo) or np.any(dbm > self._dbm_hi)
        ):
            self.allocator.predict(pa)
        return pa, dbm


class FastResult:
    """One fast allocation (``__slots__``); C_k and the objective are computed on first access.

    Attributes
    ----------
    x_w : ndarray [N_D] float64, W (design order); sum x <= P_a
    pa_w : float, W
    label : float
        mu_hat (bit/W, FNNPA) or t_hat (bits, FNNPAKF).
    scaled : bool
        True where the mapped allocation over-spent and was scaled down to P_a.
    status : str
        ``scaled_to_budget`` or ``predicted``; ``iterations`` is 0 (no solver iteration).
    """

    __slots__ = ("_owner", "x_w", "pa_w", "label", "scaled", "iterations")

    def __init__(self, owner, x_w, pa_w, label, scaled):  # the order of FastFNNPA.kernel
        self._owner, self.x_w, self.pa_w, self.label, self.scaled = owner, x_w, pa_w, label, scaled
        self.iterations = 0

    @property
    def status(self) -> str:
        return "scaled_to_budget" if self.scaled else "predicted"

    @property
    def c_bits(self) -> np.ndarray:
        o = self._owner
        return np.asarray(user_key_rates_bits(self.x_w, o.m_a, o.m_b, o.user, o.n_users))

    @property
    def objective(self) -> float:
        """Sum KR (FNNPA) or min KR (FNNPAKF) of Eq. (42), bits."""
        o = self._owner
        if isinstance(o, FastFNNPA):
            return float(subchannel_key_rate_bits(self.x_w, o.m_a, o.m_b).sum())
        return float(self.c_bits.min())


class FastFNNPA(_Bound):
    """FNNPA bound to one design: P_a -> mu_hat -> Eq. (48) -> budget scaling, per call.

    Validates the checkpoint, its fingerprint and the design once, here (through
    :meth:`plkg.inference.allocator.Allocator.from_checkpoint`); a call checks only that P_a is a
    finite positive float inside the training range. Bit for bit the allocation of
    :meth:`Allocator.allocation` (the same :meth:`kernel`).

    Parameters
    ----------
    allocator : plkg.inference.allocator.Allocator
    """

    @staticmethod
    def _validating_class():
        from plkg.inference.allocator import Allocator

        return Allocator

    def __init__(self, allocator):
        super().__init__(allocator)
        b = self.m_b * (1.0 + self.m_a)
        q = self.m_a / self.m_b
        self._hs = 0.5 + self.m_a
        self._qone = np.stack([q, np.ones_like(q)])  # rows: m_a / m_b, 1
        self._cb = np.stack([np.full_like(b, -0.25), b])  # rows: -1/4, b
        self._ones = np.ones_like(b)
        self._buf = np.empty((2, self.n_subchannels))
        self._r, self._e = self._buf  # row views, made once
        # x > 0 somewhere iff the level 1/(mu ln 2) exceeds the lowest activation level min(b):
        # mu < mu_max. The batched check folds this into the one mu check (one host sync on GPU).
        self._mu_max = 1.0 / (LN2 * float(b.min()))

    def __call__(self, pa_w: float) -> FastResult:
        """One budget (float, W) -> :class:`FastResult` (``label`` = mu_hat, bit/W)."""
        pa, dbm = self._dbm(pa_w)
        return FastResult(self, *self.kernel(pa, dbm))

    def kernel(self, pa: float, dbm: float) -> tuple[np.ndarray, float, float, bool]:
        """FNNPA for one *validated* budget: ``(x_w [N_D], pa, mu_hat, scaled)``.

        The one computation of FNNPA for a single power: :meth:`__call__` and the validating
        :meth:`plkg.inference.allocator.Allocator.allocation` both run it, so their allocations
        are bit for bit the same. ``dbm`` must be ``10 log10(pa) + 30`` (:meth:`dbm_of`).
        """
        mu = self.fnn.scalar(dbm)
        if not (mu > 0.0 and mu < math.inf):
            raise ValueError("KGLM-Net predicted a non-positive or non-finite mu (extrapolating?)")
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
            _refuse_zero_allocation(pa, mu, self.allocator)
        scaled = total > pa
        if scaled:
            x *= pa / total
        return x, pa, mu, scaled

    def _refuse_mu(self, pa: np.ndarray, mu: np.ndarray) -> None:
        """Refuse the first mu_hat outside (0, mu_max): non-positive/non-finite, or all-zero x."""
        i = int(np.argmin((mu > 0) & (mu < self._mu_max)))
        if not (mu[i] > 0.0 and mu[i] < math.inf):
            raise ValueError("KGLM-Net predicted a non-positive or non-finite mu (extrapolating?)")
        _refuse_zero_allocation(float(pa[i]), float(mu[i]), self.allocator)

    def allocation(self, pa_w, device=None):
        """[B] budgets -> (mu_hat [B], x_w [B, N_D], scaled [B]); NumPy or torch on ``device``."""
        pa, dbm = self._dbm_batch(pa_w)
        mu = self.fnn.batch(dbm, device)
        if not bool(((mu > 0) & (mu < self._mu_max)).all()):  # the one host sync of the check
            self._refuse_mu(pa, mu if device is None else mu.cpu().numpy())
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
            _refuse_zero_allocation(float(pa[i]), float(mu[i]), self.allocator)
        scaled = total > pa_x
        factor = pa_x / (total + (total == 0))
        x = x * (factor * scaled + ~scaled)[:, None]
        return mu, x, scaled


class FastFNNPAKF(_Bound):
    """FNNPAKF bound to one design: P_a -> t_hat -> corrected Eq. (60) -> Eq. (59), per call.

    The ``appro`` mapping of :class:`plkg.inference.fairness_allocator.FairnessAllocator`
    (per-UE water-filling on the high-power approximation (57), x >= 0), with the checkpoint and
    design validated once, here. Same allocation as ``FairnessAllocator.allocation(pa, "appro")``
    to ~1e-15 relative (tests: 1e-12).

    Parameters
    ----------
    allocator : plkg.inference.fairness_allocator.FairnessAllocator
    """

    @staticmethod
    def _validating_class():
        from plkg.inference.fairness_allocator import FairnessAllocator

        return FairnessAllocator

    def __init__(self, allocator):
        super().__init__(allocator)
        k = self.n_users
        counts = np.bincount(self.user, minlength=k)
        d_max = int(counts.max())
        lb = np.full((k, d_max), np.inf)
        cums = np.zeros((k, d_max))
        for u in range(k):
            srt = np.sort(np.log(self.m_b[self.user == u]))
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

    def __call__(self, pa_w: float) -> FastResult:
        """One budget (float, W) -> :class:`FastResult` (``label`` = t_hat, bits)."""
        pa, dbm = self._dbm(pa_w)
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
        return FastResult(self, x, pa, t, scaled)

    def allocation(self, pa_w):
        """[B] budgets -> (t_hat [B], x_w [B, N_D], scaled [B]) (NumPy)."""
        pa, dbm = self._dbm_batch(pa_w)
        t = self.fnn.batch(dbm)
        if not np.all(np.isfinite(t) & (t > 0)):
            raise ValueError("the fairness FNN predicted a non-positive or non-finite t")
        x = np.maximum(self.levels(t)[:, self.user] - self.m_b, 0.0)
        total = x.sum(-1)
        scaled = total > pa
        x *= np.where(scaled, pa / np.where(total > 0, total, 1.0), 1.0)[:, None]
        return t, x, scaled


__all__ = ["FastFNNPA", "FastFNNPAKF", "FastResult", "NumpyFNN"]
