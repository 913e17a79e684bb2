"""Checks of the RIS solver's inputs by name, before any work: model, method, device, options.

Tolerances lie in (0, 1) and iteration caps are integers >= 1 (:mod:`plkg.solvers.options`);
initial phases are complex [NL] (unit modulus is checked by the solver); a device is CPU or an
available CUDA device. A wrong type raises :class:`~plkg.errors.PlkgTypeError`, a value outside
its domain :class:`~plkg.errors.PlkgInputError`.
"""

from __future__ import annotations

import numpy as np
import torch

from plkg.channels.ris_multicell import RISChannelModel, build_channel_model
from plkg.channels.ris_scenario import RISScenario
from plkg.checks import check_choice, check_instance, check_integer, describe
from plkg.errors import PlkgInputError, PlkgTypeError
from plkg.solvers.options import check_max_iter, check_rtol
from plkg.solvers.ris_phase_pga import GRADIENTS

METHODS = ("proposed", "no-ris", "rand-phase")


def as_channel_model(model) -> RISChannelModel:
    """The channel model of ``model``: a :class:`RISChannelModel` as is, a :class:`RISScenario`
    through :func:`plkg.channels.ris_multicell.build_channel_model`."""
    if isinstance(model, RISScenario):
        return build_channel_model(model)
    return check_instance(
        model,
        RISChannelModel,
        "model",
        "a RISScenario (from plkg.load_ris_scenario) or a RISChannelModel",
    )


def check_device(device, name: str = "device", types: tuple[str, ...] | None = ("cpu", "cuda")):
    """None, or a torch device (``"cpu"``, ``"cuda"``, ``"cuda:N"``, torch.device) usable here.

    ``name`` is the parameter or option named in the message (``"--device"`` for the CLI);
    ``types`` the device types accepted (None: any torch device type, ``plkg bench --device``).
    Returns ``device`` as given.
    """
    if device is None:
        return None
    if not isinstance(device, (str, torch.device)):
        raise PlkgTypeError(f"{name} must be a str or torch.device, got {describe(device)}")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise PlkgInputError(
            f"{name} {device!r} is not a torch device (cpu, cuda, cuda:N)"
        ) from exc
    if types is not None and dev.type not in types:
        raise PlkgInputError(f"{name} {device!r}: only {' and '.join(types)} are supported")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PlkgInputError(f"{name} {device!r}: CUDA is not available on this machine")
    return device


def _phases_tensor(init_phases, device) -> torch.Tensor:
    """``init_phases`` as a complex128 tensor (values are checked by the solver)."""
    if init_phases is None or isinstance(init_phases, (str, bytes, bool)):
        raise PlkgTypeError(
            f"init_phases must be complex unit-modulus phases [NL], got {describe(init_phases)}"
        )
    try:
        return torch.as_tensor(init_phases, dtype=torch.complex128, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise PlkgTypeError(
            f"init_phases must be complex unit-modulus phases [NL], got {describe(init_phases)}"
        ) from exc


def check_solve_options(
    *,
    method,
    n_starts,
    rng,
    device,
    tol,
    max_iter,
    kkt_tol,
    kkt_max_iter,
    pga_tol,
    pga_max_iter,
    baseline_kkt_max_iter,
    gradient,
    num_threads,
) -> None:
    """The options of :func:`solve_ris_batched` by name, before any work.

    Tolerances lie in (0, 1) and iteration caps are integers >= 1 (:mod:`plkg.solvers.options`,
    the domains of ``plkg ris --tol/--max-iter``).
    """
    check_choice(method, METHODS, "method")
    check_integer(n_starts, "n_starts", low=1)
    if rng is not None and not isinstance(rng, (np.random.Generator, np.random.RandomState)):
        raise PlkgTypeError(
            "rng must be a numpy Generator (np.random.default_rng(seed)), a RandomState or None, "
            f"got {describe(rng)}"
        )
    check_device(device)
    for name, value in (("tol", tol), ("kkt_tol", kkt_tol), ("pga_tol", pga_tol)):
        check_rtol(value, name)
    for name, value in (
        ("max_iter", max_iter),
        ("kkt_max_iter", kkt_max_iter),
        ("pga_max_iter", pga_max_iter),
        ("baseline_kkt_max_iter", baseline_kkt_max_iter),
    ):
        check_max_iter(value, name)
    check_choice(gradient, tuple(GRADIENTS), "gradient")
    if num_threads is not None:
        check_integer(num_threads, "num_threads", low=1)
