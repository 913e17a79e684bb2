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
:mod:`plkg.solvers.options`), and the size of the sweep (:data:`MAX_TASKS`, :data:`MAX_ROWS`).
Every refusal is one :class:`plkg.errors.PlkgInputError` line naming the spec, the key and the
value. A checkpoint is loaded by its safe reader and must suit its method and every task's
scenario (:func:`plkg.inference.methods.check_checkpoint`); its SHA-256 enters the spec record.

One *task* is one scenario (one point of the scenario-field grid times one random draw): its CCM
and subchannel design (near-field) or channel statistics (RIS) are computed once and shared by
every P_a and method of that scenario. A task is a plain dict, so it runs the same serially, on a
local cluster, on a remote cluster and in a test. Its seed is a hash of the spec seed, the base
scenario and the task's parameters: the same spec gives the same tasks on 1 worker and on 100.
A task's id hashes its scenario point, not its list of (P_a, method) evaluations, so a spec that
adds P_a values or methods keeps the ids of the existing points (:func:`extension_problem`).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from plkg.errors import PlkgInputError

SYSTEMS = ("nearfield", "ris")
# RIS methods: the names of plkg ris --methods (plkg.solvers.ris_alternating.METHODS).
RIS_METHODS = ("proposed", "no-ris", "rand-phase")
# Other names of a method: refused with the canonical name, so that a table, the CLI and the API
# always show one name per method (plkg.inference.methods and plkg ris).
OTHER_NAMES = {
    "cvx-maxmin": "cvxpakf",
    "maxmin": "exact-maxmin",
    "ao": "proposed",
    "randphase": "rand-phase",
    "noris": "no-ris",
}
# How tasks are identified (stored in the spec record): a task id hashes the scenario point
# (seed, system, parameters, scenario, options), and a row is one (task id, method, P_a) of it.
TASK_IDS = "plkg-sweep-tasks-2"
# Keyword arguments of plkg.solvers.ris_alternating.solve_ris, plus the RandPhase draws: "rtol" is
# a tolerance in (0, 1) (plkg ris --tol), "count" an integer >= 1 (plkg ris --max-iter, --starts).
RIS_OPTIONS = {
    "tol": "rtol",
    "max_iter": "count",
    "kkt_max_iter": "count",
    "pga_max_iter": "count",
    "baseline_kkt_max_iter": "count",
    "rand_phase_draws": "count",
}
TOP_LEVEL_KEYS = {"system", "base", "seed", "grid", "random", "methods", "options", "description"}
METHOD_KEYS = {"method", "checkpoint"}
# The largest sweep one spec may describe. Every task is held in memory as a plain dict by the
# client (a few kB each) and every row lands in the table: beyond these, split the study into
# several specs (or several --out tables).
MAX_TASKS = 200_000
MAX_ROWS = 20_000_000
# How many grid points are tried before a value that is invalid on the base scenario is refused
# (a value may be valid only together with another axis's value: scatter radius vs distance).
DOMAIN_SEARCH_LIMIT = 1000
_INDEXED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(\d+)\]$")
_KIND_TEXT = {  # what an axis of each kind holds
    "integer": "integers",
    "real": "numbers",
    "bool": "true/false values",
    "string": "strings",
    "vector": "non-empty lists of finite numbers",
    "points": "non-empty lists of [x, y] pairs of finite numbers",
}


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
        Spec seed (>= 0); every task seed derives from it.
    grid : dict of str -> list
        Swept values per column (scenario field, ``field[i]`` or ``pa_dbm``), each list of one type
        (the column's kind): integers, floats, bools, strings, lists of floats or of [x, y] pairs.
    random : dict
        ``{"n": int, "seed": int, "ranges": {column: (low, high)}}``; ``n = 0`` without draws.
    methods : tuple of str
        Method names (those of ``plkg keyrate --method`` / ``plkg ris --methods``).
    options : dict
        RIS method options: :func:`plkg.solvers.ris_alternating.solve_ris` settings (``tol``,
        ``max_iter``, ``kkt_max_iter``, ``pga_max_iter``, ``baseline_kkt_max_iter``) and
        ``rand_phase_draws`` (RandPhase rows are the mean over that many draws).
    kinds : dict of str -> str
        Kind of every swept column (``integer``, ``real``, ``bool``, ``string``, ``vector``,
        ``points``): the Arrow type of its table column.
    checkpoints : dict of str -> dict
        ``{method: {"path": absolute path, "sha256": SHA-256 of the weights}}`` of the methods
        given a checkpoint in the spec.
    """

    system: str
    base: str
    base_scenario: dict
    seed: int
    grid: dict
    random: dict
    methods: tuple[str, ...]
    options: dict
    kinds: dict = field(default_factory=dict, compare=False)
    checkpoints: dict = field(default_factory=dict)

    @property
    def param_columns(self) -> list[str]:
        """Swept columns other than ``pa_dbm``, in spec order (grid first, then random)."""
        cols = [c for c in self.grid if c != "pa_dbm"]
        return cols + [c for c in self.random["ranges"] if c != "pa_dbm" and c not in cols]

    @property
    def n_tasks(self) -> int:
        """Number of tasks: grid points of the scenario fields times random draws."""
        return _n_tasks(self.grid, self.random["n"])

    @property
    def n_rows(self) -> int:
        """Number of table rows: tasks x P_a values x methods."""
        return self.n_tasks * len(self.grid.get("pa_dbm", [None])) * len(self.methods)

    def record(self) -> dict:
        """Canonical JSON-able form; identifies the spec in a result folder (resume and extension
        check, :func:`extension_problem`) and records which checkpoint each method used."""
        return {
            "tasks": TASK_IDS,
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
            "kinds": dict(self.kinds),
            "checkpoints": {m: dict(c) for m, c in self.checkpoints.items()},
        }

    def fingerprint(self) -> str:
        """16 hex digits of the record's SHA-256; checkpoints count by their SHA-256 only (the
        same checkpoint in another folder gives the same fingerprint)."""
        record = self.record()
        record["checkpoints"] = {m: c["sha256"] for m, c in self.checkpoints.items()}
        return _hash(record)[:16]


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


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {str(exc.filename)!r}"
    return " ".join(str(exc).split())


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


def _count(value, what: str, low: int) -> int:
    """An integer >= ``low`` (bool and float refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise PlkgInputError(f"{what} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise PlkgInputError(f"{what} must be >= {low}, got {value!r}")
    return int(value)


def _column_field(column: str, base: dict, system: str, where: str) -> tuple[str, int | None]:
    """(field, index) of a swept column; PlkgInputError if it names no scenario field."""
    match = _INDEXED.match(column)
    name, index = (match.group(1), int(match.group(2))) if match else (column, None)
    if name not in base or name == "name":
        known = ", ".join(sorted(k for k in base if k != "name"))
        raise PlkgInputError(
            f"{where}: {column!r} is not a {system} scenario field (known: {known}, pa_dbm)"
        )
    if index is not None:
        value = base[name]
        if not isinstance(value, (list, tuple)):
            raise PlkgInputError(f"{where}: {column!r} indexes {name!r}, which is not a list")
        if index >= len(value):
            raise PlkgInputError(
                f"{where}: {column!r} is out of range ({name} has {len(value)} entries)"
            )
    return name, index


def _check_overlaps(columns: list[str], where: str) -> None:
    whole = {c for c in columns if not _INDEXED.match(c)}
    for c in columns:
        m = _INDEXED.match(c)
        if m and m.group(1) in whole:
            raise PlkgInputError(f"{where}: {c!r} and {m.group(1)!r} cannot both be swept")


# ----------------------------------------------------------------------------- value kinds
def _kind_of(value) -> str | None:
    """Kind of one plain value (None for None)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "integer"
    if isinstance(value, (float, np.floating)):
        return "real"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple)) for v in value):
            return "points"
        return "vector"
    return type(value).__name__


def _base_value(column: str, base: dict):
    match = _INDEXED.match(column)
    return base[match.group(1)][int(match.group(2))] if match else base[column]


def _column_kind(column: str, base: dict, values: list) -> tuple[str, bool]:
    """(kind, nullable) of a swept column: the kind of the base scenario's value. A field whose
    base value is None (an optional field) takes the kind of the values given (ints and floats
    together are reals) and may hold null."""
    if column == "pa_dbm":
        return "real", False
    kind = _kind_of(_base_value(column, base))
    if kind is not None:
        return kind, False
    given = [_kind_of(v) for v in values if v is not None]
    if given and set(given) <= {"integer", "real"}:
        return ("integer" if set(given) == {"integer"} else "real"), True
    return (given[0] if given else "real"), True


def _number(value) -> float | None:
    """A finite float from a number, or from numeric text (YAML 1.1 reads ``1e-3`` as a string);
    None if it is neither."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, numbers.Real):
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _coerce(value, kind: str, nullable: bool):
    """``value`` as a plain value of ``kind``; raises ValueError (message: why) otherwise."""
    if value is None and nullable:
        return None
    if kind == "integer":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, str)):
            raise ValueError
        return int(value)  # "16" -> 16; "1.5", "a" -> ValueError
    if kind == "real":
        out = _number(value)
        if out is None:
            raise ValueError
        return out
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError
        return bool(value)
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError
        return value
    if kind == "vector":
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError
        return [_coerce(v, "real", False) for v in value]
    if kind == "points":
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError
        out = []
        for point in value:
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise ValueError
            out.append([_coerce(v, "real", False) for v in point])
        return out
    raise ValueError


