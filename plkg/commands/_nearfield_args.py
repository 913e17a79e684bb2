"""Arguments shared by the near-field sub-commands (``--scenario`` and friends)."""

from __future__ import annotations

from plkg.channels.nearfield_scenario import available_scenarios, load_scenario


def add_scenario_argument(parser) -> None:
    parser.add_argument(
        "--scenario",
        default="fig6",
        help=f"config name ({', '.join(available_scenarios()) or 'fig6'}) or path of a YAML file (default fig6)",
    )


def scenario_from_args(args):
    return load_scenario(args.scenario)


def add_cache_argument(parser) -> None:
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute the CCM and design instead of using the design cache "
        "($PLKG_CACHE_DIR, default the user cache folder)",
    )


def design_from_args(args, scenario):
    """The scenario's subchannel design, through the design cache unless ``--no-cache``."""
    from plkg.precoding.block_diagonalization import design_for_scenario

    return design_for_scenario(scenario, cache=False if getattr(args, "no_cache", False) else None)
