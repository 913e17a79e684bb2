"""``plkg keyrate``: allocate power with one method and report the key rates.

JSON fields are strict JSON (:func:`plkg.io.json_text.dumps_strict`): at a zero budget
(``--pa-w 0``) ``pa_dbm`` is ``null`` (``pa_w`` is 0.0); the general learned allocators add
``fallback`` (null, or why the exact solver answered instead of the network).

UEs are numbered from 1: the text lines say ``UE 1`` ... ``UE K``, and the JSON's ``ue`` list
[1, ..., K] names the entries of the per-UE lists ``kr_bits``, ``c_bits`` and
``n_subchannels``, which are in that order.
"""

from __future__ import annotations

import io
import math
import time

import numpy as np

from plkg import units
from plkg.commands._applies import check_applies
from plkg.commands._nearfield_args import (
    add_cache_argument,
    add_force_argument,
    add_scenario_argument,
    design_from_args,
    scenario_from_args,
)
from plkg.inference.bind import bind
from plkg.inference.methods import ALLOCATION_METHODS
from plkg.io.atomic import write_bytes_atomic
from plkg.io.json_text import dumps_strict
from plkg.keyrate.evaluate import evaluate_allocation

# Which methods read which option; any other method refuses it (exit 2) instead of ignoring it.
OPTION_METHODS = {
    "--checkpoint": ("fnnpa", "fnnpakf", "fnnpa-general", "fnnpakf-general"),
    "--mapping": ("fnnpakf",),
    "--allow-extrapolation": ("fnnpa", "fnnpakf", "interp", "interpkf"),
}
# plkg.inference.fairness_allocator.MAPPINGS, spelled out so that building the parser imports no
# allocator (a test keeps the two equal).
MAPPING_CHOICES = ("appro", "appro-paper", "exact")


def register(sub) -> None:
    p = sub.add_parser(
        "keyrate",
        help="key rates of one power-allocation method (near-field paper)",
        epilog="UEs are numbered from 1: per-UE JSON lists (kr_bits, c_bits, n_subchannels) "
        "are in the order of the 'ue' list [1, ..., K].\n\nexample:\n  "
        "plkg keyrate --scenario fig6 --pa-dbm 0 10 20 --method fnnpa --json",
    )
    add_scenario_argument(p)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--pa-dbm", type=float, nargs="+", metavar="DBM", help="BS power budget(s) P_a in dBm"
    )
    group.add_argument(
        "--pa-w",
        type=float,
        nargs="+",
        metavar="W",
        help="BS power budget(s) P_a in W (0 allowed: JSON then has pa_dbm null, pa_w 0.0)",
    )
    p.add_argument(
        "--method", default="epa", choices=list(ALLOCATION_METHODS), help="allocation method"
    )
    p.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint for fnnpa / fnnpakf / fnnpa-general / fnnpakf-general "
        "(default: the committed one); an error with other methods",
    )
    p.add_argument(
        "--mapping",
        default=None,
        choices=MAPPING_CHOICES,
        help="fnnpakf only: 'appro' (default), 'appro-paper' or 'exact'; an error with other "
        "methods",
    )
    p.add_argument(
        "--allow-extrapolation",
        action="store_true",
        help="fnnpa / fnnpakf / interp / interpkf: allow P_a outside the model's training range",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print strict JSON (a list, one entry per power, if several); pa_dbm is null at "
        "P_a = 0; fnnpa-general / fnnpakf-general add 'fallback' (null, or why the exact "
        "solver answered)",
    )
    add_cache_argument(p)
    add_force_argument(p)
    p.add_argument(
        "--export", metavar="FILE.npz", help="write precoders and per-subchannel quantities"
    )
    p.set_defaults(func=run)


