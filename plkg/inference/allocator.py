"""FNNPA: KGLM-Net power allocation from an exported checkpoint (Section V-B and VII-B of the
near-field paper).

P_a -> KGLM-Net -> mu_hat -> x (Eq. (48)) -> Lambda_k, P_{e,k} (Eq. (39)) -> I_k (Eq. (17)).
A predicted mu_hat that over-spends the budget (sum x > P_a) is scaled down to sum x = P_a
(status ``scaled_to_budget``), so every allocation is feasible (Eq. (44)). This module imports
neither Lightning nor :mod:`plkg.training`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plkg import defaults
from plkg.checks import (
    PlkgTypeError,
    check_choice,
    check_flag,
    check_instance,
    check_path,
    check_real_array,
    describe,
)
from plkg.errors import PlkgInputError
from plkg.inference._bound import BoundAllocator
from plkg.inference.checkpoint import BACKENDS, Checkpoint
from plkg.keyrate.subchannel import subchannel_key_rate_bits, user_key_rates_bits
from plkg.solvers.allocation import AllocationResult

DEFAULT_CHECKPOINT = defaults.checkpoint_path("kglm_fig6")


@dataclass(frozen=True)
class FNNAllocation:
    """Batched FNNPA output.

    Attributes
    ----------
    pa_w : ndarray [B], watt
    mu : ndarray [B], bit/W
        KGLM-Net prediction mu_hat.
    x_w : ndarray [B, N_D], watt
        Eq. (48) at mu_hat, scaled down where it exceeded P_a.
    scaled : ndarray [B] bool
        True where the budget scaling was applied.
    c_bits : ndarray [B, K]
        C_k of Eq. (42) (equals I_k of Eq. (17) for the Eq. (39) precoders).
    """

    pa_w: np.ndarray
    mu: np.ndarray
    x_w: np.ndarray
    scaled: np.ndarray
    c_bits: np.ndarray

    @property
    def sum_c_bits(self) -> np.ndarray:
        return self.c_bits.sum(-1)


def _check_design_like(design, name: str = "design") -> None:
    """None, or an object with the subchannel constants (a SubchannelDesign)."""
    if design is not None and not all(hasattr(design, a) for a in ("m_a", "m_b", "user")):
        raise PlkgTypeError(
            f"{name} must be a SubchannelDesign (from plkg.design_for_scenario) or None, got "
            f"{describe(design)}"
        )


class CheckedBoundAllocator(BoundAllocator):
    """:class:`BoundAllocator` whose constructor, :meth:`from_checkpoint` and budgets check their
    arguments by name first (the public :class:`Allocator` and
    :class:`plkg.inference.fairness_allocator.FairnessAllocator` derive from it)."""

    def __init__(
        self, checkpoint: Checkpoint, m_a, m_b, user, design=None, allow_extrapolation=False
    ):
        check_instance(
            checkpoint, Checkpoint, "checkpoint", "a Checkpoint (from plkg.load_checkpoint)"
        )
        m_a = check_real_array(m_a, "m_a", ndim=1, positive=True, allow_empty=False, unit="W")
        m_b = check_real_array(m_b, "m_b", ndim=1, size=m_a.size, positive=True, unit="W")
        user = _check_user(user, m_a.size)
        _check_design_like(design)
        if design is not None and np.shape(design.m_a) != m_a.shape:
            raise PlkgInputError(
                f"design has {np.size(design.m_a)} subchannels but m_a has {m_a.size}"
            )
        check_flag(allow_extrapolation, "allow_extrapolation")
        super().__init__(checkpoint, m_a, m_b, user, design, allow_extrapolation)

    @classmethod
    def from_checkpoint(
        cls, path=None, scenario=None, design=None, allow_extrapolation=False, backend="torch"
    ):
        """Load a checkpoint (default: the class's ``DEFAULT_CHECKPOINT``) and bind it.

        Parameters
        ----------
        path : str or os.PathLike, optional
            The checkpoint's ``.safetensors`` (its ``.json`` sidecar beside it).
        scenario : NearFieldScenario, optional
            Must have the checkpoint's fingerprint.
        design : SubchannelDesign, optional
            Must have the subchannel constants stored in the checkpoint; needed for precoders.
        allow_extrapolation : bool
            Allow P_a outside the checkpoint's training range.
        backend : {"torch", "numpy"}

        Raises
        ------
        PlkgTypeError
            An argument of the wrong type.
        ValueError
            Bad checkpoint, mismatched fingerprint or subchannel constants.
        """
        if path is not None:
            check_path(path, "path", must_exist=False)
        if scenario is not None:
            from plkg.channels.nearfield_scenario import NearFieldScenario

            check_instance(
                scenario,
                NearFieldScenario,
                "scenario",
                "a NearFieldScenario (from plkg.load_scenario) or None",
            )
        _check_design_like(design)
        check_flag(allow_extrapolation, "allow_extrapolation")
        check_choice(backend, BACKENDS, "backend")
        return super().from_checkpoint(path, scenario, design, allow_extrapolation, backend)

    def _powers(self, pa_w) -> np.ndarray:
        # Types first (None, str, bool, complex are no power); the values by the shared check. A
        # float or a float64 array of <= 1 dimension is fine already: the online path skips it.
        if not (
            isinstance(pa_w, float)
            or (isinstance(pa_w, np.ndarray) and pa_w.dtype == np.float64 and pa_w.ndim <= 1)
        ):
            pa_w = check_real_array(pa_w, "pa_w", ndim=(0, 1), finite=False, unit="W")
        return super()._powers(pa_w)


def _check_user(user, n_subchannels: int) -> np.ndarray:
    """Owner UE of each subchannel: [N_D] integers >= 0."""
    if user is None or isinstance(user, (str, bytes, bool)):
        raise PlkgTypeError(f"user must be an integer array [N_D], got {describe(user)}")
    u = np.asarray(user)
    if u.dtype.kind not in "iu":
        raise PlkgTypeError(f"user must be an integer array [N_D], got dtype {u.dtype}")
    if u.shape != (n_subchannels,) or np.any(u < 0):
        raise PlkgInputError(
            f"user must hold one UE index >= 0 per subchannel ({n_subchannels}), got {describe(user)}"
        )
    return u


class Allocator(CheckedBoundAllocator):
    """KGLM-Net allocator bound to one scenario's subchannels.

    Parameters
    ----------
    checkpoint : Checkpoint
        A KGLM-Net checkpoint (label ``mu``, input ``pa_dbm``).
    m_a, m_b : ndarray [N_D]; user : ndarray [N_D] int
        Subchannel constants of Eq. (42) of the scenario.
    design : SubchannelDesign, optional
        Needed only for precoders (Eq. (39)) and I_k (Eq. (17)).
    allow_extrapolation : bool
        Allow P_a outside the checkpoint's training range.
    """

    DEFAULT_CHECKPOINT = DEFAULT_CHECKPOINT
    LABEL = "mu"
    WRONG_LABEL = ", KGLM-Net must predict 'mu'"
    WRONG_UNITS = "KGLM-Net checkpoints take P_a in dBm"
    POSITIVE_PA = "P_a must be positive for FNNPA (its input is P_a in dBm)"

    @property
    def training_range_dbm(self) -> tuple[float, float]:
        return self.checkpoint.training_range

    def predict(self, pa_w) -> np.ndarray:
        """mu_hat [B] (bit/W) for P_a [B] (W); refuses P_a outside the training range."""
        return self.allocation(pa_w).mu

    def allocation(self, pa_w) -> FNNAllocation:
        """Batched mu_hat -> x (Eq. (48)) -> budget scaling -> C_k (Eq. (42)).

        Every P_a is validated here, then each row is computed by the one FNNPA kernel
        (:meth:`plkg.inference.fast_allocator.FastFNNPA.kernel`, float64 NumPy): a budget gets the
        same bits whatever batch it comes in, and the same bits as the online fast path. For
        throughput on large batches use :meth:`FastFNNPA.allocation` (vectorised, ~1e-15 relative
        from this path, NumPy or torch).
        """
        pa = self._powers(pa_w)  # validated: real, finite, > 0
        self.checkpoint.check_inputs(10.0 * np.log10(pa) + 30.0, self.allow_extrapolation)
        fast = self.fast()
        rows = [fast.kernel(p, fast.dbm_of(p)) for p in pa.tolist()]
        x = np.stack([row[0] for row in rows])
        mu = np.array([row[2] for row in rows])
        scaled = np.array([row[3] for row in rows], dtype=bool)
        c = user_key_rates_bits(x, self.m_a, self.m_b, self.user, self.n_users)
        return FNNAllocation(pa_w=pa, mu=mu, x_w=x, scaled=scaled, c_bits=np.asarray(c))

    def fast(self):
        """This allocator's :class:`plkg.inference.fast_allocator.FastFNNPA` (built once)."""
        if getattr(self, "_fast", None) is None:
            from plkg.inference.fast_allocator import FastFNNPA

            self._fast = FastFNNPA(self)
        return self._fast

    def allocate(self, pa_w) -> list[dict]:
        """Full FNNPA per P_a: x, precoders P_{e,k} (Eq. (39)) and I_k (Eq. (17)).

        Returns a list (one per P_a) of dicts with ``pa_w``, ``mu``, ``x_w`` [N_D],
        ``precoders`` (list of K [N, D_k]), ``kr_bits`` [K] (Eq. (17)), ``c_bits`` [K] (Eq. (42)),
        ``scaled``. Needs the design (pass it to :meth:`from_checkpoint`).
        """
        if self.design is None:
            raise ValueError("precoders and I_k need the SubchannelDesign: pass design=")
        from plkg.keyrate.evaluate import evaluate_allocation

        batch = self.allocation(pa_w)
        out = []
        for i in range(batch.pa_w.size):
            report = evaluate_allocation(self.design, batch.x_w[i])
            out.append(
                {
                    "pa_w": float(batch.pa_w[i]),
                    "mu": float(batch.mu[i]),
                    "x_w": batch.x_w[i],
                    "precoders": self.design.precoders(batch.x_w[i]),
                    "kr_bits": report.kr_bits,
                    "c_bits": report.c_bits,
                    "scaled": bool(batch.scaled[i]),
                }
            )
        return out


def allocate_fnnpa(design, pa_w: float, **options) -> AllocationResult:
    """FNNPA for the method registry (``plkg keyrate --method fnnpa``).

    Options: ``checkpoint`` (default ``checkpoints/kglm_fig6.safetensors``), ``scenario`` (its
    fingerprint must match the checkpoint's), ``allow_extrapolation``; others are ignored here
    (:func:`plkg.inference.methods.allocate` refuses them).
    ``backend`` ("torch" or "numpy", see :func:`plkg.inference.checkpoint.load_checkpoint`).
    """
    path = options.get("checkpoint") or DEFAULT_CHECKPOINT
    alloc = Allocator.from_checkpoint(
        path,
        scenario=options.get("scenario"),
        design=design,
        allow_extrapolation=bool(options.get("allow_extrapolation", False)),
        backend=options.get("backend", "torch"),
    )
    batch = alloc.allocation(pa_w)
    x = batch.x_w[0]
    return AllocationResult(
        method="fnnpa",
        x_w=x,
        pa_w=float(pa_w),
        status="scaled_to_budget" if batch.scaled[0] else "predicted",
        iterations=0,
        objective=float(np.sum(subchannel_key_rate_bits(x, alloc.m_a, alloc.m_b))),
        extras={"mu": float(batch.mu[0]), "checkpoint": str(path)},
    )
