"""Size and domain checks of a sweep spec, made before anything runs.

A spec may describe at most :data:`MAX_TASKS` tasks and :data:`MAX_ROWS` rows. Every grid value
and both ends of every random range must give a valid scenario (the scenario class's own checks)
together with the base scenario or with some grid point.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import TYPE_CHECKING

from plkg.errors import PlkgInputError
from plkg.sweep.expansion import apply_params
from plkg.sweep.values import _base_value, _message

if TYPE_CHECKING:
    from plkg.sweep.spec_model import SweepSpec

# The largest sweep one spec may describe. Every task is held in memory as a plain dict by the
# client (a few kB each) and every row lands in the table: beyond these, split the study into
# several specs (or several --out tables).
MAX_TASKS = 200_000
MAX_ROWS = 20_000_000
# How many grid points are tried before a value that is invalid on the base scenario is refused
# (a value may be valid only together with another axis's value: scatter radius vs distance).
DOMAIN_SEARCH_LIMIT = 1000


def _check_size(spec: SweepSpec, where: str) -> None:
    """Refuse a sweep with more than :data:`MAX_TASKS` tasks or :data:`MAX_ROWS` rows."""
    tasks, rows = spec.n_tasks, spec.n_rows
    if tasks > MAX_TASKS or rows > MAX_ROWS:
        raise PlkgInputError(
            f"{where} describes {tasks} tasks ({rows} rows); one sweep holds at most "
            f"{MAX_TASKS} tasks and {MAX_ROWS} rows: split it into several specs"
        )


def scenario_error(system: str, scenario: dict) -> str | None:
    """The scenario class's refusal of ``scenario`` (one line), or None if it is valid."""
    try:
        if system == "nearfield":
            from plkg.channels.nearfield_scenario import NearFieldScenario

            NearFieldScenario.from_dict(scenario)
        else:
            from plkg.channels.ris_scenario import RISScenario

            RISScenario(**scenario)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        return _message(exc)
    return None


def _middle(spec: SweepSpec, column: str) -> object:
    """The middle of a random range, shaped like the column (all entries of a list field)."""
    low, high = spec.random["ranges"][column]
    kind = spec.kinds.get(column)
    if kind == "integer":
        return min(max(round((low + high) / 2), math.ceil(low)), math.floor(high))
    if kind == "vector":
        return [(low + high) / 2] * len(_base_value(column, spec.base_scenario))
    return (low + high) / 2


def _contexts(spec: SweepSpec, column: str):
    """Other columns' values to try a value with: the base scenario alone, then the grid points
    (with the middle of every random range), at most :data:`DOMAIN_SEARCH_LIMIT` of them."""
    yield {}
    grid_cols = [c for c in spec.grid if c not in ("pa_dbm", column)]
    middles = {c: _middle(spec, c) for c in spec.random["ranges"] if c not in ("pa_dbm", column)}
    points = itertools.product(*(spec.grid[c] for c in grid_cols))
    for values in itertools.islice(points, DOMAIN_SEARCH_LIMIT):
        yield {**middles, **dict(zip(grid_cols, values, strict=True))}


def _value_error(spec: SweepSpec, column: str, value) -> str | None:
    """Why ``column = value`` gives no valid scenario anywhere in the sweep, or None."""
    target = "bs_power_dbm" if column == "pa_dbm" else column
    first = None
    for context in _contexts(spec, column):
        err = scenario_error(
            spec.system, apply_params(spec.base_scenario, {**context, target: value})
        )
        if err is None:
            return None
        first = first or err
    return first


def _check_domains(spec: SweepSpec, where: str) -> None:
    """Every grid value and both ends of every random range must give a valid scenario together
    with the base scenario or with some grid point; a value valid only in some combinations makes
    error rows for the others (docs/sweeps.md)."""
    if spec.system == "nearfield":
        checked = {c: v for c, v in spec.grid.items() if c != "pa_dbm"}
    else:
        checked = dict(spec.grid)
    for column, values in checked.items():
        seen = set()
        for value in values:
            key = json.dumps(value)
            if key in seen:
                continue
            seen.add(key)
            err = _value_error(spec, column, value)
            if err is not None:
                raise PlkgInputError(f"{where}: grid {column} value {value!r} is invalid: {err}")
    for column, (low, high) in spec.random["ranges"].items():
        if column == "pa_dbm" and spec.system == "nearfield":
            continue
        kind = spec.kinds[column]
        ends = (math.ceil(low), math.floor(high)) if kind == "integer" else (low, high)
        for name, end in zip(("low", "high"), ends, strict=True):
            value = (
                [end] * len(_base_value(column, spec.base_scenario)) if kind == "vector" else end
            )
            err = _value_error(spec, column, value)
            if err is not None:
                raise PlkgInputError(f"{where}: random {column}.{name} = {end!r} is invalid: {err}")
