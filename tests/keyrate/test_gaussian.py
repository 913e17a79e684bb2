"""Key rates (13)/(14), (17), (35), (42) of the near-field paper against each other and Monte Carlo."""

import numpy as np
import pytest

from plkg.channels.nearfield_probing import empirical_key_rate_bits, simulate_probing
from plkg.keyrate.gaussian import (
    approximate_key_rate_bits,
    block_diagonal_key_rate_bits,
    gaussian_mi_bits,
    general_key_rate_bits,
)
from plkg.keyrate.subchannel import subchannel_key_rate_bits, user_key_rates_bits
from plkg.precoding.design_cache import design_for_scenario
from plkg.units import dbm_to_w


def _mi_eq13(r_a, r_b, r_ab):
    """Eq. (13) literally: -log2 |I - R_ab R_b^-1 R_ba R_a^-1|."""
    m = np.eye(r_a.shape[0]) - r_ab @ np.linalg.inv(r_b) @ r_ab.conj().T @ np.linalg.inv(r_a)
    return -np.log2(np.abs(np.linalg.det(m)))


def _random_pair_cov(rng, da, db):
    g = rng.standard_normal((da + db, da + db)) + 1j * rng.standard_normal((da + db, da + db))
    c = g @ g.conj().T + 0.1 * np.eye(da + db)
    return c[:da, :da], c[da:, da:], c[:da, da:]


def test_gaussian_mi_equals_eq13_literal(rng):
    for da, db in [(1, 1), (3, 2), (5, 5)]:
        r_a, r_b, r_ab = _random_pair_cov(rng, da, db)
        assert gaussian_mi_bits(r_a, r_b, r_ab) == pytest.approx(_mi_eq13(r_a, r_b, r_ab), rel=1e-9)


def test_scalar_mi_closed_form():
    # z_a = h + n_a, z_b = h + n_b: I = log2((1+s_a)(1+s_b)/(1+s_a+s_b))
    p, na, nb = 2.0, 0.5, 0.25
    expected = np.log2((p + na) * (p + nb) / ((p + na) * (p + nb) - p * p))
    assert gaussian_mi_bits([[p + na]], [[p + nb]], [[p]]) == pytest.approx(expected, rel=1e-12)


@pytest.fixture
def probing_setup(small_scenario):
    # Moderate SNRs so that every subchannel contributes a few bits, not tens.
    sc = small_scenario.replace(ue_power_dbm=-40.0)
    design = design_for_scenario(sc)
    return sc, design


def test_eq14_equals_eq17_and_eq42_for_designed_precoders(probing_setup, rng):
    sc, design = probing_setup
    x = rng.uniform(0.2, 1.0, design.n_total) * dbm_to_w(-60.0) / design.n_total
    i14 = general_key_rate_bits(
        design.ccm, design.padded_precoders(x), design.sigma2_a_hat_w, design.sigma2_b_hat_w
    )
    i17 = block_diagonal_key_rate_bits(
        design.ccm, design.precoders(x), design.sigma2_a_hat_w, design.sigma2_b_hat_w
    )
    c42 = user_key_rates_bits(x, design.m_a, design.m_b, design.user, design.n_users)
    np.testing.assert_allclose(i14, i17, rtol=1e-6)
    # For U_k = V_k = I and all x > 0 the processing X of Eq. (33) is invertible: equality holds.
    np.testing.assert_allclose(i17, c42, rtol=1e-6)
    for k, (lam, xk) in enumerate(zip(design.channel_eigenvalues(), design.split(x), strict=True)):
        c35 = approximate_key_rate_bits(lam, xk, design.sigma2_a_hat_w, design.sigma2_b_hat_w)
        assert c35 == pytest.approx(c42[k], rel=1e-9)  # (35) == (42)


