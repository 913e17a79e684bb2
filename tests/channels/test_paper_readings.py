"""Paper-reading modelling options, each against an independent derivation.

Near field: fixed scatterers (rank <= L_k), angular wedge (quadrature vs brute-force Monte Carlo),
literal subchannel count (D_k = N - r_k). RIS: exponential direct-link correlation, array
orientation, seeded random LoS angles. Small sizes only (the whole file runs in a few seconds).
"""

from __future__ import annotations

import numpy as np
import pytest

from plkg.channels.nearfield import scenario_ccm, wedge_quadrature
from plkg.channels.nearfield_scenario import NearFieldScenario
from plkg.channels.ris_multicell import build_channel_model, direct_correlation_matrix
from plkg.channels.ris_scenario import two_cell
from plkg.precoding.block_diagonalization import (
    LITERAL_LAMBDA_FLOOR_RTOL,
    design_subchannels,
    normalized_energy,
)
from plkg.reproduce.ris_calibration import saturation_dbm


def _small(**kw) -> NearFieldScenario:
    base = dict(
        n_antennas=24,
        ue_distance_m=(10.0, 14.0, 22.0),
        ue_angle_rad=(-0.6, 0.1, 0.7),
        n_scatterers=3,
        scatter_radius_m=2.0,
        ccm_draws=4,
    )
    return NearFieldScenario(**{**base, **kw})


def _signature(psi, r, sc: NearFieldScenario) -> np.ndarray:
    """Eq. (1)-(3) re-derived: g_n = (r / r_n) exp(-j 2 pi/lambda (r_n - r)), antenna n at x = d delta_n."""
    n = sc.n_antennas
    x_ant = sc.spacing_m * (np.arange(n) - (n - 1) / 2)
    src_x, src_y = r * np.sin(psi), r * np.cos(psi)
    rn = np.hypot(src_x[..., None] - x_ant, src_y[..., None])
    return (r[..., None] / rn) * np.exp(-2j * np.pi / sc.wavelength_m * (rn - r[..., None]))


def test_fixed_scatterers_rank_at_most_l(rng):
    l_k = int(rng.integers(1, 5))
    sc = _small(scatterer_model="fixed", n_scatterers=l_k, seed=int(rng.integers(0, 10**6)))
    ccm = scenario_ccm(sc)
    for k in range(sc.n_users):
        ev = np.linalg.eigvalsh(ccm[k])
        assert np.sum(ev > 1e-9 * ev.max()) <= l_k
    # the continuum average of many sets has (numerically) higher rank
    cont = scenario_ccm(sc.replace(scatterer_model="continuum-disc", ccm_draws=16))
    ev = np.linalg.eigvalsh(cont[0])
    assert np.sum(ev > 1e-9 * ev.max()) > l_k


def test_wedge_ccm_matches_brute_force_monte_carlo(rng):
    sc = _small(scatterer_model="wedge", wedge_angle_spread_rad=0.08, wedge_distance_spread_m=1.5)
    ccm = scenario_ccm(sc)
    n_mc = 40_000
    for k in range(sc.n_users):
        psi = sc.ue_angle_rad[k] + sc.wedge_angle_spread_rad * rng.uniform(-1, 1, n_mc)
        r = sc.ue_distance_m[k] + sc.wedge_distance_spread_m * rng.uniform(-1, 1, n_mc)
        g = _signature(psi, r, sc)
        mc = sc.pathloss_linear[k] * g.T @ g.conj() / n_mc
        # entries are means of bounded terms |g_n g_m^*| <= c^2 ~ 1: error ~ 1/sqrt(n_mc)
        err = np.max(np.abs(mc - ccm[k])) / sc.pathloss_linear[k]
        assert err < 6 / np.sqrt(n_mc), err


