r"""Algorithm 1 of the RIS paper: KKT fixed-point precoder design with bisection on lambda_i.

For fixed RIS phases, Problem (15) maximises

.. math::

    \bar{g}(\mathbf{P}) = \sum_k w_k \left(
        \ln\det(\mathbf{P} \mathbf{M}_k \mathbf{P}^H + \mathbf{I})
        - \ln\det(\mathbf{P} \mathbf{N}_k \mathbf{P}^H + \mathbf{I}) \right)
    \quad \text{s.t.} \quad \|\mathbf{P}_i\|_F^2 \le P_A \quad \text{(C1)},

with :math:`\mathbf{M}_k = \operatorname{diag}(\mathbf{M}_{1,k}, \dots, \mathbf{M}_{K,k})` and
:math:`\mathbf{N}_k` the same with block k replaced by :math:`\mathbf{M}_{k,k} - \mathbf{N}_{kk}`
(Eq. (15)). Each iteration evaluates Eq. (27) block by block (Eqs. (20)-(22)):

.. math::

    \operatorname{vec}(\mathbf{P}_i) = (\lambda_i \mathbf{I} + \mathbf{F}_i)^{-1} \mathbf{a}_i,
    \quad \mathbf{F}_i = \sum_k w_k \mathbf{N}_{ik}^T \otimes \mathbf{B}_k^{-1},

    \mathbf{a}_i = \operatorname{vec}\Big(\sum_k w_k \mathbf{A}_k^{-1} \mathbf{P}_i
    \mathbf{M}_{i,k}\Big), \quad
    \mathbf{A}_k = \mathbf{P} \mathbf{M}_k \mathbf{P}^H + \mathbf{I}, \quad
    \mathbf{B}_k = \mathbf{P} \mathbf{N}_k \mathbf{P}^H + \mathbf{I},

with :math:`\lambda_i = 0` if :math:`\phi_i(0) \le P_A` and otherwise found by bisection on
(Eqs. (23)-(24))

.. math::

    \phi_i(\lambda) = \sum_m \frac{|b_{i,m}|^2}{(\lambda + f_{i,m})^2} = P_A

in :math:`[0, \lambda_\mathrm{ub}]`,
:math:`\lambda_\mathrm{ub} = \|\mathbf{a}_i\| / \sqrt{P_A}` (Eq. (25); the paper's sum runs
to M, it must run over all :math:`M M_e` terms for (26) to hold). The fixed point is not
guaranteed to increase g_bar at every step, so the best iterate is returned (see docs/assumptions.md). :func:`optimize_precoders_kkt_batched`
solves B problems at once (leading batch dimension); :func:`optimize_precoders_kkt` is B = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from plkg.keyrate.ris_kgr import LN2
from plkg.keyrate.ris_upper_bound import n_kk, ris_upper_bound_nats


@dataclass(frozen=True)
class KKTResult:
    """Output of :func:`optimize_precoders_kkt`.

    Attributes
    ----------
    precoders : Tensor, complex, shape [K, M_e, M]
        Best iterate; ||P_i||_F^2 <= P_A holds (C1).
    status : str
        ``converged`` or ``max_iter``.
    iterations : int
    objective : float
        sum_k w_k R_k^ub of the returned precoders, bits.
    history : list of float
        Objective (bits) of the initial point and of every iterate of Eq. (27).
    multipliers : Tensor, float, shape [K]
        lambda_i of the last iterate.
    """

    precoders: torch.Tensor
    status: str
    iterations: int
    objective: float
    history: list[float] = field(default_factory=list)
    multipliers: torch.Tensor | None = None


def uniform_precoders(
    n_cells: int, n_rf_chains: int, n_antennas: int, bs_power_w: float, device=None
) -> torch.Tensor:
    """sqrt(P_A / M_e) [I_{M_e}, 0]: full power, first M_e antennas (Remark 2 when M_e = M).

    Returns
    -------
    Tensor, complex128, shape [K, M_e, M]
    """
    eye = torch.eye(n_rf_chains, n_antennas, dtype=torch.complex128, device=device)
    return math.sqrt(bs_power_w / n_rf_chains) * eye.expand(n_cells, -1, -1).clone()


def check_power(precoders: torch.Tensor, bs_power_w: float, rtol: float = 1e-12) -> None:
    """Raise ``ValueError`` if some ||P_i||_F^2 > P_A (1 + rtol) (constraint C1)."""
    power = (precoders.abs() ** 2).sum((-1, -2))
    if bool((power > bs_power_w * (1 + rtol)).any()):
        raise ValueError(
            f"precoder power {float(power.max()):.6g} W exceeds P_A = {bs_power_w:.6g} W (C1)"
        )


def _multipliers(b2: np.ndarray, f_eig: np.ndarray, bs_power_w: float, rtol: float) -> np.ndarray:
    """lambda_i of steps 7-12 of Algorithm 1 for every BS (NumPy, vectorised over [..., K]).

    ``b2`` [..., K, MM_e] holds |b_{i,m}|^2 and ``f_eig`` [..., K, MM_e] the eigenvalues
    f_{i,m} >= 0. lambda_i = 0 if phi_i(0) <= P_A, else the bisection root of phi_i = P_A in
    (0, lambda_ub], returned at its upper end so that phi_i(lambda_i) <= P_A (C1 holds).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        phi0 = np.where(b2 > 0, b2 / np.where(f_eig > 0, f_eig, 0.0) ** 2, 0.0).sum(-1)
    need = phi0 > bs_power_w
    lo = np.zeros(b2.shape[:-1])
    hi = np.sqrt(b2.sum(-1) / bs_power_w)  # Eq. (25)
    for _ in range(200):
        if not np.any(hi - lo > rtol * np.maximum(hi, 1e-300)):
            break
        mid = 0.5 * (lo + hi)
        ok = (b2 / (mid[..., None] + f_eig) ** 2).sum(-1) <= bs_power_w
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return np.where(need, hi, 0.0)


