"""Near-field ULA channel: Eqs. (1)-(5) of the near-field paper.

Geometry (Section II-B): antenna n sits at (delta_n d, 0) with delta_n = n - (N-1)/2; a point at
distance r from the reference antenna and azimuth psi (from the y-axis) sits at
(r sin psi, r cos psi).
"""

from __future__ import annotations

import numpy as np

from plkg.channels.nearfield_scenario import NearFieldScenario
from plkg.checks import check_instance
from plkg.progress import STAGE_LINES_FROM_N, step


def antenna_offsets(n_antennas: int) -> np.ndarray:
    r"""Element offsets :math:`\delta_n = n - (N-1)/2`, :math:`n = 0, \dots, N-1` (Section II-B).

    Returns
    -------
    ndarray, shape [N], float64
        Offsets in antenna spacings.
    """
    return np.arange(n_antennas, dtype=np.float64) - (n_antennas - 1) / 2.0


def element_distances_m(psi_rad, r_m, n_antennas: int, spacing_m: float) -> np.ndarray:
    r"""Distances from a point to every antenna element, in metres (Eq. (2)).

    .. math:: r^{(n)} = \sqrt{r^2 + d^2 \delta_n^2 - 2 r d \delta_n \sin\psi}

    Returns
    -------
    ndarray, shape [..., N], float64, metres
    """
    psi = np.asarray(psi_rad, dtype=np.float64)[..., None]
    r = np.asarray(r_m, dtype=np.float64)[..., None]
    dd = spacing_m * antenna_offsets(n_antennas)
    return np.sqrt(r**2 + dd**2 - 2.0 * r * np.sin(psi) * dd)


def array_response(
    psi_rad, r_m, n_antennas: int, spacing_m: float, wavelength_m: float
) -> np.ndarray:
    r"""Near-field array response :math:`\mathbf{b}(\psi, r)`, Eq. (2) of the near-field paper.

    .. math:: [\mathbf{b}(\psi, r)]_n = \frac{1}{\sqrt{N}} e^{-j \frac{2\pi}{\lambda} (r^{(n)} - r)}

    Parameters
    ----------
    psi_rad, r_m : array_like, shape [...]
        Azimuth (rad) and distance (m) of the source from the reference antenna.
    n_antennas : int
        N, number of ULA elements.
    spacing_m : float
        d, antenna spacing in metres.
    wavelength_m : float
        lambda, carrier wavelength in metres.

    Returns
    -------
    ndarray, shape [..., N], complex128
        The response, unit norm over the last axis.
    """
    rn = element_distances_m(psi_rad, r_m, n_antennas, spacing_m)
    r = np.asarray(r_m, dtype=np.float64)[..., None]
    return np.exp(-2j * np.pi / wavelength_m * (rn - r)) / np.sqrt(n_antennas)


def gain_vector(psi_rad, r_m, n_antennas: int, spacing_m: float) -> np.ndarray:
    r"""Gain correlation vector :math:`[\mathbf{c}(\psi, r)]_n = r / r^{(n)}`, Eq. (3).

    Parameters
    ----------
    psi_rad, r_m : array_like, shape [...]
        Azimuth (rad) and distance (m) of the source from the reference antenna.
    n_antennas : int
        N, number of ULA elements.
    spacing_m : float
        d, antenna spacing in metres.

    Returns
    -------
    ndarray, shape [..., N], float64
        The gains, dimensionless.

    Raises
    ------
    ValueError
        For :math:`r \le 0`, NaN/inf, :math:`|\psi| \ge \pi/2`, a non-positive spacing or
        N < 1, and when a source sits on an antenna (:math:`r^{(n)} = 0`), instead of returning
        zeros, NaN or negative gains.
    """
    _check_geometry(psi_rad, r_m, n_antennas, spacing_m)
    rn = element_distances_m(psi_rad, r_m, n_antennas, spacing_m)
    if np.any(rn <= 0):
        raise ValueError("a source lies on an antenna element (r^(n) = 0): gain is undefined")
    return np.asarray(r_m, dtype=np.float64)[..., None] / rn