def test_wedge_quadrature_weights_and_limit():
    sc = _small(scatterer_model="wedge", wedge_angle_spread_rad=0.0, wedge_distance_spread_m=0.0)
    psi, r, w = wedge_quadrature(sc)
    assert psi.shape == (3, 1) and w.sum() == pytest.approx(1.0)
    # zero spread: rank-one CCM alpha g g^H at the UE itself
    ccm = scenario_ccm(sc)
    g = _signature(np.asarray(sc.ue_angle_rad), np.asarray(sc.ue_distance_m), sc)
    ref = sc.pathloss_linear[:, None, None] * g[:, :, None] * g[:, None, :].conj()
    np.testing.assert_allclose(ccm, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_literal_count_is_n_minus_rank(rng):
    sc = _small(scatterer_model="fixed", n_scatterers=int(rng.integers(2, 5)))
    ccm = scenario_ccm(sc)
    common = dict(noise_bs_w=1e-14, noise_ue_w=1e-14, ue_power_w=0.1)
    lit = design_subchannels(ccm, subchannel_count="literal", **common)
    energy = design_subchannels(ccm, **common)
    n = sc.n_antennas
    l_total = (sc.n_users - 1) * sc.n_scatterers
    for k in range(sc.n_users):
        # r_k: rank of B_k (blocks scaled by their energy) at the design's tolerance, which the
        # cut may move by a factor cut_window; exact rank <= (K - 1) L_k (fixed scatterers)
        others = np.concatenate(
            [ccm[j] / np.trace(ccm[j]).real for j in range(sc.n_users) if j != k]
        )
        sv = np.linalg.svd(others, compute_uv=False)
        r_k = n - lit.null_dims[k]
        hi, lo = sc.null_space_rtol * sc.cut_window, sc.null_space_rtol / sc.cut_window
        assert np.sum(sv > hi) <= r_k <= np.sum(sv > lo) <= l_total
        assert lit.n_subchannels[k] == n - r_k
        v0 = lit.null_bases[k]
        np.testing.assert_allclose(v0.conj().T @ v0, np.eye(v0.shape[1]), atol=1e-10)
        assert np.linalg.norm(others @ v0) <= 1e-5 * np.sqrt(sc.n_users)
    assert lit.downlink_pilot_len == max(lit.n_subchannels)
    assert np.all(np.isfinite(lit.m_a)) and np.all(lit.m_a > 0) and np.all(lit.m_b > 0)
    # the energy subchannels are the leading literal ones (same lambda); the rest sit at the floor
    for k, (lam_l, lam_e) in enumerate(
        zip(lit.channel_eigenvalues(), energy.channel_eigenvalues(), strict=True)
    ):
        np.testing.assert_allclose(lam_l[: lam_e.size], lam_e, rtol=1e-9)
        floor = LITERAL_LAMBDA_FLOOR_RTOL * normalized_energy(ccm[k])
        assert np.all(lam_l >= floor)
        # spectral_cut's guarantee: dropped values lie below subchannel_rtol * cut_window * tr(R_k)
        assert np.all(
            lam_l[lam_e.size :] <= sc.subchannel_rtol * sc.cut_window * normalized_energy(ccm[k])
        )


def test_literal_count_rejects_unknown_value():
    ccm = scenario_ccm(_small())
    with pytest.raises(ValueError, match="subchannel_count"):
        design_subchannels(ccm, 1e-14, 1e-14, 0.1, subchannel_count="all")


@pytest.mark.parametrize(
    "bad",
    [
        {"scatterer_model": "ring"},
        {"subchannel_count": "max"},
        {"wedge_angle_spread_rad": -0.1},
        {"wedge_distance_spread_m": float("nan")},
        {"scatterer_model": "wedge", "wedge_distance_spread_m": 50.0},
        {"scatterer_model": "wedge", "wedge_angle_spread_rad": 1.2},
    ],
)
def test_nearfield_options_validated(bad):
    with pytest.raises(ValueError):
        _small(**bad)


# ------------------------------------------------------------------------------------ RIS
def test_exponential_correlation_properties(rng):
    m = int(rng.integers(2, 9))
    rho = float(rng.uniform(0, 0.95))
    t = direct_correlation_matrix(m, "exponential", rho)
    assert np.allclose(np.diag(t), 1) and np.allclose(t, t.T)
    assert np.linalg.det(t) == pytest.approx((1 - rho**2) ** (m - 1), rel=1e-9)
    # AR(1) structure: the inverse is tridiagonal
    inv = np.linalg.inv(t)
    assert np.max(np.abs(np.triu(inv, 2))) < 1e-9 * np.max(np.abs(inv))
    np.testing.assert_array_equal(direct_correlation_matrix(m), np.eye(m))
    sc = two_cell(
        n_antennas=m, n_rf_chains=m, direct_correlation="exponential", direct_correlation_coeff=rho
    )
    model = build_channel_model(sc)
    d = np.linalg.norm(sc.ut_positions_m()[1] - sc.bs_positions_m()[0])
    ref = 10 ** (sc.pathloss_ref_db / 10) * d ** (-sc.alpha_bu) / sc.noise_w * t
    np.testing.assert_allclose(model.rd[0, 1], ref, rtol=1e-12)


def test_geometric_los_matches_x_axis_formula():
    sc = two_cell()
    model = build_channel_model(sc)
    bs, ris = sc.bs_positions_m()[1], sc.ris_positions_m()[0]
    u = (ris - bs) / np.linalg.norm(ris - bs)
    gain = 10 ** (sc.pathloss_ref_db / 10) * np.linalg.norm(ris - bs) ** (-sc.alpha_br) / sc.noise_w
    a_bs = np.exp(2j * np.pi * 0.5 * np.arange(sc.n_antennas) * u[0])
    a_ris = np.exp(-2j * np.pi * 0.5 * np.arange(sc.n_ris_elements) * u[0])
    ref = np.sqrt(gain * 0.75) * np.outer(a_bs, a_ris)
    np.testing.assert_allclose(model.g_bar[1], ref, rtol=1e-10)


def test_array_axis_along_y_sees_collinear_nodes_at_broadside():
    # every node lies on y = 0: along y, every direction cosine is 0 and the LoS responses are flat
    model = build_channel_model(two_cell(bs_array_axis_deg=90.0, ris_array_axis_deg=90.0))
    for i in range(2):
        col = model.g_bar[i] / model.g_bar[i][0, 0]
        np.testing.assert_allclose(col, np.ones_like(col), atol=1e-9)
        np.testing.assert_allclose(model.h_bar[i] / model.h_bar[i][0], 1.0, atol=1e-9)


def test_random_los_angles_seeded(rng):
    seed = int(rng.integers(0, 10**6))
    a = build_channel_model(two_cell(los_angles="random", los_seed=seed))
    b = build_channel_model(two_cell(los_angles="random", los_seed=seed))
    c = build_channel_model(two_cell(los_angles="random", los_seed=seed + 1))
    geo = build_channel_model(two_cell())
    np.testing.assert_array_equal(a.g_bar, b.g_bar)
    np.testing.assert_array_equal(a.h_bar, b.h_bar)
    assert not np.allclose(a.g_bar, c.g_bar)
    # angles change, powers do not: |entries| equal the geometric model's
    np.testing.assert_allclose(np.abs(a.g_bar), np.abs(geo.g_bar), rtol=1e-12)
    np.testing.assert_allclose(np.abs(a.h_bar), np.abs(geo.h_bar), rtol=1e-12)
    # each RIS-side response is a ULA response: constant ratio between neighbouring elements
    ratio = a.h_bar[0][1:] / a.h_bar[0][:-1]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)


