"""Alternating optimisation (AO) of Section IV of the RIS paper, and the two baselines of Sec. V-A.

``proposed``: alternate Algorithm 1 (precoders, :mod:`plkg.solvers.ris_precoder_kkt`) and
Algorithm 2 (phases, :mod:`plkg.solvers.ris_phase_pga`) on Problem (14) until the relative change
of sum_k w_k R_k^ub is below ``tol``. Each sub-step is warm-started and never returns a worse point
(Algorithm 1 returns its best iterate, Algorithm 2 uses a monotone line search), so the AO
objective history is non-decreasing.

``no-ris``: RIS channels set to zero, precoders by Algorithm 1.
``rand-phase``: i.i.d. uniform random phases (from ``rng``), precoders by Algorithm 1.

:func:`solve_ris_batched` runs B starts (multi-start AO, RandPhase draws) as one batch of tensor
operations on CPU or GPU; :func:`solve_ris` is its B = 1 case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from plkg.channels.ris_multicell import (
    RISChannelModel,
    build_channel_model,
    cascaded_covariance,
    check_unit_modulus,
)
from plkg.channels.ris_scenario import RISScenario
from plkg.checks import (
    PlkgTypeError,
    check_choice,
    check_instance,
    check_integer,
    describe,
)
from plkg.errors import PlkgInputError
from plkg.keyrate.ris_kgr import LN2, ris_kgr_nats
from plkg.keyrate.ris_upper_bound import ris_upper_bound_nats
from plkg.solvers.options import check_max_iter, check_rtol
from plkg.solvers.ris_phase_pga import GRADIENTS, optimize_phases_pga_batched
from plkg.solvers.ris_precoder_kkt import (
    check_power,
    optimize_precoders_kkt_batched,
    uniform_precoders,
)
from plkg.solvers.torch_threads import torch_threads

METHODS = ("proposed", "no-ris", "rand-phase")


@dataclass(frozen=True)
class AOResult:
    """Output of :func:`solve_ris`.

    Attributes
    ----------
    method : str
        ``proposed``, ``no-ris`` or ``rand-phase``.
    precoders : Tensor, complex, shape [K, M_e, M]
        P_k, ||P_k||_F^2 <= P_A (C1).
    phases : Tensor, complex, shape [NL]
        v, |v_n| = 1 (C2).
    status : str
        ``converged`` or ``max_iter``.
    iterations : int
        AO iterations (1 for the baselines).
    objective : float
        Final sum_k w_k R_k^ub in bits (the optimised objective, Problem (14)).
    history : list of float
        Objective (bits) at the initial point and after each AO iteration.
    kgr_bits, ub_bits : list of float
        Per-cell R_k (Theorem 1) and R_k^ub (Theorem 2), bits.
    wskr_bits, ub_sum_bits : float
        sum_k w_k R_k and sum_k w_k R_k^ub, bits.
    inner_iterations : list of tuple of int
        (Algorithm 1 iterations, Algorithm 2 iterations) per AO iteration.
    """

    method: str
    precoders: torch.Tensor
    phases: torch.Tensor
    status: str
    iterations: int
    objective: float
    history: list[float] = field(default_factory=list)
    kgr_bits: list[float] = field(default_factory=list)
    ub_bits: list[float] = field(default_factory=list)
    wskr_bits: float = 0.0
    ub_sum_bits: float = 0.0
    inner_iterations: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-friendly summary (no tensors)."""
        return {
            "method": self.method,
            "status": self.status,
            "iterations": self.iterations,
            "wskr_bits": self.wskr_bits,
            "ub_bits": self.ub_sum_bits,
            "kgr_bits_per_cell": self.kgr_bits,
            "ub_bits_per_cell": self.ub_bits,
            "objective_history_bits": self.history,
            "inner_iterations": [list(x) for x in self.inner_iterations],
        }