def _axis(column: str, values, kind: str, nullable: bool, where: str) -> list:
    """The values of one grid axis, each coerced to the column's kind (one type per axis)."""
    out = []
    for i, value in enumerate(values):
        try:
            out.append(_coerce(value, kind, nullable))
        except (ValueError, TypeError, OverflowError):
            holds = _KIND_TEXT.get(kind, kind) + (" or null" if nullable else "")
            if isinstance(value, float) and not math.isfinite(value):
                holds = f"finite {holds}"
            raise PlkgInputError(
                f"{where}: grid {column} must hold {holds} (one type per axis, the type of the "
                f"field), got {value!r} ({type(value).__name__}) at entry {i + 1}"
            ) from None
    seen: dict = {}
    for i, value in enumerate(out):
        key = _same_key(value)
        if key in seen:
            raise PlkgInputError(
                f"{where}: grid {column} lists {values[i]!r} twice "
                f"(entries {seen[key] + 1} and {i + 1})"
            )
        seen[key] = i
    return out


def _same_key(value):
    """A hashable key equal for equal coerced values (0 and 0.0; nested lists as tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_same_key(v) for v in value)
    return value


def _check_power_dbm(value: float, what: str) -> None:
    """P_a in dBm must give a finite power in W (``plkg keyrate --pa-dbm``)."""
    try:
        watts = 10.0 ** ((value - 30.0) / 10.0)
    except OverflowError:
        watts = math.inf
    if not math.isfinite(watts):
        raise PlkgInputError(f"{what}: {value!r} dBm is not a finite power in W")


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


def _methods(methods, system: str, where: str, folder: Path | None) -> tuple[tuple, dict]:
    """(method names, {method: checkpoint path}) of the spec's ``methods`` list."""
    if not isinstance(methods, list) or not methods:
        raise PlkgInputError(f"{where}: 'methods' must be a non-empty list, got {methods!r}")
    if system == "nearfield":
        from plkg.inference.methods import ALLOCATION_METHODS

        known = tuple(ALLOCATION_METHODS)
    else:
        known = RIS_METHODS
    out, checkpoints = [], {}
    for entry in methods:
        name, checkpoint = _method_entry(entry, where)
        if isinstance(name, str) and OTHER_NAMES.get(name) in known:
            canonical = OTHER_NAMES[name]
            raise PlkgInputError(
                f"{where}: method {name!r} is called {canonical!r} in plkg (tables, CLI, API): "
                f"write {canonical}"
            )
        if name not in known:
            raise PlkgInputError(
                f"{where}: unknown {system} method {name!r}; choose from {', '.join(known)}"
            )
        if name in out:
            raise PlkgInputError(f"{where}: method {name!r} is listed twice")
        out.append(name)
        if checkpoint is not None:
            checkpoints[name] = _checkpoint_path(checkpoint, name, system, folder, where)
    return tuple(out), checkpoints


