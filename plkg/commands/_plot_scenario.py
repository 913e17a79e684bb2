"""``plkg plot --scenario``: sum and minimum KR against P_a of a scenario for chosen methods.

The key rates are I_k of Eq. (17) of the near-field paper, on the scenario's design (through the
design cache) with the inference layer's allocators; nothing is trained. A learned method uses
the committed checkpoint (trained on ``fig6``) or the one of ``--checkpoint METHOD=PATH``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from plkg.commands._plot_output import write_output
from plkg.errors import PlkgInputError

DEFAULT_SCENARIO_METHODS = ("epa", "wfpa", "wfpakf", "exact-maxmin")


def _checkpoints(values, methods) -> dict:
    from plkg.inference.methods import METHOD_OPTIONS, check_method

    out = {}
    for item in values:
        method, sep, path = str(item).partition("=")
        if not sep or not method or not path:
            raise PlkgInputError(f"--checkpoint {item!r}: expected METHOD=PATH")
        check_method(method)
        if "checkpoint" not in METHOD_OPTIONS[method]:
            raise PlkgInputError(f"--checkpoint {item!r}: method {method!r} takes no checkpoint")
        if method not in methods:
            raise PlkgInputError(f"--checkpoint {item!r}: {method!r} is not one of --methods")
        if not Path(path).is_file():
            raise PlkgInputError(f"--checkpoint {item!r}: no such file {path!r}")
        out[method] = path
    return out


def run_scenario(args) -> list[Path]:
    from plkg import units
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.commands._nearfield_args import design_from_args, design_is_cached
    from plkg.inference.methods import check_method
    from plkg.progress import progress_bar, step

    for option in ("x", "y", "by"):
        if getattr(args, option) is not None:
            raise PlkgInputError(f"--{option} applies to TABLE, not to --scenario")
    if args.where:
        raise PlkgInputError("--where applies to TABLE, not to --scenario")
    methods = list(dict.fromkeys(args.methods or DEFAULT_SCENARIO_METHODS))
    for m in methods:
        check_method(m)
    checkpoints = _checkpoints(args.checkpoint, methods)
    if args.points < 1 or args.points > 1000:
        raise PlkgInputError(f"--points must be an integer in [1, 1000], got {args.points}")
    lo, hi = args.pa_dbm
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise PlkgInputError(f"--pa-dbm {lo:g} {hi:g}: expected finite LO <= HI")
    scenario = load_scenario(args.scenario)
    if not design_is_cached(args, scenario):
        step(
            f"[plot] design of scenario {scenario.name} (N = {scenario.n_antennas}, "
            f"K = {scenario.n_users}): CCMs and subchannels ..."
        )
    design = design_from_args(args, scenario)
    pa_dbm = np.linspace(lo, hi, args.points) if args.points > 1 else np.array([lo])
    rows = []
    with progress_bar(len(methods) * pa_dbm.size, desc="plot", unit="point") as bar:
        for method in methods:
            options = {"scenario": scenario, "backend": "numpy"}
            if method in checkpoints:
                options["checkpoint"] = checkpoints[method]
            for p in pa_dbm:
                rows.append(_evaluate(method, design, float(units.dbm_to_w(p)), float(p), options))
                bar.update(1, note=method)
    k = design.n_users
    header = [
        "method",
        "pa_dbm",
        "sum_kr_bits",
        "min_kr_bits",
        *[f"kr_ue{i + 1}_bits" for i in range(k)],
        "status",
    ]
    title = args.title or _scenario_title(args.scenario, scenario)
    return write_output(
        args, header, rows, "pa_dbm", ["sum_kr_bits", "min_kr_bits"], ["method"], title
    )


def _evaluate(method, design, pa_w, pa_dbm, options) -> list:
    from plkg.inference.methods import METHOD_OPTIONS, allocate
    from plkg.keyrate.evaluate import evaluate_allocation

    try:
        result = allocate(method, design, pa_w, **options)
    except (PlkgInputError, ValueError) as exc:
        if "checkpoint" in METHOD_OPTIONS[method] and "checkpoint" not in options:
            raise PlkgInputError(
                f"--methods {method}: {str(exc).splitlines()[0]}; give "
                f"--checkpoint {method}=PATH trained on this scenario (plkg train)"
            ) from exc
        raise
    report = evaluate_allocation(design, result.x_w)
    return [
        method,
        pa_dbm,
        report.sum_kr_bits,
        report.min_kr_bits,
        *[float(v) for v in report.kr_bits],
        str(result.status),
    ]


def _scenario_title(given: str, scenario) -> str:
    """The scenario actually used: its name, and the YAML file it came from."""
    where = f" ({Path(given).name})" if given.endswith((".yaml", ".yml")) else ""
    return (
        f"KR vs P_a, scenario {scenario.name}{where}: N = {scenario.n_antennas}, "
        f"K = {scenario.n_users}"
    )
