"""Sweep specification: parse and validate the YAML, expand it into tasks.

A spec (``docs/sweeps.md``)::

    system: nearfield          # or ris
    base: fig6                 # a config name or a YAML path
    seed: 0                    # optional: enters every task's seed
    grid:                      # cartesian product; any scenario field, plus pa_dbm
      n_antennas: [128, 256]
      pa_dbm: [0, 10, 20]
    random:                    # optional: n seeded draws, uniform in [low, high] per field
      n: 20
      seed: 1
      ue_distance_m: {low: 10, high: 100}
    methods: [epa, wfpa, exact-maxmin]
    options: {}                # optional, RIS only: solve_ris settings, rand_phase_draws

A field name may index one entry of a per-UE / per-cell tuple: ``ue_distance_m[3]`` sweeps the
distance of UE 4 only. A random draw of a whole tuple field draws every entry.

One *task* is one scenario (one point of the scenario-field grid times one random draw): its CCM
and subchannel design (near-field) or channel statistics (RIS) are computed once and shared by
every P_a and method of that scenario. A task is a plain dict, so it runs the same serially, on a
local cluster, on a remote cluster and in a test. Its seed is a hash of the spec seed, the base
scenario and the task's parameters: the same spec gives the same tasks on 1 worker and on 100.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SYSTEMS = ("nearfield", "ris")
# Spec method name -> method name of the solver registries (aliases from the spec).
NEARFIELD_ALIASES = {"cvx-maxmin": "cvxpakf", "maxmin": "exact-maxmin"}
RIS_METHODS = ("proposed", "no-ris", "rand-phase")
RIS_ALIASES = {"ao": "proposed", "randphase": "rand-phase", "noris": "no-ris"}
RIS_OPTIONS = {  # keyword arguments of plkg.solvers.ris_alternating.solve_ris, plus the draws
    "tol": float,
    "max_iter": int,
    "kkt_max_iter": int,
    "pga_max_iter": int,
    "baseline_kkt_max_iter": int,
    "rand_phase_draws": int,
}
TOP_LEVEL_KEYS = {"system", "base", "seed", "grid", "random", "methods", "options", "description"}
_INDEXED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]$")


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep specification.

    Attributes
    ----------
    system : {"nearfield", "ris"}
    base : str
        Config name or YAML path, as written in the spec.
    base_scenario : dict
        The base scenario's fields (``to_dict()``), so tasks never read config files.
    seed : int
        Spec seed; every task seed derives from it.
    grid : dict of str -> list
        Swept values per column (scenario field, ``field[i]`` or ``pa_dbm``).
    random : dict
        ``{"n": int, "seed": int, "ranges": {column: (low, high)}}``; ``n = 0`` without draws.
    methods : tuple of str
        Canonical method names.
    options : dict
        RIS method options: :func:`plkg.solvers.ris_alternating.solve_ris` settings (``tol``,
        ``max_iter``, ``kkt_max_iter``, ``pga_max_iter``, ``baseline_kkt_max_iter``) and
        ``rand_phase_draws`` (RandPhase rows are the mean over that many draws).
    """

    system: str
    base: str
    base_scenario: dict
    seed: int
    grid: dict
    random: dict
    methods: tuple[str, ...]
    options: dict

    @property
    def param_columns(self) -> list[str]:
        """Swept columns other than ``pa_dbm``, in spec order (grid first, then random)."""
        cols = [c for c in self.grid if c != "pa_dbm"]
        return cols + [c for c in self.random["ranges"] if c != "pa_dbm" and c not in cols]

    def record(self) -> dict:
        """Canonical JSON-able form; identifies the spec in a result folder (resume check)."""
        return {
            "system": self.system,
            "base": self.base,
            "base_scenario": self.base_scenario,
            "seed": self.seed,
            "grid": self.grid,
            "random": {
                **self.random,
                "ranges": {k: list(v) for k, v in self.random["ranges"].items()},
            },
            "methods": list(self.methods),
            "options": self.options,
        }

    def fingerprint(self) -> str:
        return _hash(self.record())[:16]


