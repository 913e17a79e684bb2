"""Allocations and key rates of every scheme of the near-field fairness figures (Figs. 6-10).

Schemes (Section VII-B of the near-field paper, named as the CLI names them): ``epa``, ``wfpa``,
``fnnpa`` (sum KR), ``cvxpakf`` ((P3), Eq. (53), in CVXPY, checked against the exact t*),
``wfpakf``, ``fnnpakf`` (t_hat -> Eqs. (60), (59)), ``fnnpakf --mapping exact`` (t_hat ->
least-power allocation on Eq. (42)) and ``exact-maxmin`` (the canonical max-min optimum). Key
rates are C_k of Eq. (42), equal to I_k of Eq. (17) for the designed precoders of Eq. (39).

:func:`sweep_point` is one point of Figs. 8-10 as a task of the execution layer; there the FNN
curves use oracle labels (mu from water-filling, t from the exact max-min solver).
"""

from __future__ import annotations

import numpy as np

from plkg import units
from plkg.reproduce._output import points_progress
from plkg.reproduce.nearfield_sumrate import fit_budget, sum_rate_allocations

SUM_METHODS = ("epa", "wfpa", "fnnpa")

FNNPAKF_MAPPINGS = (("appro", "fnnpakf"), ("exact", "fnnpakf --mapping exact"))

FAIR_METHODS = ("cvxpakf", "wfpakf", *(name for _, name in FNNPAKF_MAPPINGS), "exact-maxmin")

METHODS = SUM_METHODS + FAIR_METHODS  # curve order: each takes the next style of the cycle


def _design(scenario):
    from plkg.precoding.design_cache import design_for_scenario

    return design_for_scenario(scenario)


def _stored_design(checkpoint):
    """A minimal design (m_a, m_b, user and counts) from the constants stored in a checkpoint."""
    from types import SimpleNamespace

    m_a, m_b = checkpoint.design["m_a"], checkpoint.design["m_b"]
    user = np.asarray(checkpoint.design["user"], dtype=np.int64)
    k = int(user.max()) + 1
    return SimpleNamespace(
        m_a=m_a,
        m_b=m_b,
        user=user,
        n_users=k,
        n_total=int(user.size),
        n_subchannels=tuple(int(c) for c in np.bincount(user, minlength=k)),
    )


def _fairness_fnn(scenario, quick: bool):
    """The committed fairness FNN bound to ``scenario`` and its design: in ``quick`` mode the
    subchannel constants stored in the checkpoint (no CCM), otherwise the computed design."""
    from plkg.inference.fairness_allocator import DEFAULT_CHECKPOINT, FairnessAllocator

    if quick:
        fnn = FairnessAllocator.from_checkpoint(DEFAULT_CHECKPOINT, scenario=scenario)
        return fnn, _stored_design(fnn.checkpoint)
    design = _design(scenario)
    fnn = FairnessAllocator.from_checkpoint(DEFAULT_CHECKPOINT, scenario=scenario, design=design)
    return fnn, design