def test_key_rate_matches_monte_carlo_probing(probing_setup, seed):
    """(14) and (17) vs the Gaussian MI of 10^5 simulated probing rounds (Eqs. (6)-(11)), within 2 %."""
    sc, design = probing_setup
    rng = np.random.default_rng(seed + 1)
    x = design.m_b * rng.uniform(0.5, 5.0, design.n_total)  # downlink SNR x/m_b between 0.5 and 5
    precoders = design.padded_precoders(x)
    samples = simulate_probing(
        design.ccm,
        precoders,
        sc.noise_bs_w,
        sc.noise_ue_w,
        sc.ue_power_w,
        design.downlink_pilot_len,
        3,
        n_rounds=100_000,
        rng=rng,
    )
    s2a = sc.noise_bs_w / (3 * sc.ue_power_w)
    i14 = general_key_rate_bits(design.ccm, precoders, s2a, design.sigma2_b_hat_w)
    i17 = block_diagonal_key_rate_bits(design.ccm, design.precoders(x), s2a, design.sigma2_b_hat_w)
    # (15) holds up to the null-space rank tolerance; the residual leak is far below 2 %.
    np.testing.assert_allclose(i14, i17, rtol=1e-3)
    for k in range(design.n_users):
        d_k = design.n_subchannels[k]
        mc = empirical_key_rate_bits(samples.z_a[:, k, :d_k], samples.z_b[:, k, :])
        assert mc == pytest.approx(i14[k], rel=0.02), (k, mc, i14[k])
        assert i14[k] > 0.5  # the comparison is not between two zeros


def test_eq14_equals_eq17_when_eq15_holds_exactly(rng):
    """CCMs on orthogonal subspaces: R_{k'} P_k = 0 exactly, so (14) == (17) to round-off."""
    from plkg.precoding.block_diagonalization import design_subchannels

    n, dims = 12, (4, 5)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n)))
    ccm, start = [], 0
    for d in dims:
        u = q[:, start : start + d]
        ccm.append(u @ np.diag(rng.uniform(0.5, 2.0, d)) @ u.conj().T)
        start += d
    design = design_subchannels(
        np.array(ccm),
        noise_bs_w=0.05,
        noise_ue_w=0.08,
        ue_power_w=1.0,
        downlink_pilot_len=7,
        uplink_pilot_len=2,
    )
    assert design.n_subchannels == dims
    x = rng.uniform(0.1, 2.0, design.n_total)
    i14 = general_key_rate_bits(
        design.ccm,
        design.padded_precoders(x, n_symbols=6),
        design.sigma2_a_hat_w,
        design.sigma2_b_hat_w,
    )
    i17 = block_diagonal_key_rate_bits(
        design.ccm, design.precoders(x), design.sigma2_a_hat_w, design.sigma2_b_hat_w
    )
    np.testing.assert_allclose(i14, i17, rtol=1e-10)
    # and (17) by hand for diagonal subchannels: sum_j -log2(1 - rho_j^2)
    lam, s2a, s2b = design.lambda_h, design.sigma2_a_hat_w, design.sigma2_b_hat_w
    rho2 = x * lam**2 / ((lam + s2a) * (x * lam + s2b))
    by_hand = [np.sum(-np.log2(1 - rho2[design.user == k])) for k in range(2)]
    np.testing.assert_allclose(i17, by_hand, rtol=1e-10)


def test_monte_carlo_detects_wrong_noise_model(probing_setup, seed):
    """The MC check can fail: a KR computed with 10x the BS noise is off by far more than 2 %."""
    sc, design = probing_setup
    rng = np.random.default_rng(seed + 2)
    x = np.full(design.n_total, dbm_to_w(-60.0) / design.n_total)
    samples = simulate_probing(
        design.ccm,
        design.padded_precoders(x),
        sc.noise_bs_w,
        sc.noise_ue_w,
        sc.ue_power_w,
        design.downlink_pilot_len,
        1,
        n_rounds=50_000,
        rng=rng,
    )
    wrong = block_diagonal_key_rate_bits(
        design.ccm, design.precoders(x), 10 * design.sigma2_a_hat_w, design.sigma2_b_hat_w
    )
    mc = empirical_key_rate_bits(samples.z_a[:, 0, : design.n_subchannels[0]], samples.z_b[:, 0, :])
    assert abs(mc - wrong[0]) > 0.05 * mc


