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
from plkg.inference._bound import CheckedBoundAllocator
from plkg.inference.fnn_kernel import FNNPAKernel, NumpyFNN, dbm_of
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


class Allocator(CheckedBoundAllocator):
    """KGLM-Net allocator bound to one scenario's subchannels.

    Parameters
    ----------
    checkpoint : Checkpoint
        A KGLM-Net checkpoint (label ``mu``, input ``pa_dbm``).
    m_a, m_b : ndarray [N_D], float64, watt
        Subchannel constants of Eq. (42) of the scenario.
    user : ndarray [N_D], int
        Owner UE (0-based) of each subchannel.
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
        """(low, high) P_a in dBm the checkpoint was trained on."""
        return self.checkpoint.training_range

    def predict(self, pa_w) -> np.ndarray:
        """mu_hat [B] (bit/W) for P_a [B] (W); refuses P_a outside the training range.

        Parameters
        ----------
        pa_w : float or array_like [B], watt
            Budgets P_a, finite and > 0.

        Returns
        -------
        ndarray [B], float64, bit/W
            KGLM-Net's mu_hat per budget.
        """
        return self.allocation(pa_w).mu

    def allocation(self, pa_w) -> FNNAllocation:
        """Batched mu_hat -> x (Eq. (48)) -> budget scaling -> C_k (Eq. (42)).

        Every P_a is validated here, then each row is computed by the one FNNPA kernel
        (:meth:`plkg.inference.fnn_kernel.FNNPAKernel.row`, float64 NumPy): a budget gets the
        same bits whatever batch it comes in, and the same bits as the online fast path
        (:class:`plkg.inference.fast_allocator.FastFNNPA`). For throughput on large batches use
        :meth:`FastFNNPA.allocation <plkg.inference.fast_allocator.FastFNNPA.allocation>`
        (vectorised, ~1e-15 relative from this path, NumPy or torch).

        Parameters
        ----------
        pa_w : float or array_like [B], watt
            Budgets P_a, finite and > 0.

        Returns
        -------
        FNNAllocation
            ``pa_w`` [B], ``mu`` [B] (bit/W), ``x_w`` [B, N_D] (W, Eq. (48) scaled to the budget),
            ``scaled`` [B] bool and ``c_bits`` [B, K] (Eq. (42)).
        """
        pa, x, mu, scaled = self.rows(pa_w)
        c = user_key_rates_bits(x, self.m_a, self.m_b, self.user, self.n_users)
        return FNNAllocation(pa_w=pa, mu=mu, x_w=x, scaled=scaled, c_bits=np.asarray(c))

    def rows(self, pa_w) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Validated P_a [B] (W), x_w [B, N_D] (W), mu_hat [B] (bit/W), scaled [B] bool.

        :meth:`allocation` without the C_k of Eq. (42): the allocation alone, row by row by
        :meth:`kernel`'s :meth:`~plkg.inference.fnn_kernel.FNNPAKernel.row`.

        Parameters
        ----------
        pa_w : float or array_like [B], watt
            Budgets P_a, finite and > 0.

        Returns
        -------
        pa_w : ndarray [B], float64, watt
        x_w : ndarray [B, N_D], float64, watt
        mu : ndarray [B], float64, bit/W
        scaled : ndarray [B], bool
        """
        pa = self._powers(pa_w)  # validated: real, finite, > 0
        self.checkpoint.check_inputs(10.0 * np.log10(pa) + 30.0, self.allow_extrapolation)
        row = self.kernel().row
        rows = [row(p, dbm_of(p)) for p in pa.tolist()]
        x = np.stack([r[0] for r in rows])
        mu = np.array([r[2] for r in rows])
        scaled = np.array([r[3] for r in rows], dtype=bool)
        return pa, x, mu, scaled

    def kernel(self) -> FNNPAKernel:
        """This allocator's :class:`plkg.inference.fnn_kernel.FNNPAKernel` (built once).

        Its KGLM-Net forward runs in float64 NumPy whatever the checkpoint's backend; the online
        :class:`plkg.inference.fast_allocator.FastFNNPA` builds its own instance of the same
        kernel (same bits, separate scratch rows).

        Returns
        -------
        FNNPAKernel
            Built on the first call, then reused.
        """
        if getattr(self, "_kernel", None) is None:
            fnn = NumpyFNN(self.checkpoint)
            self._kernel = FNNPAKernel(fnn, self.m_a, self.m_b, self.checkpoint.training_range)
        return self._kernel

    def allocate(self, pa_w) -> list[dict]:
        """Full FNNPA per P_a: x, precoders P_{e,k} (Eq. (39)) and I_k (Eq. (17)).

        Needs the design (pass it to :meth:`from_checkpoint`).

        Parameters
        ----------
        pa_w : float or array_like [B], watt
            Budgets P_a, finite and > 0.

        Returns
        -------
        list of dict
            One per P_a, with ``pa_w``, ``mu``, ``x_w`` [N_D], ``precoders`` (list of K [N, D_k]),
            ``kr_bits`` [K] (Eq. (17)), ``c_bits`` [K] (Eq. (42)), ``scaled``.
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
    fingerprint must match the checkpoint's), ``allow_extrapolation``, ``backend`` ("torch" or
    "numpy", see :func:`plkg.inference.checkpoint.load_checkpoint`); others are ignored here
    (:func:`plkg.inference.methods.allocate` refuses them).
    """
    path = options.get("checkpoint") or DEFAULT_CHECKPOINT
    return fnnpa_result(bind_fnnpa(design, path, options), path, pa_w)


def bind_fnnpa(design, path, options: dict) -> Allocator:
    """The :class:`Allocator` of checkpoint ``path`` bound to ``design`` (registry options)."""
    return Allocator.from_checkpoint(
        path,
        scenario=options.get("scenario"),
        design=design,
        allow_extrapolation=bool(options.get("allow_extrapolation", False)),
        backend=options.get("backend", "torch"),
    )


def fnnpa_result(alloc: Allocator, path, pa_w: float) -> AllocationResult:
    """The registry's :class:`AllocationResult` of FNNPA at one budget ``pa_w`` (W), bound
    allocator ``alloc`` of checkpoint ``path``: ``status`` ``predicted`` or
    ``scaled_to_budget``, ``objective`` the sum KR of Eq. (42) (bits), ``extras`` ``mu``
    (bit/W) and ``checkpoint``."""
    _, x_rows, mu, scaled = alloc.rows(pa_w)
    x = x_rows[0]
    return AllocationResult(
        method="fnnpa",
        x_w=x,
        pa_w=float(pa_w),
        status="scaled_to_budget" if scaled[0] else "predicted",
        iterations=0,
        objective=float(np.sum(subchannel_key_rate_bits(x, alloc.m_a, alloc.m_b))),
        extras={"mu": float(mu[0]), "checkpoint": str(path)},
    )
