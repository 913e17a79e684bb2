"""Arguments shared by the near-field sub-commands (``--scenario`` and friends)."""

from __future__ import annotations

from plkg.channels.nearfield_scenario import available_scenarios, load_scenario

# Peak memory of a fresh CCM + design, in complex128 N x N matrices: about 10 per UE (the CCM,
# its eigen-decomposition and the null-space projections of Eq. (16)) plus a few shared ones.
# Measured at N = 512 and 1024 with K = 4: 42-43 matrices; the estimate is (10 K + 8).
DESIGN_MATRICES_PER_UE = 10
DESIGN_MATRICES_SHARED = 8


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


def add_force_argument(parser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="run even when the memory estimate exceeds the memory this machine has available "
        "(default: refuse before any work)",
    )


def design_bytes(scenario) -> float:
    """Estimated peak memory (bytes) of computing the scenario's CCM and design afresh."""
    n, k = scenario.n_antennas, scenario.n_users
    return float(DESIGN_MATRICES_PER_UE * k + DESIGN_MATRICES_SHARED) * n * n * 16.0


def design_is_cached(args, scenario) -> bool:
    """True when the design cache holds this scenario's design (nothing large to compute)."""
    from plkg.precoding.design_cache import cache_enabled, entry_path

    if getattr(args, "no_cache", False) or not cache_enabled(None):
        return False
    try:
        return entry_path(scenario).is_file()
    except OSError:
        return False


def check_design_memory(args, scenario, *, fresh: bool = False) -> None:
    """Refuse (unless ``--force``) a scenario whose fresh design would not fit in memory.

    A cached design is not sized (nothing large to compute), unless ``fresh``: the caller
    computes the design afresh whatever the cache holds (``plkg demo``).
    """
    from plkg.machine import check_memory

    if getattr(args, "force", False) or (not fresh and design_is_cached(args, scenario)):
        return
    check_memory(
        design_bytes(scenario),
        f"--scenario {args.scenario} (N = {scenario.n_antennas} antennas, "
        f"K = {scenario.n_users} UEs: CCMs and design)",
        "--force",
    )


def design_from_args(args, scenario):
    """The scenario's subchannel design, through the design cache unless ``--no-cache``.

    A design that is not cached is first sized (:func:`check_design_memory`).
    """
    from plkg.precoding.design_cache import design_for_scenario

    check_design_memory(args, scenario)
    return design_for_scenario(scenario, cache=False if getattr(args, "no_cache", False) else None)
