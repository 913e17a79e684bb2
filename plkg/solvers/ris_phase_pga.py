r"""Algorithm 2 of the RIS paper: projected gradient ascent (PGA) on the unit-modulus RIS phases.

Maximises :math:`g(\mathbf{v}) = \sum_k w_k R_k^\mathrm{ub}(\mathbf{v})` (Problem (28)) for fixed
precoders with the update of Eq. (32),
:math:`\mathbf{v} \leftarrow \exp(j \arg(\mathbf{v} + \mu \nabla))`, where :math:`\nabla` is
the Euclidean gradient w.r.t. :math:`\mathbf{v}^*` and :math:`\mu` comes from a backtracking
(Armijo) line search, so every accepted step is non-decreasing.

Gradients (we use v, the paper's v_bar^*; grad_{v^*} g = conj(grad_{v_bar^*} g) of Theorem 4):

* :func:`closed_form_gradient` (default, faster): Theorem 4's chain rule, d g = sum_{i,j}
  tr(W_{i,j} dM_{i,j}), evaluated on the structured R^r of
  :mod:`plkg.channels.ris_multicell` instead of with MNL x MNL commutation matrices:

  .. math::

      \nabla_n = \sum_{i,j} \Big( \bar{h}^*_{j,n}
          [\bar{\mathbf{G}}_i^H \mathbf{W}_{ij} \mathbf{g}_{ij}]_n
      + v_n h^\mathrm{var}_{j,n} [\bar{\mathbf{G}}_i^H \mathbf{W}_{ij} \bar{\mathbf{G}}_i]_{nn}
      + v_n g^\mathrm{var}_{i,n} \left(|\bar{h}_{j,n}|^2 + h^\mathrm{var}_{j,n}\right)
          \operatorname{tr} \mathbf{W}_{ij} \Big).

* :func:`autograd_gradient`: torch complex autograd (PyTorch returns 2 d/dv^*), the test oracle.
* :func:`theorem4_gradient_explicit`: Eq. (31) as printed (explicit R^r, commutation matrices),
  NumPy, small sizes only; a second oracle.

:func:`optimize_phases_pga_batched` runs B problems at once (leading batch dimension, one line
search per problem); :func:`optimize_phases_pga` is its B = 1 case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from plkg.channels.ris_multicell import RISChannelModel, cascaded_covariance, check_unit_modulus
from plkg.keyrate.ris_kgr import LN2, _own
from plkg.keyrate.ris_upper_bound import ris_upper_bound_nats


def _tensors(model: RISChannelModel, like: torch.Tensor) -> dict:
    return model.tensors(device=like.device, dtype=like.dtype)


def weighted_upper_bound_nats(
    model: RISChannelModel,
    precoders: torch.Tensor,
    phases: torch.Tensor,
    tensors: dict | None = None,
) -> torch.Tensor:
    """g(v) = sum_k w_k R_k^ub (Eqs. (11), (14), (28)) in nats; shape [...].

    Parameters
    ----------
    model : RISChannelModel
    precoders : Tensor, complex, shape [..., K, M_e, M]
    phases : Tensor, complex, shape [..., NL]
    tensors : dict, optional
        Cached ``model.tensors(...)``.
    """
    t = tensors if tensors is not None else _tensors(model, phases)
    cov = cascaded_covariance(t, phases, include_rician_mean=model.include_rician_mean)
    w = torch.as_tensor(model.weights, dtype=phases.real.dtype, device=phases.device)
    return (ris_upper_bound_nats(cov, precoders, model.ut_power_w) * w).sum(-1)


def closed_form_gradient(
    model: RISChannelModel,
    precoders: torch.Tensor,
    phases: torch.Tensor,
    tensors: dict | None = None,
) -> torch.Tensor:
    """Euclidean gradient of g(v) w.r.t. v^* (Theorem 4, Eqs. (30)-(31), structured form), [NL].

    Parameters
    ----------
    model : RISChannelModel
    precoders : Tensor, complex, shape [..., K, M_e, M]
    phases : Tensor, complex, shape [..., NL]
        Any modulus (the Euclidean gradient is defined off the unit circle too). Leading batch
        dimensions of ``precoders`` and ``phases`` must match; the result has shape [..., NL].
    """
    t = tensors if tensors is not None else _tensors(model, phases)
    p_u = model.ut_power_w
    cov = cascaded_covariance(t, phases, include_rician_mean=model.include_rician_mean)
    k, m = cov.shape[-3], cov.shape[-1]
    pc = precoders
    ph = pc.conj().transpose(-1, -2)
    eye_e = torch.eye(pc.shape[-2], dtype=cov.dtype, device=cov.device)
    eye_m = torch.eye(m, dtype=cov.dtype, device=cov.device)
    r_y = torch.einsum("...iem,...ikmn,...ifn->...kef", pc, cov, pc.conj()) + eye_e
    z = p_u * cov.sum(-3) + eye_m
    own = _own(cov)
    z_inv = torch.linalg.inv(z)
    nkk = p_u * own @ z_inv @ own
    s = r_y - pc @ nkk @ ph
    ry_inv = torch.linalg.inv(r_y)
    s_inv = torch.linalg.inv(s)
    w = torch.as_tensor(model.weights, dtype=cov.dtype, device=cov.device)
    # W[i, k] from d ln det R_y,k - d ln det S_k through R_y,k = sum_i P_i C_ik P_i^H + I
    big_w = torch.einsum("k,...iem,...kef,...ifn->...ikmn", w, pc.conj(), ry_inv - s_inv, pc)
    tk = ph @ s_inv @ pc  # [K, M, M]
    a = z_inv @ own  # Z^-1 C_kk
    diag_add = p_u * (a @ tk + tk @ a.conj().transpose(-1, -2))  # Z^-1 C T + T C Z^-1
    idx = torch.arange(k, device=cov.device)
    big_w[..., idx, idx, :, :] = big_w[..., idx, idx, :, :] + w[:, None, None] * diag_add
    row_sub = p_u**2 * (a @ tk @ a.conj().transpose(-1, -2))  # Z^-1 C T C Z^-1
    big_w = big_w - (w[:, None, None] * row_sub)[..., :, None, :, :]
    big_w = 0.5 * (big_w + big_w.conj().transpose(-1, -2))
    g_bar, h_bar, g_var, h_var = t["g_bar"], t["h_bar"], t["g_var"], t["h_var"]
    grad = torch.zeros_like(phases)
    if model.include_rician_mean:
        g = torch.einsum("imn,...jn->...ijm", g_bar, phases.unsqueeze(-2) * h_bar)
        grad = grad + torch.einsum(
            "jn,imn,...ijmp,...ijp->...n", h_bar.conj(), g_bar.conj(), big_w, g
        )
    quad = torch.einsum("imn,...ijmp,ipn->...ijn", g_bar.conj(), big_w, g_bar)  # [G^H W G]_nn
    grad = grad + phases * torch.einsum("jn,...ijn->...n", h_var.to(cov.dtype), quad)
    tr_w = torch.diagonal(big_w, dim1=-2, dim2=-1).sum(-1)  # [..., K, K]
    h_pow = (h_bar.real**2 + h_bar.imag**2 + h_var).to(cov.dtype)
    grad = grad + phases * torch.einsum("in,jn,...ij->...n", g_var.to(cov.dtype), h_pow, tr_w)
    return grad


def autograd_gradient(
    model: RISChannelModel,
    precoders: torch.Tensor,
    phases: torch.Tensor,
    tensors: dict | None = None,
) -> torch.Tensor:
    """Gradient of g(v) w.r.t. v^* by torch complex autograd (half of ``v.grad``); shape [NL]."""
    v = phases.detach().clone().requires_grad_(True)
    val = weighted_upper_bound_nats(model, precoders.detach(), v, tensors)
    (grad,) = torch.autograd.grad(val.sum(), v)
    return 0.5 * grad


def finite_difference_gradient(
    model: RISChannelModel, precoders: torch.Tensor, phases: torch.Tensor, step: float = 1e-6
) -> torch.Tensor:
    """Central-difference gradient w.r.t. v^*: (d/dRe + j d/dIm) / 2; shape [NL]. Tests only."""
    v0 = phases.detach().clone()
    out = torch.zeros_like(v0)
    for n in range(v0.shape[-1]):
        parts = []
        for direction in (1.0, 1j):
            e = torch.zeros_like(v0)
            e[n] = direction * step
            fp = weighted_upper_bound_nats(model, precoders, v0 + e)
            fm = weighted_upper_bound_nats(model, precoders, v0 - e)
            parts.append((fp - fm) / (2 * step))
        out[n] = 0.5 * (parts[0] + 1j * parts[1])
    return out


def commutation_matrix(m: int, n: int) -> np.ndarray:
    """K_{m,n} with K vec(A) = vec(A^T) for A of shape [m, n] (column-major vec), [mn, mn]."""
    k = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            k[i * n + j, j * m + i] = 1.0
    return k


def theorem4_gradient_explicit(model: RISChannelModel, precoders, phases) -> np.ndarray:
    """Theorem 4, Eqs. (30)-(31), literally: explicit R^r, Kronecker and commutation matrices.

    Returns the paper's gradient w.r.t. v_bar^* converted to ours, conj(grad_{v_bar^*} g) =
    grad_{v^*} g, shape [NL]. Memory O((MNL)^2): small sizes and tests only. The UT power p_u enters
    as sqrt(p_u) R_{y z_tilde} and p_u in R_{z_tilde} (p_u = 1 is the paper). We read
    K_{M_e NL} / K_{MNL} as the commutation matrices K_{M_e,NL} / K_{M,NL} that reorder the
    element-major rows of (31) to antenna-major, and K_{M_e}, K_M as identities (commutation
    matrices of square blocks), so sum_m [.]_{(m-1)NL+1:mNL, m} is the block-wise trace.
    """
    from plkg.channels.ris_multicell import explicit_ris_covariance

    p = np.asarray(
        precoders.detach().cpu() if hasattr(precoders, "detach") else precoders, dtype=complex
    )
    v = np.asarray(phases.detach().cpu() if hasattr(phases, "detach") else phases, dtype=complex)
    vbar = v.conj()
    k, me, m = p.shape
    nl = v.shape[0]
    p_u = model.ut_power_w
    rr = [[explicit_ris_covariance(model, i, j) for j in range(k)] for i in range(k)]
    vt = np.kron(vbar.conj()[None, :], np.eye(m))  # v_bar^H (x) I_M
    cov = [[model.rd[i, j] + vt @ rr[i][j] @ vt.conj().T for j in range(k)] for i in range(k)]
    i_nl = np.eye(nl)
    vb_me = np.kron(vbar[:, None], np.eye(me))  # v_bar (x) I_Me, [Me NL, Me]
    vb_m = np.kron(vbar[:, None], np.eye(m))  # v_bar (x) I_M, [M NL, M]
    k_e = commutation_matrix(me, nl)
    k_m = commutation_matrix(m, nl)
    grad = np.zeros(nl, dtype=complex)
    for kk in range(k):
        r_y = sum(p[i] @ cov[i][kk] @ p[i].conj().T for i in range(k)) + np.eye(me)
        r_z = p_u * sum(cov[kk][j] for j in range(k)) + np.eye(m)
        r_yz = np.sqrt(p_u) * p[kk] @ cov[kk][kk]
        r_zy = r_yz.conj().T
        s_inv = np.linalg.inv(r_y - r_yz @ np.linalg.solve(r_z, r_zy))
        r_z_inv = np.linalg.inv(r_z)
        big = sum(np.kron(i_nl, p[i]) @ rr[i][kk] @ np.kron(i_nl, p[i]).conj().T for i in range(k))
        q = (
            k_e @ big @ vb_me @ np.linalg.inv(r_y)
            - k_e @ big @ vb_me @ s_inv
            + np.sqrt(p_u) * k_e @ np.kron(i_nl, p[kk]) @ rr[kk][kk] @ vb_m @ r_z_inv @ r_zy @ s_inv
        )
        g = (
            -p_u
            * k_m
            @ sum(rr[kk][j] for j in range(k))
            @ vb_m
            @ r_z_inv
            @ r_zy
            @ s_inv
            @ r_yz
            @ r_z_inv
        )
        g = (
            g
            + np.sqrt(p_u)
            * k_m
            @ rr[kk][kk]
            @ np.kron(i_nl, p[kk]).conj().T
            @ vb_me
            @ s_inv
            @ r_yz
            @ r_z_inv
        )
        q_sum = sum(q[e * nl : (e + 1) * nl, e] for e in range(me))  # sum_m q_bar_{k,m}
        g_sum = sum(g[a * nl : (a + 1) * nl, a] for a in range(m))  # sum_m g_bar_{k,m}
        grad += model.weights[kk] * (q_sum + g_sum)
    return grad.conj()


GRADIENTS = {"closed_form": closed_form_gradient, "autograd": autograd_gradient}


@dataclass(frozen=True)
class PGAResult:
    """Output of :func:`optimize_phases_pga`.

    Attributes
    ----------
    phases : Tensor, complex, shape [NL]
        Unit-modulus v (C2 holds exactly: v = exp(j theta)).
    status : str
        ``converged`` (relative change <= tol), ``stationary`` (no ascent step found) or
        ``max_iter``.
    iterations : int
    objective : float
        Final sum_k w_k R_k^ub in bits.
    history : list of float
        Objective (bits) at the start and after every iteration (non-decreasing).
    """

    phases: torch.Tensor
    status: str
    iterations: int
    objective: float
    history: list[float] = field(default_factory=list)


def project_unit_modulus(x: torch.Tensor) -> torch.Tensor:
    """exp(j arg(x)) of Eq. (32); zero entries map to 1."""
    return torch.polar(torch.ones_like(x.real), torch.angle(x))


def optimize_phases_pga(
    model: RISChannelModel,
    precoders: torch.Tensor,
    phases0: torch.Tensor,
    *,
    tol: float = 1e-6,
    max_iter: int = 200,
    gradient: str = "closed_form",
    armijo: float = 1e-4,
    backtrack: float = 0.5,
    max_backtracks: int = 40,
) -> PGAResult:
    r"""Algorithm 2 (Eqs. (28)-(32)): PGA with backtracking line search.

    Parameters
    ----------
    model : RISChannelModel
        Channel statistics of the scenario (noise-normalised, 1/W).
    precoders : Tensor, complex, shape [K, M_e, M]
        Fixed P_k.
    phases0 : Tensor, complex, shape [NL]
        Initial unit-modulus v (checked; ``ValueError`` otherwise).
    tol : float
        Stop when :math:`|g(t+1) - g(t)| / |g(t)| \le` ``tol`` (step 8 of Algorithm 2).
    max_iter : int
        Most PGA iterations.
    gradient : {"closed_form", "autograd"}
        Which gradient (see the module overview).
    armijo, backtrack, max_backtracks : float, float, int
        Accept :math:`\mu` when :math:`g(\mathbf{v}') \ge g(\mathbf{v}) + a \cdot 2
        \operatorname{Re}(\nabla^H (\mathbf{v}' - \mathbf{v}))` with :math:`a` = ``armijo``;
        otherwise multiply :math:`\mu` by ``backtrack``, at most ``max_backtracks`` times.

    Returns
    -------
    PGAResult
        The final phases, status, objective g (bits) and objective history.
    """
    if phases0.ndim != 1 or phases0.shape[0] != model.n_elements:
        raise ValueError(
            f"phases must have shape [NL] = [{model.n_elements}], got {tuple(phases0.shape)}"
        )
    return optimize_phases_pga_batched(
        model,
        precoders.unsqueeze(0),
        phases0.unsqueeze(0),
        tol=tol,
        max_iter=max_iter,
        gradient=gradient,
        armijo=armijo,
        backtrack=backtrack,
        max_backtracks=max_backtracks,
    )[0]


def optimize_phases_pga_batched(
    model: RISChannelModel,
    precoders: torch.Tensor,
    phases0: torch.Tensor,
    *,
    tol: float = 1e-6,
    max_iter: int = 200,
    gradient: str = "closed_form",
    armijo: float = 1e-4,
    backtrack: float = 0.5,
    max_backtracks: int = 40,
) -> list[PGAResult]:
    """Algorithm 2 on B independent problems at once (same model); see :func:`optimize_phases_pga`.

    Parameters
    ----------
    precoders : Tensor, complex, shape [B, K, M_e, M]
    phases0 : Tensor, complex, shape [B, NL]

    Returns
    -------
    list of PGAResult, length B
        Every problem has its own step size, line search and stopping test.
    """
    if gradient not in GRADIENTS:
        raise ValueError(f"gradient must be one of {sorted(GRADIENTS)}, got {gradient!r}")
    if phases0.ndim != 2 or phases0.shape[1] != model.n_elements:
        raise ValueError(
            f"phases must have shape [B, NL={model.n_elements}], got {tuple(phases0.shape)}"
        )
    if precoders.ndim != 4 or precoders.shape[0] != phases0.shape[0]:
        raise ValueError(f"precoders must have shape [B, K, M_e, M], got {tuple(precoders.shape)}")
    check_unit_modulus(phases0)
    grad_fn = GRADIENTS[gradient]
    t = _tensors(model, phases0)
    n_b = phases0.shape[0]
    v = project_unit_modulus(phases0.detach())
    with torch.no_grad():
        f = weighted_upper_bound_nats(model, precoders, v, t)
    history = [[float(x) / LN2] for x in f]
    status = ["max_iter"] * n_b
    iterations = [0] * n_b
    active = torch.ones(n_b, dtype=torch.bool, device=v.device)
    step_scale = torch.ones(n_b, dtype=f.dtype, device=v.device)
    tiny = torch.finfo(f.dtype).tiny
    for it in range(1, max_iter + 1):
        if not bool(active.any()):
            break
        with torch.no_grad() if gradient == "closed_form" else torch.enable_grad():
            grad = grad_fn(model, precoders, v, t)
        gmax = grad.abs().amax(-1)
        if not bool(torch.isfinite(gmax).all()):
            raise FloatingPointError("non-finite gradient in Algorithm 2")
        mu = step_scale / gmax.clamp_min(tiny)
        pending = active & (gmax > 0)
        accepted = torch.zeros_like(active)
        v_new, f_new = v.clone(), f.clone()
        with torch.no_grad():
            for _ in range(max_backtracks):
                if not bool(pending.any()):
                    break
                cand = project_unit_modulus(v + mu[:, None] * grad)
                f_cand = weighted_upper_bound_nats(model, precoders, cand, t)
                gain = 2.0 * torch.real((grad.conj() * (cand - v)).sum(-1))
                ok = pending & (f_cand >= f + armijo * gain.clamp_min(0.0)) & (f_cand >= f)
                v_new = torch.where(ok[:, None], cand, v_new)
                f_new = torch.where(ok, f_cand, f_new)
                accepted = accepted | ok
                pending = pending & ~ok
                mu = torch.where(pending, mu * backtrack, mu)
        rel = (f_new - f).abs() / f.abs().clamp_min(1e-300)
        for b in torch.nonzero(active).flatten().tolist():
            if not bool(accepted[b]):
                status[b] = "stationary"
                active[b] = False
                continue
            iterations[b] = it
            history[b].append(float(f_new[b]) / LN2)
            if float(rel[b]) <= tol:
                status[b] = "converged"
                active[b] = False
        step_scale = torch.where(accepted, (mu * gmax * 2.0).clamp_max(1e3), step_scale)
        v, f = v_new, f_new
    return [
        PGAResult(
            phases=v[b],
            status=status[b],
            iterations=iterations[b],
            objective=float(f[b]) / LN2,
            history=history[b],
        )
        for b in range(n_b)
    ]


def random_phases(n: int, rng: np.random.Generator, device=None) -> torch.Tensor:
    """n i.i.d. uniform unit-modulus phases exp(j theta), theta ~ U[0, 2 pi); shape [n]."""
    theta = rng.uniform(0.0, 2.0 * np.pi, size=n)
    return torch.as_tensor(np.exp(1j * theta), dtype=torch.complex128, device=device)
