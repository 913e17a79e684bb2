"""``plkg ris``: solve the RIS-aided multi-cell key-rate problem (RIS paper, Section IV).

Runs the proposed AO (Algorithms 1 + 2) and the No-RIS / RandPhase baselines on a two-cell
(Fig. 3) or four-cell (Fig. 11) scenario or a ``configs/ris-*.yaml`` file and prints per-method
``wskr_bits`` (Theorem 1), ``ub_bits`` (Theorem 2), per-cell rates, AO iterations and the
objective history.
"""

from __future__ import annotations

import json
import time

import numpy as np


def register(sub) -> None:
    p = sub.add_parser("ris", help="RIS-aided multi-cell key rates: AO (Alg. 1 + 2) and baselines")
    p.add_argument(
        "--scenario",
        default="two-cell",
        help="two-cell | four-cell | configs name (e.g. ris-fig6) | YAML path with 'system: ris'",
    )
    p.add_argument("--n-ris-elements", type=int, help="N, elements per RIS")
    p.add_argument("--antennas", type=int, help="M, BS antennas")
    p.add_argument("--rf-chains", type=int, help="M_e, RF chains (<= M)")
    p.add_argument("--bs-power-dbm", type=float, help="P_A in dBm")
    p.add_argument("--ut-power-dbm", type=float, help="UT pilot power in dBm")
    p.add_argument(
        "--ris-x", type=float, nargs="+", help="RIS x-coordinates in m (y = 0 unless --ris-y)"
    )
    p.add_argument("--ris-y", type=float, nargs="+", help="RIS y-coordinates in m")
    p.add_argument(
        "--ut-x", type=float, help="two-cell only: UT 1 at x_u, UT 2 at 600 - x_u (Fig. 10)"
    )
    p.add_argument(
        "--methods",
        default="proposed,no-ris,rand-phase",
        help="comma-separated subset of proposed,no-ris,rand-phase",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the initial/random phases")
    p.add_argument("--tol", type=float, default=1e-4, help="AO relative tolerance")
    p.add_argument("--max-iter", type=int, default=100, help="maximum AO iterations")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    p.add_argument(
        "--starts",
        type=int,
        default=1,
        help="random starts of the proposed AO, run as one batch; the best is reported",
    )
    p.add_argument("--json", action="store_true", help="print JSON to stdout")
    p.set_defaults(func=run)


def _scenario(args):
    from plkg.channels.ris_scenario import load_ris_scenario

    overrides = {}
    if args.n_ris_elements is not None:
        overrides["n_ris_elements"] = args.n_ris_elements
    if args.antennas is not None:
        overrides["n_antennas"] = args.antennas
        if args.rf_chains is None:
            overrides["n_rf_chains"] = args.antennas
    if args.rf_chains is not None:
        overrides["n_rf_chains"] = args.rf_chains
    if args.bs_power_dbm is not None:
        overrides["bs_power_dbm"] = args.bs_power_dbm
    if args.ut_power_dbm is not None:
        overrides["ut_power_dbm"] = args.ut_power_dbm
    if args.ris_x is not None:
        ys = args.ris_y if args.ris_y is not None else [0.0] * len(args.ris_x)
        if len(ys) != len(args.ris_x):
            raise ValueError("--ris-x and --ris-y must have the same length")
        overrides["ris_xy_m"] = tuple(zip(args.ris_x, ys, strict=True))
    elif args.ris_y is not None:
        raise ValueError("--ris-y needs --ris-x")
    scenario = load_ris_scenario(args.scenario, **overrides)
    if args.ut_x is not None:
        if scenario.n_cells != 2:
            raise ValueError("--ut-x applies to the two-cell layout only")
        scenario = scenario.replace(ut_xy_m=((args.ut_x, 0.0), (600.0 - args.ut_x, 0.0)))
    return scenario


def run(args) -> int:
    import torch

    from plkg.channels.ris_multicell import build_channel_model
    from plkg.solvers.ris_alternating import METHODS, solve_ris, solve_ris_multistart

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"unknown method(s) {bad}; choose from {', '.join(METHODS)}")
    try:
        device = torch.device(args.device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"--device {args.device!r} is not a torch device (cpu, cuda, cuda:N)"
        ) from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device!r} requested but CUDA is not available")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {args.device!r}: only cpu and cuda are supported")
    if not (np.isfinite(args.tol) and 0 < args.tol < 1):
        raise ValueError(f"--tol must lie in (0, 1), got {args.tol}")
    if args.max_iter < 1:
        raise ValueError(f"--max-iter must be a positive integer, got {args.max_iter}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.starts < 1:
        raise ValueError(f"--starts must be a positive integer, got {args.starts}")
    scenario = _scenario(args)
    model = build_channel_model(scenario)
    out = {"scenario": scenario.to_dict(), "methods": {}}
    for i, method in enumerate(methods):
        rng = np.random.default_rng([args.seed, i])
        t0 = time.perf_counter()
        options = {"rng": rng, "device": device, "tol": args.tol, "max_iter": args.max_iter}
        if method == "proposed" and args.starts > 1:
            multi = solve_ris_multistart(model, n_starts=args.starts, **options)
            res = multi.best
            extra = {
                "starts": args.starts,
                "best_start": multi.best_index,
                "wskr_bits_per_start": [round(float(v), 6) for v in multi.objectives],
            }
        else:
            res, extra = solve_ris(model, method, **options), {}
        entry = {**res.to_dict(), **extra}
        entry["seconds"] = round(time.perf_counter() - t0, 3)
        out["methods"][method] = entry
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"scenario {scenario.name}: K={scenario.n_cells} L={scenario.n_ris} N={scenario.n_ris_elements} "
            f"M={scenario.n_antennas} M_e={scenario.n_rf_chains} P_A={scenario.bs_power_dbm} dBm"
        )
        for method, e in out["methods"].items():
            cells = ", ".join(f"{x:.3f}" for x in e["kgr_bits_per_cell"])
            print(
                f"  {method:10s} WSKR {e['wskr_bits']:.3f} bits  UB {e['ub_bits']:.3f} bits  "
                f"cells [{cells}]  iterations {e['iterations']} ({e['status']})  {e['seconds']} s"
                + (f"  best of {e['starts']} starts" if "starts" in e else "")
            )
    return 0
