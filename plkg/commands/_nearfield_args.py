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