def _method_entry(entry, where: str) -> tuple[object, object]:
    """(name, checkpoint or None) of one entry: a name, or ``{method: name, checkpoint: path}``."""
    if not isinstance(entry, dict):
        return entry, None
    unknown = sorted(str(k) for k in set(entry) - METHOD_KEYS)
    if unknown or "method" not in entry:
        raise PlkgInputError(
            f"{where}: a method entry must be a name or {{method: NAME, checkpoint: PATH}}, "
            f"got {entry!r}"
        )
    return entry["method"], entry.get("checkpoint")


def _checkpoint_path(value, method: str, system: str, folder: Path | None, where: str) -> str:
    """Absolute path of a method's checkpoint (relative: to the spec's folder)."""
    from plkg.inference.methods import CHECKPOINT_LABELS

    if system != "nearfield" or method not in CHECKPOINT_LABELS:
        takes = ", ".join(CHECKPOINT_LABELS)
        raise PlkgInputError(
            f"{where}: method {method} takes no checkpoint (methods with one: {takes})"
        )
    if not isinstance(value, str) or not value.strip():
        raise PlkgInputError(
            f"{where}: checkpoint of method {method} must be a file name, got {value!r}"
        )
    path = Path(value).expanduser()
    if not path.is_absolute() and folder is not None:
        path = folder / path
    return str(path.resolve())


