"""``plkg keyrate``: allocate power with one method and report the key rates."""

from __future__ import annotations

import io
import json
import math
import time

import numpy as np

from plkg import units
from plkg.channels.nearfield import scenario_ccm
from plkg.commands._nearfield_args import add_scenario_argument, scenario_from_args
from plkg.data.atomic import write_bytes_atomic
from plkg.inference.methods import ALLOCATION_METHODS, allocate
from plkg.keyrate.evaluate import evaluate_allocation
from plkg.precoding.block_diagonalization import design_for_scenario


def register(sub) -> None:
    p = sub.add_parser(
        "keyrate", help="key rates of one power-allocation method (near-field paper)"
    )
    add_scenario_argument(p)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--pa-dbm", type=float, help="BS power budget P_a in dBm")
    group.add_argument("--pa-w", type=float, help="BS power budget P_a in W")
    p.add_argument("--method", default="epa", choices=list(ALLOCATION_METHODS))
    p.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint for fnnpa / fnnpakf (default: the committed one)",
    )
    p.add_argument("--mapping", default=None, help="fnnpakf mapping: 'appro' (paper) or 'exact'")
    p.add_argument(
        "--allow-extrapolation",
        action="store_true",
        help="allow P_a outside a model's training range",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--export", metavar="FILE.npz", help="write precoders and per-subchannel quantities"
    )
    p.set_defaults(func=run)


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def power_from_args(args) -> float:
    if args.pa_w is not None:
        pa_w = float(args.pa_w)
    else:
        if not math.isfinite(args.pa_dbm):
            raise ValueError(f"--pa-dbm must be finite, got {args.pa_dbm}")
        pa_w = float(units.dbm_to_w(args.pa_dbm))
    if not math.isfinite(pa_w) or pa_w < 0:
        raise ValueError(f"power budget P_a must be a non-negative finite number, got {pa_w} W")
    return pa_w


def export_keyrate(path, design, result, report) -> None:
    buf = io.BytesIO()
    np.savez(
        buf,
        precoders=design.padded_precoders(result.x_w),
        user=design.user,
        m_a=design.m_a,
        m_b=design.m_b,
        lambda_h=design.lambda_h,
        x_w=result.x_w,
        kr_bits=report.kr_bits,
        c_bits=report.c_bits,
        sigma2_a_hat_w=np.asarray(design.sigma2_a_hat_w),
        sigma2_b_hat_w=np.asarray(design.sigma2_b_hat_w),
        pa_w=np.asarray(result.pa_w),
        method=np.asarray(result.method),
    )
    write_bytes_atomic(path, buf.getvalue())


def run(args) -> int:
    scenario = scenario_from_args(args)
    pa_w = power_from_args(args)
    design = design_for_scenario(scenario, scenario_ccm(scenario))
    options = {"scenario": scenario, "allow_extrapolation": args.allow_extrapolation}
    if args.checkpoint:
        options["checkpoint"] = args.checkpoint
    if args.mapping:
        options["mapping"] = args.mapping
    t0 = time.perf_counter()
    result = allocate(args.method, design, pa_w, **options)
    elapsed = time.perf_counter() - t0
    report = evaluate_allocation(design, result.x_w)
    out = {
        "method": result.method,
        "scenario": scenario.name,
        "fingerprint": scenario.fingerprint(),
        "pa_w": pa_w,
        "pa_dbm": float(units.w_to_dbm(pa_w)) if pa_w > 0 else float("-inf"),
        "kr_bits": report.kr_bits.tolist(),
        "c_bits": report.c_bits.tolist(),
        "sum_kr_bits": report.sum_kr_bits,
        "min_kr_bits": report.min_kr_bits,
        "n_subchannels": list(design.n_subchannels),
        "power_used_w": float(np.sum(result.x_w)),
        "status": result.status,
        "iterations": result.iterations,
        "allocation_seconds": elapsed,
        **_jsonable(result.extras),
    }
    if args.export:
        export_keyrate(args.export, design, result, report)
        out["exported"] = str(args.export)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"{result.method} at P_a = {out['pa_dbm']:.2f} dBm on {scenario.name}: status {result.status}"
        )
        for k, (i_k, c_k) in enumerate(zip(report.kr_bits, report.c_bits, strict=True)):
            print(
                f"  UE {k + 1}: I_k = {i_k:.4f} bits (Eq. 17), C_k = {c_k:.4f} bits (Eq. 42), D_k = {design.n_subchannels[k]}"
            )
        print(f"  sum KR {report.sum_kr_bits:.4f} bits, min KR {report.min_kr_bits:.4f} bits")
    return 0
