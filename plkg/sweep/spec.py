"""Sweep specification: parse and validate the YAML, expand it into tasks.

A spec (``docs/sweeps.md``)::

    system: nearfield          # or ris
    base: fig6                 # a config name or a YAML path (relative: to the spec's folder)
    seed: 0                    # optional: enters every task's seed
    grid:                      # cartesian product; any scenario field, plus pa_dbm
      n_antennas: [128, 256]
      pa_dbm: [0, 10, 20]
    random:                    # optional: n seeded draws, uniform in [low, high] per field
      n: 20
      seed: 1
      ue_distance_m: {low: 10, high: 100}
    methods:                   # the names of plkg keyrate --method / plkg ris --methods
      - wfpa
      - exact-maxmin
      - {method: fnnpa, checkpoint: my_checkpoints/kglm.safetensors}   # relative: to the spec
    options: {}                # optional, RIS only: solve_ris settings, rand_phase_draws

A field name may index one entry of a per-UE / per-cell tuple: ``ue_distance_m[3]`` sweeps the
distance of UE 4 only. A random draw of a whole tuple field draws every entry.

The whole spec is validated by :func:`load_spec` before anything runs or is written: every key,
every grid axis (one type per axis, the type of its scenario field; every value valid for the
field), every random range, method and option (the domains of ``plkg ris`` / ``plkg keyrate``,
:mod:`plkg.solvers.options`), and the size of the sweep (:data:`~plkg.sweep.domains.MAX_TASKS`,
:data:`~plkg.sweep.domains.MAX_ROWS`). Every refusal is one :class:`plkg.errors.PlkgInputError`
line naming the spec, the key and the value. A checkpoint is loaded by its safe reader and must
suit its method and every task's scenario (:func:`plkg.inference.methods.check_checkpoint`); its
SHA-256 enters the spec record.

One *task* is one scenario (one point of the scenario-field grid times one random draw): its CCM
and subchannel design (near-field) or channel statistics (RIS) are computed once and shared by
every P_a and method of that scenario. A task is a plain dict, so it runs the same serially, on a
local cluster, on a remote cluster and in a test. Its seed is a hash of the spec seed, the base
scenario and the task's parameters: the same spec gives the same tasks on 1 worker and on 100.
A task's id hashes its scenario point, not its list of (P_a, method) evaluations, so a spec that
adds P_a values or methods keeps the ids of the existing points
(:func:`plkg.sweep.extension.extension_problem`).

This module reads the YAML and checks its keys, base scenario, grid and random blocks; the other
parts are :mod:`plkg.sweep.spec_model` (:class:`~plkg.sweep.spec_model.SweepSpec`),
:mod:`plkg.sweep.values` (swept columns and value kinds), :mod:`plkg.sweep.spec_methods` (methods,
checkpoints, RIS options), :mod:`plkg.sweep.domains` (size and domains),
:mod:`plkg.sweep.expansion` (tasks and seeds) and :mod:`plkg.sweep.extension` (which spec changes
extend a table). Their public names are importable from here as well.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

from plkg.errors import PlkgInputError
from plkg.sweep.domains import (
    DOMAIN_SEARCH_LIMIT,
    MAX_ROWS,
    MAX_TASKS,
    _check_domains,
    _check_size,
    scenario_error,
)
from plkg.sweep.expansion import apply_params, expand
from plkg.sweep.extension import extension_problem
from plkg.sweep.seeds import derive_seed
from plkg.sweep.spec_methods import (
    METHOD_KEYS,
    OTHER_NAMES,
    RIS_METHODS,
    RIS_OPTIONS,
    _methods,
    _options,
    _with_checkpoints,
)
from plkg.sweep.spec_model import TASK_IDS, SweepSpec
from plkg.sweep.values import (
    _axis,
    _base_value,
    _check_overlaps,
    _check_power_dbm,
    _column_field,
    _column_kind,
    _count,
    _kind_of,
    _message,
    _number,
)

__all__ = [
    "DOMAIN_SEARCH_LIMIT",
    "MAX_ROWS",
    "MAX_TASKS",
    "METHOD_KEYS",
    "OTHER_NAMES",
    "RIS_METHODS",
    "RIS_OPTIONS",
    "SYSTEMS",
    "TASK_IDS",
    "TOP_LEVEL_KEYS",
    "SweepSpec",
    "apply_params",
    "derive_seed",
    "expand",
    "extension_problem",
    "load_spec",
    "scenario_error",
]

SYSTEMS = ("nearfield", "ris")
TOP_LEVEL_KEYS = {"system", "base", "seed", "grid", "random", "methods", "options", "description"}


# ----------------------------------------------------------------------------- parsing
def load_spec(path_or_mapping) -> SweepSpec:
    """Read a spec from a YAML path (or an already parsed mapping) and validate all of it.

    A relative ``base`` path is looked up next to the spec file first, then in the working folder,
    so a spec and its scenario file can be run from any folder.

    Raises
    ------
    PlkgInputError
        One line naming the spec, the bad key and its value (also: not UTF-8, malformed YAML, a key
        given twice, not a mapping, too many tasks).
    FileNotFoundError
        The spec file does not exist.
    """
    if isinstance(path_or_mapping, dict):
        data = copy.deepcopy(path_or_mapping)
        where, folder = "sweep spec", None
    else:
        from plkg.io.yaml_file import read_yaml

        path = Path(path_or_mapping)
        if not str(path_or_mapping).strip():
            raise PlkgInputError(f"sweep spec needs a file name, got {str(path_or_mapping)!r}")
        data = read_yaml(path, what="sweep spec")
        where, folder = f"sweep spec {str(path)!r}", path.parent
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise PlkgInputError(
            f"{where} must hold a mapping (system, base, grid, methods), got {got}"
        )
    _check_top_level(data, where)
    system = data.get("system")
    if system not in SYSTEMS:
        raise PlkgInputError(f"{where}: 'system' must be 'nearfield' or 'ris', got {system!r}")
    if "base" not in data:
        raise PlkgInputError(f"{where}: 'base' (a config name or a YAML path) is required")
    base = data["base"]
    if not isinstance(base, str) or not base.strip():
        raise PlkgInputError(f"{where}: 'base' must be a config name or a YAML path, got {base!r}")
    base_scenario = _base_scenario(system, base, folder, where)
    seed = _count(data.get("seed", 0), f"{where}: seed", low=0)
    grid, kinds = _grid(data.get("grid", {}), base_scenario, system, where)
    random = _random(data.get("random"), base_scenario, system, where, kinds)
    for column in grid:
        if column in random["ranges"]:
            raise PlkgInputError(f"{where}: {column!r} is both in grid and random")
    _check_overlaps(list(grid) + list(random["ranges"]), where)
    methods, checkpoint_paths = _methods(data.get("methods"), system, where, folder)
    options = _options(data.get("options", {}), system, where)
    if system == "nearfield" and "pa_dbm" not in grid and "pa_dbm" not in random["ranges"]:
        raise PlkgInputError(
            f"{where}: a nearfield sweep needs pa_dbm (P_a in dBm) in grid or random"
        )
    spec = SweepSpec(system, base, base_scenario, seed, grid, random, methods, options, kinds)
    _check_size(spec, where)
    _check_domains(spec, where)
    if checkpoint_paths:
        spec = _with_checkpoints(spec, checkpoint_paths, where)
    return spec


def _check_top_level(data: dict, where: str) -> None:
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise PlkgInputError(f"{where}: keys must be names, got {bad[0]!r}")
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise PlkgInputError(
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(TOP_LEVEL_KEYS))}"
        )


def _base_path(base: str, folder: Path | None) -> str:
    """A relative YAML path is taken next to the spec file when it exists there."""
    path = Path(base)
    if folder is not None and not path.is_absolute() and path.suffix in (".yaml", ".yml"):
        beside = folder / path
        if beside.is_file():
            return str(beside)
    return base


def _base_scenario(system: str, base: str, folder: Path | None, where: str) -> dict:
    name = _base_path(base, folder)
    try:
        if system == "nearfield":
            from plkg.channels.nearfield_scenario import load_scenario

            return load_scenario(name).to_dict()
        from plkg.channels.ris_scenario import load_ris_scenario

        return load_ris_scenario(name).to_dict()
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise PlkgInputError(f"{where}: base {base!r}: {_message(exc)}") from exc


def _grid(grid, base: dict, system: str, where: str) -> tuple[dict, dict]:
    if grid is None:
        grid = {}
    if not isinstance(grid, dict):
        raise PlkgInputError(f"{where}: 'grid' must map a field to a list of values")
    out, kinds = {}, {}
    for column, values in grid.items():
        if not isinstance(column, str):
            raise PlkgInputError(f"{where}: grid keys must be field names, got {column!r}")
        if column != "pa_dbm":
            _column_field(column, base, system, where)
        if not isinstance(values, list) or not values:
            raise PlkgInputError(
                f"{where}: grid {column!r} must be a non-empty list of values, got {values!r}"
            )
        kind, nullable = _column_kind(column, base, values)
        out[column] = _axis(column, values, kind, nullable, where)
        kinds[column] = kind
        if column == "pa_dbm":
            for value in out[column]:
                _check_power_dbm(value, f"{where}: grid pa_dbm")
    return out, kinds


def _random(block, base: dict, system: str, where: str, kinds: dict) -> dict:
    if block is None:
        return {"n": 0, "seed": 0, "ranges": {}}
    if not isinstance(block, dict):
        raise PlkgInputError(
            f"{where}: 'random' must be a mapping (n, seed, field: {{low, high}}), got {block!r}"
        )
    block = dict(block)
    n = _count(block.pop("n", None), f"{where}: random.n", low=1)
    seed = _count(block.pop("seed", 0), f"{where}: random.seed", low=0)
    ranges = {}
    for column, bounds in block.items():
        if not isinstance(column, str):
            raise PlkgInputError(f"{where}: random keys must be field names, got {column!r}")
        if column != "pa_dbm":
            _column_field(column, base, system, where)
        kind = "real" if column == "pa_dbm" else _kind_of(_base_value(column, base))
        if kind not in ("integer", "real", "vector"):
            raise PlkgInputError(
                f"{where}: random {column!r} cannot be drawn (only numbers and lists of numbers "
                "are drawn uniformly); sweep it in grid"
            )
        if not isinstance(bounds, dict) or set(bounds) != {"low", "high"}:
            raise PlkgInputError(
                f"{where}: random {column!r} must be {{low: ..., high: ...}}, got {bounds!r}"
            )
        low, high = _number(bounds["low"]), _number(bounds["high"])
        for name, raw, value in (("low", bounds["low"], low), ("high", bounds["high"], high)):
            if value is None:
                raise PlkgInputError(
                    f"{where}: random {column}.{name} must be a finite number, got {raw!r}"
                )
        if not low < high:
            raise PlkgInputError(
                f"{where}: random {column!r} needs low < high, got [{low}, {high}]"
            )
        if kind == "integer" and math.ceil(low) > math.floor(high):
            raise PlkgInputError(
                f"{where}: random {column!r} is an integer field, but [{low}, {high}] holds "
                "no integer"
            )
        if column == "pa_dbm":
            for value in (low, high):
                _check_power_dbm(value, f"{where}: random pa_dbm")
        ranges[column] = (low, high)
        kinds[column] = kind
    if not ranges:
        raise PlkgInputError(f"{where}: 'random' names no field to draw")
    return {"n": n, "seed": seed, "ranges": ranges}
