"""FNNPA and FNNPAKF bound once to a design: the online fast path of the checkpoint allocators.

:class:`plkg.inference.allocator.Allocator` (FNNPA: P_a -> KGLM-Net -> mu_hat -> Eq. (48)) and
:class:`plkg.inference.fairness_allocator.FairnessAllocator` (FNNPAKF: P_a -> fairness FNN ->
t_hat -> Eqs. (59)-(60), corrected form) validate the checkpoint, the design and every input on
every call. Here they are validated once, when a checkpoint is bound, and a call checks only
that P_a is a finite positive float inside the training range; the computation is that of the
shared kernel :mod:`plkg.inference.fnn_kernel` (the network's weights as float64 NumPy arrays,
the Eq. (48) and Eq. (60) constants of the design prepared once).

Accuracy: one FNNPA budget is computed by one kernel
(:meth:`plkg.inference.fnn_kernel.FNNPAKernel.row`), which the validating
:meth:`plkg.inference.allocator.Allocator.allocation` also runs row by row, so the fast and the
validating single-budget allocations are bit for bit the same (tested), whatever the batch. The
vectorised :meth:`FastFNNPA.allocation` and the FNNPAKF paths agree with the validating ones to
~1e-15 relative (NumPy's ``tanh`` and summation order differ from torch's in the last bit; the
tests hold them to 1e-12). This module imports neither Lightning nor :mod:`plkg.training`.
"""

from __future__ import annotations

import math

import numpy as np

from plkg.inference._bound import BoundAllocator
from plkg.inference.fnn_kernel import FNNPAKernel, FNNPAKFKernel, NumpyFNN, dbm_of
from plkg.keyrate.subchannel import subchannel_key_rate_bits, user_key_rates_bits


class _Bound:
    """Shared binding: checkpoint forward, training range (W), design constants.

    Built from a validating allocator (which bound and checked the checkpoint); this module never
    imports the validating classes, and they never import it: both compute with
    :mod:`plkg.inference.fnn_kernel`. :func:`plkg.bind` builds the pair.
    """

    def __init__(self, allocator, fnn: NumpyFNN | None = None):
        self.allocator = allocator
        self.fnn = NumpyFNN(allocator.checkpoint) if fnn is None else fnn
        self.m_a, self.m_b = allocator.m_a, allocator.m_b
        self.user, self.n_users = allocator.user, allocator.n_users
        self.n_subchannels = self.m_a.size
        lo, hi = allocator.checkpoint.training_range
        tol = 1e-9 * max(1.0, abs(lo), abs(hi))
        self.allow_extrapolation = allocator.allow_extrapolation
        self._dbm_lo, self._dbm_hi = lo - tol, hi + tol

    dbm_of = staticmethod(dbm_of)

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

    def __init__(self, owner, x_w, pa_w, label, scaled):  # the order of the kernels' rows
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

    Built from an :class:`plkg.inference.allocator.Allocator`, which validated the checkpoint,
    its fingerprint and the design once (``plkg.bind("fnnpa", design)`` builds both); a call
    checks only that P_a is a finite positive float inside the training range. Bit for bit the allocation of
    :meth:`Allocator.allocation <plkg.inference.allocator.Allocator.allocation>` (the same
    kernel code, :class:`plkg.inference.fnn_kernel.FNNPAKernel`, in an instance of its own).

    Parameters
    ----------
    allocator : plkg.inference.allocator.Allocator
    """

    def __init__(self, allocator):
        # its own kernel (the same construction as Allocator.kernel, so the same bits): the
        # kernel's scratch rows are not shared with the allocator or another FastFNNPA
        fnnpa = FNNPAKernel(
            NumpyFNN(allocator.checkpoint),
            allocator.m_a,
            allocator.m_b,
            allocator.checkpoint.training_range,
        )
        super().__init__(allocator, fnnpa.fnn)
        self._fnnpa = fnnpa
        #: ``kernel(pa, dbm) -> (x_w [N_D], pa, mu_hat, scaled)``: FNNPA for one *validated*
        #: budget (:meth:`plkg.inference.fnn_kernel.FNNPAKernel.row`); ``dbm`` must be
        #: :meth:`dbm_of` ``(pa)``.
        self.kernel = fnnpa.row

    def __call__(self, pa_w: float) -> FastResult:
        """One budget (float, W) -> :class:`FastResult` (``label`` = mu_hat, bit/W)."""
        pa, dbm = self._dbm(pa_w)
        return FastResult(self, *self.kernel(pa, dbm))

    def allocation(self, pa_w, device=None):
        """[B] budgets -> (mu_hat [B], x_w [B, N_D], scaled [B]); NumPy or torch on ``device``."""
        pa, dbm = self._dbm_batch(pa_w)
        return self._fnnpa.batch(pa, dbm, device)


class FastFNNPAKF(_Bound):
    """FNNPAKF bound to one design: P_a -> t_hat -> corrected Eq. (60) -> Eq. (59), per call.

    The ``appro`` mapping of :class:`plkg.inference.fairness_allocator.FairnessAllocator`
    (per-UE water-filling on the high-power approximation (57), x >= 0), built from a
    :class:`~plkg.inference.fairness_allocator.FairnessAllocator`, which validated the checkpoint
    and design once (``plkg.bind("fnnpakf", design)`` builds both). Same allocation as ``FairnessAllocator.allocation(pa, "appro")``
    to ~1e-15 relative (tests: 1e-12).

    Parameters
    ----------
    allocator : plkg.inference.fairness_allocator.FairnessAllocator
    """

    def __init__(self, allocator):
        super().__init__(allocator)
        self._fnnpakf = FNNPAKFKernel(self.fnn, self.m_b, self.user, self.n_users)

    def levels(self, t_bits):
        """Water levels w_k [..., K] (W) of the corrected Eq. (60) for t_hat [...] (bits)."""
        return self._fnnpakf.levels(t_bits)

    def __call__(self, pa_w: float) -> FastResult:
        """One budget (float, W) -> :class:`FastResult` (``label`` = t_hat, bits)."""
        pa, dbm = self._dbm(pa_w)
        return FastResult(self, *self._fnnpakf.row(pa, dbm))

    def allocation(self, pa_w):
        """[B] budgets -> (t_hat [B], x_w [B, N_D], scaled [B]) (NumPy)."""
        pa, dbm = self._dbm_batch(pa_w)
        return self._fnnpakf.batch(pa, dbm)


__all__ = ["FastFNNPA", "FastFNNPAKF", "FastResult", "NumpyFNN"]
