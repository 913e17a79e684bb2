"""Expansion of a sweep spec into tasks: the grid points times the random draws.

One task is one scenario point: its CCM and subchannel design (near-field) or channel statistics
(RIS) are computed once and shared by every (P_a, method) evaluation of it. A task is a plain
dict, so it runs the same serially, on a local cluster, on a remote cluster and in a test. Its
seed is a hash of the spec seed, the base scenario and the task's parameters: the same spec gives
the same tasks on 1 worker and on 100. A task's id hashes its scenario point, not its list of
(P_a, method) evaluations, so a spec that adds P_a values or methods keeps the ids of the
existing points (:func:`plkg.sweep.extension.extension_problem`).
"""

from __future__ import annotations

import copy
import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

from plkg.errors import PlkgInputError
from plkg.sweep.seeds import _hash, derive_seed
from plkg.sweep.values import _INDEXED, _base_value

if TYPE_CHECKING:
    from plkg.sweep.spec_model import SweepSpec


def _draws(spec: SweepSpec) -> list[dict]:
    """The ``n`` random draws: one dict column -> value each (a tuple field draws every entry)."""
    n, ranges = spec.random["n"], spec.random["ranges"]
    if n == 0:
        return [{}]
    rng = np.random.default_rng(spec.random["seed"])
    out = []
    for _ in range(n):
        draw = {}
        for column, (low, high) in ranges.items():
            draw[column] = _draw_one(rng, column, low, high, spec)
        out.append(draw)
    return out


def _draw_one(rng, column: str, low: float, high: float, spec: SweepSpec):
    kind = "real" if column == "pa_dbm" else spec.kinds.get(column)
    if kind == "vector":
        n = len(_base_value(column, spec.base_scenario))
        return [float(v) for v in rng.uniform(low, high, n)]
    if kind == "integer":
        # integer fields (N, M, ...) are drawn uniformly among the integers in [low, high]
        return int(rng.integers(math.ceil(low), math.floor(high) + 1))
    return float(rng.uniform(low, high))


def apply_params(base: dict, params: dict) -> dict:
    """A copy of scenario dict ``base`` with ``params`` (columns, ``field[i]`` allowed) set."""
    out = copy.deepcopy(base)
    for column, value in params.items():
        match = _INDEXED.match(column)
        if match:
            name, index = match.group(1), int(match.group(2))
            seq = list(out[name])
            seq[index] = value
            out[name] = seq
        else:
            out[column] = copy.deepcopy(value)
    return out


def expand(spec: SweepSpec) -> list[dict]:
    """The tasks of ``spec``, in a fixed order (grid points x draws).

    Each task is a plain dict::

        {"task_id", "index", "seed", "system", "params", "scenario", "evaluations", "options"}

    ``params`` holds the swept scenario columns (and ``draw``, the draw index, with ``random``);
    ``scenario`` is the full scenario dict (base + params; a combination of valid values that
    the scenario refuses becomes an error row when the task runs); ``evaluations`` lists
    ``{"pa_dbm", "method", "rng"}`` with ``rng`` the entropy of that evaluation's
    ``numpy.random.default_rng``.
    """
    grid_cols = [c for c in spec.grid if c != "pa_dbm"]
    grid_pa = spec.grid.get("pa_dbm")
    base_id = _hash(spec.base_scenario)[:16]
    tasks = []
    draws = _draws(spec)
    for values in itertools.product(*(spec.grid[c] for c in grid_cols)):
        point = dict(zip(grid_cols, values, strict=True))
        for d, draw in enumerate(draws):
            params = {**point, **{k: v for k, v in draw.items() if k != "pa_dbm"}}
            if spec.random["n"]:
                params["draw"] = d
            if "pa_dbm" in draw:
                powers = [draw["pa_dbm"]]
            elif grid_pa is not None:
                powers = list(grid_pa)
            else:
                powers = [None]  # RIS: the scenario's own bs_power_dbm
            tasks.append(_task(spec, base_id, len(tasks), params, powers))
    ids: dict[str, int] = {}
    for task in tasks:
        first = ids.setdefault(task["task_id"], task["index"])
        if first != task["index"]:
            # a backstop: duplicate grid values are refused when the spec is read
            raise PlkgInputError(
                f"sweep spec: tasks {first} and {task['index']} have the same task id "
                f"{task['task_id']} (the same parameters twice); remove the duplicate"
            )
    return tasks


def _task(spec: SweepSpec, base_id: str, index: int, params: dict, powers: list) -> dict:
    scenario_params = {k: v for k, v in params.items() if k != "draw"}
    seed = derive_seed(spec.seed, spec.system, base_id, params)
    evaluations = [
        {"pa_dbm": pa, "method": method, "rng": [seed, derive_seed(method, pa)]}
        for pa in powers
        for method in spec.methods
    ]
    task = {
        "index": index,
        "seed": seed,
        "system": spec.system,
        "params": params,
        "scenario": apply_params(spec.base_scenario, scenario_params),
        "evaluations": evaluations,
        "options": dict(spec.options),
        # path and SHA-256: the worker that loads a checkpoint checks it is the one of the spec
        "checkpoints": {m: dict(c) for m, c in spec.checkpoints.items()},
    }
    # the scenario point alone: a spec that adds P_a values or methods keeps every id
    point = {k: task[k] for k in ("seed", "system", "params", "scenario", "options")}
    task["task_id"] = _hash(point)[:20]
    return task
