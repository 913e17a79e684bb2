"""Decorrelation of both ends' measurements before quantisation (public linear transforms).

* :func:`klt_pair`: Karhunen-Loeve transform with the eigenvectors of Alice's sample covariance;
  Alice's components become uncorrelated, ordered by decreasing variance.
* :func:`cca_pair`: canonical correlation analysis; component i of both ends is the i-th pair of
  canonical variates, uncorrelated with every other component at either end, with real
  correlation rho_i in decreasing order. For jointly Gaussian measurements
  sum_i -log2(1 - rho_i^2) is their mutual information (the key rate of Eq. (17) of the
  near-field paper / Eq. (8) of the RIS paper for a single UE / cell).

Both use sample second-order statistics of the block as the public channel statistics (the
papers assume the statistics are known, e.g. Theorem 1 of the RIS paper); only the transforms
are exchanged, no sample values.
"""

from __future__ import annotations

import numpy as np

DECORRELATIONS = ("klt", "cca", "none")


def _flat(z, name: str) -> np.ndarray:
    a = np.asarray(z)
    if a.ndim < 1 or a.shape[0] < 2:
        raise ValueError(f"{name}: measurements need shape [n_rounds >= 2, ...], got {a.shape}")
    a = a.reshape(a.shape[0], -1)
    if a.shape[1] == 0:
        raise ValueError(f"{name}: measurements have no feature dimension")
    if not np.all(np.isfinite(a)):
        raise ValueError("measurements contain NaN or infinite values")
    return a


def _inv_sqrt(cov: np.ndarray, rtol: float) -> np.ndarray:
    """[D, r] matrix K with K^H cov K = I on the eigen-directions above rtol * max."""
    lam, vec = np.linalg.eigh(0.5 * (cov + cov.conj().T))
    keep = lam > rtol * lam[-1] if lam[-1] > 0 else np.zeros(lam.shape, dtype=bool)
    if not keep.any():
        raise ValueError("measurements have zero variance: nothing to quantise")
    return vec[:, keep] / np.sqrt(lam[keep])


def klt_pair(z_a, z_b, rtol: float = 1e-6, max_components: int | None = None):
    """Project both ends on the eigenvectors of Alice's sample covariance S_aa = A^H A / n.

    Parameters
    ----------
    z_a, z_b : array_like, shape [n_rounds, ...]
    rtol : float
        Components with eigenvalue <= rtol * max are dropped (no entropy at Alice).
    max_components : int or None

    Returns
    -------
    (y_a, y_b) : ndarray, shape [n_rounds, D'], decreasing variance at Alice.
    """
    a, b = _flat(z_a, "z_a"), _flat(z_b, "z_b")
    a0 = a - a.mean(axis=0)
    cov = a0.conj().T @ a0 / a.shape[0]
    lam, vec = np.linalg.eigh(0.5 * (cov + cov.conj().T))
    lam, vec = lam[::-1], vec[:, ::-1]
    keep = lam > rtol * lam[0] if lam[0] > 0 else np.zeros(lam.shape, dtype=bool)
    if not keep.any():
        raise ValueError("Alice's measurements have zero variance: nothing to quantise")
    u = vec[:, keep][:, :max_components]
    return a @ u, b @ u


def cca_pair(z_a, z_b, rtol: float = 1e-6, max_components: int | None = None):
    """Canonical variates of the two ends, most correlated pair first.

    With S_aa = A^H A / n, S_bb, S_ab = A^H B / n (centred), K_a = S_aa^{-1/2},
    K_b = S_bb^{-1/2} and K_a^H S_ab K_b = U diag(rho) V^H, the outputs are y_a = A K_a U and
    y_b = B K_b V: unit variance, y_a^H y_b / n = diag(rho).

    Returns
    -------
    (y_a, y_b, rho) : ndarray [n_rounds, r], ndarray [n_rounds, r], ndarray [r] in [0, 1].
    """
    a, b = _flat(z_a, "z_a"), _flat(z_b, "z_b")
    a0, b0 = a - a.mean(axis=0), b - b.mean(axis=0)
    n = a.shape[0]
    ka = _inv_sqrt(a0.conj().T @ a0 / n, rtol)
    kb = _inv_sqrt(b0.conj().T @ b0 / n, rtol)
    m = ka.conj().T @ (a0.conj().T @ b0 / n) @ kb
    u, rho, vh = np.linalg.svd(m, full_matrices=False)
    r = rho.size if max_components is None else min(rho.size, int(max_components))
    fa = ka @ u[:, :r]
    fb = kb @ vh.conj().T[:, :r]
    return a @ fa, b @ fb, np.clip(rho[:r], 0.0, 1.0)


def decorrelate(
    z_a, z_b, method: str = "klt", rtol: float = 1e-6, max_components: int | None = None
):
    """Dispatch by name (``klt``, ``cca``, ``none``); returns the transformed pair."""
    if method == "klt":
        return klt_pair(z_a, z_b, rtol, max_components)
    if method == "cca":
        ya, yb, _ = cca_pair(z_a, z_b, rtol, max_components)
        return ya, yb
    if method == "none":
        a, b = np.asarray(z_a), np.asarray(z_b)
        if max_components is not None:
            a = a.reshape(a.shape[0], -1)[:, :max_components]
            b = b.reshape(b.shape[0], -1)[:, :max_components]
        return a, b
    raise ValueError(f"unknown decorrelation {method!r}; choose from {', '.join(DECORRELATIONS)}")
