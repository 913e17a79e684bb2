"""Registry of the near-field power-allocation methods (Section VII-B of the near-field paper).

Each entry names ``module:function`` with signature ``allocate(design, pa_w, **options) ->
AllocationResult``. Modules are imported lazily, so this layer imports no Lightning code.

:func:`allocate` checks its arguments before any method runs: the method name, the design, the
power budget (the domain of the CLI's ``--pa-w``) and every keyword option (a name the method
does not take is refused, as are values outside the option's domain; :data:`METHOD_OPTIONS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from plkg.checks import (
    PlkgTypeError,
    check_choice,
    check_flag,
    check_instance,
    check_integer,
    check_options,
    describe,
)
from plkg.checks import check_power_w as _check_power_w
from plkg.errors import PlkgInputError
from plkg.precoding.block_diagonalization import SubchannelDesign
from plkg.solvers.allocation import AllocationResult
from plkg.solvers.options import check_max_iter, check_rtol

ALLOCATION_METHODS: dict[str, str] = {
    "epa": "plkg.solvers.equal_power:allocate",
    "wfpa": "plkg.solvers.water_filling:allocate",
    "fnnpa": "plkg.inference.allocator:allocate_fnnpa",
    "cvxpakf": "plkg.solvers.maxmin_cvxpy:allocate",
    "wfpakf": "plkg.solvers.maxmin_highpower:allocate",
    "fnnpakf": "plkg.inference.fairness_allocator:allocate_fnnpakf",
    "exact-maxmin": "plkg.solvers.maxmin_lexicographic:allocate",
    "fnnpa-general": "plkg.inference.general_methods:allocate_fnnpa_general",
    "fnnpakf-general": "plkg.inference.general_methods:allocate_fnnpakf_general",
    "interp": "plkg.inference.interp_allocator:allocate_interp",
    "interpkf": "plkg.inference.interp_allocator:allocate_interpkf",
}

SUM_RATE_METHODS = ("epa", "wfpa", "fnnpa", "fnnpa-general", "interp")
FAIRNESS_METHODS = ("cvxpakf", "wfpakf", "fnnpakf", "exact-maxmin", "fnnpakf-general", "interpkf")

# Options every method accepts: the CLI (`plkg keyrate`, `plkg demo`) and sweep tasks pass them to
# whichever method runs. ``scenario`` is checked against a checkpoint's fingerprint by the learned
# methods, ``allow_extrapolation`` and ``backend`` are used by the learned and interpolating ones;
# the solvers ignore them.
COMMON_OPTIONS = ("scenario", "allow_extrapolation", "backend")
# The options each method uses (besides COMMON_OPTIONS); see each method's docstring.
METHOD_OPTIONS: dict[str, tuple[str, ...]] = {
    "epa": (),
    "wfpa": ("rtol", "max_iter"),
    "fnnpa": ("checkpoint",),
    "cvxpakf": ("solvers", "accept_inaccurate", "canonical"),
    "wfpakf": ("variant",),
    "fnnpakf": ("checkpoint", "mapping", "spend_slack"),
    "exact-maxmin": ("rtol", "max_iter", "max_joint_iter"),
    "fnnpa-general": ("checkpoint", "budget", "fallback"),
    "fnnpakf-general": ("checkpoint", "budget", "newton_steps", "fallback"),
    "interp": ("dataset",),
    "interpkf": ("dataset", "spend_slack"),
}


def _optional(check: Callable) -> Callable:
    """``check`` for a value that may also be None (the method's default)."""
    return lambda value, name: None if value is None else check(value, name)


def _path_like(value, name):
    import os

    if not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise PlkgTypeError(f"{name} must be a path (str or pathlib.Path), got {describe(value)}")
    return value


def _scenario(value, name):
    from plkg.channels.nearfield_scenario import NearFieldScenario

    return check_instance(value, NearFieldScenario, name, "a NearFieldScenario or None")


def _lazy_choice(module: str, attribute: str) -> Callable:
    """A choice whose list lives in the method's own module (imported only when checked)."""

    def check(value, name):
        return check_choice(value, getattr(importlib.import_module(module), attribute), name)

    return check


def _solvers(value, name):
    items = [value] if isinstance(value, str) else value
    try:
        items = list(items)
    except TypeError:
        items = None
    ok = bool(items) and all(
        isinstance(s, str)
        or (isinstance(s, (tuple, list)) and len(s) == 2 and isinstance(s[0], str))
        for s in items
    )
    if not ok:
        raise PlkgTypeError(
            f"{name} must be a non-empty sequence of solver names or (name, options) pairs, "
            f"got {describe(value)}"
        )
    return value


# One domain per option name, the same for every method (and the CLI's: check_rtol and
# check_max_iter are those of `plkg keyrate`/`plkg ris` and of sweep specs).
_OPTION_CHECKS: dict[str, Callable] = {
    "scenario": _optional(_scenario),
    "allow_extrapolation": check_flag,
    "canonical": check_flag,
    "spend_slack": check_flag,
    "backend": _lazy_choice("plkg.inference.checkpoint", "BACKENDS"),
    "rtol": check_rtol,
    "max_iter": check_max_iter,
    "max_joint_iter": check_max_iter,
    "checkpoint": _optional(_path_like),
    "dataset": _optional(_path_like),
    "solvers": _solvers,
    "accept_inaccurate": check_flag,
    "fallback": check_flag,
    "variant": _lazy_choice("plkg.solvers.maxmin_highpower", "VARIANTS"),
    "mapping": _optional(_lazy_choice("plkg.inference.fairness_allocator", "MAPPINGS")),
    "budget": _optional(_lazy_choice("plkg.inference.general_allocator", "BUDGET_MODES")),
    "newton_steps": _optional(lambda v, name: check_integer(v, name, low=0)),
}


# The methods that read a checkpoint, and what their checkpoint predicts: a label of
# plkg.inference.checkpoint (bound to one scenario) or a set-allocator target (any scenario).
CHECKPOINT_LABELS: dict[str, tuple[str, str]] = {
    "fnnpa": ("bound", "mu"),
    "fnnpakf": ("bound", "t"),
    "fnnpa-general": ("set", "mu"),
    "fnnpakf-general": ("set", "t"),
}


def check_checkpoint(method: str, path, fingerprints=()) -> str:
    """Check that ``path`` is a checkpoint ``method`` can use on scenarios of ``fingerprints``.

    The checkpoint is loaded by its safe reader (weights and sidecar verified by SHA-256, no
    pickle): a KGLM-Net (``fnnpa``, label ``mu``) or fairness FNN (``fnnpakf``, label ``t``) is
    bound to the scenario it was trained for, so every fingerprint must be its own; a
    set-allocator checkpoint (``fnnpa-general`` / ``fnnpakf-general``) serves any scenario and
    must predict the method's target.

    Parameters
    ----------
    method : str
        A key of :data:`CHECKPOINT_LABELS`.
    path : str or os.PathLike
        The checkpoint's ``.safetensors`` file (its ``.json`` sidecar beside it).
    fingerprints : iterable of str
        :meth:`plkg.channels.nearfield_scenario.NearFieldScenario.fingerprint` of every scenario
        the checkpoint will serve.

    Returns
    -------
    str
        SHA-256 (hex) of the weights file, which identifies the checkpoint.

    Raises
    ------
    PlkgInputError
        A method without a checkpoint, a missing or damaged file, a checkpoint of another label
        or scenario: one line naming the method and the checkpoint.
    """
    check_method(method)
    if method not in CHECKPOINT_LABELS:
        takes = ", ".join(CHECKPOINT_LABELS)
        raise PlkgInputError(
            f"method {method!r} takes no checkpoint (methods with a checkpoint: {takes})"
        )
    kind, label = CHECKPOINT_LABELS[method]
    shown = f"checkpoint {str(path)!r} of method {method}"
    try:
        if kind == "bound":
            from plkg.inference.checkpoint import load_checkpoint

            ck = load_checkpoint(path, expected_label=label, backend="numpy")
            wrong = sorted(set(fingerprints) - {ck.fingerprint})
            if wrong:
                raise PlkgInputError(
                    f"{shown} was trained for scenario {ck.meta.get('scenario_name')!r} "
                    f"(fingerprint {ck.fingerprint}), not for a scenario of fingerprint "
                    f"{wrong[0]}; a {method} checkpoint serves its own scenario only"
                )
            meta = ck.meta
        else:
            from plkg.inference.general_allocator import load_set_allocator

            _, meta = load_set_allocator(path)
            target = meta.get("architecture", {}).get("target")
            if target != label:
                raise PlkgInputError(f"{shown} predicts {target!r}, {method} needs {label!r}")
    except PlkgInputError as exc:
        text = " ".join(str(exc).split())
        raise PlkgInputError(text if text.startswith(shown) else f"{shown}: {text}") from exc
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise PlkgInputError(f"{shown}: {' '.join(str(exc).split())}") from exc
    # the sidecar records the weights' SHA-256, verified against the bytes by the reader
    return str(meta["safetensors_sha256"])


def check_method(method) -> str:
    """``method`` if it names an entry of :data:`ALLOCATION_METHODS`; the message lists them."""
    if not isinstance(method, str):
        raise PlkgTypeError(
            f"method must be one of {', '.join(ALLOCATION_METHODS)}; got {describe(method)}"
        )
    if method not in ALLOCATION_METHODS:
        raise PlkgInputError(
            f"unknown allocation method {method!r}; choose from {', '.join(ALLOCATION_METHODS)}"
        )
    return method


def check_method_options(method: str, options: dict, call: str = "allocate()") -> None:
    """Refuse an option ``method`` does not take, or a value outside the option's domain.

    ``call`` names the refusing function in the message of an unknown option.
    """
    allowed = METHOD_OPTIONS[method] + COMMON_OPTIONS
    check_options(options, allowed, call=call, owner=repr(method))
    for name, value in options.items():
        _OPTION_CHECKS[name](value, name)


def method_function(method: str):
    """The allocate function of ``method``; ValueError if unknown or not available."""
    check_method(method)
    module_name, func_name = ALLOCATION_METHODS[method].split(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, func_name)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise PlkgInputError(
            f"allocation method {method!r} is not available in this build ({exc})"
        ) from exc


def allocate(method: str, design, pa_w: float, **options) -> AllocationResult:
    """Run allocation ``method`` on a subchannel design for power budget ``pa_w`` (W).

    Every call checks the method, the design, the budget and the options, and loads what the
    method needs (a checkpoint, a dataset): the call for a one-off allocation. For many budgets on
    one design use :func:`plkg.bind` (:func:`plkg.inference.bind.bind`): it checks and loads once
    and returns a callable giving this function's result, bit for bit, per budget, with the
    online fast path (``x_w``) beside it.

    The methods: ``epa`` (equal power), ``wfpa`` (water-filling, Eq. (48)), ``fnnpa`` (KGLM-Net,
    Eqs. (49)-(51), then Eq. (48)), ``cvxpakf`` / ``exact-maxmin`` (max-min, Eqs. (52)-(53), the
    canonical optimum), ``wfpakf`` (high-power max-min, Eqs. (57)-(60)), ``fnnpakf`` (fairness
    FNN, Eq. (62), then Eqs. (59)-(60)), ``fnnpa-general`` / ``fnnpakf-general`` (the set
    allocator, any design) and ``interp`` / ``interpkf`` (interpolated labels).

    Parameters
    ----------
    method : str
        A key of :data:`ALLOCATION_METHODS` (``"epa"``, ``"wfpa"``, ``"fnnpa"``, ...).
    design : SubchannelDesign
        From :func:`plkg.design_for_scenario`.
    pa_w : float
        P_a in W, finite and >= 0 (the domain of ``plkg keyrate --pa-w``; max-min and learned
        methods need > 0 and say so).
    **options
        The method's options (:data:`METHOD_OPTIONS`, e.g. ``rtol``/``max_iter`` for ``wfpa``,
        ``checkpoint`` for ``fnnpa``) and the common ``scenario``, ``allow_extrapolation``,
        ``backend``.

    Returns
    -------
    AllocationResult
        ``x_w`` [N_D] (W), ``status``, ``objective`` (bits), method ``extras``.

    Raises
    ------
    PlkgTypeError
        A wrong type (``design`` a str, ``pa_w`` None, ...) or an unknown option.
    PlkgInputError
        An unknown method, a power budget or option value outside its domain.
    """
    check_method(method)
    check_instance(
        design, SubchannelDesign, "design", "a SubchannelDesign (from plkg.design_for_scenario)"
    )
    pa_w = _check_power_w(pa_w, "pa_w")
    check_method_options(method, options)
    return method_function(method)(design, pa_w, **options)
