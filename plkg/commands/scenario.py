"""``plkg scenario``: show a near-field scenario and export its CCMs.

UEs are numbered from 1: the JSON's ``ue`` list [1, ..., K] names the entries of the per-UE
lists ``null_space_dims`` and ``n_subchannels``, which are in that order (the exported ``ccm``
array keeps NumPy's 0-based axis: ``ccm[0]`` is UE 1).
"""

from __future__ import annotations

import io

import numpy as np

from plkg.commands._nearfield_args import (
    add_cache_argument,
    add_force_argument,
    add_scenario_argument,
    design_from_args,
    scenario_from_args,
)
from plkg.io.atomic import write_bytes_atomic
from plkg.io.json_text import dumps_strict


def register(sub) -> None:
    p = sub.add_parser(
        "scenario",
        help="show a near-field scenario (D_k, N_D) and export its CCMs",
        epilog="UEs are numbered from 1: per-UE lists (null_space_dims, n_subchannels) are in "
        "the order of the JSON's 'ue' list [1, ..., K]; the exported ccm[0] is UE 1.\n\n"
        "example:\n  plkg scenario --scenario fig6 --json",
    )
    add_scenario_argument(p)
    p.add_argument(
        "--export", metavar="FILE.npz", help="write ccm [K,N,N] complex128 and scalar parameters"
    )
    p.add_argument("--json", action="store_true", help="print (strict) JSON")
    add_cache_argument(p)
    add_force_argument(p)
    p.set_defaults(func=run)


def scenario_summary(scenario, design) -> dict:
    return {
        "scenario": scenario.name,
        "fingerprint": scenario.fingerprint(),
        "parameters": scenario.to_dict(),
        "wavelength_m": scenario.wavelength_m,
        "rayleigh_distance_m": scenario.rayleigh_distance_m,
        "ue": list(range(1, design.n_users + 1)),  # the per-UE lists below, in this order
        "null_space_dims": list(design.null_dims),
        "n_subchannels": list(design.n_subchannels),
        "n_total_subchannels": design.n_total,
        "n_symbols": design.n_symbols,
        "downlink_pilot_len": design.downlink_pilot_len,
        "uplink_pilot_len": design.uplink_pilot_len,
        "sigma2_a_hat_w": design.sigma2_a_hat_w,
        "sigma2_b_hat_w": design.sigma2_b_hat_w,
    }


def export_scenario(path, scenario, ccm) -> None:
    buf = io.BytesIO()
    scalars = {k: np.asarray(v) for k, v in scenario.to_dict().items() if k not in ("name",)}
    np.savez(
        buf,
        ccm=np.asarray(ccm, dtype=np.complex128),
        name=np.asarray(scenario.name),
        fingerprint=np.asarray(scenario.fingerprint()),
        pathloss_linear=scenario.pathloss_linear,
        wavelength_m=np.asarray(scenario.wavelength_m),
        **{k: (v if v.dtype != object else np.asarray(np.nan)) for k, v in scalars.items()},
    )
    write_bytes_atomic(path, buf.getvalue())


def run(args) -> int:
    from plkg.commands._paths import output_file

    output_file(args.export, "--export")  # "" or a folder is an error, before any work
    scenario = scenario_from_args(args)
    design = design_from_args(args, scenario)
    ccm = design.ccm
    summary = scenario_summary(scenario, design)
    if args.export:
        export_scenario(args.export, scenario, ccm)
        summary["exported"] = str(args.export)
    if args.json:
        print(dumps_strict(summary, indent=2))
    else:
        print(f"scenario {scenario.name} (fingerprint {summary['fingerprint']})")
        print(
            f"  N = {scenario.n_antennas}, K = {scenario.n_users}, Rayleigh distance {scenario.rayleigh_distance_m:.1f} m"
        )
        print(f"  UEs 1..{design.n_users}: null-space dims N - r_k: {list(design.null_dims)}")
        print(
            f"  subchannels D_k: {list(design.n_subchannels)}, N_D = {design.n_total}, N_s = {design.n_symbols}"
        )
        print(f"  L = {design.downlink_pilot_len}, Q = {design.uplink_pilot_len}")
        if args.export:
            print(f"  exported to {args.export}")
    return 0
