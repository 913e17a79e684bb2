"""``plkg keys --system nearfield|ris ... --json``: simulate probing and generate keys.

Runs the full loop (precoders -> probing rounds -> quantisation -> Cascade -> Toeplitz privacy
amplification) and prints, per UE / cell: final key bits, key agreement ratio, BDR before and
after reconciliation, bits disclosed, final key bits per probing round and the analytic KR of the
configuration (Eq. (17) of the near-field paper, Theorem 1 of the RIS paper).
"""

from __future__ import annotations

import json

import numpy as np


def register(sub) -> None:
    p = sub.add_parser(
        "keys", help="generate secret keys from simulated probing (BDR, disclosure, key bits)"
    )
    p.add_argument("--system", choices=("nearfield", "ris"), default="nearfield")
    p.add_argument(
        "--scenario",
        default=None,
        help="nearfield: config name or YAML (default fig6); ris: two-cell | four-cell | config name | YAML (default two-cell)",
    )
    power = p.add_mutually_exclusive_group()
    power.add_argument(
        "--pa-dbm",
        type=float,
        default=None,
        help="BS power budget P_a / P_A in dBm (default: scenario's; nearfield 20 dBm)",
    )
    power.add_argument("--pa-w", type=float, default=None, help="BS power budget in W")
    p.add_argument(
        "--method",
        default=None,
        help="nearfield: allocation method (default epa); ris: proposed | no-ris | rand-phase (default proposed)",
    )
    p.add_argument("--n-ris-elements", type=int, default=None, help="ris: N, elements per RIS")
    p.add_argument(
        "--rounds", type=int, default=1024, help="probing rounds (coherence times), default 1024"
    )
    p.add_argument(
        "--block-rounds", type=int, default=None, help="rounds per key block (default: all rounds)"
    )
    p.add_argument(
        "--quantizer", choices=("equiprobable", "mean-threshold"), default="equiprobable"
    )
    p.add_argument(
        "--bits-per-sample", type=int, default=1, help="bits per real measurement (equiprobable)"
    )
    p.add_argument(
        "--guard",
        type=float,
        default=0.0,
        help="guard band (CDF mass, or alpha in std for mean-threshold)",
    )
    p.add_argument(
        "--security-margin-bits",
        type=float,
        default=None,
        help="privacy-amplification margin (default 40)",
    )
    p.add_argument(
        "--min-subchannel-kr-bits",
        type=float,
        default=None,
        help="nearfield: subchannel selection threshold (default 2)",
    )
    p.add_argument(
        "--decorrelation",
        choices=("klt", "cca", "none"),
        default="klt",
        help="transform before quantising (default klt)",
    )
    p.add_argument(
        "--max-components",
        type=int,
        default=None,
        help="keep at most this many components per UE/cell",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of all randomness")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _config(args):
    from plkg.keygen.pipeline import KeyGenConfig

    kwargs = {
        "quantizer": args.quantizer,
        "bits_per_sample": args.bits_per_sample,
        "guard": args.guard,
        "decorrelation": args.decorrelation,
        "max_components": args.max_components,
    }
    if args.security_margin_bits is not None:
        kwargs["security_margin_bits"] = args.security_margin_bits
    return KeyGenConfig(**kwargs)


def _power_w(args, default_dbm: float) -> float:
    from plkg import units

    if args.pa_w is not None:
        if not (np.isfinite(args.pa_w) and args.pa_w > 0):
            raise ValueError(f"--pa-w must be positive, got {args.pa_w}")
        return float(args.pa_w)
    dbm = default_dbm if args.pa_dbm is None else args.pa_dbm
    if not np.isfinite(dbm):
        raise ValueError(f"--pa-dbm must be finite, got {dbm}")
    return float(units.dbm_to_w(dbm))


def _strip(entry: dict) -> dict:
    """Drop per-block objects; NaN (no bits, e.g. no usable subchannel) becomes null."""
    return {
        k: (None if isinstance(v, float) and v != v else v)
        for k, v in entry.items()
        if k != "blocks"
    }


def run_keys(args) -> dict:
    """Run the key loop for the parsed arguments and return the JSON report."""
    from plkg import units

    config = _config(args)
    rng = np.random.default_rng(args.seed)
    if args.rounds < 8:
        raise ValueError(f"--rounds must be >= 8, got {args.rounds}")
    if args.system == "nearfield":
        from plkg.channels.nearfield_scenario import load_scenario
        from plkg.keygen.nearfield_keys import (
            DEFAULT_MIN_SUBCHANNEL_KR_BITS,
            nearfield_key_generation,
        )

        if args.n_ris_elements is not None:
            raise ValueError("--n-ris-elements applies to --system ris only")
        scenario = load_scenario(args.scenario or "fig6")
        pa_w = _power_w(args, 20.0)
        threshold = (
            DEFAULT_MIN_SUBCHANNEL_KR_BITS
            if args.min_subchannel_kr_bits is None
            else args.min_subchannel_kr_bits
        )
        out = nearfield_key_generation(
            scenario,
            pa_w,
            args.rounds,
            rng,
            method=args.method or "epa",
            config=config,
            block_rounds=args.block_rounds,
            min_subchannel_kr_bits=threshold,
        )
        out["users"] = [_strip(u) for u in out["users"]]
        out["scenario"] = scenario.name
        out["pa_dbm"] = float(units.w_to_dbm(pa_w))
    else:
        from plkg.channels.ris_scenario import load_ris_scenario
        from plkg.keygen.ris_keys import ris_key_generation

        if args.min_subchannel_kr_bits is not None:
            raise ValueError("--min-subchannel-kr-bits applies to --system nearfield only")
        overrides = {}
        if args.n_ris_elements is not None:
            overrides["n_ris_elements"] = args.n_ris_elements
        if args.pa_dbm is not None or args.pa_w is not None:
            overrides["bs_power_dbm"] = float(units.w_to_dbm(_power_w(args, 30.0)))
        scenario = load_ris_scenario(args.scenario or "two-cell", **overrides)
        out = ris_key_generation(
            scenario,
            args.rounds,
            rng,
            method=args.method or "proposed",
            config=config,
            block_rounds=args.block_rounds,
        )
        out["cells"] = [_strip(c) for c in out["cells"]]
        out["scenario"] = scenario.name
    out["config"] = config.to_dict()
    out["seed"] = args.seed
    out["rounds"] = args.rounds
    return out


def run(args) -> int:
    report = run_keys(args)
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False, default=_json_default))
        return 0
    rows = report.get("users") or report.get("cells")
    label = "UE" if report["system"] == "nearfield" else "cell"
    print(
        f"plkg keys: {report['system']} {report['scenario']} method {report.get('method_used', report['method'])}"
    )
    for i, r in enumerate(rows):
        print(
            f"  {label} {i}: analytic KR {r['analytic_kr_bits']:.3f} bits/round, final {r['final_bits_per_round']:.3f} bits/round "
            f"({r['final_key_bits']} bits), BDR {_fmt(r.get('bdr_before'))} -> {_fmt(r.get('bdr_after'))}, "
            f"disclosed {r.get('disclosed_bits', 0)}, agreement {r['key_agreement_ratio']:.4f}"
        )
    return 0


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