def scheme_allocations(design, pa_w, fnn_sum=None, fnn_fair=None) -> tuple[dict, dict]:
    """x [B, N_D] (W) of every scheme for budgets ``pa_w`` [B] on one design.

    ``fnn_sum`` / ``fnn_fair``: loaded allocators (``Allocator`` / ``FairnessAllocator``) or None
    for oracle labels (mu from water-filling, t from the exact max-min solver).

    Returns (allocations, info) where info has ``cvx_status`` [B] (str), ``t_exact`` [B],
    ``t_fnn`` [B] and ``fnn_label`` ("checkpoint" or "oracle").
    """
    from plkg.inference.fairness_allocator import mapping_allocation
    from plkg.solvers import maxmin_cvxpy
    from plkg.solvers.maxmin_exact import ExactMaxMin, SolverError
    from plkg.solvers.maxmin_highpower import solve_highpower
    from plkg.solvers.maxmin_lexicographic import canonical_from_maxmin

    pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
    m_a, m_b, user, k = design.m_a, design.m_b, design.user, design.n_users
    exact_solver = ExactMaxMin(m_a, m_b, user, k)
    exact = exact_solver.solve(pa)
    if exact.status != "optimal":
        raise SolverError("exact max-min did not converge in a figure sweep")
    t_exact = np.asarray(exact.t_bits)
    out = sum_rate_allocations(pa, m_a, m_b, fnn_sum)
    x_cvx = np.full((pa.size, design.n_total), np.nan)
    status = []
    # a curve's CVXPY solves take seconds: progress, but none for a one-point sweep task
    with points_progress(pa.size, desc="cvxpakf", unit="power") as bar:
        for i, p in enumerate(pa):
            try:
                # the method cvxpakf as everywhere else: CVXPY's t checked against the exact t*,
                # the canonical allocation reported (docs/assumptions.md)
                res = maxmin_cvxpy.allocate(design, float(p))
                x_cvx[i] = res.x_w
                status.append(res.status)
            except SolverError as exc:
                status.append("failed: " + str(exc).split(":")[-1].strip()[:60])
            bar.update(1)
    out["cvxpakf"] = x_cvx
    out["wfpakf"] = np.asarray(solve_highpower(m_b, user, k, pa, "corrected").x_w)
    if fnn_fair is not None:
        t_fnn = fnn_fair.predict(pa)
        label = "checkpoint"
    else:
        t_fnn = t_exact
        label = "oracle"
    for mapping, name in FNNPAKF_MAPPINGS:
        x = mapping_allocation(t_fnn, m_a, m_b, user, k, mapping, solver=exact_solver)
        out[name] = fit_budget(x, pa)
    # the canonical optimum, as the method exact-maxmin reports it (docs/assumptions.md): where a
    # UE saturates, the budget it cannot use goes to the others instead of staying unspent
    out["exact-maxmin"] = np.stack(
        [
            canonical_from_maxmin(exact_solver, float(p), exact_solver.solve(float(p))).x_w
            for p in pa
        ]
    )
    info = {
        "cvx_status": status,
        "t_exact": t_exact,
        "t_fnn": np.asarray(t_fnn),
        "fnn_label": label,
    }
    return out, info


def _rates(design, x):
    from plkg.keyrate.subchannel import user_key_rates_bits

    x = np.asarray(x)
    out = np.full(x.shape[:-1] + (design.n_users,), np.nan)
    ok = np.all(np.isfinite(x), axis=-1)
    if np.any(ok):
        out[ok] = user_key_rates_bits(x[ok], design.m_a, design.m_b, design.user, design.n_users)
    return out


def sweep_point(task: dict) -> dict:
    """One point of Figs. 8-10, a sweep-engine task: ``{"scenario": dict, "pa_dbm": float}`` ->
    ``{"fingerprint", "n_subchannels", "cvx_status", "rates": {scheme: [K] bits}}`` (oracle-label
    FNN curves)."""
    from plkg.channels.nearfield_scenario import NearFieldScenario
    from plkg.errors import NoSubchannelError

    sc = NearFieldScenario.from_dict(task["scenario"])
    try:
        design = _design(sc)
    except NoSubchannelError as exc:
        # A UE with no subchannel (D_k = 0) gets no key under every scheme; the other UEs' rates
        # would need a (K-1)-UE design, so they are left undefined at this point.
        rates = [float("nan")] * sc.n_users
        rates[exc.user] = 0.0
        return {
            "fingerprint": sc.fingerprint(),
            "n_subchannels": 0,
            "cvx_status": f"no subchannel for UE {exc.user + 1}",
            "rates": {m: list(rates) for m in METHODS},
        }
    allocs, info = scheme_allocations(design, np.array([units.dbm_to_w(task["pa_dbm"])]))
    return {
        "fingerprint": sc.fingerprint(),
        "n_subchannels": sum(design.n_subchannels),
        "cvx_status": info["cvx_status"][0],
        "rates": {m: _rates(design, x)[0].tolist() for m, x in allocs.items()},
    }
