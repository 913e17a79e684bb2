"""INTERP / INTERPKF: the per-scenario interpolation baseline of KGLM-Net and the fairness FNN.

For one fixed design, P_a -> mu (or t) is a smooth monotone curve. A monotone cubic interpolator
(:class:`scipy.interpolate.PchipInterpolator`) on log mu (or log t) vs P_a in dBm, fitted to the
same 140 training labels as the paper's networks (the train split of the committed Fig. 6
datasets), predicts the labels as well as the networks or better, with no training. The
allocation uses the same mappings as FNNPA (Eq. (48), scaled down to the budget) and FNNPAKF
(``exact`` least power, scaled down to the budget). Like the networks it serves only the design
it was fitted to and refuses P_a outside the fitted range. No Lightning, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plkg import defaults, units
from plkg.keyrate.subchannel import subchannel_key_rate_bits, user_key_rates_bits
from plkg.solvers.allocation import AllocationResult

DESIGN_RTOL = 1e-5


@dataclass(frozen=True)
class Interpolator:
    """PCHIP of log(label) vs P_a (dBm) for one design.

    Attributes
    ----------
    label : ``mu`` | ``t``
    lo_dbm, hi_dbm : float
        Range of the fitted P_a.
    m_a, m_b, user : ndarray [N_D]
        Constants of the design the labels belong to (None when the dataset has none).
    """

    label: str
    spline: object
    lo_dbm: float
    hi_dbm: float
    m_a: np.ndarray | None
    m_b: np.ndarray | None
    user: np.ndarray | None

    @classmethod
    def fit(cls, pa_dbm, labels, label: str, m_a=None, m_b=None, user=None) -> Interpolator:
        """Fit on (P_a dBm [T], label [T]) pairs (duplicates averaged, sorted by P_a)."""
        from scipy.interpolate import PchipInterpolator

        pa_dbm = np.asarray(pa_dbm, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.float64)
        if pa_dbm.shape != labels.shape or pa_dbm.size < 2 or np.any(labels <= 0):
            raise ValueError("need at least 2 (P_a, label > 0) pairs of equal length")
        xs, inv = np.unique(pa_dbm, return_inverse=True)
        ys = np.bincount(inv, weights=np.log(labels)) / np.bincount(inv)
        return cls(label, PchipInterpolator(xs, ys), float(xs[0]), float(xs[-1]), m_a, m_b, user)

    @classmethod
    def from_dataset(cls, path=None, label: str = "mu") -> Interpolator:
        """Fit to the train split of a :mod:`plkg.data.dataset` file (default: the committed
        ``fig6_sumrate`` for mu, ``fig6_fairness`` for t)."""
        from plkg.data.dataset import load_dataset

        if path is None:
            path = defaults.dataset_path("fig6_sumrate" if label == "mu" else "fig6_fairness")
        ds = load_dataset(path)
        if ds.meta.get("label_name") != label:
            raise ValueError(f"{path} holds labels {ds.meta.get('label_name')!r}, not {label!r}")
        x, y = ds.part("train")
        extras = {k: ds.extras.get(k) for k in ("m_a", "m_b", "user")}
        return cls.fit(x, y, label, **extras)

    def predict(self, pa_w, allow_extrapolation: bool = False) -> np.ndarray:
        """Label [B] at P_a [B] (W); refuses P_a outside the fitted range unless allowed."""
        pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
        if not np.all(np.isfinite(pa) & (pa > 0)):
            bad = pa[~(np.isfinite(pa) & (pa > 0))][0]
            raise ValueError(
                f"P_a must be finite and > 0 W for the {self.label} interpolator (its input is "
                f"P_a in dBm), got {bad:g} W"
            )
        pa_dbm = units.w_to_dbm(pa)
        outside = (pa_dbm < self.lo_dbm - 1e-9) | (pa_dbm > self.hi_dbm + 1e-9)
        if not allow_extrapolation and np.any(outside):
            raise ValueError(
                f"P_a = {pa_dbm[np.argmax(outside)]:g} dBm is outside the interpolated range "
                f"[{self.lo_dbm:g}, {self.hi_dbm:g}] dBm; allow extrapolation (CLI: "
                "--allow-extrapolation) to force it"
            )
        return np.exp(self.spline(pa_dbm))

    def check_design(self, design) -> None:
        """Refuse a design other than the one the labels were computed for."""
        if self.m_a is None:
            return
        if design.m_a.shape != self.m_a.shape or not np.array_equal(design.user, self.user):
            raise ValueError("the interpolator was fitted for another design (subchannel set)")
        for name in ("m_a", "m_b"):
            rel = float(np.max(np.abs(getattr(design, name) / getattr(self, name) - 1.0)))
            if not rel <= DESIGN_RTOL:
                raise ValueError(
                    f"the interpolator was fitted for another design: {name} differs by {rel:.2e}"
                )


def _scaled(x, pa):
    total = float(np.sum(x))
    return (x * (pa / total), True) if total > pa else (x, False)


def bind_interp(design, label: str, options: dict) -> Interpolator:
    """The interpolator of ``label`` (``mu`` or ``t``) fitted to ``options["dataset"]`` (default
    the committed one), checked against ``design``."""
    interp = Interpolator.from_dataset(options.get("dataset"), label)
    interp.check_design(design)
    return interp


def allocate_interp(design, pa_w: float, **options) -> AllocationResult:
    """``--method interp``: PCHIP mu(P_a) -> Eq. (48) -> scaled down to the budget.

    Options: ``dataset`` (a sum-rate dataset of this design; default the committed
    ``fig6_sumrate``), ``allow_extrapolation``.
    """
    return interp_result(bind_interp(design, "mu", options), design, pa_w, options)


def interp_result(interp: Interpolator, design, pa_w: float, options: dict) -> AllocationResult:
    """The registry's :class:`AllocationResult` of ``interp`` at one budget ``pa_w`` (W) with the
    fitted mu interpolator ``interp``; ``objective`` the sum KR of Eq. (42) (bits)."""
    from plkg.solvers.water_filling import x_from_mu

    mu = float(interp.predict(pa_w, bool(options.get("allow_extrapolation", False)))[0])
    x, scaled = _scaled(np.asarray(x_from_mu(mu, design.m_a, design.m_b)), float(pa_w))
    return AllocationResult(
        method="interp",
        x_w=x,
        pa_w=float(pa_w),
        status="scaled_to_budget" if scaled else "predicted",
        iterations=0,
        objective=float(np.sum(subchannel_key_rate_bits(x, design.m_a, design.m_b))),
        extras={"mu": mu},
    )


def allocate_interpkf(design, pa_w: float, **options) -> AllocationResult:
    """``--method interpkf``: PCHIP t(P_a) -> exact least power -> budget.

    A least-power allocation above P_a is scaled down to it. With ``spend_slack=True`` budget it
    leaves (t below the optimum t*) is spent as in the canonical max-min optimum
    (:func:`plkg.solvers.maxmin_lexicographic.spend_slack`; ``extras["slack_spent"]``); off by
    default (see :mod:`plkg.inference.fairness_allocator`).

    Options: ``dataset`` (default the committed ``fig6_fairness``), ``allow_extrapolation``,
    ``spend_slack``.
    """
    from plkg.solvers.maxmin_exact import ExactMaxMin

    interp = bind_interp(design, "t", options)
    solver = ExactMaxMin(design.m_a, design.m_b, design.user, design.n_users)
    return interpkf_result(interp, solver, design, pa_w, options)


def interpkf_result(interp: Interpolator, solver, design, pa_w: float, options: dict):
    """The registry's :class:`AllocationResult` of ``interpkf`` at one budget ``pa_w`` (W) with
    the fitted t interpolator ``interp`` and the design's
    :class:`~plkg.solvers.maxmin_exact.ExactMaxMin` ``solver`` (its least power keeps no state
    between calls); ``objective`` min_k C_k of Eq. (42) (bits)."""
    from plkg.solvers.maxmin_lexicographic import spend_slack

    t = float(interp.predict(pa_w, bool(options.get("allow_extrapolation", False)))[0])
    lp = solver.least_power(t)
    if lp.status != "converged":
        raise ValueError("least-power allocation for the interpolated t did not converge")
    x, scaled = _scaled(np.asarray(lp.x_w), float(pa_w))
    spent = False
    if not scaled and bool(options.get("spend_slack", False)):
        x, spent = spend_slack(solver, t, float(pa_w), least_power=lp)
    c = user_key_rates_bits(x, design.m_a, design.m_b, design.user, design.n_users)
    return AllocationResult(
        method="interpkf",
        x_w=x,
        pa_w=float(pa_w),
        status="scaled_to_budget" if scaled else "predicted",
        iterations=0,
        objective=float(np.min(c)),
        extras={"t": t, "slack_spent": spent},
    )
