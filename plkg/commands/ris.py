"""``plkg ris``: solve the RIS-aided multi-cell key-rate problem (RIS paper, Section IV).

Runs the proposed AO (Algorithms 1 + 2) and the No-RIS / RandPhase baselines on a two-cell
(Fig. 3) or four-cell (Fig. 11) scenario or a ``configs/ris-*.yaml`` file and prints per-method
``wskr_bits`` (Theorem 1), ``ub_bits`` (Theorem 2), per-cell rates, AO iterations and the
objective history. Cells are numbered from 1: the JSON's ``cell`` list [1, ..., K] names the
entries of the per-cell lists (``kgr_bits_per_cell`` ...), which are in that order.

``--starts``, ``--tol`` and ``--max-iter`` set the proposed AO and are refused when ``--methods``
does not include ``proposed``; ``--seed`` is refused when only ``no-ris`` runs (nothing random).
The memory of the run (the channel model and the batched multistart, :func:`ris_memory_bytes`)
is estimated and checked before any work; ``--force`` runs anyway.
"""

from __future__ import annotations

import time

import numpy as np

from plkg.commands._applies import check_applies
from plkg.io.json_text import dumps_strict

DEFAULT_TOL = 1e-4
DEFAULT_MAX_ITER = 100
DEFAULT_SEED = 0
# Peak memory model (complex128 elements) of the batched AO, fitted to measured peaks
# (K = 2, M = 4..12, NL = 30..200; K = 4, M = 4): per start about 4 K (M M_e)^2 (the
# KKT precoder step's [K, M M_e, M M_e] systems), 3 K^2 M NL (the phase gradient), 8 K^2 M^2
# (cascaded covariances) plus ~16 KiB of Python objects; the channel model about 4 K M NL.
PER_START_OVERHEAD_BYTES = 16 * 1024


def register(sub) -> None:
    p = sub.add_parser(
        "ris",
        help="RIS-aided multi-cell key rates: AO (Alg. 1 + 2) and baselines",
        epilog="cells are numbered from 1: per-cell lists (kgr_bits_per_cell ...) are in the "
        "order of the JSON's 'cell' list [1, ..., K].\n\nexample:\n  "
        "plkg ris --scenario two-cell --json",
    )
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
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the initial/random phases (proposed, rand-phase; default 0)",
    )
    p.add_argument(
        "--tol", type=float, default=None, help="proposed AO: relative tolerance (default 1e-4)"
    )
    p.add_argument(
        "--max-iter", type=int, default=None, help="proposed AO: maximum iterations (default 100)"
    )
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    p.add_argument(
        "--starts",
        type=int,
        default=None,
        help="proposed AO: random starts, run as one batch; the best is reported (default 1)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run even when the memory estimate exceeds the available memory (default: refuse)",
    )
    p.add_argument("--json", action="store_true", help="print (strict) JSON to stdout")
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


def check_method_options(args, methods: list[str]) -> None:
    """Refuse options no selected method reads; then fill in their defaults."""
    runs = "proposed" if "proposed" in methods else ",".join(methods)
    for option in ("--starts", "--tol", "--max-iter"):
        value = getattr(args, option[2:].replace("-", "_"))
        check_applies(option, value, "--methods", runs, ("proposed",))
    random = [m for m in methods if m != "no-ris"]
    check_applies("--seed", args.seed, "--methods", random[0] if random else runs,
                  ("proposed", "rand-phase"))  # fmt: skip
    for dest, default in (("starts", 1), ("tol", DEFAULT_TOL), ("max_iter", DEFAULT_MAX_ITER),
                          ("seed", DEFAULT_SEED)):  # fmt: skip
        if getattr(args, dest) is None:
            setattr(args, dest, default)


def ris_memory_bytes(scenario, starts: int) -> float:
    """Estimated peak memory (bytes) of a run with ``starts`` batched AO starts.

    Parameters
    ----------
    scenario : RISScenario
        K cells, L RIS of N elements (NL = L N), M antennas, M_e RF chains.
    starts : int
        B, the batch of the proposed AO (1 for the baselines).
    """
    k, m, me = scenario.n_cells, scenario.n_antennas, scenario.n_rf_chains
    nl = scenario.n_ris * scenario.n_ris_elements
    model = 16.0 * 4 * k * m * nl
    per_start = 16.0 * (4 * k * (m * me) ** 2 + 3 * k * k * m * nl + 8 * k * k * m * m)
    return model + float(starts) * (per_start + PER_START_OVERHEAD_BYTES)


def check_ris_memory(args, scenario, methods: list[str]) -> None:
    """Refuse (unless ``--force``) a run whose memory estimate exceeds the available memory."""
    from plkg.machine import check_memory

    if args.force:
        return
    starts = args.starts if "proposed" in methods else 1
    sizes = (
        f"K = {scenario.n_cells} cells, {scenario.n_ris} RIS x {scenario.n_ris_elements} "
        f"elements, M = {scenario.n_antennas} antennas"
    )
    if starts > 1:
        what = f"--starts {starts} ({sizes})"
    elif args.n_ris_elements is not None:
        what = f"--n-ris-elements {args.n_ris_elements} ({sizes})"
    else:
        what = f"--scenario {args.scenario} ({sizes})"
    check_memory(ris_memory_bytes(scenario, starts), what, "--force")


def run(args) -> int:
    import torch

    from plkg.channels.ris_multicell import build_channel_model
    from plkg.solvers.options import check_max_iter, check_rtol
    from plkg.solvers.ris_alternating import (
        METHODS,
        check_device,
        solve_ris,
        solve_ris_multistart,
    )

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"unknown method(s) {bad}; choose from {', '.join(METHODS)}")
    check_method_options(args, methods)
    device = torch.device(check_device(args.device, "--device"))
    # the one definition of these domains, shared with the API and sweep specs
    check_rtol(args.tol, "--tol")
    check_max_iter(args.max_iter, "--max-iter")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.starts < 1:
        raise ValueError(f"--starts must be a positive integer, got {args.starts}")
    scenario = _scenario(args)
    check_ris_memory(args, scenario, methods)
    model = build_channel_model(scenario)
    # per-cell lists of every method are in the order of "cell" (cells numbered from 1)
    out = {
        "scenario": scenario.to_dict(),
        "cell": list(range(1, scenario.n_cells + 1)),
        "methods": {},
    }
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
        print(dumps_strict(out, indent=2))
    else:
        print(
            f"scenario {scenario.name}: K={scenario.n_cells} L={scenario.n_ris} N={scenario.n_ris_elements} "
            f"M={scenario.n_antennas} M_e={scenario.n_rf_chains} P_A={scenario.bs_power_dbm} dBm"
        )
        for method, e in out["methods"].items():
            cells = ", ".join(f"{x:.3f}" for x in e["kgr_bits_per_cell"])
            print(
                f"  {method:10s} WSKR {e['wskr_bits']:.3f} bits  UB {e['ub_bits']:.3f} bits  "
                f"cells 1..{scenario.n_cells} [{cells}]  iterations {e['iterations']} ({e['status']})  {e['seconds']} s"
                + (f"  best of {e['starts']} starts" if "starts" in e else "")
            )
    return 0
