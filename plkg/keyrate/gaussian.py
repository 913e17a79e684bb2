"""Gaussian key rates (mutual information between both ends' measurements) of the near-field paper.

* :func:`gaussian_mi_bits` is Eq. (13) for any jointly Gaussian pair given its covariances.
* :func:`general_key_rate_bits` is Eq. (14): the covariances (12) for arbitrary precoders {P_k}.
* :func:`block_diagonal_key_rate_bits` is Eq. (17): the covariances once (15) holds.
* :func:`approximate_key_rate_bits` is Eq. (35) from the covariances (34); equals Eq. (42).
"""

from __future__ import annotations

import warnings

import numpy as np

LOG2E = 1.0 / np.log(2.0)
# gaussian_mi_bits warns when its float64 error estimate exceeds this fraction of the result.
MI_WARN_RTOL = 1e-6
# A covariance must be Hermitian to this relative accuracy (max |R - R^H| <= tol max |R|); beyond
# it the input is refused instead of silently symmetrised.
HERMITIAN_RTOL = 1e-9


def _check_covariance(matrix: np.ndarray, what: str) -> None:
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{what} must be a square matrix, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{what} contains NaN or inf")
    scale = float(np.max(np.abs(matrix))) if matrix.size else 0.0
    asym = float(np.max(np.abs(matrix - matrix.conj().T))) if matrix.size else 0.0
    if asym > HERMITIAN_RTOL * scale:
        raise ValueError(
            f"{what} is not Hermitian: max |R - R^H| = {asym:.3e} > {HERMITIAN_RTOL:g} x max |R| "
            f"= {scale:.3e}"
        )


def _logdet_psd(matrix: np.ndarray, what: str) -> float:
    """log det of a Hermitian PD matrix after Jacobi scaling (robust to mixed scales)."""
    return _logdet_and_pivot(matrix, what)[0]


def _logdet_and_pivot(matrix: np.ndarray, what: str) -> tuple[float, float]:
    """(log det, smallest squared Cholesky pivot of the Jacobi-scaled matrix).

    The pivot is 1 - rho^2 of the most correlated direction: log det carries an absolute error
    of about eps / pivot (Cholesky of a matrix whose unit diagonal hides a 1 - rho^2 difference).
    """
    matrix = 0.5 * (matrix + matrix.conj().T)  # round-off only: Hermitian checked by callers
    diag = np.real(np.diag(matrix))
    if np.any(diag <= 0):
        raise ValueError(f"{what} is singular: a measurement dimension has zero variance")
    scale = 1.0 / np.sqrt(diag)
    normalised = matrix * scale[:, None] * scale[None, :]
    try:
        chol = np.linalg.cholesky(normalised)
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"{what} is not positive definite") from exc
    pivots = np.real(np.diag(chol))
    logdet = float(2.0 * np.sum(np.log(pivots)) + np.sum(np.log(diag)))
    return logdet, float(np.min(pivots) ** 2)


def gaussian_mi_bits(r_a, r_b, r_ab) -> float:
    r"""Mutual information of jointly circular Gaussian vectors, Eq. (13) of the near-field paper.

    .. math::

        I(\mathbf{z}_a; \mathbf{z}_b) = -\log_2 \left| \mathbf{I} - \mathbf{R}_{ab}
        \mathbf{R}_b^{-1} \mathbf{R}_{ba} \mathbf{R}_a^{-1} \right|

    Computed as :math:`\log_2|\mathbf{R}_a| + \log_2|\mathbf{R}_b|
    - \log_2|\mathbf{R}_\mathrm{joint}|` (the same quantity; better conditioned).

    Parameters
    ----------
    r_a : ndarray [Da, Da] complex
        :math:`\mathbf{R}_a = \mathbb{E}\{\mathbf{z}_a \mathbf{z}_a^H\}`.
    r_b : ndarray [Db, Db] complex
        :math:`\mathbf{R}_b = \mathbb{E}\{\mathbf{z}_b \mathbf{z}_b^H\}`.
    r_ab : ndarray [Da, Db] complex
        :math:`\mathbf{R}_{ab} = \mathbb{E}\{\mathbf{z}_a \mathbf{z}_b^H\}`.

    Returns
    -------
    float
        The mutual information in bits.
    """
    r_a, r_b, r_ab = (np.asarray(m, dtype=np.complex128) for m in (r_a, r_b, r_ab))
    _check_covariance(r_a, "R_a")
    _check_covariance(r_b, "R_b")
    if r_ab.shape != (r_a.shape[0], r_b.shape[0]) or not np.all(np.isfinite(r_ab)):
        raise ValueError(
            f"R_ab must be finite with shape {(r_a.shape[0], r_b.shape[0])}, got {r_ab.shape}"
        )
    joint = np.block([[r_a, r_ab], [r_ab.conj().T, r_b]])
    logdet_joint, pivot = _logdet_and_pivot(joint, "joint covariance")
    mi = _logdet_psd(r_a, "R_a") + _logdet_psd(r_b, "R_b") - logdet_joint
    # rounding of the covariance entries and of the Cholesky: a few eps / (1 - rho^2) per
    # dimension (the factor 8 is a safety margin, checked by the property suite)
    error_bits = 8.0 * joint.shape[0] * np.finfo(np.float64).eps / pivot * LOG2E
    if error_bits > MI_WARN_RTOL * max(abs(mi) * LOG2E, 1.0):
        # the measurements are so correlated (SNR so high) that float64 covariances hold only a
        # few digits of 1 - rho^2: say so instead of returning the number as if it were exact
        warnings.warn(
            f"gaussian_mi_bits: covariances nearly singular (1 - rho^2 = {pivot:.2g}); the key "
            f"rate has an absolute error up to ~{error_bits:.2g} bits",
            RuntimeWarning,
            stacklevel=2,
        )
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

    Raises
    ------
    ValueError
        NaN/inf anywhere (never dropped), shapes that differ, eigenvalues <= 0, negative powers,
        noise powers that are not finite and > 0.
    """
    lam = np.asarray(lambda_h, dtype=np.float64)
    x = np.asarray(x_w, dtype=np.float64)
    if lam.ndim != 1 or lam.shape != x.shape:
        raise ValueError(
            f"lambda_h and x_w must be 1-D of equal length, got {lam.shape}, {x.shape}"
        )
    for name, v in (("lambda_h", lam), ("x_w", x)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains NaN or inf")
    if np.any(lam <= 0):
        raise ValueError(f"lambda_h must be > 0 (channel eigenvalues), min {lam.min():.3g}")
    if np.any(x < 0):
        raise ValueError(f"x_w holds negative powers (min {x.min():.3g} W)")
    for name, v in (("sigma2_a_hat_w", sigma2_a_hat_w), ("sigma2_b_hat_w", sigma2_b_hat_w)):
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float, np.number))
            or not (np.isfinite(v) and v > 0)
        ):
            raise ValueError(f"{name} must be a finite number > 0 W, got {v!r}")
    active = x > 0
    lam, x = lam[active], x[active]
    if lam.size == 0:
        return 0.0
    lam_k = x * lam  # lambda_{k,j}
    r_a = np.diag(lam + sigma2_a_hat_w)
    r_b = np.diag(lam_k + sigma2_b_hat_w)
    r_ab = np.diag(np.sqrt(lam) * np.sqrt(lam_k))  # Lambda_hk^{1/2} Lambda_k
    return gaussian_mi_bits(r_a, r_b, r_ab)
