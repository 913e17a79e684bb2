"""Reading a user's channel covariance matrices (CCMs, Eq. (4) of the near-field paper).

The file is an ``.npz`` with the array ``ccm`` [K, N, N] (complex or real), the format
``plkg scenario --export`` writes, or a MATLAB ``.mat`` (v4-v7) with the variable ``ccm``. A CCM R_k is a covariance: Hermitian and positive semidefinite,
with a positive trace (the UE's average channel power). Each UE's matrix is checked before any
design work, so a bad file ends in one line naming the file and the UE rather than in LAPACK's
words ("SVD did not converge").
"""

from __future__ import annotations

import numpy as np

from plkg.errors import PlkgInputError
from plkg.io.arrays import check_array, read_mat, read_npz, source_name

#: Largest ``abs(entry)`` accepted. CCM entries are channel powers (path loss ~1e-12..1;
#: 1 W = 1); the design multiplies and sums N of them, which must stay finite in float64 (N * 1e100^2 < 1e308).
CCM_MAX_ABS = 1e100
#: Smallest largest ``abs(entry)`` of a UE's CCM accepted: products of two entries stay normal
#: floats.
CCM_MIN_PEAK = 1e-100
#: ``max abs(R - R^H) <= HERMITIAN_RTOL * max abs(R)``: below it only round-off is symmetrised.
#: The same value as :data:`plkg.keyrate.gaussian.HERMITIAN_RTOL` (this layer cannot import it).
HERMITIAN_RTOL = 1e-9
#: lambda_min >= -PSD_RTOL * lambda_max: more negative is not round-off of a covariance.
PSD_RTOL = 1e-9


def read_ccm(path, *, expected_shape: tuple[int, int, int], what: str = "--ccm") -> np.ndarray:
    """Read and check the CCMs of K UEs.

    Parameters
    ----------
    path : str or Path
        File with ``ccm`` [K, N, N]: MATLAB when it ends in ``.mat``, else ``.npz``.
    expected_shape : (K, N, N)
        The scenario's UE count and antenna count.
    what : str
        The option or noun naming the file in messages.

    Returns
    -------
    numpy.ndarray, shape [K, N, N], complex128
        Exactly Hermitian (round-off below :data:`HERMITIAN_RTOL` symmetrised).

    Raises
    ------
    FileNotFoundError
        No such file.
    PlkgInputError
        Unreadable file, no ``ccm``, wrong shape, NaN/inf, ``abs(entries)`` above
        :data:`CCM_MAX_ABS`, a UE's matrix all zero / with zero trace / below :data:`CCM_MIN_PEAK`, not Hermitian, or
        not positive semidefinite (naming the UE and lambda_min / lambda_max).
    """
    source = source_name(what, path)
    k, n, _ = (int(v) for v in expected_shape)
    reader = read_mat if str(path).lower().endswith(".mat") else read_npz
    # A ccm of the right shape takes at most 16 K N^2 bytes (complex128): a file declaring more
    # is the wrong file (or a forged header) and is refused before it is decoded.
    limit = 16 * k * n * n + 4096
    why = f"complex128 [{k}, {n}, {n}] for this scenario"
    raw = reader(path, what=what, fields=("ccm",), max_bytes=limit, max_bytes_why=why)["ccm"]
    ccm = check_array(
        raw,
        source=source,
        field="ccm",
        dims=[("n_users", k), ("n_antennas", n), ("n_antennas", n)],
        kind="complex",
        max_abs=CCM_MAX_ABS,
    ).astype(np.complex128)
    for ue in range(k):  # one UE at a time: Ctrl-C / SIGTERM are seen between the O(N^3) steps
        ccm[ue] = _checked_covariance(ccm[ue], f"{source}: 'ccm' of UE {ue + 1}")
    return ccm


def _checked_covariance(r: np.ndarray, where: str) -> np.ndarray:
    peak = float(np.max(np.abs(r)))
    if peak == 0.0:
        raise PlkgInputError(f"{where} is all zero (a UE without channel power)")
    trace = float(np.real(np.trace(r)))
    if trace == 0.0:
        raise PlkgInputError(f"{where} has zero trace (a covariance's trace is its power)")
    if peak < CCM_MIN_PEAK:
        raise PlkgInputError(
            f"{where} has entries up to {peak:.3g} only, below the limit {CCM_MIN_PEAK:g} "
            "(rescale the file)"
        )
    asym = float(np.max(np.abs(r - r.conj().T)))
    if asym > HERMITIAN_RTOL * peak:
        raise PlkgInputError(
            f"{where} is not Hermitian: max |R - R^H| = {asym:.3e} > {HERMITIAN_RTOL:g} x max |R| "
            f"= {peak:.3e}"
        )
    r = 0.5 * (r + r.conj().T)
    if not _clearly_psd(r, trace):
        lam = np.linalg.eigvalsh(r)
        if lam[-1] <= 0:
            raise PlkgInputError(
                f"{where} is not positive semidefinite: no eigenvalue is positive (largest "
                f"{lam[-1]:.3e})"
            )
        if lam[0] < -PSD_RTOL * lam[-1]:
            raise PlkgInputError(
                f"{where} is not positive semidefinite: its most negative eigenvalue is "
                f"{lam[0] / lam[-1]:.3e} x the largest (tolerance {PSD_RTOL:g})"
            )
    return r


def _clearly_psd(r: np.ndarray, trace: float) -> bool:
    """Cholesky of R + PSD_RTOL (tr R / N) I succeeds: lambda_min >= -PSD_RTOL lambda_max.

    About ten times cheaper than the eigenvalues; trace / N <= lambda_max keeps the shortcut
    at least as strict as the exact test, which decides whenever this one fails.
    """
    if trace <= 0:
        return False
    n = r.shape[0]
    try:
        np.linalg.cholesky(r + (PSD_RTOL * trace / n) * np.eye(n))
    except np.linalg.LinAlgError:
        return False
    return True