def test_upper_bound_eq33_for_arbitrary_precoders(probing_setup, rng):
    """C_k = I(z~_a; z_b,e) >= I_k = I(z_a,e; z_b,e) for P_{e,k} = V0 W_k with any W_k (Eq. (33)),
    strictly when W_k is rank-deficient (information is lost)."""
    sc, design = probing_setup
    k = 0
    v0 = design.null_bases[k]
    r = design.ccm[k]
    d0 = v0.shape[1]
    s2a, s2b = design.sigma2_a_hat_w, design.sigma2_b_hat_w
    lam_h, u_h = np.linalg.eigh(v0.conj().T @ r @ v0)
    keep = lam_h > 1e-12 * lam_h.max()
    p_u = v0 @ u_h[:, keep]  # Eq. (29)
    scale = np.sqrt(dbm_to_w(-60.0) / d0)
    for rank in (d0, max(1, d0 // 2)):
        w = (rng.standard_normal((d0, rank)) + 1j * rng.standard_normal((d0, rank))) @ (
            rng.standard_normal((rank, d0)) + 1j * rng.standard_normal((rank, d0))
        )
        pe = v0 @ w * scale / np.sqrt(d0)
        i_k = block_diagonal_key_rate_bits(design.ccm[[k]], [pe], s2a, s2b)[0]
        # C_k: uplink measured with P_u (identity processing), downlink with P_e.
        r_a = p_u.conj().T @ r @ p_u + s2a * np.eye(p_u.shape[1])
        r_b = pe.conj().T @ r @ pe + s2b * np.eye(pe.shape[1])
        r_ab = p_u.conj().T @ r @ pe
        c_k = gaussian_mi_bits(r_a, r_b, r_ab)
        assert c_k >= i_k * (1 - 1e-9)
        if rank < d0:
            assert c_k > i_k * 1.01


def test_subchannel_formula_limits():
    m_a, m_b = 0.3, 0.7
    assert subchannel_key_rate_bits(0.0, m_a, m_b) == 0.0
    # x -> inf: log2(1 + 1/m_a), the uplink-limited rate
    assert subchannel_key_rate_bits(1e12, m_a, m_b) == pytest.approx(np.log2(1 + 1 / m_a), rel=1e-9)
    # paper's printed form (42)
    x = 1.7
    paper = np.log2(1 + (x / m_a / m_b) / (x / m_b + 1 / m_a + 1))
    assert subchannel_key_rate_bits(x, m_a, m_b) == pytest.approx(paper, rel=1e-14)


def test_subchannel_torch_twin_and_derivative():
    import torch

    x = torch.tensor([1e-6, 1e-3, 0.5, 10.0], dtype=torch.float64, requires_grad=True)
    m_a = torch.tensor([1e-3, 2.0, 1e-6, 5.0], dtype=torch.float64)
    m_b = torch.tensor([1e-5, 0.1, 3.0, 1e-2], dtype=torch.float64)
    c = subchannel_key_rate_bits(x, m_a, m_b)
    np.testing.assert_allclose(
        c.detach().numpy(),
        subchannel_key_rate_bits(x.detach().numpy(), m_a.numpy(), m_b.numpy()),
        rtol=1e-14,
    )
    (g,) = torch.autograd.grad(c.sum(), x)
    from plkg.keyrate.subchannel import subchannel_key_rate_derivative

    np.testing.assert_allclose(
        g.numpy(),
        subchannel_key_rate_derivative(x.detach().numpy(), m_a.numpy(), m_b.numpy()),
        rtol=1e-10,
    )
