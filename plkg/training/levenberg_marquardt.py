"""Levenberg-Marquardt least squares on ``torch.func``, as MATLAB ``trainlm`` (Section V-B-1 of the
near-field paper trains KGLM-Net with it).

One :meth:`LevenbergMarquardt.step` is one ``trainlm`` epoch: the Jacobian J of the residual
vector e(theta) is formed once, then dtheta = -(J^T J + mu I)^-1 J^T e is tried with mu growing by
``mu_inc`` until the sum of squared errors decreases (then mu shrinks by ``mu_dec``) or mu exceeds
``mu_max`` (the step fails and training stops). Defaults are ``trainlm``'s: mu = 1e-3, x0.1, x10,
max 1e10.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, jacfwd


@dataclass(frozen=True)
class LMStep:
    """Outcome of one LM epoch: new parameters, their SSE, the damping used, and whether it helped."""

    theta: torch.Tensor
    sse: float
    mu: float
    improved: bool
    trials: int
    grad_inf: float = float("nan")


@dataclass(frozen=True)
class LMResult:
    """Result of :meth:`LevenbergMarquardt.minimize`.

    ``status``: ``converged`` (relative SSE change below ``ftol`` or gradient below ``gtol``),
    ``mu_max`` (damping exceeded its maximum) or ``max_iter``.
    """

    theta: torch.Tensor
    sse: float
    iterations: int
    status: str
    mu: float
    objective: float


class LevenbergMarquardt:
    """Damped Gauss-Newton for min_theta sum_i e_i(theta)^2.

    Parameters
    ----------
    mu, mu_dec, mu_inc, mu_max : float
        Initial damping and its decrease/increase factors and cap (MATLAB ``trainlm`` defaults).
    """

    def __init__(
        self, mu: float = 1e-3, mu_dec: float = 0.1, mu_inc: float = 10.0, mu_max: float = 1e10
    ):
        if not (mu > 0 and 0 < mu_dec < 1 < mu_inc and mu_max > mu):
            raise ValueError(
                f"need mu > 0, 0 < mu_dec < 1 < mu_inc, mu_max > mu; got {mu}, {mu_dec}, {mu_inc}, {mu_max}"
            )
        self.mu = float(mu)
        self.mu_dec = float(mu_dec)
        self.mu_inc = float(mu_inc)
        self.mu_max = float(mu_max)

    def step(
        self, residual_fn: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor
    ) -> LMStep:
        """One ``trainlm`` epoch from ``theta`` [P]; ``residual_fn(theta) -> e`` [N]."""
        theta = theta.detach()
        with torch.no_grad():
            e = residual_fn(theta)
        sse = float(e @ e)
        jac = jacfwd(residual_fn)(theta)  # [N, P]
        hess = jac.T @ jac
        grad = jac.T @ e
        grad_inf = float(grad.abs().max())
        eye = torch.eye(theta.numel(), dtype=theta.dtype, device=theta.device)
        trials = 0
        while self.mu <= self.mu_max:
            trials += 1
            try:
                delta = torch.linalg.solve(hess + self.mu * eye, grad)
            except RuntimeError:  # singular even with damping: damp more
                self.mu *= self.mu_inc
                continue
            cand = theta - delta
            with torch.no_grad():
                e2 = residual_fn(cand)
            sse2 = float(e2 @ e2)
            if sse2 < sse:
                self.mu *= self.mu_dec
                return LMStep(cand, sse2, self.mu, True, trials, grad_inf)
            self.mu *= self.mu_inc
        return LMStep(theta, sse, self.mu, False, trials, grad_inf)

    def minimize(
        self,
        residual_fn: Callable[[torch.Tensor], torch.Tensor],
        theta0: torch.Tensor,
        max_iter: int = 1000,
        ftol: float = 1e-15,
        gtol: float = 1e-12,
    ) -> LMResult:
        """Iterate :meth:`step` until convergence (see :class:`LMResult`)."""
        theta = theta0.detach().clone()
        sse = float("inf")
        for it in range(1, int(max_iter) + 1):
            out = self.step(residual_fn, theta)
            if out.grad_inf <= gtol:
                return LMResult(
                    theta, out.sse if out.improved else sse, it, "converged", self.mu, sse
                )
            if not out.improved:
                return LMResult(theta, out.sse, it, "mu_max", self.mu, out.sse)
            rel = (sse - out.sse) / max(out.sse, 1e-300)
            theta, sse = out.theta, out.sse
            if rel <= ftol:
                return LMResult(theta, sse, it, "converged", self.mu, sse)
        return LMResult(theta, sse, int(max_iter), "max_iter", self.mu, sse)


# ----------------------------------------------------------------------------- nn.Module helpers
def flat_parameters(module: nn.Module) -> torch.Tensor:
    """All parameters of ``module`` as one vector [P] (named_parameters order)."""
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def unflatten(module: nn.Module, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """Parameter dict of ``module`` (for ``functional_call``) from a flat vector [P]."""
    total = sum(p.numel() for p in module.parameters())
    if theta.numel() != total:
        raise ValueError(f"parameter vector has {theta.numel()} entries, module needs {total}")
    out, i = {}, 0
    for name, p in module.named_parameters():
        n = p.numel()
        out[name] = theta[i : i + n].reshape(p.shape)
        i += n
    return out


def load_flat(module: nn.Module, theta: torch.Tensor) -> None:
    """Copy a flat vector [P] into the parameters of ``module`` in place."""
    with torch.no_grad():
        for name, value in unflatten(module, theta).items():
            module.get_parameter(name).copy_(value)


def module_residual_fn(module: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """theta [P] -> (module(x; theta) - y).reshape(-1), for :class:`LevenbergMarquardt`."""

    def residual(theta: torch.Tensor) -> torch.Tensor:
        return (functional_call(module, unflatten(module, theta), (x,)) - y).reshape(-1)

    return residual
