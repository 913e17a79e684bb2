"""Decorrelation of both ends' measurements before quantisation (public linear transforms).

* :func:`klt_pair`: Karhunen-Loeve transform with the eigenvectors of Alice's sample covariance;
  Alice's components become uncorrelated, ordered by decreasing variance.
* :func:`cca_pair`: canonical correlation analysis; component i of both ends is the i-th pair of
  canonical variates, uncorrelated with every other component at either end, with real
  correlation rho_i in decreasing order. For jointly Gaussian measurements
  sum_i -log2(1 - rho_i^2) is their mutual information (the key rate of Eq. (17) of the
  near-field paper / Eq. (8) of the RIS paper for a single UE / cell).

Both use sample second-order statistics as the public channel statistics (the papers assume
the statistics are known, e.g. Theorem 1 of the RIS paper). The transforms are announced, and
so they must not be estimated from the rounds that become key bits: a basis and correlations
computed from the key rounds are functions of the key material and their leak would have to be
counted. The key pipeline therefore fits them on a disjoint set of training rounds that is
then discarded (:func:`fit_transforms`, ``KeyGenConfig.basis_from = "training"``); with
independent, identically distributed rounds the public transforms are then independent of the
key rounds. :func:`klt_pair` and :func:`cca_pair` fit and apply on the same rounds (statistics
such as the BDR, not keys).
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


def klt_basis(z_a, rtol: float = 1e-6, max_components: int | None = None) -> np.ndarray:
    """Eigenvectors [D, r] of Alice's sample covariance S_aa = A^H A / n (centred), by
    decreasing eigenvalue; eigenvalues <= rtol * max are dropped, at most ``max_components``."""
    a = _flat(z_a, "z_a")
    a0 = a - a.mean(axis=0)
    cov = a0.conj().T @ a0 / a.shape[0]
    lam, vec = np.linalg.eigh(0.5 * (cov + cov.conj().T))
    lam, vec = lam[::-1], vec[:, ::-1]
    keep = lam > rtol * lam[0] if lam[0] > 0 else np.zeros(lam.shape, dtype=bool)
    if not keep.any():
        raise ValueError("Alice's measurements have zero variance: nothing to quantise")
    return vec[:, keep][:, :max_components]


def cca_basis(z_a, z_b, rtol: float = 1e-6, max_components: int | None = None):
    """Canonical directions of both ends and their correlations, most correlated first.

    Returns
    -------
    (f_a, f_b, rho) : ndarray [D, r], ndarray [D, r], ndarray [r] in [0, 1]
        y_a = A f_a, y_b = B f_b are the canonical variates (see :func:`cca_pair`).
    """
    a, b = _flat(z_a, "z_a"), _flat(z_b, "z_b")
    a0, b0 = a - a.mean(axis=0), b - b.mean(axis=0)
    n = a.shape[0]
    ka = _inv_sqrt(a0.conj().T @ a0 / n, rtol)
    kb = _inv_sqrt(b0.conj().T @ b0 / n, rtol)
    m = ka.conj().T @ (a0.conj().T @ b0 / n) @ kb
    u, rho, vh = np.linalg.svd(m, full_matrices=False)
    r = rho.size if max_components is None else min(rho.size, int(max_components))
    return ka @ u[:, :r], kb @ vh.conj().T[:, :r], np.clip(rho[:r], 0.0, 1.0)


def fit_transforms(
    train_a, train_b, method: str = "klt", rtol: float = 1e-6, max_components: int | None = None
):
    """Public linear maps (f_a [D, r], f_b [D, r]) fitted on training rounds only.

    ``"klt"``: f_a = f_b = Alice's eigenvectors; ``"cca"``: the canonical directions;
    ``"none"``: the first ``max_components`` coordinates. Apply them to other rounds as
    ``z_a @ f_a``, ``z_b @ f_b`` ([n_rounds, D] flattened).
    """
    a, b = _flat(train_a, "training rounds of z_a"), _flat(train_b, "training rounds of z_b")
    if method == "klt":
        u = klt_basis(a, rtol, max_components)
        return u, u
    if method == "cca":
        fa, fb, _ = cca_basis(a, b, rtol, max_components)
        return fa, fb
    if method == "none":
        eye = np.eye(a.shape[1])[:, :max_components]
        return eye, eye
    raise ValueError(f"unknown decorrelation {method!r}; choose from {', '.join(DECORRELATIONS)}")


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
    u = klt_basis(a, rtol, max_components)
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
    fa, fb, rho = cca_basis(a, b, rtol, max_components)
    return a @ fa, b @ fb, rho


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