def evaluate_rates(
    model: RISChannelModel, precoders: torch.Tensor, phases: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell (R_k, R_k^ub) in bits for given P and unit-modulus v; each shape [K]."""
    check_unit_modulus(phases)
    check_power(precoders, model.bs_power_w, rtol=1e-9)
    cov = cascaded_covariance(model, phases)
    kgr = ris_kgr_nats(cov, precoders, model.ut_power_w) / LN2
    ub = ris_upper_bound_nats(cov, precoders, model.ut_power_w) / LN2
    return kgr.detach().cpu().numpy(), ub.detach().cpu().numpy()


def _finish(model, method, p, v, status, it, history, inner) -> AOResult:
    kgr, ub = evaluate_rates(model, p, v)
    w = np.asarray(model.weights)
    return AOResult(
        method=method,
        precoders=p,
        phases=v,
        status=status,
        iterations=it,
        objective=history[-1],
        history=history,
        kgr_bits=[float(x) for x in kgr],
        ub_bits=[float(x) for x in ub],
        wskr_bits=float(w @ kgr),
        ub_sum_bits=float(w @ ub),
        inner_iterations=inner,
    )


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


def solve_ris(
    model: RISChannelModel | RISScenario,
    method: str = "proposed",
    *,
    rng: np.random.Generator | np.random.RandomState | None = None,
    device=None,
    init_phases: torch.Tensor | None = None,
    tol: float = 1e-4,
    max_iter: int = 100,
    kkt_tol: float = 1e-6,
    kkt_max_iter: int = 30,
    pga_tol: float = 1e-6,
    pga_max_iter: int = 30,
    baseline_kkt_max_iter: int = 300,
    gradient: str = "closed_form",
    num_threads: int | None = 1,
) -> AOResult:
    """Solve Problem (14) with the AO (``proposed``) or a baseline.

    Parameters
    ----------
    model : RISScenario or RISChannelModel
        A scenario (:func:`plkg.load_ris_scenario`) is turned into its channel model by
        :func:`plkg.channels.ris_multicell.build_channel_model`.
    method : {"proposed", "no-ris", "rand-phase"}
    rng : numpy Generator (or legacy RandomState), optional
        Draws the random phases of ``rand-phase`` and the initial phases v^(0) of ``proposed``;
        required unless ``init_phases`` is given (v^(0) = 1 is a poor symmetric start).
    device : torch device, optional
        CPU or CUDA; all tensors are complex128.
    init_phases : Tensor, complex, shape [NL], optional
        v^(0), unit modulus.
    tol : float
        AO stop: relative change of the objective between AO iterations, in (0, 1).
    max_iter : int
        Maximum AO iterations, >= 1.
    kkt_tol, kkt_max_iter, pga_tol, pga_max_iter : float, int, float, int
        Inner Algorithm 1 / Algorithm 2 settings per AO iteration.
    baseline_kkt_max_iter : int
        Algorithm 1 iterations for the baselines (run once to convergence).
    gradient : {"closed_form", "autograd"}
    num_threads : int or None
        torch intra-op threads while solving (restored afterwards); the matrices are tiny, so one
        thread is fastest on CPU. None leaves the setting alone.

    Raises
    ------
    PlkgTypeError
        An argument of the wrong type (``model`` not a scenario or model, ``rng`` an int, ...).
    ValueError
        A value outside its domain (``tol`` not in (0, 1), ``max_iter`` < 1, an unknown
        ``method``, ``init_phases`` of the wrong shape or not unit-modulus).
    """
    model = as_channel_model(model)
    if init_phases is not None:
        init_phases = _phases_tensor(init_phases, check_device(device))
        if init_phases.shape != (model.n_elements,):
            raise PlkgInputError(
                f"init_phases must have shape [{model.n_elements}], got {tuple(init_phases.shape)}"
            )
        init_phases = init_phases.unsqueeze(0)
    return solve_ris_batched(
        model,
        method,
        n_starts=1,
        rng=rng,
        device=device,
        init_phases=init_phases,
        tol=tol,
        max_iter=max_iter,
        kkt_tol=kkt_tol,
        kkt_max_iter=kkt_max_iter,
        pga_tol=pga_tol,
        pga_max_iter=pga_max_iter,
        baseline_kkt_max_iter=baseline_kkt_max_iter,
        gradient=gradient,
        num_threads=num_threads,
    )[0]


def solve_ris_batched(
    model: RISChannelModel | RISScenario,
    method: str = "proposed",
    *,
    n_starts: int = 1,
    rng: np.random.Generator | np.random.RandomState | None = None,
    device=None,
    init_phases: torch.Tensor | None = None,
    tol: float = 1e-4,
    max_iter: int = 100,
    kkt_tol: float = 1e-6,
    kkt_max_iter: int = 30,
    pga_tol: float = 1e-6,
    pga_max_iter: int = 30,
    baseline_kkt_max_iter: int = 300,
    gradient: str = "closed_form",
    num_threads: int | None = 1,
) -> list[AOResult]:
    """B = ``n_starts`` independent runs of :func:`solve_ris`, batched (one tensor op for all).

    Used for multi-start AO and for averaging RandPhase over draws; on a GPU the batch runs in
    parallel. Each run has its own stopping test; a finished run is frozen.

    Parameters
    ----------
    n_starts : int
        B >= 1 (ignored when ``init_phases`` [B, NL] is given).
    init_phases : Tensor, complex, shape [B, NL], optional
    (other arguments as in :func:`solve_ris`)

    Returns
    -------
    list of AOResult, length B
        The random initial/RandPhase phases of start b are row b of ``rng.uniform(size=(B, NL))``.
    """
    model = as_channel_model(model)
    check_solve_options(
        method=method,
        n_starts=n_starts,
        rng=rng,
        device=device,
        tol=tol,
        max_iter=max_iter,
        kkt_tol=kkt_tol,
        kkt_max_iter=kkt_max_iter,
        pga_tol=pga_tol,
        pga_max_iter=pga_max_iter,
        baseline_kkt_max_iter=baseline_kkt_max_iter,
        gradient=gradient,
        num_threads=num_threads,
    )
    if method != "no-ris" and rng is None and init_phases is None:
        raise PlkgInputError(
            f"method {method!r} needs rng=np.random.default_rng(seed) (it draws the initial "
            "phases) or init_phases"
        )
    kwargs = {k: v for k, v in locals().items() if k != "num_threads"}
    with torch_threads(num_threads):
        return _solve(**kwargs)


def _solve(
    model,
    method,
    *,
    n_starts,
    rng,
    device,
    init_phases,
    tol,
    max_iter,
    kkt_tol,
    kkt_max_iter,
    pga_tol,
    pga_max_iter,
    baseline_kkt_max_iter,
    gradient,
) -> list[AOResult]:
    # method, tolerances, n_starts and rng were checked by solve_ris_batched (its only caller)
    nl = model.n_elements
    k, m, me = model.n_cells, model.n_antennas, model.n_rf_chains
    if init_phases is not None:
        v = _phases_tensor(init_phases, device).clone()
        if v.ndim != 2 or v.shape[1] != nl:
            raise ValueError(f"init_phases must have shape [B, {nl}], got {tuple(v.shape)}")
        check_unit_modulus(v)
        n_b = v.shape[0]
    else:
        n_b = int(n_starts)
        if method != "no-ris":
            theta = rng.uniform(0.0, 2.0 * np.pi, size=(n_b, nl))
            v = torch.as_tensor(np.exp(1j * theta), dtype=torch.complex128, device=device)
        else:
            v = torch.ones(n_b, nl, dtype=torch.complex128, device=device)
    p0 = uniform_precoders(k, me, m, model.bs_power_w, v.device).expand(n_b, -1, -1, -1).clone()

    if method in ("no-ris", "rand-phase"):
        eff = model.without_ris() if method == "no-ris" else model
        cov = cascaded_covariance(eff, v)
        results = optimize_precoders_kkt_batched(
            cov,
            model.weights,
            model.bs_power_w,
            model.ut_power_w,
            me,
            init=p0,
            tol=kkt_tol,
            max_iter=baseline_kkt_max_iter,
        )
        return [
            _finish(
                eff,
                method,
                r.precoders,
                v[b],
                r.status,
                1,
                [r.history[0], r.objective],
                [(r.iterations, 0)],
            )
            for b, r in enumerate(results)
        ]

    p = p0
    cov = cascaded_covariance(model, v)
    w = torch.as_tensor(model.weights, dtype=torch.float64, device=v.device)
    f0 = (ris_upper_bound_nats(cov, p, model.ut_power_w) * w).sum(-1) / LN2
    history = [[float(x)] for x in f0]
    inner: list[list[tuple[int, int]]] = [[] for _ in range(n_b)]
    status = ["max_iter"] * n_b
    iterations = [0] * n_b
    active = list(range(n_b))
    for it in range(1, max_iter + 1):
        if not active:
            break
        idx = torch.as_tensor(active, device=v.device)
        kkts = optimize_precoders_kkt_batched(
            cov[idx],
            model.weights,
            model.bs_power_w,
            model.ut_power_w,
            me,
            init=p[idx],
            tol=kkt_tol,
            max_iter=kkt_max_iter,
        )
        for pos, b in enumerate(active):
            if kkts[pos].objective >= history[b][-1]:
                p[b] = kkts[pos].precoders
        pgas = optimize_phases_pga_batched(
            model, p[idx], v[idx], tol=pga_tol, max_iter=pga_max_iter, gradient=gradient
        )
        still = []
        for pos, b in enumerate(active):
            pga = pgas[pos]
            v[b] = pga.phases
            f_new = max(pga.objective, history[b][-1])  # PGA is monotone; max() guards rounding
            rel = abs(f_new - history[b][-1]) / max(abs(history[b][-1]), 1e-300)
            inner[b].append((kkts[pos].iterations, pga.iterations))
            history[b].append(pga.objective)
            iterations[b] = it
            if rel <= tol:
                status[b] = "converged"
            else:
                still.append(b)
        active = still
        cov = cascaded_covariance(model, v)
    return [
        _finish(model, method, p[b], v[b], status[b], iterations[b], history[b], inner[b])
        for b in range(n_b)
    ]


@dataclass(frozen=True)
class MultiStartResult:
    """Best of B AO runs from random initial phases (:func:`solve_ris_multistart`).

    Attributes
    ----------
    best : AOResult
        The run with the largest objective sum_k w_k R_k^ub (bits, Problem (14)).
    best_index : int
        Its start b (row b of the initial phases drawn from ``rng``).
    objectives : list of float
        Final objective of every start (bits), in start order.
    statuses : list of str
        ``converged`` / ``max_iter`` of every start.
    """

    best: AOResult
    best_index: int
    objectives: list[float]
    statuses: list[str]

    @property
    def status(self) -> str:
        return self.best.status

    @property
    def iterations(self) -> int:
        return self.best.iterations

    @property
    def objective(self) -> float:
        return self.best.objective


def solve_ris_multistart(
    model: RISChannelModel | RISScenario,
    *,
    n_starts: int,
    rng: np.random.Generator,
    device=None,
    **options,
) -> MultiStartResult:
    """Multi-start AO (``proposed``): B random v^(0) from ``rng``, batched, best one returned.

    The B runs are one batch of tensor operations (:func:`solve_ris_batched`) on ``device`` (CPU
    or CUDA). Same ``rng`` state, same starts, same answer; ties go to the lowest start index.
    A start that stops at ``max_iter`` can still be the best (its status is reported); options
    are those of :func:`solve_ris`.

    Parameters
    ----------
    model : RISChannelModel
    n_starts : int
        B >= 1.
    rng : numpy Generator
        Draws the [B, NL] initial phases (required: the result depends on it).
    device : torch device, optional
    """
    if rng is None:
        raise ValueError("solve_ris_multistart needs an explicit rng (numpy Generator)")
    runs = solve_ris_batched(
        model, "proposed", n_starts=n_starts, rng=rng, device=device, **options
    )
    objectives = [r.objective for r in runs]
    best = int(np.argmax(objectives))
    return MultiStartResult(
        best=runs[best],
        best_index=best,
        objectives=objectives,
        statuses=[r.status for r in runs],
    )
