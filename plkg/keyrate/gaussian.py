"""Gaussian key rates (mutual information between both ends' measurements) of the near-field paper.

* :func:`gaussian_mi_bits` is Eq. (13) for any jointly Gaussian pair given its covariances.
* :func:`general_key_rate_bits` is Eq. (14): the covariances (12) for arbitrary precoders {P_k}.
* :func:`block_diagonal_key_rate_bits` is Eq. (17): the covariances once (15) holds.
* :func:`approximate_key_rate_bits` is Eq. (35) from the covariances (34); equals Eq. (42).
"""

from __future__ import annotations

import numpy as np

LOG2E = 1.0 / np.log(2.0)


def _logdet_psd(matrix: np.ndarray, what: str) -> float:
    """log det of a Hermitian PD matrix after Jacobi scaling (robust to mixed scales)."""
    matrix = 0.5 * (matrix + matrix.conj().T)
    diag = np.real(np.diag(matrix))
    if np.any(diag <= 0):
        raise ValueError(f"{what} is singular: a measurement dimension has zero variance")
    scale = 1.0 / np.sqrt(diag)
    normalised = matrix * scale[:, None] * scale[None, :]
    try:
        chol = np.linalg.cholesky(normalised)
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"{what} is not positive definite") from exc
    return float(2.0 * np.sum(np.log(np.real(np.diag(chol)))) + np.sum(np.log(diag)))


def gaussian_mi_bits(r_a, r_b, r_ab) -> float:
    """I(z_a; z_b) = -log2 |I - R_ab R_b^-1 R_ba R_a^-1| for jointly circular Gaussian vectors, Eq. (13).

    Computed as log2|R_a| + log2|R_b| - log2|R_joint| (the same quantity; better conditioned).

    Parameters
    ----------
    r_a : ndarray [Da, Da] complex, E{z_a z_a^H}
    r_b : ndarray [Db, Db] complex, E{z_b z_b^H}
    r_ab : ndarray [Da, Db] complex, E{z_a z_b^H}

    Returns
    -------
    float, bits.
    """
    r_a, r_b, r_ab = (np.asarray(m, dtype=np.complex128) for m in (r_a, r_b, r_ab))
    joint = np.block([[r_a, r_ab], [r_ab.conj().T, r_b]])
    mi = _logdet_psd(r_a, "R_a") + _logdet_psd(r_b, "R_b") - _logdet_psd(joint, "joint covariance")
    return max(mi * LOG2E, 0.0)


def _range_basis(p: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    """Orthonormal basis of the column space of a precoder.

    The BS measurement P^H z_bar is an invertible function of Q^H z_bar (Q a basis of range(P)),
    so both carry the same information; using Q keeps the covariance non-singular when P has
    zero (padded, zero-power) or linearly dependent columns.
    """
    u, sv, _ = np.linalg.svd(p, full_matrices=False)
    if sv.size == 0 or sv[0] == 0:
        return u[:, :0]
    return u[:, sv > rtol * sv[0]]


def general_key_rate_bits(
    ccm, precoders, sigma2_a_hat_w: float, sigma2_b_hat_w: float
) -> np.ndarray:
    """KR I_k of Eq. (14) for arbitrary precoders, via the covariances of Eq. (12).

    Parameters
    ----------
    ccm : ndarray, shape [K, N, N], complex128
    precoders : ndarray, shape [K, N, N_s], complex128
        P_k for every UE.
    sigma2_a_hat_w, sigma2_b_hat_w : float
        Estimation noise powers at the BS and the UE.

    Returns
    -------
    ndarray, shape [K], bits per probing round.

    Notes
    -----
    Zero columns of P_k (the zero padding [P_{e,k}, 0]) make R_{a_k} in (12) singular, so Eq. (14)
    is ill-posed as printed for N_s > D_k. The BS side is evaluated on an orthonormal basis of
    range(P_k), which carries the same information (see ``docs/assumptions.md``). Independent UE
    channels are assumed, as in Eq. (12).
    """
    ccm = np.asarray(ccm, dtype=np.complex128)
    precoders = np.asarray(precoders, dtype=np.complex128)
    if precoders.ndim != 3 or precoders.shape[:2] != ccm.shape[:2]:
        raise ValueError(
            f"precoders must have shape [K, N, N_s] = [{ccm.shape[0]}, {ccm.shape[1]}, N_s]"
        )
    p_sum = precoders.sum(axis=0)
    r_sum = ccm.sum(axis=0)
    rates = np.zeros(ccm.shape[0])
    for k in range(ccm.shape[0]):
        q = _range_basis(precoders[k])
        if q.shape[1] == 0:
            continue
        r_a = q.conj().T @ r_sum @ q + sigma2_a_hat_w * np.eye(q.shape[1])
        r_b = p_sum.conj().T @ ccm[k] @ p_sum + sigma2_b_hat_w * np.eye(p_sum.shape[1])
        r_ab = q.conj().T @ ccm[k] @ p_sum
        rates[k] = gaussian_mi_bits(r_a, r_b, r_ab)
    return rates


def block_diagonal_key_rate_bits(
    ccm, effective_precoders, sigma2_a_hat_w: float, sigma2_b_hat_w: float
):
    """KR I_k of Eq. (17), valid when R_{k'} P_{e,k} = 0 for k' != k (Eq. (15)).

    Parameters
    ----------
    ccm : ndarray, shape [K, N, N], complex128
    effective_precoders : sequence of K ndarrays [N, D_k], complex128
        P_{e,k} (Eq. (39)).

    Returns
    -------
    ndarray, shape [K], bits. The BS side uses a basis of range(P_{e,k}) (zero-power or dependent
    columns carry no extra measurement), as in :func:`general_key_rate_bits`.
    """
    ccm = np.asarray(ccm, dtype=np.complex128)
    rates = np.zeros(ccm.shape[0])
    for k, pe in enumerate(effective_precoders):
        pe = np.asarray(pe, dtype=np.complex128)
        q = _range_basis(pe)
        if q.shape[1] == 0:
            continue
        r_a = q.conj().T @ ccm[k] @ q + sigma2_a_hat_w * np.eye(q.shape[1])
        r_b = pe.conj().T @ ccm[k] @ pe + sigma2_b_hat_w * np.eye(pe.shape[1])
        r_ab = q.conj().T @ ccm[k] @ pe
        rates[k] = gaussian_mi_bits(r_a, r_b, r_ab)
    return rates


def approximate_key_rate_bits(lambda_h, x_w, sigma2_a_hat_w: float, sigma2_b_hat_w: float) -> float:
    """C_k of Eq. (35) from the covariances (34) with U_k = V_k = I (Eq. (39)), for one UE.

    Parameters
    ----------
    lambda_h : ndarray [D_k], channel eigenvalues lambda_{hk,j}
    x_w : ndarray [D_k], watt, power allocation x_{k,j} = lambda_{k,j}/lambda_{hk,j}

    Returns
    -------
    float, bits. Equals Eq. (42) (tested).
    """
    lam = np.asarray(lambda_h, dtype=np.float64)
    x = np.asarray(x_w, dtype=np.float64)
    active = x > 0
    lam, x = lam[active], x[active]
    if lam.size == 0:
        return 0.0
    lam_k = x * lam  # lambda_{k,j}
    r_a = np.diag(lam + sigma2_a_hat_w)
    r_b = np.diag(lam_k + sigma2_b_hat_w)
    r_ab = np.diag(np.sqrt(lam) * np.sqrt(lam_k))  # Lambda_hk^{1/2} Lambda_k
    return gaussian_mi_bits(r_a, r_b, r_ab)
