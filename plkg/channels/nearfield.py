"""Near-field ULA channel: Eqs. (1)-(5) of the near-field paper.

Geometry (Section II-B): antenna n sits at (delta_n d, 0) with delta_n = n - (N-1)/2; a point at
distance r from the reference antenna and azimuth psi (from the y-axis) sits at
(r sin psi, r cos psi).
"""

from __future__ import annotations

import numpy as np

from plkg.channels.nearfield_scenario import NearFieldScenario


def antenna_offsets(n_antennas: int) -> np.ndarray:
    """delta_n = n - (N-1)/2 for n = 0..N-1, shape [N], float64 (Section II-B)."""
    return np.arange(n_antennas, dtype=np.float64) - (n_antennas - 1) / 2.0


def element_distances_m(psi_rad, r_m, n_antennas: int, spacing_m: float) -> np.ndarray:
    """r^(n) = sqrt(r^2 + d^2 delta_n^2 - 2 r sin(psi) d delta_n), shape [..., N] in metres (Eq. (2))."""
    psi = np.asarray(psi_rad, dtype=np.float64)[..., None]
    r = np.asarray(r_m, dtype=np.float64)[..., None]
    dd = spacing_m * antenna_offsets(n_antennas)
    return np.sqrt(r**2 + dd**2 - 2.0 * r * np.sin(psi) * dd)


def array_response(
    psi_rad, r_m, n_antennas: int, spacing_m: float, wavelength_m: float
) -> np.ndarray:
    """Near-field array response b(psi, r), Eq. (2).

    Parameters
    ----------
    psi_rad, r_m : array_like, shape [...]
        Azimuth (rad) and distance (m) of the source from the reference antenna.

    Returns
    -------
    ndarray, shape [..., N], complex128
        ``exp(-j 2 pi/lambda (r^(n) - r)) / sqrt(N)``.
    """
    rn = element_distances_m(psi_rad, r_m, n_antennas, spacing_m)
    r = np.asarray(r_m, dtype=np.float64)[..., None]
    return np.exp(-2j * np.pi / wavelength_m * (rn - r)) / np.sqrt(n_antennas)


def gain_vector(psi_rad, r_m, n_antennas: int, spacing_m: float) -> np.ndarray:
    """Gain correlation vector c(psi, r) = r / r^(n), Eq. (3); shape [..., N], float64."""
    rn = element_distances_m(psi_rad, r_m, n_antennas, spacing_m)
    return np.asarray(r_m, dtype=np.float64)[..., None] / rn


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
    ccm = alpha * np.einsum("kln,klm->knm", g, g.conj()) / n_paths
    return 0.5 * (ccm + ccm.conj().transpose(0, 2, 1))


def scenario_ccm(scenario: NearFieldScenario, rng: np.random.Generator | None = None) -> np.ndarray:
    """Monte-Carlo CCM (4) of every UE, averaged over the scatterer distribution.

    Averages Eq. (5) over ``scenario.ccm_draws`` independent scatterer sets of ``n_scatterers``
    each. With ``rng=None`` the draws use ``scenario.seed``, so a scenario always has the same CCMs.

    Returns
    -------
    ndarray, shape [K, N, N], complex128
    """
    rng = np.random.default_rng(scenario.seed) if rng is None else rng
    psi, r = draw_scatterers(scenario, rng, n_sets=scenario.ccm_draws)
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
