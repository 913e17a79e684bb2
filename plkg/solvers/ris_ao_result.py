"""What the RIS alternating optimisation returns: one run (:class:`AOResult`) or the best of B.

A result carries the precoders P_k (constraint C1, ||P_k||_F^2 <= P_A) and the unit-modulus
phases v (C2) of Problem (14) of the RIS paper, the objective history sum_k w_k R_k^ub in bits,
and the per-cell key generation rate R_k of Theorem 1 and its upper bound R_k^ub of Theorem 2,
evaluated at the returned point by :func:`evaluate_rates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from plkg.channels.ris_multicell import RISChannelModel, cascaded_covariance, check_unit_modulus
from plkg.keyrate.ris_kgr import LN2, ris_kgr_nats
from plkg.keyrate.ris_upper_bound import ris_upper_bound_nats
from plkg.solvers.ris_precoder_kkt import check_power


@dataclass(frozen=True)
class AOResult:
    """Output of :func:`solve_ris`.

    Attributes
    ----------
    method : str
        ``proposed``, ``no-ris`` or ``rand-phase``.
    precoders : Tensor, complex, shape [K, M_e, M]
        P_k, ``||P_k||_F^2 <= P_A`` (C1).
    phases : Tensor, complex, shape [NL]
        v, ``abs(v_n) = 1`` (C2).
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