def _check_geometry(psi_rad, r_m, n_antennas, spacing_m) -> None:
    psi = np.asarray(psi_rad, dtype=np.float64)
    r = np.asarray(r_m, dtype=np.float64)
    if not (np.all(np.isfinite(r)) and np.all(r > 0)):
        raise ValueError(f"r_m (distance) must be finite and > 0 m, got {r_m!r}")
    if not (np.all(np.isfinite(psi)) and np.all(np.abs(psi) < np.pi / 2)):
        raise ValueError(f"psi_rad must be finite and in (-pi/2, pi/2), got {psi_rad!r}")
    if (
        isinstance(n_antennas, bool)
        or not isinstance(n_antennas, (int, np.integer))
        or n_antennas < 1
    ):
        raise ValueError(f"n_antennas must be an integer >= 1, got {n_antennas!r}")
    if not (np.isfinite(spacing_m) and spacing_m > 0):
        raise ValueError(f"spacing_m must be finite and > 0, got {spacing_m!r}")


def farfield_steering(
    psi_rad, n_antennas: int, spacing_m: float, wavelength_m: float
) -> np.ndarray:
    """Far-field ULA steering vector exp(j 2 pi/lambda d delta_n sin psi)/sqrt(N), shape [..., N].

    The limit of :func:`array_response` as r -> infinity (first-order expansion of r^(n)).
    """
    psi = np.asarray(psi_rad, dtype=np.float64)[..., None]
    dd = spacing_m * antenna_offsets(n_antennas)
    return np.exp(2j * np.pi / wavelength_m * dd * np.sin(psi)) / np.sqrt(n_antennas)


def path_signatures(
    psi_rad, r_m, n_antennas: int, spacing_m: float, wavelength_m: float
) -> np.ndarray:
    """g = sqrt(N) c(psi, r) * b(psi, r), the per-path vector of Eq. (1); shape [..., N], complex128."""
    return (
        np.sqrt(n_antennas)
        * gain_vector(psi_rad, r_m, n_antennas, spacing_m)
        * array_response(psi_rad, r_m, n_antennas, spacing_m, wavelength_m)
    )


def draw_scatterers(scenario: NearFieldScenario, rng: np.random.Generator, n_sets: int = 1):
    """Draw scatterer positions around each UE (our scatterer model, ``docs/assumptions.md``).

    Scatterers are uniform in a disc of radius ``scenario.scatter_radius_m`` centred on the UE.

    Returns
    -------
    psi_rad, r_m : ndarray, shape [K, n_sets * L_k], float64
        Azimuth and distance of every scatterer seen from the reference antenna.
    """
    k = scenario.n_users
    count = n_sets * scenario.n_scatterers
    r_ue = np.asarray(scenario.ue_distance_m)[:, None]
    psi_ue = np.asarray(scenario.ue_angle_rad)[:, None]
    ue_x, ue_y = r_ue * np.sin(psi_ue), r_ue * np.cos(psi_ue)
    rho = scenario.scatter_radius_m * np.sqrt(rng.uniform(size=(k, count)))
    phi = rng.uniform(0.0, 2 * np.pi, size=(k, count))
    x, y = ue_x + rho * np.cos(phi), ue_y + rho * np.sin(phi)
    r = np.hypot(x, y)
    return np.arcsin(x / r), r


