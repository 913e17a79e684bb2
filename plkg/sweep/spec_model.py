"""The validated sweep specification (:class:`SweepSpec`) and its record in a result folder.

:func:`plkg.sweep.spec.load_spec` builds a :class:`SweepSpec`; its :meth:`SweepSpec.record` is
written to the result folder's ``_spec.json`` and identifies the spec on resume and extension
(:func:`plkg.sweep.extension.extension_problem`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from plkg.sweep.seeds import _hash

# How tasks are identified (stored in the spec record): a task id hashes the scenario point
# (seed, system, parameters, scenario, options), and a row is one (task id, method, P_a) of it.
TASK_IDS = "plkg-sweep-tasks-2"


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
        check, :func:`plkg.sweep.extension.extension_problem`) and records which checkpoint each
        method used."""
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


def _n_tasks(grid: dict, n_draws: int) -> int:
    points = math.prod(len(v) for c, v in grid.items() if c != "pa_dbm")
    return points * max(1, n_draws)
