"""FNNPA-general / FNNPAKF-general: allocation on any design by the set allocator (issue 15).

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
allocation is feasible (Eq. (44)). Plain torch forward; this module imports no Lightning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from plkg import defaults
from plkg.keyrate.subchannel import user_key_rates_bits
from plkg.models.set_allocator import (
    SetAllocator,
    pack_sets,
    proxy_features,
    saturation_rate_bits,
)
from plkg.solvers.allocation import AllocationResult
from plkg.solvers.water_filling import x_from_mu

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
# 0: the network and the closed-form mapping alone, which meet the 0.5 % on held-out
# geometries since the slope budget map (docs/general_allocator.md). Each step costs one exact
# least-power solve; CORRECTED_NEWTON_STEPS is the setting reported as "corrected".
DEFAULT_NEWTON_STEPS = 0
CORRECTED_NEWTON_STEPS = 3


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

    from plkg.data.sidecar_hash import read_verified

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
    if np.any(total <= 0):
        raise ValueError("the predicted allocation is all zero; cannot scale it to the budget")
    factor = pa / total
    if budget == "cap":
        factor = np.minimum(factor, 1.0)
    return x * factor[:, None], total


@dataclass(frozen=True)
class GeneralAllocation:
    """Batched output: ``pa_w`` [B], ``label`` [B] (mu_hat bit/W or t_hat bit), ``x_w`` [B, N_D]
    after rescaling, ``power_requested_w`` [B] (sum x before), ``c_bits`` [B, K] (Eq. (42))."""

    pa_w: np.ndarray
    label: np.ndarray
    x_w: np.ndarray
    power_requested_w: np.ndarray
    c_bits: np.ndarray


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
        """(label [B], the low-SNR split or None); see :meth:`predict`."""
        pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
        if not np.all(np.isfinite(pa) & (pa > 0)):
            raise ValueError("P_a must be positive and finite (W)")
        if int(np.max(user)) >= self.net.k_max:
            raise ValueError(f"the set allocator handles at most {self.net.k_max} UEs")
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
        if self.target == "mu":
            return 1.0 / (LN2 * pa * np.exp(y)), None
        t_sup = saturation_rate_bits(m_a, user, n_users)
        return t_sup / (1.0 + np.exp(-y)), prox  # t_sup * sigmoid(y), always below saturation

    def allocation(
        self, m_a, m_b, user, n_users: int, pa_w, budget: str | None = None, newton_steps: int = 0
    ):
        """Predict, map to x (Eq. (48) or exact least power), rescale, evaluate C_k.

        ``budget``: ``exact`` (uniform rescaling to P_a), ``cap`` (only down), ``slope`` (target t:
        per-UE first-order move onto the budget, :func:`_slope_map`); None takes
        :data:`DEFAULT_BUDGET` (``exact`` for mu, ``slope`` for t).
        ``newton_steps`` (target t only): Newton corrections of t_hat on the budget before the
        final least-power mapping (see :meth:`_least_power`); 0 uses the prediction as is.
        """
        budget = DEFAULT_BUDGET[self.target] if budget is None else budget
        if budget == "slope" and self.target != "t":
            raise ValueError("budget='slope' applies to the max-min (t) allocator only")
        m_a = np.asarray(m_a, dtype=np.float64)
        m_b = np.asarray(m_b, dtype=np.float64)
        user = np.asarray(user, dtype=np.int64)
        pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
        label, prox = self._predict(m_a, m_b, user, pa)
        if self.target == "mu":
            candidates = [(x_from_mu(label[:, None], m_a, m_b), None, None)]
        else:
            candidates = self._least_power(label, m_a, m_b, user, n_users, pa, newton_steps)
            if prox is not None:
                candidates.append((prox.x_w, None, None))  # feasible, min rate t0 <= t*: a floor
        best = None
        for cand, power_k, level_k in candidates:
            if budget == "slope" and power_k is not None:
                requested = cand.sum(-1)
                x, _ = _rescale(_slope_map(cand, power_k, level_k, user, pa), pa, budget)
                total = requested
            else:
                x, total = _rescale(cand, pa, budget)
            c = np.asarray(user_key_rates_bits(x, m_a, m_b, user, n_users))
            if best is None:
                best = [x, total, c]
                continue
            better = c.min(-1) > best[2].min(-1)
            for i, new in enumerate((x, total, c)):
                best[i] = np.where(better.reshape((-1,) + (1,) * (new.ndim - 1)), new, best[i])
        return GeneralAllocation(pa, label, *best)

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
                raise ValueError("least-power allocation for the predicted t did not converge")
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


def _allocate(design, pa_w, target: str, method: str, options) -> AllocationResult:
    alloc = GeneralAllocator.from_checkpoint(options.get("checkpoint"), target)
    budget = options.get("budget") or DEFAULT_BUDGET[target]
    steps = options.get("newton_steps")
    steps = DEFAULT_NEWTON_STEPS if steps is None else int(steps)
    out = alloc.allocation(design.m_a, design.m_b, design.user, design.n_users, pa_w, budget, steps)
    x, c = out.x_w[0], out.c_bits[0]
    objective = float(np.sum(c)) if target == "mu" else float(np.min(c))
    requested = float(out.power_requested_w[0])
    return AllocationResult(
        method=method,
        x_w=x,
        pa_w=float(pa_w),
        status="scaled_to_budget" if not math.isclose(requested, float(pa_w)) else "predicted",
        iterations=0,
        objective=objective,
        extras={
            "mu" if target == "mu" else "t": float(out.label[0]),
            "power_requested_w": requested,
            "budget": budget,
            "newton_steps": steps if target == "t" else 0,
            "checkpoint": str(options.get("checkpoint") or default_checkpoint(target)),
        },
    )


def allocate_fnnpa_general(design, pa_w: float, **options) -> AllocationResult:
    """``--method fnnpa-general``: set-network mu -> Eq. (48) -> rescaled to P_a, on any design.

    Options: ``checkpoint`` (default: the committed ``general_sumrate``), ``budget``
    (``exact`` default, or ``cap``); others are ignored. Objective: sum KR (bits).
    """
    return _allocate(design, pa_w, "mu", "fnnpa-general", options)


def allocate_fnnpakf_general(design, pa_w: float, **options) -> AllocationResult:
    """``--method fnnpakf-general``: set-network t -> exact least power -> moved onto P_a.

    Options: ``checkpoint`` (default: the committed ``general_fairness``), ``budget`` (``slope``
    default: per-UE first-order move onto the budget, :func:`_slope_map`; ``exact`` uniform
    rescaling; ``cap``), and ``newton_steps`` (default :data:`DEFAULT_NEWTON_STEPS` = 0, the
    network alone; :data:`CORRECTED_NEWTON_STEPS` = 3 gives the exact optimum to ~1e-7 at three
    extra least-power solves): Newton corrections of t_hat on the budget before the final mapping.
    Objective: min_k C_k (bits).
    """
    return _allocate(design, pa_w, "t", "fnnpakf-general", options)