def _scatter_sum(a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """sum_l a[k, l, n] conj(g[k, l, m]) -> [K, N, N], as one batched matrix product.

    BLAS (zgemm) instead of ``einsum``'s C loops: 10-15x faster for the thousands of quadrature
    points of the continuum scatterer models, and cache-blocked, so parallel sweep workers do not
    fight over memory bandwidth.
    """
    return np.matmul(a.transpose(0, 2, 1), g.conj())


def ccm_from_scatterers(
    psi_rad, r_m, pathloss, n_antennas: int, spacing_m: float, wavelength_m: float
):
    """Analytic CCM of Eq. (5) for given scatterer sets.

    Parameters
    ----------
    psi_rad, r_m : array_like, shape [K, L]
        Scatterer azimuths (rad) and distances (m).
    pathloss : array_like, shape [K]
        E|beta_{k,l}|^2 = alpha_k (linear), common to the paths of UE k.

    Returns
    -------
    ndarray, shape [K, N, N], complex128, Hermitian PSD
        [R_k]_{n,m} = (1/L) sum_q alpha_k r_q^2 e^{-j 2pi/lambda (r_q^(n) - r_q^(m))} / (r_q^(n) r_q^(m)).
    """
    g = path_signatures(psi_rad, r_m, n_antennas, spacing_m, wavelength_m)  # [K, L, N]
    n_paths = g.shape[-2]
    alpha = np.asarray(pathloss, dtype=np.float64)[:, None, None]
    ccm = alpha * _scatter_sum(g, g) / n_paths
    return 0.5 * (ccm + ccm.conj().transpose(0, 2, 1))


def _gauss_legendre_count(phase_span_rad: float) -> int:
    """Gauss-Legendre nodes that integrate exp(j phi) over a phase span of ``phase_span_rad``.

    n nodes are exact for polynomials of degree 2n - 1; the Taylor series of exp(j phi) over a
    span Phi converges to round-off once 2n - 1 exceeds about e Phi/2 + 30, hence the margin.
    """
    return int(np.ceil(0.75 * phase_span_rad)) + 16


def wedge_quadrature(scenario: NearFieldScenario):
    """Scatterer nodes and weights of the angular-wedge model (``scatterer_model="wedge"``).

    Scatterers of UE k are uniform in psi_k +- Dpsi (``wedge_angle_spread_rad``) and, independently,
    in r_k +- Dr (``wedge_distance_spread_m``). The node counts follow the largest phase excursion
    of the array response (Eq. (2)) across the wedge: 2 pi/lambda * D/2 * 2 Dpsi in angle and
    2 pi/lambda * (D/2)^2 / (2 r_min^2) * 2 Dr in distance, D the aperture.

    Returns
    -------
    psi_rad, r_m : ndarray, shape [K, P], float64
        Node positions (P = angle nodes x distance nodes).
    weights : ndarray, shape [P], float64
        Quadrature weights, summing to 1 (an average over the wedge).
    """
    k_wave = 2 * np.pi / scenario.wavelength_m
    half_aperture = (scenario.n_antennas - 1) * scenario.spacing_m / 2
    d_psi, d_r = scenario.wedge_angle_spread_rad, scenario.wedge_distance_spread_m
    r_min = min(scenario.ue_distance_m) - d_r
    n_psi = _gauss_legendre_count(k_wave * half_aperture * 2 * d_psi) if d_psi > 0 else 1
    n_r = (
        _gauss_legendre_count(k_wave * half_aperture**2 / (2 * r_min**2) * 2 * d_r)
        if d_r > 0
        else 1
    )
    x_psi, w_psi = np.polynomial.legendre.leggauss(n_psi) if n_psi > 1 else ([0.0], [2.0])
    x_r, w_r = np.polynomial.legendre.leggauss(n_r) if n_r > 1 else ([0.0], [2.0])
    grid_psi, grid_r = np.meshgrid(np.asarray(x_psi), np.asarray(x_r), indexing="ij")
    weights = (np.outer(w_psi, w_r) / 4.0).ravel()
    psi = np.asarray(scenario.ue_angle_rad)[:, None] + d_psi * grid_psi.ravel()[None, :]
    r = np.asarray(scenario.ue_distance_m)[:, None] + d_r * grid_r.ravel()[None, :]
    return psi, r, weights


def ccm_from_weighted_scatterers(
    psi_rad, r_m, weights, pathloss, n_antennas: int, spacing_m: float, wavelength_m: float
):
    """Eq. (5) with a weighted scatterer average (quadrature), shape [K, N, N] complex128.

    ``weights`` [P] sum to 1 and replace the uniform 1/L of :func:`ccm_from_scatterers`.
    """
    g = path_signatures(psi_rad, r_m, n_antennas, spacing_m, wavelength_m)  # [K, P, N]
    alpha = np.asarray(pathloss, dtype=np.float64)[:, None, None]
    w = np.asarray(weights, dtype=np.float64)[None, :, None]
    ccm = alpha * _scatter_sum(w * g, g)
    return 0.5 * (ccm + ccm.conj().transpose(0, 2, 1))


def scenario_ccm(scenario: NearFieldScenario, rng: np.random.Generator | None = None) -> np.ndarray:
    r"""CCM of Eq. (4) of every UE under the scenario's ``scatterer_model``.

    ``"continuum-disc"``: Eq. (5) averaged over ``scenario.ccm_draws`` independent scatterer sets
    of ``n_scatterers`` each (Monte Carlo over the disc). ``"fixed"``: Eq. (5) for one set of
    L_k = ``n_scatterers`` scatterers (rank <= L_k). ``"wedge"``: Eq. (5) averaged over the angular
    wedge by Gauss-Legendre quadrature (:func:`wedge_quadrature`; deterministic, ``rng`` unused).
    With ``rng=None`` the draws use ``scenario.seed``, so a scenario always has the same CCMs.

    Parameters
    ----------
    scenario : NearFieldScenario
        The geometry, path loss and scatterer model.
    rng : numpy.random.Generator or None
        Source of the scatterer draws; ``None`` seeds one from ``scenario.seed``.

    Returns
    -------
    ndarray, shape [K, N, N], complex128
        :math:`\mathbf{R}_k = \mathbb{E}[\mathbf{h}_k \mathbf{h}_k^H]` per UE, Hermitian
        positive semi-definite, dimensionless (the path loss included).

    Raises
    ------
    PlkgTypeError
        ``scenario`` is not a NearFieldScenario, or ``rng`` not a Generator.
    """
    check_instance(
        scenario, NearFieldScenario, "scenario", "a NearFieldScenario (from plkg.load_scenario)"
    )
    if rng is not None:
        check_instance(rng, np.random.Generator, "rng", "None or a numpy.random.Generator")
    if scenario.n_antennas >= STAGE_LINES_FROM_N:  # [K, N, N] from many paths: seconds at least
        step(
            f"[design] CCM of {scenario.n_users} UEs (N = {scenario.n_antennas}, "
            f"{scenario.scatterer_model} scatterers) ..."
        )
    if scenario.scatterer_model == "wedge":
        psi, r, weights = wedge_quadrature(scenario)
        return ccm_from_weighted_scatterers(
            psi,
            r,
            weights,
            scenario.pathloss_linear,
            scenario.n_antennas,
            scenario.spacing_m,
            scenario.wavelength_m,
        )
    rng = np.random.default_rng(scenario.seed) if rng is None else rng
    n_sets = 1 if scenario.scatterer_model == "fixed" else scenario.ccm_draws
    psi, r = draw_scatterers(scenario, rng, n_sets=n_sets)
    return ccm_from_scatterers(
        psi,
        r,
        scenario.pathloss_linear,
        scenario.n_antennas,
        scenario.spacing_m,
        scenario.wavelength_m,
    )


def sample_multipath_channels(
    psi_rad,
    r_m,
    pathloss,
    n_antennas: int,
    spacing_m: float,
    wavelength_m: float,
    n_samples: int,
    rng,
):
    """Draw h_k of Eq. (1) for fixed scatterers, beta ~ CN(0, alpha_k).

    Returns
    -------
    ndarray, shape [n_samples, K, N], complex128
    """
    g = path_signatures(psi_rad, r_m, n_antennas, spacing_m, wavelength_m)  # [K, L, N]
    k, n_paths, _ = g.shape
    alpha = np.asarray(pathloss, dtype=np.float64)[None, :, None]
    beta = np.sqrt(alpha / 2) * (
        rng.standard_normal((n_samples, k, n_paths))
        + 1j * rng.standard_normal((n_samples, k, n_paths))
    )
    return np.einsum("skl,kln->skn", beta, g) / np.sqrt(n_paths)
