"""``plkg bench ris-ao``: AO time and iterations vs N, closed-form vs autograd gradient (RIS paper).

The two-cell scenario of Fig. 3 with M = M_e = 4, P_A = 30 dBm; CPU, complex128, one torch
thread (what :func:`plkg.solvers.ris_alternating.solve_ris` uses by default). The target is AO
convergence within 5 s for N = 100.
"""

from __future__ import annotations

import numpy as np

from plkg.bench import median_time_s
from plkg.channels.ris_multicell import build_channel_model
from plkg.channels.ris_scenario import two_cell
from plkg.parallel.torch_threads import torch_threads
from plkg.solvers.ris_alternating import solve_ris, solve_ris_batched, solve_ris_multistart
from plkg.solvers.ris_phase_pga import autograd_gradient, closed_form_gradient, random_phases
from plkg.solvers.ris_precoder_kkt import uniform_precoders


def run(quick: bool = False, device=None) -> dict:
    """AO time/iterations vs N (20..200), gradient speed ratio, batched multi-start; JSON dict."""
    ns = [20, 100] if quick else [20, 50, 100, 150, 200]
    ao = []
    for n in ns:
        model = build_channel_model(two_cell(n_ris_elements=n))
        results = []

        def solve(model=model, results=results, n=n):
            results.append(solve_ris(model, "proposed", rng=np.random.default_rng(n)))

        seconds = median_time_s(solve, repeats=1 if quick else 3, min_time_s=0.0)
        last = results[-1]
        ao.append(
            {
                "N": n,
                "seconds": seconds,
                "ao_iterations": last.iterations,
                "status": last.status,
                "wskr_bits": last.wskr_bits,
            }
        )
    model = build_channel_model(two_cell(n_ris_elements=100))
    p = uniform_precoders(2, 4, 4, model.bs_power_w)
    v = random_phases(100, np.random.default_rng(0))
    tensors = model.tensors()
    with torch_threads(1):
        t_closed = median_time_s(lambda: closed_form_gradient(model, p, v, tensors))
        t_auto = median_time_s(lambda: autograd_gradient(model, p, v, tensors))
    n100 = next(r for r in ao if r["N"] == 100)
    starts = 8
    t_batch = median_time_s(
        lambda: solve_ris_batched(model, "proposed", n_starts=starts, rng=np.random.default_rng(1)),
        repeats=1 if quick else 3,
        min_time_s=0.0,
    )
    multistart = {"starts": starts, "batched_seconds": t_batch}
    for name, dev in (("cpu", None), ("device", device)):
        if name == "device" and (dev is None or str(dev) == "cpu"):
            continue
        found = []

        def best_of(dev=dev, found=found):
            found.append(
                solve_ris_multistart(
                    model, n_starts=starts, rng=np.random.default_rng(1), device=dev
                )
            )
            if dev is not None and str(dev).startswith("cuda"):
                import torch

                torch.cuda.synchronize()

        multistart[f"best_of_starts_{name}_seconds"] = median_time_s(
            best_of, repeats=1 if quick else 3, min_time_s=0.0
        )
        multistart[f"best_of_starts_{name}_wskr_ub_bits"] = found[-1].objective
    if "best_of_starts_device_seconds" in multistart:
        multistart["device"] = str(device)
        multistart["ratio_device_over_cpu"] = (
            multistart["best_of_starts_device_seconds"] / multistart["best_of_starts_cpu_seconds"]
        )
    return {
        "device": "cpu" if device is None else f"cpu + {device}",
        "torch_threads_in_solver": 1,
        "ao_vs_n": ao,
        "gradient_n100": {
            "closed_form_s": t_closed,
            "autograd_s": t_auto,
            "autograd_over_closed_form": t_auto / t_closed,
        },
        "multistart_n100": multistart,
        "two_cell_n100_seconds": n100["seconds"],
        "meets_5s_target": bool(n100["seconds"] <= 5.0),
    }


BENCHMARKS = {"ris-ao": run}