def _scenario_fingerprints(spec: SweepSpec) -> set[str]:
    """Fingerprints of every task's scenario (scenarios the class refuses become error rows)."""
    from plkg.channels.nearfield_scenario import NearFieldScenario

    out = set()
    for task in expand(spec):
        try:
            out.add(NearFieldScenario.from_dict(task["scenario"]).fingerprint())
        except (ValueError, TypeError, KeyError, OverflowError):
            continue
    return out


def _with_checkpoints(spec: SweepSpec, paths: dict, where: str) -> SweepSpec:
    """``spec`` with its checkpoints loaded, checked against every task scenario and hashed."""
    import dataclasses

    from plkg.inference.methods import CHECKPOINT_LABELS, check_checkpoint

    # only a checkpoint bound to one scenario needs the fingerprint of every task's scenario
    bound = any(CHECKPOINT_LABELS[m][0] == "bound" for m in paths)
    fingerprints = _scenario_fingerprints(spec) if bound else set()
    checkpoints = {}
    for method, path in paths.items():
        try:
            sha = check_checkpoint(method, path, fingerprints)
        except PlkgInputError as exc:
            raise PlkgInputError(f"{where}: {exc}") from exc
        checkpoints[method] = {"path": path, "sha256": sha}
    return dataclasses.replace(spec, checkpoints=checkpoints)


