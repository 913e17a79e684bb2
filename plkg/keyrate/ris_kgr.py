"""Key generation rate of the RIS-aided multi-cell system: Theorem 1 (Eq. (8)) and Remark 2 (Eq. (9)).

Probing model (Eqs. (2)-(6) of the RIS paper, noise-normalised, UT pilot power p_u):

    y_k = sum_i P_i h_{i,k} + n_k          (UT k, M_e x 1; Eq. (3) with the i = k term once)
    z_k = P_k (sqrt(p_u) sum_j h_{k,j} + n'_k)   (BS k, Eqs. (5)-(6))

With C_{i,j} = M_{i,j}(v) of Eq. (12) (see :func:`plkg.channels.ris_multicell.cascaded_covariance`)
and the links treated as independent Gaussian vectors (the paper's model), R_k = I(y_k; z_k) is

    R_k = ln det R_z - ln det(R_z - R_zy R_y^{-1} R_yz),
    R_y = sum_i P_i C_{i,k} P_i^H + I,   R_z = P_k (p_u sum_j C_{k,j} + I) P_k^H,
    R_yz = sqrt(p_u) P_k C_{k,k} P_k^H,

which is Eq. (8) for p_u = 1. Rates are in nats (the paper's ln); ``*_bits`` divide by ln 2.
All functions broadcast over leading batch dimensions.
"""

from __future__ import annotations

import math

import numpy as np
import torch

LN2 = math.log(2.0)


def logdet_hpd(x: torch.Tensor) -> torch.Tensor:
    """ln det of Hermitian positive-definite matrices [..., n, n] via Cholesky (real result)."""
    try:
        chol = torch.linalg.cholesky(x)
    except RuntimeError as exc:  # torch.linalg.LinAlgError
        raise ValueError(
            "covariance matrix is not positive definite (check inputs for NaN/negatives)"
        ) from exc
    return 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1).real).sum(-1)


def check_rate_inputs(cov: torch.Tensor, precoders: torch.Tensor, ut_power_w: float) -> None:
    """Validate shapes and values; raise ``ValueError`` naming the problem.

    Parameters
    ----------
    cov : Tensor, complex, shape [..., K, K, M, M]
        C_{i,j} (Eq. (12)), noise-normalised, Hermitian PSD.
    precoders : Tensor, complex, shape [..., K, M_e, M]
        P_k of Eq. (2).
    ut_power_w : float
        UT pilot power p_u >= 0 in watt.
    """
    if cov.ndim < 4 or cov.shape[-1] != cov.shape[-2] or cov.shape[-3] != cov.shape[-4]:
        raise ValueError(f"covariances must have shape [..., K, K, M, M], got {tuple(cov.shape)}")
    if precoders.ndim < 3:
        raise ValueError(
            f"precoders must have shape [..., K, M_e, M], got {tuple(precoders.shape)}"
        )
    k, m = cov.shape[-3], cov.shape[-1]
    if precoders.shape[-3] != k or precoders.shape[-1] != m:
        raise ValueError(
            f"precoders shape {tuple(precoders.shape)} does not match K={k}, M={m} of the covariances"
        )
    if precoders.shape[-2] > m or precoders.shape[-2] < 1:
        raise ValueError(f"M_e = {precoders.shape[-2]} must be in [1, M = {m}]")
    if not bool(torch.isfinite(cov.detach()).all()):
        raise ValueError("covariances contain NaN or infinite entries")
    if not bool(torch.isfinite(precoders.detach()).all()):
        raise ValueError("precoders contain NaN or infinite entries")
    if not math.isfinite(float(ut_power_w)) or float(ut_power_w) < 0:
        raise ValueError(f"UT power must be finite and non-negative, got {ut_power_w}")
    c = cov.detach()
    herm_err = (c - c.conj().transpose(-1, -2)).abs().amax()
    scale = c.abs().amax().clamp_min(1e-300)
    if float(herm_err / scale) > 1e-8:
        raise ValueError("covariances are not Hermitian")


def _own(cov: torch.Tensor) -> torch.Tensor:
    """C_{k,k} for every k: [..., K, K, M, M] -> [..., K, M, M]."""
    idx = torch.arange(cov.shape[-3], device=cov.device)
    return cov[..., idx, idx, :, :]


