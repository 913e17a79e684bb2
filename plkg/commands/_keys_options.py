"""From ``plkg keys`` options to the key pipeline's settings, checked by option name.

:func:`_config` builds the :class:`~plkg.keygen.config.KeyGenConfig` of the options (eps_sec,
eps_cor, margin 2 log2(1/eps_sec), basis source, training fraction), :func:`_power_w` the BS
power budget in W, and :func:`_check_training_split` refuses a block too short for its training
rounds before any work; every message names the option the user typed.
"""

from __future__ import annotations

import numpy as np


def _config(args):
    from plkg.keygen.config import KeyGenConfig

    kwargs = {
        "quantizer": args.quantizer,
        "bits_per_sample": args.bits_per_sample,
        "reconciliation": args.reconciliation,
        "guard": args.guard,
        "decorrelation": args.decorrelation,
        "max_components": args.max_components,
    }
    kwargs.update(_security_options(args))
    return KeyGenConfig(**kwargs)


def _security_options(args) -> dict:
    """KeyGenConfig keywords of --eps-sec, --eps-cor, --security-margin-bits, --basis-from,
    --training-fraction, checked here so that every message names the option."""
    from plkg.keygen.privacy_amplification import check_epsilon as open_unit  # (0, 1)

    out = {"basis_from": args.basis_from}
    if args.eps_sec is not None and args.security_margin_bits is not None:
        raise ValueError(
            "--eps-sec and --security-margin-bits exclude each other (the margin is "
            "2 log2(1/eps_sec)); give one"
        )
    if args.eps_sec is not None:
        out["eps_sec"] = open_unit(args.eps_sec, "--eps-sec")
    if args.eps_cor is not None:
        out["eps_cor"] = open_unit(args.eps_cor, "--eps-cor")
    margin = args.security_margin_bits
    if margin is not None:
        if not (np.isfinite(margin) and margin >= 0):
            raise ValueError(f"--security-margin-bits must be a finite number >= 0, got {margin!r}")
        out["security_margin_bits"] = float(margin)
    if args.training_fraction is not None:
        if args.basis_from != "training":
            raise ValueError("--training-fraction applies to --basis-from training only")
        out["training_fraction"] = open_unit(args.training_fraction, "--training-fraction")
    return out


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


def _check_training_split(args, config, n_components: int) -> None:
    """The training rounds of a block (``n_components`` + 1 at least) and 4 key rounds must fit
    in ``--block-rounds`` (or ``--rounds``): refused before any work, naming the options."""
    from plkg.errors import PlkgInputError
    from plkg.keygen.alignment import training_round_count

    option = "--rounds" if args.block_rounds is None else "--block-rounds"
    block = args.rounds if args.block_rounds is None else args.block_rounds
    try:
        training_round_count(
            block,
            config,
            None,
            n_components,
            block_name=option,
            fraction_name="--training-fraction",
        )
    except ValueError as exc:
        raise PlkgInputError(f"{option} {block}: {exc}") from exc
