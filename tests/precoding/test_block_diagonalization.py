"""Block diagonalisation (Eqs. (15)-(20), (29), (39), (43)) of the near-field paper."""

import numpy as np
import pytest

from plkg.channels.nearfield import scenario_ccm
from plkg.precoding.block_diagonalization import (
    design_subchannels,
    null_space_basis,
)
from plkg.precoding.design_cache import design_for_scenario


@pytest.fixture
def design(small_scenario):
    return design_for_scenario(small_scenario)


def test_interference_nulled_eq15(design, rng):
    """R_{k'} P_k ~ 0 for k' != k, relative to ||R_{k'}||, for any allocation."""
    x = rng.uniform(0.1, 1.0, design.n_total) * 1e-3
    for k, p in enumerate(design.precoders(x)):
        for j in range(design.n_users):
            if j != k:
                leak = np.linalg.norm(design.ccm[j] @ p, 2) / (
                    np.linalg.norm(design.ccm[j], 2) * np.linalg.norm(p, 2)
                )
                assert leak < 1e-6


def test_subchannels_uncorrelated_and_power_eq43(design, rng):
    """P_{e,k}^H R_k P_{e,k} is diagonal = diag(x lambda_h); ||P_e||_F^2 = sum x (Eq. (43))."""
    x = rng.uniform(0.0, 1.0, design.n_total) * 1e-3
    for k, (p, xk, lam) in enumerate(
        zip(design.precoders(x), design.split(x), design.channel_eigenvalues(), strict=True)
    ):
        cov = p.conj().T @ design.ccm[k] @ p
        np.testing.assert_allclose(cov, np.diag(xk * lam), atol=1e-9 * np.max(np.abs(cov)))
        assert np.linalg.norm(p) ** 2 == pytest.approx(xk.sum(), rel=1e-12)
    u = design.uplink_precoders()
    for uk in u:
        np.testing.assert_allclose(uk.conj().T @ uk, np.eye(uk.shape[1]), atol=1e-12)


def test_null_space_against_scipy(design):
    from scipy.linalg import null_space, svdvals

    n = design.n_antennas
    for k in range(design.n_users):
        # Blocks are normalised by their energy (each UE protected relative to its own channel);
        # scipy's rcond is put in the middle of the gap where plkg cut the spectrum.
        others = np.concatenate(
            [design.ccm[j] / np.trace(design.ccm[j]).real for j in range(design.n_users) if j != k]
        )
        sv = svdvals(others)
        rank = n - design.null_dims[k]
        assert 0 < rank < n
        ref = null_space(others, rcond=np.sqrt(sv[rank - 1] * sv[rank]) / sv[0])
        assert ref.shape[1] == design.null_dims[k]
        # same subspace: projectors agree
        v0 = design.null_bases[k]
        np.testing.assert_allclose(v0 @ v0.conj().T, ref @ ref.conj().T, atol=1e-8)


def test_eigenvalues_sorted_and_m_constants(design, small_scenario):
    for lam in design.channel_eigenvalues():
        assert np.all(np.diff(lam) <= 0) and np.all(lam > 0)
    s2a = small_scenario.noise_bs_w / (small_scenario.uplink_pilot_len * small_scenario.ue_power_w)
    np.testing.assert_allclose(design.m_a * design.lambda_h, s2a, rtol=1e-12)
    np.testing.assert_allclose(
        design.m_b * design.lambda_h,
        small_scenario.noise_ue_w / design.downlink_pilot_len,
        rtol=1e-12,
    )
    assert design.downlink_pilot_len == design.n_symbols == max(design.n_subchannels)


def test_padded_precoders_shape(design):
    x = np.full(design.n_total, 1e-4)
    p = design.padded_precoders(x)
    assert p.shape == (design.n_users, design.n_antennas, design.n_symbols)
    for k, d_k in enumerate(design.n_subchannels):
        assert np.all(p[k, :, d_k:] == 0)
    with pytest.raises(ValueError, match="smaller than"):
        design.padded_precoders(x, n_symbols=1)


def test_empty_null_space_is_an_error(small_scenario):
    sc = small_scenario.replace(
        n_antennas=4, ue_distance_m=(6.0, 12.0, 9.0), ue_angle_rad=(-0.4, 0.5, 0.0)
    )
    with pytest.raises(ValueError, match="empty null space"):
        design_for_scenario(sc)


def test_bad_ccm_rejected(design):
    ccm = design.ccm.copy()
    kw = dict(noise_bs_w=1e-14, noise_ue_w=1e-14, ue_power_w=0.1)
    bad = ccm.copy()
    bad[0, 0, 1] += 1e-3 * np.abs(ccm[0]).max()
    with pytest.raises(ValueError, match="not Hermitian"):
        design_subchannels(bad, **kw)
    neg = ccm.copy()
    neg[1] = -ccm[1]
    with pytest.raises(ValueError, match="positive semi-definite"):
        design_subchannels(neg, **kw)
    nan = ccm.copy()
    nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        design_subchannels(nan, **kw)
    with pytest.raises(ValueError, match="shape"):
        design_subchannels(ccm[:, :3], **kw)
    with pytest.raises(ValueError, match="noise_bs_w"):
        design_subchannels(ccm, noise_bs_w=-1.0, noise_ue_w=1e-14, ue_power_w=0.1)
    with pytest.raises(ValueError, match="downlink_pilot_len"):
        design_subchannels(ccm, **kw, downlink_pilot_len=1)


def test_bad_allocation_rejected(design):
    with pytest.raises(ValueError, match="negative power"):
        design.precoders(np.full(design.n_total, -1.0))
    with pytest.raises(ValueError, match="NaN"):
        design.precoders(np.full(design.n_total, np.nan))
    with pytest.raises(ValueError, match="N_D"):
        design.precoders(np.ones(design.n_total + 1))


def test_single_user_keeps_whole_space(small_scenario):
    sc = small_scenario.replace(ue_distance_m=(6.0,), ue_angle_rad=(0.1,))
    ccm = scenario_ccm(sc)
    np.testing.assert_allclose(null_space_basis(ccm, 0, 1e-9), np.eye(sc.n_antennas))
