"""(P_a, t) training pairs for the fairness FNN, Section VI-C-2 of the near-field paper.

T_D budgets P_a are drawn uniformly in dBm on [p_min, p_max]; each label is the max-min key rate t
of (P3) (Eq. (53)). As in the paper the labels come from the CVX-based solver (CVXPAKF,
:mod:`plkg.solvers.maxmin_cvxpy`); every one is certified by the exact max-min solver
(:mod:`plkg.solvers.maxmin_exact`). When CVXPY is not ``optimal`` or its optimum differs from the
exact one by more than ``certify_rtol``, the exact value is the label and the case is logged in the
sidecar (``meta["disagreements"]``). Nothing is written until every label is known; the files are
then written atomically by :func:`plkg.data.dataset.save_dataset`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plkg.data._power_dataset import (
    DEFAULT_PA_DBM_RANGE,
    design_arrays,
    draw_powers,
    finish,
    naming_power_range,
    power_meta,
    power_range_text,
    run_label_tasks,
)
from plkg.data.dataset import DEFAULT_SPLIT_COUNTS, Dataset
from plkg.solvers.maxmin_exact import SolverError, solve_maxmin

CERTIFY_RTOL = 1e-5
# label_source codes stored per sample
SOURCE_CVXPY = 0  # CVXPY optimal and certified by the exact solver
SOURCE_EXACT_CVX_FAILED = 1  # CVXPY not optimal: exact label
SOURCE_EXACT_DISAGREE = 2  # CVXPY optimal but off by > certify_rtol: exact label
SOURCE_EXACT_ONLY = 3  # labels requested from the exact solver only (labels="exact")


def cvxpy_label_chunk(task: dict) -> list[dict]:
    """CVXPAKF labels of one power band (a sweep-engine task of
    :func:`plkg.data._power_dataset.label_tasks`): per sample ``{"index", "t_bits", "error"}``,
    ``t_bits`` None and ``error`` the message where CVXPY is not optimal."""
    from plkg.solvers.maxmin_cvxpy import BandedMaxMin

    problem = BandedMaxMin(task["m_a"], task["m_b"], task["user"], task["n_users"])
    out = []
    for i, p in zip(task["index"], task["pa_w"], strict=True):
        try:
            # certified by the caller against t_exact (and logged), not refused inside the wrapper
            res = problem.solve(float(p), check_exact=False)
        except SolverError as exc:
            out.append({"index": i, "t_bits": None, "error": str(exc)})
            continue
        out.append({"index": i, "t_bits": float(res.t_bits), "error": None})
    return out


def generate_fairness_dataset(
    scenario,
    n_samples: int = 200,
    pa_dbm_range=DEFAULT_PA_DBM_RANGE,
    seed: int = 0,
    out_path: str | Path | None = None,
    sampling: str = "dbm",
    split_counts=DEFAULT_SPLIT_COUNTS,
    design=None,
    labels: str = "cvxpy",
    certify_rtol: float = CERTIFY_RTOL,
) -> Dataset:
    """Generate the fairness-FNN dataset (P_a in dBm, t in bits) of a near-field scenario.

    Parameters
    ----------
    scenario : NearFieldScenario
    n_samples : int
        T_D (paper: 200).
    pa_dbm_range : (float, float)
        [p_min, p_max] of P_a in dBm (default -10..30 dBm, the range of the sum-rate dataset).
    seed : int
        Seeds the power draws and the split (``np.random.default_rng(seed)``).
    out_path : path, optional
        ``.npz`` to write (+ ``.json`` sidecar); nothing is written if None or on any error.
    sampling : ``"dbm"`` or ``"w"``
    split_counts : (int, int, int)
        Train/val/test sizes (paper: 140/30/30).
    design : SubchannelDesign, optional
        Reuse a design of ``scenario``.
    labels : ``"cvxpy"`` (paper: CVXPAKF, certified) or ``"exact"`` (exact solver only, fast;
        used for the per-scenario models of Figs. 8-10).
    certify_rtol : float
        Largest accepted ``abs(t_cvx - t_exact) / t_exact``.

    Returns
    -------
    Dataset with ``inputs`` = P_a [T] (dBm), ``labels`` = t [T] (bits), extras ``pa_w``,
    ``t_exact``, ``t_cvxpy`` (NaN where CVXPY failed or was not run), ``label_source`` [T] int8 and
    the design constants ``m_a``, ``m_b``, ``user``.

    Raises
    ------
    ValueError
        Bad range, sampling, counts or ``labels``; SolverError (a ValueError) if the exact solver
        fails.
    """
    if labels not in ("cvxpy", "exact"):
        raise ValueError(f"labels must be 'cvxpy' or 'exact', got {labels!r}")
    design, pa_dbm, split, pa_w = draw_powers(
        scenario, design, n_samples, pa_dbm_range, seed, sampling, split_counts
    )
    with naming_power_range(pa_dbm_range):
        exact = solve_maxmin(design.m_a, design.m_b, design.user, design.n_users, pa_w)
    if exact.status != "optimal":
        raise SolverError(
            f"exact max-min solver did not converge on the dataset powers (status "
            f"{exact.status!r}, {power_range_text(pa_dbm_range)})"
        )
    t_exact = np.asarray(exact.t_bits, dtype=np.float64)
    t_cvx = np.full(t_exact.shape, np.nan)
    source = np.full(t_exact.shape, SOURCE_EXACT_ONLY, dtype=np.int8)
    disagreements = []
    if labels == "cvxpy":
        # CVXPY per sample is the slow part: one sweep-engine task per power band (serial, or
        # Dask workers under `plkg generate --workers N`), the same tasks either way
        for item in run_label_tasks(cvxpy_label_chunk, design, pa_w):
            i = item["index"]
            if item["error"] is not None:
                source[i] = SOURCE_EXACT_CVX_FAILED
                disagreements.append(
                    {
                        "index": i,
                        "pa_dbm": float(pa_dbm[i]),
                        "t_exact": float(t_exact[i]),
                        "reason": item["error"][:300],
                    }
                )
                continue
            t_cvx[i] = item["t_bits"]
            rel = abs(item["t_bits"] - t_exact[i]) / t_exact[i]
            if rel <= certify_rtol:
                source[i] = SOURCE_CVXPY
            else:
                source[i] = SOURCE_EXACT_DISAGREE
                disagreements.append(
                    {
                        "index": i,
                        "pa_dbm": float(pa_dbm[i]),
                        "t_exact": float(t_exact[i]),
                        "t_cvxpy": float(item["t_bits"]),
                        "relative_difference": float(rel),
                        "reason": "CVXPY optimum differs from the exact optimum",
                    }
                )
    label = np.where(source == SOURCE_CVXPY, t_cvx, t_exact)
    certified = source == SOURCE_CVXPY
    max_rel = (
        float(np.max(np.abs(t_cvx[certified] - t_exact[certified]) / t_exact[certified]))
        if np.any(certified)
        else None
    )
    meta = power_meta(
        {
            "kind": "fairness",
            "label_name": "t",
            "label_units": "bits",
            "label_description": "max-min key rate t of (P3), Eq. (53) of the near-field paper",
        },
        scenario,
        design,
        pa_dbm_range,
        sampling,
        seed,
        solver=(
            "plkg.solvers.maxmin_cvxpy (CVXPAKF, Clarabel) certified by plkg.solvers.maxmin_exact"
            if labels == "cvxpy"
            else "plkg.solvers.maxmin_exact (exact max-min, no CVXPY)"
        ),
        certify_rtol=float(certify_rtol),
        n_certified=int(np.sum(certified)),
        n_exact_label=int(np.sum(~certified)),
        max_certified_relative_difference=max_rel,
        disagreements=disagreements,
    )
    extras = {
        "pa_w": pa_w,
        "t_exact": t_exact,
        "t_cvxpy": t_cvx,
        "label_source": source,
        **design_arrays(design),
    }
    return finish(out_path, pa_dbm, label, split, meta, extras)