def probing_covariances(
    cov: torch.Tensor, precoders: torch.Tensor, ut_power_w: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """R_y, R_z and R_yz of Eqs. (38)-(40) (with UT power p_u), each [..., K, M_e, M_e].

    Parameters
    ----------
    cov : Tensor, complex, shape [..., K, K, M, M]
        C_{i,j}, entry [i, j] is BS i - UT j.
    precoders : Tensor, complex, shape [..., K, M_e, M]
    ut_power_w : float
    """
    me = precoders.shape[-2]
    eye_e = torch.eye(me, dtype=cov.dtype, device=cov.device)
    eye_m = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    r_y = torch.einsum("...iem,...ikmn,...ifn->...kef", precoders, cov, precoders.conj()) + eye_e
    z_tilde = ut_power_w * cov.sum(-3) + eye_m  # [..., K, M, M], sum over UTs j
    r_z = precoders @ z_tilde @ precoders.conj().transpose(-1, -2)
    r_yz = math.sqrt(ut_power_w) * (precoders @ _own(cov) @ precoders.conj().transpose(-1, -2))
    return r_y, r_z, r_yz


def _row_space_basis(
    precoders: torch.Tensor, rtol: float = 1e-10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthonormal rows spanning the row space of P_k, and the mask of kept rows.

    z_k = P_k z_tilde_k = U S (V^H z_tilde_k): for the rows with s > rtol s_max the map to
    V^H z_tilde_k is invertible, so I(y_k; z_k) = I(y_k; V_r^H z_tilde_k) (exact, and well
    conditioned when P_k is (nearly) rank deficient).
    """
    _, sv, vh = torch.linalg.svd(precoders, full_matrices=False)
    keep = sv > rtol * sv[..., :1].clamp_min(1e-300)
    return vh * keep[..., :, None].to(vh.dtype), keep


def ris_kgr_nats(cov: torch.Tensor, precoders: torch.Tensor, ut_power_w: float) -> torch.Tensor:
    """R_k of Theorem 1, Eq. (8), in nats; shape [..., K].

    Evaluated as ln det R_z - ln det(R_z - R_zy R_y^{-1} R_yz) (Eq. (8)) after replacing P_k in
    z_k by an orthonormal basis of its row space (an invertible transform of z_k, so the mutual
    information is unchanged; see :func:`_row_space_basis`). Rows with zero singular value are
    replaced by independent unit-variance dummies, which carry no information.

    Parameters
    ----------
    cov : Tensor, complex, shape [..., K, K, M, M]
        C_{i,j} = M_{i,j}(v) of Eq. (12), noise-normalised (1/W).
    precoders : Tensor, complex, shape [..., K, M_e, M]
        P_k (sqrt(W)).
    ut_power_w : float
        UT pilot power p_u in watt (the paper's Eq. (8) is p_u = 1).
    """
    check_rate_inputs(cov, precoders, ut_power_w)
    basis, keep = _row_space_basis(precoders)
    eye_e = torch.eye(precoders.shape[-2], dtype=cov.dtype, device=cov.device)
    eye_m = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    r_y = torch.einsum("...iem,...ikmn,...ifn->...kef", precoders, cov, precoders.conj()) + eye_e
    z_tilde = ut_power_w * cov.sum(-3) + eye_m
    bh = basis.conj().transpose(-1, -2)
    dummy = torch.diag_embed((~keep).to(cov.dtype))
    r_z = basis @ z_tilde @ bh + dummy
    r_yz = math.sqrt(ut_power_w) * (precoders @ _own(cov) @ bh)
    r_zy = r_yz.conj().transpose(-1, -2)
    schur = r_z - r_zy @ torch.linalg.solve(r_y, r_yz)
    schur = 0.5 * (schur + schur.conj().transpose(-1, -2))
    return logdet_hpd(r_z) - logdet_hpd(schur)


def ris_kgr_bits(cov: torch.Tensor, precoders: torch.Tensor, ut_power_w: float) -> torch.Tensor:
    """Theorem 1 in bits per channel use (log2); shape [..., K]."""
    return ris_kgr_nats(cov, precoders, ut_power_w) / LN2


def remark2_kgr_nats(rd, bs_powers_w, ut_power_w: float = 1.0) -> np.ndarray:
    """Remark 2, Eq. (9): KGR without RIS and with P_i = sqrt(P_i / M) I_M, in nats; shape [K].

    Parameters
    ----------
    rd : array, complex, shape [K, K, M, M]
        R^d_{i,j} (noise-normalised, BS i - UT j).
    bs_powers_w : array, float, shape [K]
        P_i in watt.
    ut_power_w : float
        UT pilot power; 1 reproduces the paper's Eq. (9) literally.
    """
    rd = np.asarray(rd, dtype=np.complex128)
    p = np.asarray(bs_powers_w, dtype=np.float64)
    k, m = rd.shape[0], rd.shape[-1]
    if p.shape != (k,) or np.any(~np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"bs_powers_w must be {k} finite non-negative powers")
    eye = np.eye(m)
    out = np.zeros(k)
    for kk in range(k):
        a = ut_power_w * rd[kk].sum(0) + eye
        b = sum(p[i] / m * rd[i, kk] for i in range(k)) + eye
        inner = a - ut_power_w * p[kk] / m * rd[kk, kk] @ np.linalg.solve(b, rd[kk, kk])
        out[kk] = np.linalg.slogdet(a)[1] - np.linalg.slogdet(inner)[1]
    return out
