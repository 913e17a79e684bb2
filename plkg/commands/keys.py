"""``plkg keys --system nearfield|ris ... --json [--out DIR]``: simulate probing and generate keys.

Runs the full loop (precoders -> probing rounds -> per-component quantisation -> LDPC or
Cascade reconciliation -> Toeplitz privacy amplification) and prints, per UE / cell: final key
bits, final key bits per probing round next to the analytic KR of the configuration (Eq. (17)
of the near-field paper, Theorem 1 of the RIS paper) and their ratio, BDR before and after
reconciliation, bits disclosed, key agreement and residual mismatch (a UE without key bits is
reported as "no key", never as agreement). ``--out DIR`` writes ``ue<k>.txt`` / ``cell<k>.txt``
(Alice's final key bits, ASCII 0/1) and ``summary.json``.
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
        "--bits-per-sample",
        type=int,
        default=None,
        help="bits per real measurement (equiprobable); default: chosen per component from its "
        "correlation (plkg.keygen.adaptive_bits)",
    )
    p.add_argument(
        "--reconciliation",
        choices=("ldpc", "cascade"),
        default="ldpc",
        help="ldpc: one-way syndromes per bit plane with soft information (default); cascade",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="write each UE's / cell's final key bits (ASCII 0/1, Alice's side, as `plkg nist` "
        "reads them) and summary.json into DIR",
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
    p.add_argument(
        "--measurements",
        metavar="FILE",
        default=None,
        help="use paired measurements instead of the simulator: .npz or .mat with 'alice' and "
        "'bob' [n_rounds, n_components] or [n_rounds, n_users, n_components] (real or complex, "
        "row = one probing round), optional 'correlation' [(n_users,) n_components] (public "
        "|rho| of independent components) and 'analytic_kr_bits' [n_users]",
    )
    p.add_argument(
        "--ccm",
        metavar="FILE.npz",
        default=None,
        help="nearfield: design with this channel covariance (array 'ccm' [K, N, N] complex, the "
        "format `plkg scenario --export` writes) instead of the scenario's",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of all randomness")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _config(args):
    from plkg.keygen.pipeline import KeyGenConfig

    kwargs = {
        "quantizer": args.quantizer,
        "bits_per_sample": args.bits_per_sample,
        "reconciliation": args.reconciliation,
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


def _keys_of(entry: dict) -> np.ndarray:
    """Alice's final key bits of all blocks whose keys are identical, concatenated."""
    keys = [b.key_a for b in entry.get("blocks", []) if b.keys_agree]
    return np.concatenate(keys).astype(np.int8) if keys else np.zeros(0, dtype=np.int8)


def write_keys(out_dir, rows: list[dict], label: str) -> dict:
    """Write ``{label}{i}.txt`` (ASCII 0/1) per row and ``summary.json`` atomically into out_dir.

    Returns the mapping row index -> file name (rows without key bits get no file).
    """
    from pathlib import Path

    from plkg.data.atomic import write_text_atomic

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, got the file {out}")
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for i, row in enumerate(rows):
        bits = _keys_of(row)
        if bits.size == 0:
            continue
        name = f"{label}{i}.txt"  # fixed pattern: no user text in file names
        write_text_atomic(out / name, "".join("01"[int(v)] for v in bits) + "\n")
        files[i] = name
    return files


def run_keys(args) -> dict:
    """Run the key loop for the parsed arguments and return the JSON report."""
    from plkg import units

    config = _config(args)
    rng = np.random.default_rng(args.seed)
    if args.rounds < 8:
        raise ValueError(f"--rounds must be >= 8, got {args.rounds}")
    if args.measurements is not None:
        out = _measured(args, config, rng)
    elif args.system == "nearfield":
        from plkg.channels.nearfield_scenario import load_scenario
        from plkg.keygen.nearfield_keys import (
            DEFAULT_MIN_SUBCHANNEL_KR_BITS,
            nearfield_key_generation,
        )

        if args.n_ris_elements is not None:
            raise ValueError("--n-ris-elements applies to --system ris only")
        scenario = load_scenario(args.scenario or "fig6")
        design = _design_with_ccm(args.ccm, scenario) if args.ccm else None
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
            design=design,
        )
        out["key_files"] = _maybe_write(args, out["users"], "ue")
        out["users"] = [_strip(u) for u in out["users"]]
        out["scenario"] = scenario.name
        out["pa_dbm"] = float(units.w_to_dbm(pa_w))
    else:
        from plkg.channels.ris_scenario import load_ris_scenario
        from plkg.keygen.ris_keys import ris_key_generation

        if args.min_subchannel_kr_bits is not None:
            raise ValueError("--min-subchannel-kr-bits applies to --system nearfield only")
        if args.ccm is not None:
            raise ValueError("--ccm applies to --system nearfield only")
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
        for c in out["cells"]:
            kr = c["analytic_kr_bits"]
            c["efficiency"] = c["final_bits_per_round"] / kr if kr > 0 else float("nan")
        out["key_files"] = _maybe_write(args, out["cells"], "cell")
        out["cells"] = [_strip(c) for c in out["cells"]]
        out["scenario"] = scenario.name
    out["config"] = config.to_dict()
    out["seed"] = args.seed
    out["rounds"] = args.rounds
    if args.out is not None:
        from pathlib import Path

        from plkg.data.atomic import write_text_atomic

        text = json.dumps(out, indent=2, allow_nan=False, default=_json_default)
        write_text_atomic(Path(args.out) / "summary.json", text + "\n")
    return out


