"""Checks on channel covariance matrices (CCMs) before they enter a formula."""

from __future__ import annotations

import numpy as np


def check_ccm(
    ccm, name: str = "ccm", hermitian_rtol: float = 1e-9, psd_rtol: float = 1e-9
) -> np.ndarray:
    """Validate a stack of CCMs and return it as complex128.

    Parameters
    ----------
    ccm : array_like, shape [K, N, N], complex
        One covariance matrix per UE (Eq. (4) of the near-field paper).

    Raises
    ------
    ValueError
        If the array has the wrong shape, holds NaN/inf, is not Hermitian, or is not positive
        semi-definite (an eigenvalue below ``-psd_rtol`` times the largest one).
    """
    arr = np.asarray(ccm)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name} must have shape [K, N, N], got {np.shape(ccm)}")
    arr = arr.astype(np.complex128, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    scale = np.max(np.abs(arr), axis=(-2, -1))
    for k in range(arr.shape[0]):
        if scale[k] == 0:
            continue
        asym = np.max(np.abs(arr[k] - arr[k].conj().T))
        if asym > hermitian_rtol * scale[k]:
            raise ValueError(
                f"{name}[{k}] is not Hermitian (max |R - R^H| = {asym:.3e} vs max |R| = {scale[k]:.3e})"
            )
        eig = np.linalg.eigvalsh(0.5 * (arr[k] + arr[k].conj().T))
        if eig[0] < -psd_rtol * max(eig[-1], 0.0) or eig[-1] < 0:
            raise ValueError(
                f"{name}[{k}] is not positive semi-definite (smallest eigenvalue {eig[0]:.3e}, "
                f"largest {eig[-1]:.3e})"
            )
    return arr