@pytest.mark.parametrize(
    "bad",
    [
        {"los_angles": "uniform"},
        {"direct_correlation": "kronecker"},
        {"direct_correlation_coeff": 1.0},
        {"los_seed": -1},
        {"ris_array_axis_deg": float("inf")},
    ],
)
def test_ris_options_validated(bad):
    with pytest.raises(ValueError):
        two_cell(**bad)


def test_saturation_dbm_interpolates():
    pa = np.array([0.0, 10.0, 20.0, 30.0])
    w = np.array([0.0, 5.0, 9.0, 10.0])
    # 95 % of 10 = 9.5, between 20 (9) and 30 (10): 25 dBm
    assert saturation_dbm(pa, w, 10.0) == pytest.approx(25.0)
    assert saturation_dbm(pa, w, 20.0) == float("inf")


def test_paper_configs_load_with_their_readings():
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.channels.ris_scenario import load_ris_scenario

    for name in ("fig6-paper", "fig7-paper", "fig9-paper"):
        sc = load_scenario(name)
        assert (sc.scatterer_model, sc.subchannel_count) == ("wedge", "literal")
    ris = load_ris_scenario("ris-two-cell-paper")
    assert ris.los_angles == "random" and ris.ut_xy_m[0] == (280.0, 0.0)
    assert load_ris_scenario("ris-fig6-paper").pathloss_ref_db == ris.pathloss_ref_db


def test_fig7_paper_quick_plots_the_paper_indices(tmp_path, monkeypatch):
    import csv

    from plkg.reproduce.nearfield_paper import make_fig7_paper

    monkeypatch.setenv("PLKG_NO_CACHE", "1")
    paths = make_fig7_paper(tmp_path, quick=True)
    rows = list(csv.DictReader(open(paths[1], encoding="utf-8")))
    assert {r["subchannel"] for r in rows} == {"270", "121", "1"}
    assert all(float(r["x_target_w"]) >= 0 for r in rows)


def test_pilot_power_bisection_hits_the_no_ris_target():
    from plkg.reproduce.ris_calibration import pilot_power_for_no_ris
    from plkg.solvers.ris_alternating import solve_ris

    sc = two_cell(n_ris_elements=8)
    p_u = pilot_power_for_no_ris(sc, 0.49, steps=14)

    def no_ris(p):
        model = build_channel_model(sc.replace(ut_power_dbm=p))
        return solve_ris(model, "no-ris", rng=np.random.default_rng(0)).wskr_bits

    # the bracket after 14 halvings of 80 dB is 0.005 dB wide: No-RIS straddles the target there
    assert no_ris(p_u - 0.01) <= 0.49 <= no_ris(p_u + 0.01)
