"""FNNPAKF: fairness FNN power allocation (Sections VI-C and VII-B of the near-field paper).

P_a -> FNN -> t_hat (the max-min key rate) -> {x_{k,j}} by one of three mappings:

* ``"appro"`` (default; the paper's FNNPAKF "Appro") -- mu_k from t_hat by Eq. (60) and x by
  Eq. (59) on the high-power approximation (57), with x >= 0 (per-UE water-filling, the corrected
  form of Eqs. (59)-(60); see :mod:`plkg.solvers.maxmin_highpower`). Identical to the paper's
  formulas when every subchannel is active.
* ``"appro-paper"`` -- Eqs. (59)-(60) literally (x may be negative: status ``negative_powers``).
* ``"exact"`` -- each UE's least-power allocation reaching C_k = t_hat on the exact Eq. (42)
  (:func:`plkg.solvers.maxmin_exact.least_power_allocation`). With ``spend_slack=True`` the
  budget it leaves (t_hat below the optimum t*) is spent as in the canonical max-min optimum
  (:func:`plkg.solvers.maxmin_lexicographic.spend_slack`: floors at t_hat, a common water level
  over the UEs above them). Off by default: at high P_a a shortfall of t_hat of 1e-6 relative
  frees enough power to raise the strong UEs' key rates by tens of bits, so the sum KR would
  follow the sign of the prediction error rather than the method.

If an allocation spends more than P_a it is scaled down to the budget (status
``scaled_to_budget``, ``extras["scaled"] = True``, ``extras["power_requested_w"]``). This module
imports neither Lightning nor :mod:`plkg.training`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plkg import defaults
from plkg.checks import check_choice
from plkg.errors import PlkgInputError
from plkg.inference._bound import CheckedBoundAllocator, scale_to_budget
from plkg.keyrate.subchannel import user_key_rates_bits
from plkg.solvers.allocation import AllocationResult
from plkg.solvers.maxmin_exact import ExactMaxMin
from plkg.solvers.maxmin_highpower import (
    corrected_allocation,
    corrected_levels,
    paper_allocation,
    paper_mu,
)
from plkg.solvers.maxmin_lexicographic import spend_slack_rows

DEFAULT_CHECKPOINT = defaults.checkpoint_path("fairness_fig6")
MAPPINGS = ("appro", "appro-paper", "exact")


@dataclass(frozen=True)
class FairnessAllocation:
    """Batched FNNPAKF output.

    Attributes
    ----------
    pa_w : ndarray [B], W
    t_bits : ndarray [B]
        FNN prediction t_hat (bits).
    x_w : ndarray [B, N_D], W
        Allocation after the budget scaling.
    scaled : ndarray [B] bool
        True where the mapping asked for more than P_a and x was scaled down.
    power_requested_w : ndarray [B]
        sum x before scaling.
    c_bits : ndarray [B, K]
        C_k of Eq. (42) at x (NaN rows where x has negative entries, mapping ``appro-paper``).
    mapping : str
    slack_spent : ndarray [B] bool or None
        Mapping ``exact`` with ``spend_slack``: True where budget left by the least-power
        allocation was spent by the canonical floored water-filling.
    """

    pa_w: np.ndarray
    t_bits: np.ndarray
    x_w: np.ndarray
    scaled: np.ndarray
    power_requested_w: np.ndarray
    c_bits: np.ndarray
    mapping: str
    slack_spent: np.ndarray | None = None

    @property
    def min_c_bits(self) -> np.ndarray:
        return self.c_bits.min(-1)


def mapping_allocation(t_bits, m_a, m_b, user, n_users: int, mapping: str = "appro", solver=None):
    """x [..., N_D] (W) reaching the max-min rate ``t_bits`` [...] by ``mapping`` (see module doc).

    ``solver`` (an :class:`ExactMaxMin` for these constants) avoids re-preparing for ``exact``.
    """
    if mapping == "appro":
        return corrected_allocation(t_bits, m_b, user, n_users)
    if mapping == "appro-paper":
        return paper_allocation(t_bits, m_b, user, n_users)
    if mapping == "exact":
        solver = solver or ExactMaxMin(m_a, m_b, user, n_users)
        lp = solver.least_power(np.asarray(t_bits, dtype=np.float64))
        if lp.status != "converged":
            raise ValueError("least-power allocation for the predicted t did not converge")
        return np.asarray(lp.x_w)
    raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")


class FairnessAllocator(CheckedBoundAllocator):
    """Fairness-FNN allocator bound to one scenario's subchannels (the FNNPAKF counterpart of
    :class:`plkg.inference.allocator.Allocator`).

    Parameters
    ----------
    checkpoint : Checkpoint
        A fairness FNN checkpoint (label ``t``, input ``pa_dbm``).
    m_a, m_b : ndarray [N_D], float64, watt
        Subchannel constants of Eq. (42) of the scenario.
    user : ndarray [N_D], int
        Owner UE (0-based) of each subchannel.
    design : SubchannelDesign, optional
        Needed only for precoders (Eq. (39)) / I_k (Eq. (17)).
    allow_extrapolation : bool
        Allow P_a outside the checkpoint's training range.
    """

    DEFAULT_CHECKPOINT = DEFAULT_CHECKPOINT
    LABEL = "t"
    WRONG_LABEL = "; the fairness FNN must predict 't'"
    WRONG_UNITS = "fairness FNN checkpoints take P_a in dBm"
    POSITIVE_PA = "P_a must be > 0 W for FNNPAKF (its input is P_a in dBm)"

    _exact = None  # ExactMaxMin, prepared on the first "exact" allocation

    def predict(self, pa_w) -> np.ndarray:
        """t_hat [B] (bits) for P_a [B] (W); refuses P_a outside the training range.

        Parameters
        ----------
        pa_w : float or array_like [B], watt
            Budgets P_a, finite and > 0.

        Returns
        -------
        ndarray [B], float64, bits
            The fairness FNN's t_hat per budget.
        """
        pa = self._powers(pa_w)
        t = self._predict_raw(pa)
        if not np.all(np.isfinite(t) & (t > 0)):
            raise ValueError("the fairness FNN predicted a non-positive or non-finite t")
        return t

    def mu(self, pa_w) -> np.ndarray:
        """mu_k [B, K] of Eq. (60) at the predicted t (1/W).

        Parameters
        ----------
        pa_w : float or array_like [B], watt
            Budgets P_a, finite and > 0.

        Returns
        -------
        ndarray [B, K], float64, 1/W
            mu_k of Eq. (60).
        """
        return paper_mu(self.predict(pa_w), self.m_b, self.user, self.n_users)

    def allocation(
        self, pa_w, mapping: str = "appro", spend_slack: bool = False
    ) -> FairnessAllocation:
        """Batched t_hat -> x (``mapping``) -> budget scaling -> C_k (Eq. (42)).

        Parameters
        ----------
        pa_w : float or array_like [B], watt
            Budgets P_a, finite and > 0.
        mapping : {"appro", "exact"}
            One of :data:`MAPPINGS`: Eq. (57) ("Appro") or the exact least-power allocation of
            Eq. (42).
        spend_slack : bool
            Mapping ``exact`` only: spend the budget the least-power allocation leaves by the
            canonical floored water-filling (module docstring).

        Returns
        -------
        FairnessAllocation
            ``t_bits`` [B], ``x_w`` [B, N_D] (W), ``scaled`` [B], ``c_bits`` [B, K] and the
            mapping's bookkeeping.
        """
        check_choice(mapping, MAPPINGS, "mapping")
        pa = self._powers(pa_w)
        t = self.predict(pa)
        if mapping == "exact" and self._exact is None:
            self._exact = ExactMaxMin(self.m_a, self.m_b, self.user, self.n_users)
        x = mapping_allocation(
            t, self.m_a, self.m_b, self.user, self.n_users, mapping, solver=self._exact
        )
        spent = None
        if mapping == "exact" and spend_slack:
            x, spent = spend_slack_rows(self._exact, t, pa, np.atleast_2d(x))
        x, scaled, total = scale_to_budget(x, pa)
        valid = np.all(x >= 0, axis=-1)
        c = np.full((pa.size, self.n_users), np.nan)
        if np.any(valid):
            c[valid] = user_key_rates_bits(x[valid], self.m_a, self.m_b, self.user, self.n_users)
        return FairnessAllocation(
            pa_w=pa,
            t_bits=t,
            x_w=x,
            scaled=scaled,
            power_requested_w=total,
            c_bits=c,
            mapping=mapping,
            slack_spent=spent,
        )


def allocate_fnnpakf(design, pa_w: float, **options) -> AllocationResult:
    """FNNPAKF for the method registry (``plkg keyrate --method fnnpakf``).

    Options: ``checkpoint`` (default ``checkpoints/fairness_fig6.safetensors``), ``mapping``
    (``appro`` default, ``appro-paper``, ``exact``), ``spend_slack`` (mapping ``exact`` only),
    ``scenario`` (fingerprint check), ``allow_extrapolation``, ``backend`` ("torch" or "numpy",
    see :func:`plkg.inference.checkpoint.load_checkpoint`); others are ignored here
    (:func:`plkg.inference.methods.allocate` refuses them). ``extras``: ``t`` (predicted, bits),
    ``mapping``, ``scaled``, ``power_requested_w``, ``mu`` (Eq. (60), appro mappings),
    ``slack_spent`` (mapping ``exact``), ``checkpoint``.
    """
    mapping, spend = fnnpakf_mapping(options)
    path = options.get("checkpoint") or DEFAULT_CHECKPOINT
    alloc = bind_fnnpakf(design, path, options)
    return fnnpakf_result(alloc, path, mapping, spend, pa_w)


def fnnpakf_mapping(options: dict) -> tuple[str, bool]:
    """``(mapping, spend_slack)`` of the registry options; refuses ``spend_slack`` without
    mapping ``exact``."""
    mapping = options.get("mapping") or "appro"
    check_choice(mapping, MAPPINGS, "mapping")
    spend = bool(options.get("spend_slack", False))
    if spend and mapping != "exact":
        raise PlkgInputError(
            f"spend_slack applies to mapping 'exact' only (the least-power allocation), "
            f"not to mapping {mapping!r}"
        )
    return mapping, spend


def bind_fnnpakf(design, path, options: dict) -> FairnessAllocator:
    """The :class:`FairnessAllocator` of checkpoint ``path`` bound to ``design`` (registry
    options)."""
    return FairnessAllocator.from_checkpoint(
        path,
        scenario=options.get("scenario"),
        design=design,
        allow_extrapolation=bool(options.get("allow_extrapolation", False)),
        backend=options.get("backend", "torch"),
    )


def fnnpakf_result(
    alloc: FairnessAllocator, path, mapping: str, spend: bool, pa_w: float
) -> AllocationResult:
    """The registry's :class:`AllocationResult` of FNNPAKF at one budget ``pa_w`` (W): bound
    allocator ``alloc`` of checkpoint ``path``, ``mapping`` and ``spend`` as
    :func:`fnnpakf_mapping` returns them. ``objective``: min_k C_k of Eq. (42) (bits; NaN where
    x has negative entries)."""
    batch = alloc.allocation(pa_w, mapping, spend)
    x = batch.x_w[0]
    t = float(batch.t_bits[0])
    if np.any(x < 0):
        status = "negative_powers"
    elif batch.scaled[0]:
        status = "scaled_to_budget"
    else:
        status = "predicted"
    extras = {
        "t": t,
        "mapping": mapping,
        "scaled": bool(batch.scaled[0]),
        "power_requested_w": float(batch.power_requested_w[0]),
        "checkpoint": str(path),
    }
    if batch.slack_spent is not None:
        extras["slack_spent"] = bool(batch.slack_spent[0])
    if mapping != "exact":
        levels = corrected_levels(t, alloc.m_b, alloc.user, alloc.n_users)
        extras["mu"] = (
            paper_mu(t, alloc.m_b, alloc.user, alloc.n_users)
            if mapping == "appro-paper"
            else 1.0 / (np.log(2.0) * levels)
        ).tolist()
    return AllocationResult(
        method="fnnpakf",
        x_w=x,
        pa_w=float(pa_w),
        status=status,
        iterations=0,
        objective=float(np.min(batch.c_bits[0])) if np.all(x >= 0) else float("nan"),
        extras=extras,
    )