# ----------------------------------------------------------------------------- parsing
def load_spec(path_or_mapping) -> SweepSpec:
    """Read a spec from a YAML path (or an already parsed mapping) and validate it.

    Raises
    ------
    ValueError
        One line naming the bad key or value. FileNotFoundError if the file does not exist.
    """
    if isinstance(path_or_mapping, dict):
        data = copy.deepcopy(path_or_mapping)
        where = "sweep spec"
    else:
        import yaml

        path = Path(path_or_mapping)
        if not path.is_file():
            raise FileNotFoundError(f"sweep spec {str(path)!r} does not exist")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"sweep spec {str(path)!r} is not valid YAML: {exc}") from exc
        where = f"sweep spec {str(path)!r}"
    if not isinstance(data, dict):
        raise ValueError(f"{where} must hold a mapping (system, base, grid, methods)")
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
    system = data.get("system")
    if system not in SYSTEMS:
        raise ValueError(f"{where}: 'system' must be 'nearfield' or 'ris', got {system!r}")
    if "base" not in data:
        raise ValueError(f"{where}: 'base' (a config name or a YAML path) is required")
    base = str(data["base"])
    base_scenario = _base_scenario(system, base)
    seed = _integer(data.get("seed", 0), f"{where}: seed")
    grid = _grid(data.get("grid") or {}, base_scenario, system, where)
    random = _random(data.get("random"), base_scenario, system, where)
    for column in grid:
        if column in random["ranges"]:
            raise ValueError(f"{where}: {column!r} is both in grid and random")
    _check_overlaps(list(grid) + list(random["ranges"]), where)
    methods = _methods(data.get("methods"), system, where)
    options = _options(data.get("options") or {}, system, where)
    if system == "nearfield" and "pa_dbm" not in grid and "pa_dbm" not in random["ranges"]:
        raise ValueError(f"{where}: a nearfield sweep needs pa_dbm (P_a in dBm) in grid or random")
    return SweepSpec(system, base, base_scenario, seed, grid, random, methods, options)


def _base_scenario(system: str, base: str) -> dict:
    if system == "nearfield":
        from plkg.channels.nearfield_scenario import load_scenario

        return load_scenario(base).to_dict()
    from plkg.channels.ris_scenario import load_ris_scenario

    return load_ris_scenario(base).to_dict()


