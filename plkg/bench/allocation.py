"""``plkg bench allocation``: FNNPA (KGLM-Net) vs exact water-filling vs CVXPY on (P1).

Same scenario (the committed Fig. 6 checkpoint's subchannel constants), same process, one run.
Reports the median time of one allocation (P_a -> x) per method and the ratios, plus batched
throughput (many P_a at once) for the FNN path, NumPy water-filling and its torch twin, and the
FNNPA/WFPA sum-KR ratio over the batch so speed is never quoted without accuracy.
"""

from __future__ import annotations

import warnings

import numpy as np

from plkg import units
from plkg.bench import median_time_s


def run(quick: bool = False, device=None) -> dict:
    import torch

    from plkg.bench import _fast
    from plkg.inference.allocator import DEFAULT_CHECKPOINT, Allocator
    from plkg.solvers.sum_rate_cvxpy import solve_sum_rate_cvxpy
    from plkg.solvers.water_filling import water_filling, water_filling_torch

    alloc = Allocator.from_checkpoint(DEFAULT_CHECKPOINT)
    m_a, m_b = alloc.m_a, alloc.m_b
    lo, hi = alloc.training_range_dbm
    pa_one = float(units.dbm_to_w(0.5 * (lo + hi)))
    repeats = 3 if quick else 7

    t_fnn = median_time_s(lambda: alloc.allocation(pa_one), repeats=repeats)
    t_wf = median_time_s(lambda: water_filling(pa_one, m_a, m_b), repeats=repeats)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cvx = solve_sum_rate_cvxpy(pa_one, m_a, m_b)
        t_cvx = median_time_s(
            lambda: solve_sum_rate_cvxpy(pa_one, m_a, m_b),
            repeats=1 if quick else 3,
            min_time_s=0.0,
        )
    wf_one = water_filling(pa_one, m_a, m_b)

    n_batch = 100 if quick else 1000
    pa_batch = units.dbm_to_w(np.linspace(lo, hi, n_batch))
    t_fnn_b = median_time_s(lambda: alloc.allocation(pa_batch), repeats=repeats)
    t_wf_b = median_time_s(lambda: water_filling(pa_batch, m_a, m_b), repeats=repeats)
    ma_t = torch.as_tensor(m_a)
    mb_t = torch.as_tensor(m_b)
    pa_t = torch.as_tensor(pa_batch)
    t_wft_b = median_time_s(lambda: water_filling_torch(pa_t, ma_t, mb_t), repeats=repeats)
    fnn_b = alloc.allocation(pa_batch)
    wf_b = water_filling(pa_batch, m_a, m_b)
    kr_ratio = fnn_b.sum_c_bits / np.asarray(wf_b.objective)

    fast = {
        "single": _fast.single_allocation(alloc, _fast.budgets_w(lo, hi), repeats),
        "batched_fnnpa": _fast.batched_fnnpa(alloc, pa_batch, repeats, device),
        "batched_water_filling": _fast.batched_water_filling(repeats, device),
    }
    return {
        "fast": fast,
        "scenario_fingerprint": alloc.checkpoint.fingerprint,
        "n_subchannels": int(m_a.size),
        "single": {
            "pa_dbm": 0.5 * (lo + hi),
            "median_s": {"fnnpa": t_fnn, "wfpa_exact": t_wf, "cvxpy_p1": t_cvx},
            "ratio_wfpa_over_fnnpa": t_wf / t_fnn,
            "ratio_cvxpy_over_fnnpa": t_cvx / t_fnn,
            "ratio_cvxpy_over_wfpa": t_cvx / t_wf,
            "wfpa_iterations": int(wf_one.iterations),
            "cvxpy_status": cvx.status,
            "cvxpy_solver": cvx.solver,
            "cvxpy_warnings": [str(w.message) for w in caught],
            "cvxpy_over_wfpa_objective": cvx.objective / float(wf_one.objective),
        },
        "batched": {
            "n_powers": n_batch,
            "allocations_per_s": {
                "fnnpa": n_batch / t_fnn_b,
                "wfpa_numpy": n_batch / t_wf_b,
                "wfpa_torch_cpu": n_batch / t_wft_b,
            },
            "ratio_wfpa_numpy_over_fnnpa_time": t_wf_b / t_fnn_b,
            "ratio_wfpa_torch_over_fnnpa_time": t_wft_b / t_fnn_b,
            "fnnpa_over_wfpa_sum_kr_min": float(kr_ratio.min()),
            "fnnpa_over_wfpa_sum_kr_mean": float(kr_ratio.mean()),
        },
    }


BENCHMARKS = {"allocation": run}
