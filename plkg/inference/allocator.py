"""FNNPA: KGLM-Net power allocation from an exported checkpoint (Section V-B and VII-B of the
near-field paper).

P_a -> KGLM-Net -> mu_hat -> x (Eq. (48)) -> Lambda_k, P_{e,k} (Eq. (39)) -> I_k (Eq. (17)).
A predicted mu_hat that over-spends the budget (sum x > P_a) is scaled down to sum x = P_a
(status ``scaled_to_budget``), so every allocation is feasible (Eq. (44)). This module imports
neither Lightning nor :mod:`plkg.training`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plkg import units
from plkg.inference.checkpoint import Checkpoint, load_checkpoint
from plkg.keyrate.subchannel import subchannel_key_rate_bits, user_key_rates_bits
from plkg.solvers.allocation import AllocationResult
from plkg.solvers.water_filling import x_from_mu

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "kglm_fig6.safetensors"
DESIGN_RTOL = 1e-6


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


class Allocator:
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

    def __init__(
        self, checkpoint: Checkpoint, m_a, m_b, user, design=None, allow_extrapolation=False
    ):
        if checkpoint.meta.get("label_name") != "mu":
            raise ValueError(
                f"checkpoint {checkpoint.meta.get('name')!r} predicts "
                f"{checkpoint.meta.get('label_name')!r}, KGLM-Net must predict 'mu'"
            )
        if checkpoint.meta.get("input_units") != "dBm":
            raise ValueError("KGLM-Net checkpoints take P_a in dBm")
        self.checkpoint = checkpoint
        self.m_a = np.asarray(m_a, dtype=np.float64)
        self.m_b = np.asarray(m_b, dtype=np.float64)
        self.user = np.asarray(user, dtype=np.int64)
        self.n_users = int(self.user.max()) + 1
        self.design = design
        self.allow_extrapolation = bool(allow_extrapolation)

    @classmethod
    def from_checkpoint(
        cls, path=DEFAULT_CHECKPOINT, scenario=None, design=None, allow_extrapolation=False
    ) -> Allocator:
        """Load a checkpoint and bind it to a scenario.

        ``scenario`` (if given) must have the checkpoint's fingerprint. ``design`` (if given) must
        have the subchannel constants stored in the checkpoint (rtol 1e-6); without a design the
        stored constants are used (enough for mu_hat, x and C_k, not for precoders).

        Raises
        ------
        ValueError
            Mismatched fingerprint or design, or a bad checkpoint.
        """
        ck = load_checkpoint(
            path,
            expected_fingerprint=None if scenario is None else scenario.fingerprint(),
            expected_label="mu",
        )
        stored = ck.design
        if design is not None:
            if stored and not (
                stored["m_a"].shape == design.m_a.shape
                and np.allclose(stored["m_a"], design.m_a, rtol=DESIGN_RTOL, atol=0)
                and np.allclose(stored["m_b"], design.m_b, rtol=DESIGN_RTOL, atol=0)
            ):
                raise ValueError(
                    f"checkpoint {ck.path.name} was trained for other subchannels (m_a, m_b differ "
                    f"from the design's; scenario fingerprint {ck.fingerprint})"
                )
            return cls(ck, design.m_a, design.m_b, design.user, design, allow_extrapolation)
        if not stored:
            raise ValueError(
                f"checkpoint {ck.path.name} stores no subchannel constants: pass design"
            )
        return cls(ck, stored["m_a"], stored["m_b"], stored["user"], None, allow_extrapolation)

    @property
    def training_range_dbm(self) -> tuple[float, float]:
        return self.checkpoint.training_range

    def _powers(self, pa_w) -> np.ndarray:
        pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
        if pa.ndim != 1 or pa.size == 0:
            raise ValueError(f"P_a must be a scalar or a 1-D array, got shape {pa.shape}")
        if not np.all(np.isfinite(pa)):
            raise ValueError("P_a must be finite (got NaN or inf)")
        if np.any(pa <= 0):
            raise ValueError("P_a must be positive for FNNPA (its input is P_a in dBm)")
        return pa

    def predict(self, pa_w) -> np.ndarray:
        """mu_hat [B] (bit/W) for P_a [B] (W); refuses P_a outside the training range."""
        pa = self._powers(pa_w)
        return self.checkpoint.predict(units.w_to_dbm(pa), self.allow_extrapolation)

    def allocation(self, pa_w) -> FNNAllocation:
        """Batched mu_hat -> x (Eq. (48)) -> budget scaling -> C_k (Eq. (42))."""
        pa = self._powers(pa_w)
        mu = self.predict(pa)
        if not np.all(np.isfinite(mu) & (mu > 0)):
            raise ValueError("KGLM-Net predicted a non-positive or non-finite mu (extrapolating?)")
        x = x_from_mu(mu[:, None], self.m_a, self.m_b)
        total = x.sum(-1)
        scaled = total > pa
        factor = np.where(scaled, pa / np.where(total > 0, total, 1.0), 1.0)
        x = x * factor[:, None]
        c = user_key_rates_bits(x, self.m_a, self.m_b, self.user, self.n_users)
        return FNNAllocation(pa_w=pa, mu=mu, x_w=x, scaled=scaled, c_bits=np.asarray(c))

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
    fingerprint must match the checkpoint's), ``allow_extrapolation``; others are ignored.
    """
    path = options.get("checkpoint") or DEFAULT_CHECKPOINT
    alloc = Allocator.from_checkpoint(
        path,
        scenario=options.get("scenario"),
        design=design,
        allow_extrapolation=bool(options.get("allow_extrapolation", False)),
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