def _power_w(value: float, option: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{option} must be finite, got {value}")
    pa_w = float(value) if option == "--pa-w" else float(units.dbm_to_w(value))
    if not math.isfinite(pa_w) or pa_w < 0:
        raise ValueError(
            f"{option}: power budget P_a must be a non-negative finite number, got {value}"
        )
    return pa_w


def powers_from_args(args) -> list[float]:
    """P_a in W of every value given with --pa-w or --pa-dbm."""
    if args.pa_w is not None:
        return [_power_w(v, "--pa-w") for v in np.atleast_1d(args.pa_w)]
    return [_power_w(v, "--pa-dbm") for v in np.atleast_1d(args.pa_dbm)]


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


def check_method_options(args) -> None:
    """Refuse an option that ``--method`` does not read (it would be silently ignored)."""
    for option, methods in OPTION_METHODS.items():
        value = getattr(args, option[2:].replace("-", "_"))
        check_applies(option, value, "--method", args.method, methods)


def run(args) -> int:
    from plkg.commands._paths import output_file

    output_file(args.export, "--export")  # "" or a folder is an error, before any work
    check_method_options(args)
    scenario = scenario_from_args(args)
    powers = powers_from_args(args)
    if args.export and len(powers) != 1:
        raise ValueError("--export takes a single power: give one value to --pa-dbm / --pa-w")
    design = design_from_args(args, scenario)
    # The committed FNNs are tiny: a NumPy forward avoids importing torch (~1.5 s per call).
    options = {
        "scenario": scenario,
        "allow_extrapolation": args.allow_extrapolation,
        "backend": "numpy",
    }
    if args.checkpoint:
        options["checkpoint"] = args.checkpoint
    if args.mapping:
        options["mapping"] = args.mapping
    # validated and loaded (checkpoint, dataset) once; each power then allocates as allocate()
    bound = bind(args.method, design, **options)
    entries = [_evaluate_power(args, scenario, design, pa_w, bound) for pa_w in powers]
    if args.json:
        print(dumps_strict(entries[0] if len(entries) == 1 else entries, indent=2))
    else:
        for out in entries:
            _print_entry(out, scenario, design)
    return 0


def _evaluate_power(args, scenario, design, pa_w: float, bound) -> dict:
    t0 = time.perf_counter()
    result = bound(pa_w)
    elapsed = time.perf_counter() - t0
    report = evaluate_allocation(design, result.x_w)
    out = {
        "method": result.method,
        "scenario": scenario.name,
        "fingerprint": scenario.fingerprint(),
        "pa_w": pa_w,
        # -inf dBm is not JSON: a zero budget is pa_dbm null (documented in --help)
        "pa_dbm": float(units.w_to_dbm(pa_w)) if pa_w > 0 else None,
        "ue": list(range(1, design.n_users + 1)),  # the per-UE lists below, in this order
        "kr_bits": report.kr_bits.tolist(),
        "c_bits": report.c_bits.tolist(),
        "sum_kr_bits": report.sum_kr_bits,
        "min_kr_bits": report.min_kr_bits,
        "n_subchannels": list(design.n_subchannels),
        "power_used_w": float(np.sum(result.x_w)),
        "status": result.status,
        "iterations": result.iterations,
        # the allocation of this budget alone: the method was bound (and its checkpoint loaded)
        # once for all --pa-dbm values, before the first
        "allocation_seconds": elapsed,
        **result.extras,
    }
    if args.export:
        export_keyrate(args.export, design, result, report)
        out["exported"] = str(args.export)
    return out


def _print_entry(out: dict, scenario, design) -> None:
    budget = "0 W" if out["pa_dbm"] is None else f"{out['pa_dbm']:.2f} dBm"
    print(f"{out['method']} at P_a = {budget} on {scenario.name}: status {out['status']}")
    if out.get("fallback"):
        print(f"  exact solver used: {out['fallback']}")
    for k, (i_k, c_k) in enumerate(zip(out["kr_bits"], out["c_bits"], strict=True)):
        print(
            f"  UE {k + 1}: I_k = {i_k:.4f} bits (Eq. 17), C_k = {c_k:.4f} bits (Eq. 42), D_k = {design.n_subchannels[k]}"
        )
    print(f"  sum KR {out['sum_kr_bits']:.4f} bits, min KR {out['min_kr_bits']:.4f} bits")
