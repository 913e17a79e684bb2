"""Near-field channel, Eqs. (1)-(5): independent re-derivations and limit cases."""

import numpy as np
import pytest

from plkg.channels import nearfield as nf
from plkg.channels.nearfield_scenario import NearFieldScenario, load_scenario


def _distance_loop(psi, r, n_antennas, d):
    """Element distances from coordinates (Section II-B), one antenna at a time."""
    src = np.array([r * np.sin(psi), r * np.cos(psi)])
    out = []
    for n in range(n_antennas):
        ant = np.array([(n - (n_antennas - 1) / 2) * d, 0.0])
        out.append(np.linalg.norm(src - ant))
    return np.array(out)


def test_element_distances_match_geometry(rng):
    for _ in range(5):
        psi, r = rng.uniform(-1.2, 1.2), rng.uniform(2.0, 50.0)
        np.testing.assert_allclose(
            nf.element_distances_m(psi, r, 17, 0.04), _distance_loop(psi, r, 17, 0.04), rtol=1e-13
        )


def test_array_response_unit_norm_and_reference_phase(rng):
    lam = 0.0857
    b = nf.array_response(rng.uniform(-1, 1, 4), rng.uniform(5, 30, 4), 64, lam / 2, lam)
    np.testing.assert_allclose(np.linalg.norm(b, axis=-1), 1.0, rtol=1e-12)


def test_near_field_reduces_to_far_field():
    """Limit case: as r -> inf, b(psi, r) -> far-field steering vector (phase error ~ (N d)^2 / (lambda r))."""
    lam, n_ant, psi = 0.0857, 64, 0.3
    a_far = nf.farfield_steering(psi, n_ant, lam / 2, lam)
    errors = []
    for r in (1e2, 1e4, 1e6):
        b = nf.array_response(psi, r, n_ant, lam / 2, lam)
        errors.append(1 - abs(np.vdot(a_far, b)))
    assert errors[0] > 1e-4  # genuinely near-field at 100 m for this aperture
    assert errors[2] < 1e-8
    assert errors[0] > errors[1] > errors[2]
    np.testing.assert_allclose(nf.gain_vector(psi, 1e7, n_ant, lam / 2), 1.0, atol=1e-5)


def test_ccm_matches_eq5_loop(rng):
    """Eq. (5) element by element against the vectorised CCM."""
    lam, n_ant, d = 0.0857, 8, 0.0857 / 2
    psi = rng.uniform(-1, 1, (1, 3))
    r = rng.uniform(3, 10, (1, 3))
    alpha = np.array([2e-4])
    ccm = nf.ccm_from_scatterers(psi, r, alpha, n_ant, d, lam)[0]
    expected = np.zeros((n_ant, n_ant), dtype=complex)
    for q in range(3):
        rq = _distance_loop(psi[0, q], r[0, q], n_ant, d)
        for n in range(n_ant):
            for m in range(n_ant):
                expected[n, m] += (
                    r[0, q] ** 2
                    * alpha[0]
                    * np.exp(-2j * np.pi / lam * (rq[n] - rq[m]))
                    / (rq[n] * rq[m])
                    / 3
                )
    np.testing.assert_allclose(ccm, expected, rtol=1e-11, atol=1e-20)


def test_ccm_is_covariance_of_multipath_channel(rng):
    """Monte Carlo of Eq. (1) with beta ~ CN(0, alpha): E{h h^H} -> Eq. (5)."""
    sc = NearFieldScenario(
        n_antennas=8,
        ue_distance_m=(5.0,),
        ue_angle_rad=(0.2,),
        scatter_radius_m=1.0,
        n_scatterers=6,
    )
    psi, r = nf.draw_scatterers(sc, rng)
    ccm = nf.ccm_from_scatterers(psi, r, sc.pathloss_linear, 8, sc.spacing_m, sc.wavelength_m)
    h = nf.sample_multipath_channels(
        psi, r, sc.pathloss_linear, 8, sc.spacing_m, sc.wavelength_m, 200_000, rng
    )
    emp = np.einsum("sn,sm->nm", h[:, 0], h[:, 0].conj()) / h.shape[0]
    assert np.max(np.abs(emp - ccm[0])) < 0.03 * np.max(np.abs(ccm[0]))


def test_scatterers_stay_in_disc(rng):
    sc = load_scenario("fig6")
    psi, r = nf.draw_scatterers(sc, rng, n_sets=2)
    x, y = r * np.sin(psi), r * np.cos(psi)
    ux = np.array(sc.ue_distance_m) * np.sin(sc.ue_angle_rad)
    uy = np.array(sc.ue_distance_m) * np.cos(sc.ue_angle_rad)
    dist = np.hypot(x - ux[:, None], y - uy[:, None])
    assert dist.max() <= sc.scatter_radius_m + 1e-9
    assert psi.shape == (sc.n_users, 2 * sc.n_scatterers)


def test_scenario_ccm_deterministic_and_trace(small_scenario):
    a = nf.scenario_ccm(small_scenario)
    b = nf.scenario_ccm(small_scenario)
    np.testing.assert_array_equal(a, b)
    # trace(R_k) = alpha_k sum_n E{(r/r^(n))^2} ~ N alpha_k (gain vector close to 1 at these distances)
    ratio = np.real(np.trace(a, axis1=1, axis2=2)) / (
        small_scenario.n_antennas * small_scenario.pathloss_linear
    )
    assert np.all(np.abs(ratio - 1) < 0.1)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(a[0], a[1])
