"""(P_a, mu) training pairs for KGLM-Net, Section V-B-2 of the near-field paper.

T_D samples of the BS power budget P_a are drawn uniformly in dBm on [p_min, p_max] (or uniformly
in watt, ``sampling="w"``); each label is the exact Lagrange multiplier mu of (P1) (Eq. (47)) from
:func:`plkg.solvers.water_filling.water_filling`. A seeded 140/30/30 train/val/test split is stored
with the data (:mod:`plkg.data.dataset`).
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
)
from plkg.data._power_dataset import sample_powers_dbm as sample_powers_dbm
from plkg.data.dataset import DEFAULT_SPLIT_COUNTS, Dataset
from plkg.solvers.water_filling import DEFAULT_RTOL, water_filling

KKT_TOL = 1e-8


def generate_sumrate_dataset(
    scenario,
    n_samples: int = 200,
    pa_dbm_range=DEFAULT_PA_DBM_RANGE,
    seed: int = 0,
    out_path: str | Path | None = None,
    sampling: str = "dbm",
    split_counts=DEFAULT_SPLIT_COUNTS,
    design=None,
) -> Dataset:
    """Generate the KGLM-Net dataset of a near-field scenario.

    Parameters
    ----------
    scenario : NearFieldScenario
    n_samples : int
        T_D (paper: 200).
    pa_dbm_range : (float, float)
        [p_min, p_max] of P_a in dBm (default -10..30 dBm, covering the Fig. 6 sweep).
    seed : int
        Seeds the power draws and the split (``np.random.default_rng(seed)``).
    out_path : path, optional
        Where to write ``.npz`` + ``.json``; nothing is written if None.
    sampling : ``"dbm"`` or ``"w"``
        Uniform in dBm (default) or in watt.
    split_counts : (int, int, int)
        Train/val/test sizes (paper: 140/30/30).
    design : SubchannelDesign, optional
        Reuse a design of ``scenario`` (its CCM is expensive); computed if None.

    Returns
    -------
    Dataset with ``inputs`` = P_a [T] (dBm), ``labels`` = mu [T] (bit/W), extras ``pa_w`` [T],
    ``m_a``, ``m_b``, ``user`` [N_D], ``kkt_residual`` [T], ``iterations`` [T].

    Raises
    ------
    ValueError
        Bad range/sampling/count; a water-filling solve whose KKT residual exceeds 1e-8
        (:class:`~plkg.solvers.water_filling.WaterFillingError` if it does not converge).
    """
    design, pa_dbm, split, pa_w = draw_powers(
        scenario, design, n_samples, pa_dbm_range, seed, sampling, split_counts
    )
    with naming_power_range(pa_dbm_range):
        res = water_filling(pa_w, design.m_a, design.m_b, rtol=DEFAULT_RTOL)
    worst = float(np.max(res.kkt_residual))
    if not worst <= KKT_TOL:
        raise ValueError(
            f"water-filling KKT residual {worst:.2e} exceeds {KKT_TOL:g} in the "
            f"{power_range_text(pa_dbm_range)} (beyond what float64 resolves here?)"
        )
    meta = power_meta(
        {
            "kind": "sumrate",
            "label_name": "mu",
            "label_units": "bit/W",
            "label_description": "Lagrange multiplier mu of (P1), Eq. (47) of the near-field paper",
        },
        scenario,
        design,
        pa_dbm_range,
        sampling,
        seed,
        solver=f"plkg.solvers.water_filling.water_filling (exact, rtol {DEFAULT_RTOL:g})",
        max_kkt_residual=worst,
    )
    extras = {
        "pa_w": pa_w,
        **design_arrays(design),
        "kkt_residual": np.asarray(res.kkt_residual),
        "iterations": np.asarray(res.iterations, dtype=np.int64),
    }
    return finish(out_path, pa_dbm, np.asarray(res.mu), split, meta, extras)
