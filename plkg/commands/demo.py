"""``plkg demo``: the main job on the default scenario (extended as the pipeline grows)."""

from __future__ import annotations

import time

import numpy as np

from plkg import units
from plkg.channels.nearfield import scenario_ccm
from plkg.commands._nearfield_args import add_scenario_argument, scenario_from_args
from plkg.inference.methods import allocate
from plkg.keyrate.evaluate import evaluate_allocation
from plkg.precoding.block_diagonalization import design_for_scenario


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the main job on the default scenario")
    add_scenario_argument(p)
    p.add_argument("--out", default="demo_out", help="output folder (default demo_out/)")
    p.set_defaults(func=run)


def run(args) -> int:
    t0 = time.perf_counter()
    scenario = scenario_from_args(args)
    print(
        f"[demo] scenario {scenario.name}: N = {scenario.n_antennas}, K = {scenario.n_users}",
        flush=True,
    )
    design = design_for_scenario(scenario, scenario_ccm(scenario))
    print(f"[demo] null-space dims N - r_k = {list(design.null_dims)}")
    print(
        f"[demo] subchannels D_k = {list(design.n_subchannels)}, N_D = {design.n_total}, L = {design.downlink_pilot_len}"
    )
    print(f"{'P_a (dBm)':>10} {'sum KR EPA':>12} {'min KR EPA':>12}")
    for pa_dbm in np.arange(-5.0, 26.0, 5.0):
        res = allocate("epa", design, float(units.dbm_to_w(pa_dbm)))
        rep = evaluate_allocation(design, res.x_w)
        print(f"{pa_dbm:10.1f} {rep.sum_kr_bits:12.2f} {rep.min_kr_bits:12.2f}")
    print(f"[demo] done in {time.perf_counter() - t0:.1f} s")
    return 0
