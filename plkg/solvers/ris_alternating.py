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

The results are defined in :mod:`plkg.solvers.ris_ao_result` and the inputs are checked by
:mod:`plkg.solvers.ris_ao_inputs`; this module runs the AO loop.
"""

from __future__ import annotations

import numpy as np
import torch

from plkg.channels.ris_multicell import RISChannelModel, cascaded_covariance, check_unit_modulus
from plkg.channels.ris_scenario import RISScenario
from plkg.errors import PlkgInputError
from plkg.keyrate.ris_kgr import LN2
from plkg.keyrate.ris_upper_bound import ris_upper_bound_nats
from plkg.parallel.torch_threads import torch_threads
from plkg.solvers.ris_ao_inputs import METHODS as METHODS
from plkg.solvers.ris_ao_inputs import (
    _phases_tensor,
    as_channel_model,
    check_device,
    check_solve_options,
)
from plkg.solvers.ris_ao_result import AOResult, MultiStartResult, _finish
from plkg.solvers.ris_ao_result import evaluate_rates as evaluate_rates
from plkg.solvers.ris_phase_pga import optimize_phases_pga_batched
from plkg.solvers.ris_precoder_kkt import optimize_precoders_kkt_batched, uniform_precoders


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
        The AO of Section IV (Algorithms 1 + 2), or a baseline of Section V-A.
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
        Gradient of Algorithm 2 (:mod:`plkg.solvers.ris_phase_pga`).
    num_threads : int or None
        torch intra-op threads while solving (restored afterwards); the matrices are tiny, so one
        thread is fastest on CPU. None leaves the setting alone.

    Returns
    -------
    AOResult
        Precoders P_k [K, M_e, M] (C1), unit-modulus phases v [NL] (C2), status, iterations, the
        objective sum_k w_k R_k^ub (bits, Problem (14)), the per-cell KGR ``kgr_bits``
        (Theorem 1) and bound ``ub_bits`` (Theorem 2).

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