def _kkt_step(
    cov: torch.Tensor,
    ntil: torch.Tensor,
    precoders: torch.Tensor,
    w: torch.Tensor,
    bs_power_w: float,
    bisection_tol: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One update (27) with the multipliers of steps 5-13; batched over leading dimensions."""
    k, me, m = precoders.shape[-3:]
    batch = precoders.shape[:-3]
    eye_e = torch.eye(me, dtype=cov.dtype, device=cov.device)
    a_mat = torch.einsum("...iem,...ikmn,...ifn->...kef", precoders, cov, precoders.conj()) + eye_e
    b_mat = torch.einsum("...iem,...ikmn,...ifn->...kef", precoders, ntil, precoders.conj()) + eye_e
    a_inv = torch.linalg.inv(a_mat)
    b_inv = torch.linalg.inv(b_mat)
    wc = w.to(cov.dtype)
    # F_i[(m, e), (n, f)] = sum_k w_k N_ik[n, m] B_k^-1[e, f]  (column-major vec of M_e x M)
    f_mat = torch.einsum("k,...iknm,...kef->...imenf", wc, ntil, b_inv).reshape(
        *batch, k, m * me, m * me
    )
    f_mat = 0.5 * (f_mat + f_mat.conj().transpose(-1, -2))
    x = torch.einsum(
        "k,...kef,...ifm,...ikmn->...ien", wc, a_inv, precoders, cov
    )  # [..., K, M_e, M]
    a_vec = x.transpose(-1, -2).reshape(*batch, k, m * me)
    f_eig, d = torch.linalg.eigh(f_mat)
    f_eig = f_eig.clamp_min(0.0)
    b = torch.einsum("...imn,...im->...in", d.conj(), a_vec)  # D^H a
    b2 = b.real**2 + b.imag**2
    lam = torch.as_tensor(
        _multipliers(
            b2.detach().cpu().numpy(), f_eig.detach().cpu().numpy(), bs_power_w, bisection_tol
        ),
        dtype=f_eig.dtype,
        device=f_eig.device,
    )
    denom = lam[..., None] + f_eig
    tiny = torch.finfo(f_eig.dtype).tiny
    coef = torch.where(denom > 0, b / denom.clamp_min(tiny), torch.zeros_like(b))
    p_vec = torch.einsum("...imn,...in->...im", d, coef)
    p_new = p_vec.reshape(*batch, k, m, me).transpose(-1, -2).contiguous()
    power = (p_new.abs() ** 2).sum((-1, -2))
    scale = torch.where(power > bs_power_w, torch.sqrt(bs_power_w / power), torch.ones_like(power))
    return p_new * scale[..., None, None].to(p_new.dtype), lam


def optimize_precoders_kkt(
    cov: torch.Tensor,
    weights,
    bs_power_w: float,
    ut_power_w: float,
    n_rf_chains: int,
    *,
    init: torch.Tensor | None = None,
    tol: float = 1e-6,
    max_iter: int = 100,
    bisection_tol: float = 1e-12,
) -> KKTResult:
    """Algorithm 1: maximise Problem (15) for fixed phases.

    Parameters
    ----------
    cov : Tensor, complex, shape [K, K, M, M]
        M_{i,j}(v) of Eq. (12) at the current phases (noise-normalised, 1/W).
    weights : array-like, shape [K]
        w_k >= 0.
    bs_power_w : float
        P_A (watt) of C1.
    ut_power_w : float
        UT pilot power (watt).
    n_rf_chains : int
        M_e.
    init : Tensor, complex, shape [K, M_e, M], optional
        P^(0); default :func:`uniform_precoders`.
    tol : float
        Relative objective change of step 15.
    max_iter : int
    bisection_tol : float
        Relative width at which the bisection on lambda_i stops (step 12).
    """
    if cov.ndim != 4:
        raise ValueError(f"cov must have shape [K, K, M, M], got {tuple(cov.shape)}")
    return optimize_precoders_kkt_batched(
        cov.unsqueeze(0),
        weights,
        bs_power_w,
        ut_power_w,
        n_rf_chains,
        init=None if init is None else init.unsqueeze(0),
        tol=tol,
        max_iter=max_iter,
        bisection_tol=bisection_tol,
    )[0]


def optimize_precoders_kkt_batched(
    cov: torch.Tensor,
    weights,
    bs_power_w: float,
    ut_power_w: float,
    n_rf_chains: int,
    *,
    init: torch.Tensor | None = None,
    tol: float = 1e-6,
    max_iter: int = 100,
    bisection_tol: float = 1e-12,
) -> list[KKTResult]:
    """Algorithm 1 on B independent problems at once (same K, M, M_e, weights and powers).

    Parameters
    ----------
    cov : Tensor, complex, shape [B, K, K, M, M]
    init : Tensor, complex, shape [B, K, M_e, M], optional
    (other arguments as in :func:`optimize_precoders_kkt`)

    Returns
    -------
    list of KKTResult, length B
        Each problem stops on its own tolerance; converged problems are frozen.
    """
    if not (math.isfinite(bs_power_w) and bs_power_w > 0):
        raise ValueError(f"P_A must be positive and finite, got {bs_power_w}")
    if cov.ndim != 5:
        raise ValueError(f"cov must have shape [B, K, K, M, M], got {tuple(cov.shape)}")
    n_b, k, m = cov.shape[0], cov.shape[1], cov.shape[-1]
    w = torch.as_tensor(np.asarray(weights, dtype=np.float64), device=cov.device)
    if w.shape != (k,) or bool((w < 0).any()) or not bool(torch.isfinite(w).all()):
        raise ValueError(f"weights must be {k} finite non-negative numbers")
    if init is None:
        p = (
            uniform_precoders(k, n_rf_chains, m, bs_power_w, cov.device)
            .expand(n_b, -1, -1, -1)
            .clone()
        )
    else:
        p = init.clone()
    if p.shape != (n_b, k, n_rf_chains, m):
        raise ValueError(
            f"init precoders must have shape {(n_b, k, n_rf_chains, m)}, got {tuple(p.shape)}"
        )
    check_power(p, bs_power_w, rtol=1e-9)
    ntil = cov.clone()
    idx = torch.arange(k, device=cov.device)
    ntil[:, idx, idx] = cov[:, idx, idx] - n_kk(cov, ut_power_w)

    def objective(pp: torch.Tensor) -> np.ndarray:
        return (ris_upper_bound_nats(cov, pp, ut_power_w) * w).sum(-1).detach().cpu().numpy()

    f = objective(p)
    best_p, best_f = p.clone(), f.copy()
    history = [[float(x) / LN2] for x in f]
    active = np.ones(n_b, dtype=bool)
    status = ["max_iter"] * n_b
    iterations = np.zeros(n_b, dtype=int)
    lam = torch.zeros(n_b, k, dtype=torch.float64, device=cov.device)
    for it in range(1, max_iter + 1):
        if not active.any():
            break
        p_new, lam_new = _kkt_step(cov, ntil, p, w, bs_power_w, bisection_tol)
        if not bool(torch.isfinite(p_new).all()) or bool(
            ((p_new.abs() ** 2).sum((-1, -2, -3)) == 0).any()
        ):
            raise FloatingPointError("Algorithm 1 produced non-finite or zero precoders")
        act = torch.as_tensor(active, device=cov.device)
        p_new = torch.where(act[:, None, None, None], p_new, p)
        lam = torch.where(act[:, None], lam_new, lam)
        f_new = objective(p_new)
        for b in np.flatnonzero(active):
            history[b].append(float(f_new[b]) / LN2)
            iterations[b] = it
            if f_new[b] > best_f[b]:
                best_f[b] = f_new[b]
                best_p[b] = p_new[b]
            if abs(f_new[b] - f[b]) / max(abs(f[b]), 1e-300) <= tol:
                status[b] = "converged"
                active[b] = False
        p, f = p_new, f_new
    return [
        KKTResult(
            precoders=best_p[b],
            status=status[b],
            iterations=int(iterations[b]),
            objective=float(best_f[b]) / LN2,
            history=history[b],
            multipliers=lam[b],
        )
        for b in range(n_b)
    ]