def _options(options, system: str, where: str) -> dict:
    """RIS options, each in the domain of the matching ``plkg ris`` option
    (:func:`plkg.solvers.options.check_rtol`, :func:`~plkg.solvers.options.check_max_iter`)."""
    from plkg.solvers.options import check_max_iter, check_rtol

    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise PlkgInputError(f"{where}: 'options' must be a mapping, got {options!r}")
    if options and system != "ris":
        raise PlkgInputError(f"{where}: 'options' applies to ris sweeps only")
    out = {}
    for key, value in options.items():
        if key not in RIS_OPTIONS:
            raise PlkgInputError(
                f"{where}: unknown option {key!r}; known: {', '.join(RIS_OPTIONS)}"
            )
        try:
            if RIS_OPTIONS[key] == "rtol":
                # YAML 1.1 reads 1e-3 as text; plkg ris --tol 1e-3 is a number
                number = _number(value) if isinstance(value, str) else None
                out[key] = check_rtol(value if number is None else number, f"options.{key}")
            else:
                out[key] = check_max_iter(value, f"options.{key}")
        except (ValueError, TypeError) as exc:
            raise PlkgInputError(f"{where}: {_message(exc)}") from exc
    return out


# ----------------------------------------------------------------------------- size and domains
def _n_tasks(grid: dict, n_draws: int) -> int:
    points = math.prod(len(v) for c, v in grid.items() if c != "pa_dbm")
    return points * max(1, n_draws)


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


# ----------------------------------------------------------------------------- expansion
def _plain(value):
    """NumPy scalars and tuples as plain Python (for JSON)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


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


def _shown(values) -> str:
    text = ", ".join(json.dumps(v) for v in values[:3])
    return text + (", ..." if len(values) > 3 else "")


def _dropped(old: list, new: list) -> list:
    kept = {json.dumps(v, sort_keys=True) for v in new}
    return [v for v in old if json.dumps(v, sort_keys=True) not in kept]


def extension_problem(stored: dict, new: dict) -> str | None:
    """Why the spec of record ``new`` cannot extend a table of the spec of record ``stored``.

    A spec extends a table when every finished row stays a row of the new spec, computed the same
    way: the same system, base scenario, seed, options, swept columns (with their types), random
    seed and ranges, and the same checkpoint (by SHA-256) for every method that had one; it may
    add grid values, methods and random draws (``random.n`` grows: the first draws stay the same).
    Identical records extend trivially.

    Parameters
    ----------
    stored, new : dict
        :meth:`SweepSpec.record` of the table's spec and of the new one (JSON round-tripped).

    Returns
    -------
    str or None
        One phrase naming the first difference, or None if ``new`` extends ``stored``.
    """
    if stored.get("tasks") != new.get("tasks"):
        return "its tasks are identified differently (written by another version of plkg)"
    for key in ("system", "base_scenario", "seed", "options"):
        if stored.get(key) != new.get(key):
            if key == "base_scenario":
                changed = sorted(
                    k
                    for k in set(stored[key]) | set(new[key])
                    if stored[key].get(k) != new[key].get(k)
                )
                return f"the base scenario differs in {', '.join(changed)}"
            return f"{key} {json.dumps(stored.get(key))} is {json.dumps(new.get(key))} now"
    old_grid, new_grid = stored["grid"], new["grid"]
    if list(old_grid) != list(new_grid):
        return f"grid columns {list(old_grid)} are {list(new_grid)} now"
    if stored.get("kinds") != new.get("kinds"):
        return "a swept column holds values of another type"
    for column, values in old_grid.items():
        dropped = _dropped(values, new_grid[column])
        if dropped:
            return f"grid {column} drops {_shown(dropped)} (an extension may only add values)"
    old_random, new_random = stored["random"], new["random"]
    for key in ("seed", "ranges"):
        if old_random[key] != new_random[key]:
            return f"random {key} differs"
    if new_random["n"] < old_random["n"]:
        return f"random n {old_random['n']} is {new_random['n']} now (draws may only be added)"
    dropped = _dropped(stored["methods"], new["methods"])
    if dropped:
        return f"methods drop {_shown(dropped)} (an extension may only add methods)"
    for method in stored["methods"]:
        old_ck = stored["checkpoints"].get(method, {}).get("sha256")
        new_ck = new["checkpoints"].get(method, {}).get("sha256")
        if old_ck != new_ck:
            return f"the checkpoint of method {method} differs (SHA-256 {old_ck} -> {new_ck})"
    return None
