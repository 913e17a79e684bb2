"""The three sources of ``plkg keys``: the near-field simulator, the RIS simulator, measurements.

* ``--system nearfield`` (:func:`_nearfield`): design the subchannels (Eq. (39) of the near-field
  paper), allocate power, probe and generate a key per UE;
* ``--system ris`` (:func:`_ris`): optimise the RIS (Problem (14) of the RIS paper), probe and
  generate a key per cell;
* ``--measurements FILE`` (:func:`_measured`): the pipeline on the user's paired measurements,
  one key per link.

Each returns the report's rows (one per UE / cell / link, numbered from 1) with its key files
kept for ``--out``.
"""

from __future__ import annotations

from plkg.commands._keys_files import _maybe_write
from plkg.commands._keys_options import _check_training_split, _power_w
from plkg.commands._keys_report import _strip


def _nearfield(args, config, rng, progress) -> dict:
    """``--system nearfield``: design, allocate, probe and generate a key per UE."""
    from plkg import units
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
    progress.start(scenario.n_users, args.rounds, args.block_rounds)
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
        progress=progress.tick,
    )
    out["key_files"] = _maybe_write(args, out["users"], "ue")
    out["users"] = [_strip(u) for u in out["users"]]
    out["scenario"] = scenario.name
    out["pa_dbm"] = float(units.w_to_dbm(pa_w))
    return out


def _ris(args, config, rng, progress) -> dict:
    """``--system ris``: optimise the RIS, probe and generate a key per cell."""
    from plkg import units
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
    _check_training_split(args, config, scenario.n_rf_chains)  # before the RIS optimisation
    progress.start(scenario.n_cells, args.rounds, args.block_rounds)
    out = ris_key_generation(
        scenario,
        args.rounds,
        rng,
        method=args.method or "proposed",
        config=config,
        block_rounds=args.block_rounds,
        progress=progress.tick,
    )
    for c in out["cells"]:
        kr = c["analytic_kr_bits"]
        c["efficiency"] = c["final_bits_per_round"] / kr if kr > 0 else float("nan")
    out["key_files"] = _maybe_write(args, out["cells"], "cell")
    out["cells"] = [_strip(c) for c in out["cells"]]
    out["scenario"] = scenario.name
    return out


def _measured(args, config, rng, progress=None) -> dict:
    """``--measurements FILE``: the pipeline on the user's paired measurements.

    The file's rounds are used and reported; a ``--rounds`` other than the file's is refused.
    ``progress`` (a :class:`_Progress`, optional) is started once the file's size is known.
    """
    from plkg.keygen.measurement_keys import load_measurements, measurement_key_generation

    for flag, value in (("--ccm", args.ccm), ("--n-ris-elements", args.n_ris_elements)):
        if value is not None:
            raise ValueError(f"{flag} does not apply with --measurements")
    data = load_measurements(args.measurements)
    if args.rounds not in (None, data["n_rounds"]):
        raise ValueError(
            f"--rounds {args.rounds} does not apply with --measurements: the file's "
            f"{data['n_rounds']} rounds are used"
        )
    tick = None
    if progress is not None:
        progress.start(data["alice"].shape[1], data["n_rounds"], args.block_rounds)
        tick = progress.tick
    out = measurement_key_generation(data, rng, config, args.block_rounds, tick)
    args.rounds = data["n_rounds"]  # run_keys reports args.rounds: the file's, not the default
    out["key_files"] = _maybe_write(args, out["users"], "link")
    out["users"] = [_strip(u) for u in out["users"]]
    out["scenario"] = str(args.measurements)
    return out


def _design_with_ccm(path, scenario):
    """Near-field design from a user covariance file (``ccm`` [K, N, N], `plkg scenario --export`).

    :func:`plkg.io.ccm_file.read_ccm` checks the file (shape, finite, Hermitian, positive
    semidefinite, no all-zero UE) before any design work.
    """
    from plkg.io.ccm_file import read_ccm
    from plkg.precoding.design_cache import design_for_scenario

    n = scenario.n_antennas
    ccm = read_ccm(path, expected_shape=(len(scenario.ue_distance_m), n, n), what="--ccm")
    return design_for_scenario(scenario, ccm=ccm)