def _measured(args, config, rng) -> dict:
    """``--measurements FILE``: the pipeline on the user's paired measurements."""
    from plkg.keygen.measurement_keys import load_measurements, measurement_key_generation

    for flag, value in (("--ccm", args.ccm), ("--n-ris-elements", args.n_ris_elements)):
        if value is not None:
            raise ValueError(f"{flag} does not apply with --measurements")
    out = measurement_key_generation(
        load_measurements(args.measurements), rng, config, args.block_rounds
    )
    out["key_files"] = _maybe_write(args, out["users"], "link")
    out["users"] = [_strip(u) for u in out["users"]]
    out["scenario"] = str(args.measurements)
    return out


def _design_with_ccm(path, scenario):
    """Near-field design from a user covariance file (``ccm`` [K, N, N], `plkg scenario --export`)."""
    from pathlib import Path

    from plkg.precoding.block_diagonalization import design_for_scenario

    if not Path(path).is_file():
        raise ValueError(f"--ccm: no such file {path}")
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as f:
            ccm = np.asarray(f["ccm"]) if "ccm" in f.files else None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"--ccm: cannot read {path} as .npz ({exc})") from exc
    if ccm is None:
        raise ValueError(f"--ccm: {path} has no array 'ccm'")
    want = (len(scenario.ue_distance_m), scenario.n_antennas, scenario.n_antennas)
    if ccm.shape != want:
        raise ValueError(
            f"--ccm: 'ccm' must have shape {list(want)} for this scenario, got {list(ccm.shape)}"
        )
    if not np.all(np.isfinite(ccm)):
        raise ValueError("--ccm: 'ccm' contains NaN or infinite values")
    return design_for_scenario(scenario, ccm=ccm.astype(np.complex128))


def _maybe_write(args, rows, label):
    if args.out is None:
        return None
    return {str(k): v for k, v in write_keys(args.out, rows, label).items()}


def run(args) -> int:
    report = run_keys(args)
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False, default=_json_default))
        return 0
    rows = report.get("users") or report.get("cells")
    label = {"nearfield": "UE", "ris": "cell"}.get(report["system"], "link")
    print(
        f"plkg keys: {report['system']} {report['scenario']} method {report.get('method_used', report.get('method'))}"
    )
    for i, r in enumerate(rows):
        print(
            f"  {label} {i}: analytic KR {_fmt(r.get('analytic_kr_bits'), '.3f')} bits/round, final {r['final_bits_per_round']:.3f} bits/round "
            f"({r['final_key_bits']} bits, {_fmt(r.get('efficiency'), '.1%')} of KR), "
            f"BDR {_fmt(r.get('bdr_before'))} -> {_fmt(r.get('bdr_after'))}, "
            f"disclosed {r.get('disclosed_bits', 0)}, {_agreement(r)}"
        )
    if report.get("key_files") is not None:
        print(f"  key bits and summary.json written to {args.out}")
    return 0


def _agreement(row: dict) -> str:
    """Agreement only where there is a key: a 0-bit key is never reported as agreement."""
    status = row.get("status", "ok")
    if status == "no-key" or row.get("key_agreement_ratio") is None:
        return f"no key: {row['note']}" if row.get("note") else "no key"
    text = (
        f"agreement {row['key_agreement_ratio']:.4f}, "
        f"residual mismatch {row.get('residual_mismatch_bits', 0)} bits"
    )
    return text if status == "ok" else f"{text} [{status}]"


def _fmt(value, spec: str = ".4f") -> str:
    return "n/a" if value is None or value != value else format(value, spec)


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
