"""The methods of a sweep spec, their checkpoints and the RIS method options.

Method names are those of ``plkg keyrate --method`` (near-field) and ``plkg ris --methods``
(RIS); another name of a method is refused with its canonical name. A checkpoint is loaded by its
safe reader and must suit its method and every task's scenario
(:func:`plkg.inference.methods.check_checkpoint`); its SHA-256 enters the spec record. RIS options
take the domains of the matching ``plkg ris`` options (:mod:`plkg.solvers.options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from plkg.errors import PlkgInputError
from plkg.sweep.expansion import expand
from plkg.sweep.values import _message, _number

if TYPE_CHECKING:
    from plkg.sweep.spec_model import SweepSpec

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
METHOD_KEYS = {"method", "checkpoint"}


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