def _integer(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return int(value)


def _column_field(column: str, base: dict, system: str, where: str) -> tuple[str, int | None]:
    """(field, index) of a swept column; ValueError if it names no scenario field."""
    match = _INDEXED.match(column)
    name, index = (match.group(1), int(match.group(2))) if match else (column, None)
    if name not in base or name == "name":
        known = ", ".join(sorted(k for k in base if k != "name"))
        raise ValueError(f"{where}: {column!r} is not a {system} scenario field (known: {known})")
    if index is not None:
        value = base[name]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: {column!r} indexes {name!r}, which is not a list")
        if index >= len(value):
            raise ValueError(
                f"{where}: {column!r} is out of range ({name} has {len(value)} entries)"
            )
    return name, index


def _check_overlaps(columns: list[str], where: str) -> None:
    whole = {c for c in columns if not _INDEXED.match(c)}
    for c in columns:
        m = _INDEXED.match(c)
        if m and m.group(1) in whole:
            raise ValueError(f"{where}: {c!r} and {m.group(1)!r} cannot both be swept")


def _plain(value):
    """YAML scalars and lists as plain Python (numbers, strings, nested lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _grid(grid, base: dict, system: str, where: str) -> dict:
    if not isinstance(grid, dict):
        raise ValueError(f"{where}: 'grid' must map a field to a list of values")
    out = {}
    for column, values in grid.items():
        column = str(column)
        if column != "pa_dbm":
            _column_field(column, base, system, where)
        if not isinstance(values, list) or not values:
            raise ValueError(f"{where}: grid {column!r} must be a non-empty list of values")
        if column == "pa_dbm":
            values = [_finite(v, f"{where}: grid pa_dbm") for v in values]
        out[column] = _plain(values)
    return out


def _finite(value, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must hold numbers, got {value!r}") from exc
    if not math.isfinite(out):
        raise ValueError(f"{what} must hold finite numbers, got {value!r}")
    return out


def _random(block, base: dict, system: str, where: str) -> dict:
    if block is None:
        return {"n": 0, "seed": 0, "ranges": {}}
    if not isinstance(block, dict):
        raise ValueError(f"{where}: 'random' must be a mapping (n, seed, field: {{low, high}})")
    block = dict(block)
    n = _integer(block.pop("n", None), f"{where}: random.n")
    if n < 1:
        raise ValueError(f"{where}: random.n must be >= 1, got {n}")
    seed = _integer(block.pop("seed", 0), f"{where}: random.seed")
    ranges = {}
    for column, bounds in block.items():
        column = str(column)
        if column != "pa_dbm":
            _column_field(column, base, system, where)
        if not isinstance(bounds, dict) or set(bounds) != {"low", "high"}:
            raise ValueError(f"{where}: random {column!r} must be {{low: ..., high: ...}}")
        low = _finite(bounds["low"], f"{where}: random {column}.low")
        high = _finite(bounds["high"], f"{where}: random {column}.high")
        if not low < high:
            raise ValueError(f"{where}: random {column!r} needs low < high, got [{low}, {high}]")
        ranges[column] = (low, high)
    if not ranges:
        raise ValueError(f"{where}: 'random' names no field to draw")
    return {"n": n, "seed": seed, "ranges": ranges}


def _methods(methods, system: str, where: str) -> tuple[str, ...]:
    if not isinstance(methods, list) or not methods:
        raise ValueError(f"{where}: 'methods' must be a non-empty list")
    if system == "nearfield":
        from plkg.inference.methods import ALLOCATION_METHODS

        known, aliases = tuple(ALLOCATION_METHODS), NEARFIELD_ALIASES
    else:
        known, aliases = RIS_METHODS, RIS_ALIASES
    out = []
    for m in methods:
        name = aliases.get(str(m), str(m))
        if name not in known:
            choices = ", ".join(list(known) + list(aliases))
            raise ValueError(f"{where}: unknown {system} method {m!r}; choose from {choices}")
        if name in out:
            raise ValueError(f"{where}: method {m!r} is listed twice")
        out.append(name)
    return tuple(out)


def _options(options, system: str, where: str) -> dict:
    if not isinstance(options, dict):
        raise ValueError(f"{where}: 'options' must be a mapping")
    if options and system != "ris":
        raise ValueError(f"{where}: 'options' applies to ris sweeps only")
    out = {}
    for key, value in options.items():
        if key not in RIS_OPTIONS:
            raise ValueError(f"{where}: unknown option {key!r}; known: {', '.join(RIS_OPTIONS)}")
        kind = RIS_OPTIONS[key]
        out[key] = (
            _integer(value, f"{where}: options.{key}")
            if kind is int
            else _finite(value, f"{where}: options.{key}")
        )
        if kind is int and out[key] < 1:
            raise ValueError(f"{where}: options.{key} must be >= 1")
    return out


# ----------------------------------------------------------------------------- expansion
def _hash(obj) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(blob.encode()).hexdigest()


def derive_seed(*parts) -> int:
    """A 63-bit seed from JSON-able ``parts`` (SHA-256), identical on every machine."""
    return int(_hash(list(parts))[:16], 16) >> 1


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
            draw[column] = _draw_one(rng, column, low, high, spec.base_scenario)
        out.append(draw)
    return out


def _draw_one(rng, column: str, low: float, high: float, base: dict):
    if column == "pa_dbm":
        return float(rng.uniform(low, high))
    match = _INDEXED.match(column)
    current = base[match.group(1)][int(match.group(2))] if match else base[column]
    if isinstance(current, (list, tuple)):
        return [float(v) for v in rng.uniform(low, high, len(current))]
    if isinstance(current, int) and not isinstance(current, bool):
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
    ``scenario`` is the full scenario dict (base + params, validated only when the task runs, so a
    bad point becomes an error row); ``evaluations`` lists ``{"pa_dbm", "method", "rng"}`` with
    ``rng`` the entropy of that evaluation's ``numpy.random.default_rng``.
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
    return tasks


def _task(spec: SweepSpec, base_id: str, index: int, params: dict, powers: list) -> dict:
    scenario_params = {k: v for k, v in params.items() if k != "draw"}
    seed = derive_seed(spec.seed, spec.system, base_id, params)
    evaluations = [
        {"pa_dbm": pa, "method": method, "rng": [seed, m_idx, p_idx]}
        for p_idx, pa in enumerate(powers)
        for m_idx, method in enumerate(spec.methods)
    ]
    task = {
        "index": index,
        "seed": seed,
        "system": spec.system,
        "params": params,
        "scenario": apply_params(spec.base_scenario, scenario_params),
        "evaluations": evaluations,
        "options": dict(spec.options),
    }
    task["task_id"] = _hash({k: v for k, v in task.items() if k != "index"})[:20]
    return task
