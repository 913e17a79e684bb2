"""FNNPA-general / FNNPAKF-general: allocation on any design by the set allocator.

The set network (:class:`plkg.models.set_allocator.SetAllocator`) reads a design's subchannel
constants and P_a and predicts the water level (sum KR) or the max-min rate t; the allocation
then comes from the existing closed forms:

* sum KR: mu_hat -> x by Eq. (48) of the near-field paper (:func:`plkg.solvers.water_filling.x_from_mu`);
* max-min: t_hat -> each UE's least-power allocation reaching C_k = t_hat on the exact Eq. (42)
  (:meth:`plkg.solvers.maxmin_exact.ExactMaxMin.least_power`, FNNPAKF mapping ``exact``).

A residual max-min checkpoint (architecture ``proxy``) predicts t on top of the low-SNR budget
split of :mod:`plkg.solvers.maxmin_proxy`; that split is itself a feasible allocation and is kept
as a candidate, so the min KR is never below the split's.

Both are then rescaled to spend exactly P_a (``budget="exact"``, default: up when the prediction
under-spends, down when it over-spends; ``budget="cap"`` only scales down, as FNNPA does), so every
allocation is feasible (Eq. (44)). Plain torch forward; this module imports no Lightning. The
registry entries ``fnnpa-general`` and ``fnnpakf-general`` are in
:mod:`plkg.inference.general_methods`.

The level of the sum-KR map is carried in the offset form of the exact solvers
(:mod:`plkg.solvers.water_level`): with the predicted y = log(w / P_a), the level in units of the
lowest activation level s = b_min is r = e^y (P_a / s), its offset d = r - 1 (exact where r is
near 1), and each subchannel's numerator is d - delta_j with delta_j = (b_j - s)/s taken from the
activation levels themselves; no watt-valued level w or difference ``w - b`` is formed (w
overflows, and b_j - b_min cancels, at extreme powers). The level's own digits are those of the
prediction: y carries an absolute error of ``~1e-7 abs(y)`` (a float32 network), so at budgets below
~1e-6 b_min the level is not resolved and the fallback below answers.

**Fallback.** These allocators answer wherever the exact solvers answer. Where the network's
prediction is unusable - the mapped allocation is zero or not finite, its power is off the budget
by more than :data:`FALLBACK_BUDGET_RATIO` (on held-out geometries of the training distribution
it stays within 0.8-1.3, so the network is extrapolating: a far geometry, -100 dBm), the design
has more UEs than the network handles, or the least-power map fails - the exact solver of the
same problem (water-filling, exact max-min) gives that row, and an :class:`ExactFallbackWarning`
names the budget and the reason; results carry it (``fallback``, status ``exact_fallback``).
P_a = 0 is answered by the exact solver directly, without a warning (water-filling: x = 0;
max-min refuses it, as ``exact-maxmin`` does).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from plkg import defaults
from plkg.checks import check_integer, check_real_array, describe
from plkg.errors import ExactFallbackWarning, PlkgInputError, PlkgTypeError
from plkg.keyrate.subchannel import user_key_rates_bits
from plkg.models.set_allocator import (
    SetAllocator,
    pack_sets,
    proxy_features,
    saturation_rate_bits,
)
from plkg.solvers.water_level import normalise, x_at_offset

CHECKPOINT_FORMAT = "plkg-set-allocator-1"
LN2 = math.log(2.0)
BUDGET_MODES = ("exact", "cap", "slope")
# Default budget mapping per target: uniform rescaling for the sum KR (first-order flat at the
# optimum), per-UE first-order ("slope") for max-min (see _slope_map).
DEFAULT_BUDGET = {"mu": "exact", "t": "slope"}
# A predicted t at or above a UE's saturation rate log2(1 + 1/m_a) (Eq. (42)) is pulled back to
# this fraction of the smallest one: no finite power reaches it.
T_SATURATION_MARGIN = 0.999
# Newton corrections of the predicted t in ``fnnpakf-general`` (see GeneralAllocator._least_power).
# 0: the network and the closed-form mapping alone, which meet the 0.5 % target on held-out
# geometries since the slope budget map (docs/general_allocator.md). Each step costs one exact
# least-power solve; CORRECTED_NEWTON_STEPS is the setting reported as "corrected".
DEFAULT_NEWTON_STEPS = 0
CORRECTED_NEWTON_STEPS = 3
# A prediction whose mapped allocation spends less than P_a / R or more than R P_a (before the
# rescaling) is treated as unusable and the exact solver answers. On 1000 held-out (design, P_a)
# pairs of the training distribution the ratio stays in [0.91, 1.06] (mu) and [0.80, 1.30] (t);
# R = 4 leaves a 3x margin, so the network alone answers there.
FALLBACK_BUDGET_RATIO = 4.0


class _CannotMap(PlkgInputError):
    """The network cannot map this design (too many UEs, least power did not converge): the
    intended reasons for the exact solver to answer the whole batch. A ValueError, so the public
    :meth:`GeneralAllocator.predict` still raises one; :meth:`GeneralAllocator.allocation`
    catches only this, never a NumPy error of mismatched shapes."""


def _check_design_arrays(m_a, m_b, user, n_users):
    """m_a [N_D] >= 0, m_b [N_D] > 0 (finite), user [N_D] ints in 0..n_users-1, as arrays."""
    m_a = check_real_array(m_a, "m_a", ndim=1, allow_empty=False, nonnegative=True)
    m_b = check_real_array(m_b, "m_b", ndim=1, size=m_a.size, positive=True)
    n_users = check_integer(n_users, "n_users", low=1)
    u = np.asarray(user) if user is not None and not isinstance(user, (str, bytes)) else None
    if u is None or u.dtype.kind not in "iu":
        raise PlkgTypeError(f"user must be an integer array [N_D], got {describe(user)}")
    if u.shape != m_a.shape or u.min() < 0 or u.max() >= n_users:
        raise PlkgInputError(
            f"user must hold one UE index in 0..{n_users - 1} per subchannel ({m_a.size}), got "
            f"{describe(user)}"
        )
    return m_a, m_b, u.astype(np.int64, copy=False), n_users


def default_checkpoint(target: str) -> Path:
    """The committed checkpoint: ``general_sumrate`` (mu) or ``general_fairness`` (t)."""
    return Path(
        defaults.checkpoint_path("general_sumrate" if target == "mu" else "general_fairness")
    )


def load_set_allocator(path) -> tuple[SetAllocator, dict]:
    """Load and verify a set-allocator checkpoint (``.safetensors`` + ``.json`` sidecar).

    Raises
    ------
    ValueError
        Missing file, wrong format, or a hash that does not match (edited/corrupted files).
    """
    from safetensors.torch import load

    from plkg.io.sidecar_hash import read_verified

    blob, meta = read_verified(
        path, "set-allocator checkpoint", CHECKPOINT_FORMAT, "safetensors_sha256"
    )
    arch = meta["architecture"]
    net = SetAllocator(arch["target"], arch["hidden"], arch["k_max"], proxy="proxy" in arch)
    net.load_state_dict(load(blob))
    net.eval()
    return net, meta


def _slope_map(x, power_k, level_k, user, pa) -> np.ndarray:
    """Move a least-power allocation for t_hat onto the budget along the max-min KKT slopes.

    At the least-power optimum dP_k/dt = w_k ln 2 for every UE (w_k its water level), and scaling
    UE k's allocation uniformly changes its rate at the same first-order rate dC_k/dP_k =
    1/(w_k ln 2) (every active subchannel has c_j' = 1/(w_k ln 2)). Giving UE k the power
    P_k + w_k ln 2 dt with dt = (P_a - sum_k P_k) / (ln 2 sum_k w_k) therefore spends exactly P_a
    and moves every UE's rate by the same dt: the min KR is t_hat + dt = t* up to second order in
    the error of t_hat. Uniform rescaling (``exact``) instead moves UE k's rate by an amount
    proportional to P_k / w_k, so an over-estimated t costs the UE with the largest P_k / w_k
    several times the error. A UE whose new power would drop below 1 % of P_k keeps 1 % (the
    caller's final rescaling restores the budget). Closed form: no solver call.

    x [B, N_D], power_k and level_k [B, K] (W), user [N_D], pa [B] (W) -> x [B, N_D].
    """
    dt_ln2 = (pa - power_k.sum(-1)) / level_k.sum(-1)  # ln 2 * dt
    new_k = np.maximum(power_k + level_k * dt_ln2[:, None], 0.01 * power_k)
    return x * (new_k / power_k)[:, user]


def _rescale(x: np.ndarray, pa: np.ndarray, budget: str) -> tuple[np.ndarray, np.ndarray]:
    """Scale rows of x [B, N_D] to spend P_a [B] (``exact``/``slope``) or at most P_a (``cap``)."""
    if budget not in BUDGET_MODES:
        raise ValueError(f"budget must be one of {BUDGET_MODES}, got {budget!r}")
    total = x.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        factor = pa / total  # rows with total 0 (or not finite) become non-finite: fallback
        if budget == "cap":
            factor = np.minimum(factor, 1.0)
        return x * factor[:, None], total


def _x_from_log_level(y, pa, m_a, m_b) -> np.ndarray:
    """Eq. (48) at the level w = P_a e^y, in the exact solvers' offset form: x [B, N_D] (W).

    y [B] = log(w / P_a), pa [B] (W), m_a, m_b [N_D]. The level is taken relative to the lowest
    activation level s, r = e^y (P_a / s) (O(1) numbers, no overflow of w), its offset
    d = r - 1 is exact near r = 1 (Sterbenz), and
    :func:`plkg.solvers.water_level.x_at_offset` gives every subchannel's power from d and the
    activation offsets delta_j, as the exact water-filling does.
    """
    s, delta, q, hs = normalise(m_a, m_b)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        d = np.exp(y) * (pa / s) - 1.0
        x_rel, _ = x_at_offset(d[:, None], delta, q, hs)
    return x_rel * s


def _usable(x, requested, pa) -> np.ndarray:
    """Rows [B] whose rescaled allocation is finite and whose requested power is within
    :data:`FALLBACK_BUDGET_RATIO` of the budget (the network is not extrapolating)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = requested / pa
        return (
            np.all(np.isfinite(x), axis=-1)
            & (x.sum(-1) > 0)
            & (ratio >= 1.0 / FALLBACK_BUDGET_RATIO)
            & (ratio <= FALLBACK_BUDGET_RATIO)
        )


def _why(requested: float, pa: float) -> str:
    """Why a row's prediction is unusable, for the warning and the ``fallback`` field."""
    if not math.isfinite(requested):
        return "the predicted allocation is not finite"
    if requested <= 0:
        return "the predicted level lies below every activation level (allocation all zero)"
    return (
        f"the predicted allocation spends {requested / pa:.3g} x P_a, outside "
        f"[1/{FALLBACK_BUDGET_RATIO:g}, {FALLBACK_BUDGET_RATIO:g}] (outside the network's domain)"
    )


def _warn_fallback(method: str, pa, reasons) -> None:
    """One :class:`ExactFallbackWarning` for a batch, naming the first budget and reason."""
    n = len(pa)
    more = f" (and {n - 1} more budget{'s' if n > 2 else ''})" if n > 1 else ""
    warnings.warn(
        f"{method}: at P_a = {pa[0]:.4g} W{more} {reasons[0]}; the exact solver answered instead",
        ExactFallbackWarning,
        stacklevel=3,
    )


@dataclass(frozen=True)
class GeneralAllocation:
    """Batched output: ``pa_w`` [B], ``label`` [B] (mu_hat bit/W or t_hat bit), ``x_w`` [B, N_D]
    after rescaling, ``power_requested_w`` [B] (sum x before), ``c_bits`` [B, K] (Eq. (42)),
    ``fallback`` [B] (object: None where the network answered, else why the exact solver did;
    its ``label`` is then the exact mu or t and ``power_requested_w`` is P_a)."""

    pa_w: np.ndarray
    label: np.ndarray
    x_w: np.ndarray
    power_requested_w: np.ndarray
    c_bits: np.ndarray
    fallback: np.ndarray | None = None


class GeneralAllocator:
    """A set-allocator checkpoint, usable on any design (m_a, m_b, user).

    Parameters
    ----------
    net : SetAllocator
    meta : dict
        The checkpoint sidecar.
    """

    def __init__(self, net: SetAllocator, meta: dict):
        self.net = net
        self.meta = meta
        self.target = net.target

    @classmethod
    def from_checkpoint(cls, path=None, target: str = "mu") -> GeneralAllocator:
        net, meta = load_set_allocator(path or default_checkpoint(target))
        if meta["architecture"]["target"] != target:
            raise ValueError(
                f"{path}: predicts {meta['architecture']['target']!r}, expected {target!r}"
            )
        return cls(net, meta)

    def predict(self, m_a, m_b, user, pa_w) -> np.ndarray:
        """mu_hat [B] (bit/W, target mu) or t_hat [B] (bit, target t) at budgets pa_w [B] (W)."""
        return self._predict(m_a, m_b, user, pa_w)[0]

    def _predict(self, m_a, m_b, user, pa_w):
        """(label [B], the low-SNR split or None, raw output y [B]); see :meth:`predict`.

        For target mu, y = log(w / P_a) (the network's label, natural log).
        """
        pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
        if not np.all(np.isfinite(pa) & (pa > 0)):
            raise ValueError("P_a must be positive and finite (W)")
        if int(np.max(user)) >= self.net.k_max:
            raise _CannotMap(f"the set allocator handles at most {self.net.k_max} UEs")
        la, lb, us, mask = pack_sets([m_a], [m_b], [user])
        b = pa.size
        n_users = int(np.max(user)) + 1
        prox, extra, base = None, (), 0.0
        if getattr(self.net, "proxy", False):  # older nets and stand-ins have no proxy
            from plkg.solvers.maxmin_proxy import maxmin_proxy

            prox = maxmin_proxy(m_a, m_b, user, n_users, pa)
            ue_feat, context = proxy_features(
                prox.rates_bits, prox.shares, m_a, user, n_users, self.net.k_max
            )
            extra = (
                torch.as_tensor(ue_feat, dtype=torch.float32),
                torch.as_tensor(context, dtype=torch.float32),
            )
            base = context[:, 0]
        with torch.no_grad():
            y = self.net.predict_log_label(
                la.expand(b, -1),
                lb.expand(b, -1),
                us.expand(b, -1),
                mask.expand(b, -1),
                torch.as_tensor(np.log(pa), dtype=torch.float32),
                *extra,
            )
        y = y.double().numpy() + base
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            if self.target == "mu":
                return 1.0 / (LN2 * pa * np.exp(y)), None, y
            t_sup = saturation_rate_bits(m_a, user, n_users)
            return t_sup / (1.0 + np.exp(-y)), prox, y  # t_sup sigmoid(y), below saturation

    def allocation(
        self,
        m_a,
        m_b,
        user,
        n_users: int,
        pa_w,
        budget: str | None = None,
        newton_steps: int = 0,
        fallback: bool = True,
        method: str | None = None,
    ):
        """Predict, map to x (Eq. (48) or exact least power), rescale, evaluate C_k.

        ``budget``: ``exact`` (uniform rescaling to P_a), ``cap`` (only down), ``slope`` (target t:
        per-UE first-order move onto the budget, :func:`_slope_map`); None takes
        :data:`DEFAULT_BUDGET` (``exact`` for mu, ``slope`` for t).
        ``newton_steps`` (target t only): Newton corrections of t_hat on the budget before the
        final least-power mapping (see :meth:`_least_power`); 0 uses the prediction as is.
        ``fallback`` (default True): rows whose prediction is unusable (module docstring) are
        answered by the exact solver, with an :class:`ExactFallbackWarning`; False raises a
        ValueError naming the budget instead. P_a = 0 rows always go to the exact solver.
        ``method`` names the allocator in the warning.

        Returns
        -------
        GeneralAllocation
        """
        budget = DEFAULT_BUDGET[self.target] if budget is None else budget
        if budget not in BUDGET_MODES:
            raise ValueError(f"budget must be one of {BUDGET_MODES}, got {budget!r}")
        if budget == "slope" and self.target != "t":
            raise ValueError("budget='slope' applies to the max-min (t) allocator only")
        m_a, m_b, user, n_users = _check_design_arrays(m_a, m_b, user, n_users)
        pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
        if pa.ndim != 1 or not np.all(np.isfinite(pa) & (pa >= 0)):
            raise ValueError(f"P_a must be finite and >= 0 W (a scalar or 1-D array), got {pa_w!r}")
        live = pa > 0
        b = pa.size
        label = np.full(b, np.nan)
        x = np.zeros((b, m_a.size))
        total = np.zeros(b)
        c = np.zeros((b, int(n_users)))
        reason = np.full(b, None, dtype=object)
        reason[~live] = "P_a = 0"
        if live.any():
            try:
                out = self._network_rows(m_a, m_b, user, n_users, pa[live], budget, newton_steps)
            except _CannotMap as exc:  # too many UEs, least power did not converge
                reason[live] = f"the network cannot map this design ({exc})"
            else:
                label[live], x[live], total[live], c[live], reason[live] = out
        unusable = live & (reason != None)  # noqa: E711 - elementwise on an object array
        if unusable.any() and not fallback:
            i = int(np.argmax(unusable))
            raise ValueError(f"P_a = {pa[i]:.4g} W: {reason[i]}")
        redo = unusable | ~live
        if redo.any():
            label[redo], x[redo], c[redo] = self._exact_rows(m_a, m_b, user, n_users, pa[redo])
            total[redo] = pa[redo]
        if unusable.any():
            _warn_fallback(method or self._method_name(), pa[unusable], reason[unusable])
        reason[~live] = None  # P_a = 0 is not a failure of the network
        return GeneralAllocation(pa, label, x, total, c, reason)

    def _method_name(self) -> str:
        return "fnnpa-general" if self.target == "mu" else "fnnpakf-general"

    def _network_rows(self, m_a, m_b, user, n_users, pa, budget, newton_steps):
        """(label, x, requested power, C_k, reason or None) of every row, from the network."""
        label, prox, y = self._predict(m_a, m_b, user, pa)
        if self.target == "mu":
            candidates = [(_x_from_log_level(y, pa, m_a, m_b), None, None)]
        else:
            candidates = self._least_power(label, m_a, m_b, user, n_users, pa, newton_steps)
            if prox is not None:
                candidates.append((prox.x_w, None, None))  # feasible, min rate t0 <= t*: a floor
        best = None
        for cand, power_k, level_k in candidates:
            requested = cand.sum(-1)
            if budget == "slope" and power_k is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    x, _ = _rescale(_slope_map(cand, power_k, level_k, user, pa), pa, budget)
            else:
                x, _ = _rescale(cand, pa, budget)
            ok = _usable(x, requested, pa)
            x = np.where(ok[:, None], x, 0.0)
            c = np.asarray(user_key_rates_bits(x, m_a, m_b, user, n_users))
            score = np.where(ok, c.min(-1), -np.inf)
            if best is None:
                best = [x, requested, c, score]
                continue
            better = score > best[3]
            for i, new in enumerate((x, requested, c, score)):
                best[i] = np.where(better.reshape((-1,) + (1,) * (new.ndim - 1)), new, best[i])
        x, requested, c, score = best
        reason = np.array(
            [
                None if s > -np.inf else _why(r, p)
                for s, r, p in zip(score, requested, pa, strict=True)
            ],
            dtype=object,
        )
        return label, x, requested, c, reason

    def _exact_rows(self, m_a, m_b, user, n_users, pa):
        """(label, x, C_k) of the exact solver of this target at budgets pa [R] (W)."""
        if self.target == "mu":
            from plkg.solvers.water_filling import water_filling

            res = water_filling(pa, m_a, m_b)
            x, label = np.asarray(res.x_w), np.asarray(res.mu, dtype=np.float64)
        else:
            from plkg.solvers.maxmin_exact import solve_maxmin

            res = solve_maxmin(m_a, m_b, user, n_users, pa)
            x, label = np.asarray(res.x_w), np.asarray(res.t_bits, dtype=np.float64)
        c = np.asarray(user_key_rates_bits(x, m_a, m_b, user, n_users))
        return label, x, c

    @staticmethod
    def _least_power(t, m_a, m_b, user, n_users, pa, newton_steps: int = 0) -> list:
        """Exact least-power (x [B, N_D], P_k [B, K], w_k [B, K]) for rate t [B], and after each
        Newton correction of t.

        At the least-power optimum dP_k/dt = w_k ln 2 (w_k the UE's water level). A correction
        is Newton's step on log P(t) = log P_a, t <- t + P (log P_a - log P) / (ln 2 sum_k w_k):
        log P is close to linear in t (P ~ 2^(t/D_k) at high power), so the step roughly squares
        the relative error of t. Near a UE's saturation rate P(t) is steep and a step from below
        can overshoot, so every candidate is returned and :meth:`allocation` keeps, per P_a, the
        one with the largest min_k C_k after the budget rescaling (never worse than no step).
        """
        from plkg.keyrate.subchannel import per_user_sum
        from plkg.solvers.maxmin_exact import ExactMaxMin

        solver = ExactMaxMin(m_a, m_b, user, n_users)
        cap = T_SATURATION_MARGIN * per_user_sum(np.log2(1.0 + 1.0 / m_a), user, n_users).min()
        t = np.minimum(t, cap)
        candidates = []
        for step in range(int(newton_steps) + 1):
            lp = solver.least_power(t)
            if lp.status != "converged":
                raise _CannotMap("least-power allocation for the predicted t did not converge")
            candidates.append(
                (np.asarray(lp.x_w), np.asarray(lp.power_w), np.asarray(lp.water_level_w))
            )
            if step == int(newton_steps):
                break
            power = np.asarray(lp.power_w).sum(-1)
            slope = LN2 * np.asarray(lp.water_level_w).sum(-1)
            t_new = t + power * np.log(pa / power) / slope
            t = np.clip(t_new, 0.5 * t, np.minimum(2.0 * t, cap))
        return candidates
