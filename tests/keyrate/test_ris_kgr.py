"""Theorem 1 (Eq. (8)) and Remark 2 (Eq. (9)) of the RIS paper against NumPy re-derivations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from plkg.channels.ris_multicell import build_channel_model, cascaded_covariance
from plkg.channels.ris_scenario import two_cell
from plkg.keyrate.ris_kgr import remark2_kgr_nats, ris_kgr_bits, ris_kgr_nats

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def random_psd(rng, k, m, scale=1.0):
    a = rng.normal(size=(k, k, m, m)) + 1j * rng.normal(size=(k, k, m, m))
    return scale * a @ np.conj(np.swapaxes(a, -1, -2)) / m


def numpy_mi(cov, p, p_u):
    """I(y_k; z_k) from the joint covariance (Eqs. (33)-(34)), float64 NumPy."""
    k, me = p.shape[0], p.shape[1]
    m = cov.shape[-1]
    out = []
    for kk in range(k):
        r_y = sum(p[i] @ cov[i, kk] @ p[i].conj().T for i in range(k)) + np.eye(me)
        r_z = p[kk] @ (p_u * cov[kk].sum(0) + np.eye(m)) @ p[kk].conj().T
        r_yz = math.sqrt(p_u) * p[kk] @ cov[kk, kk] @ p[kk].conj().T
        joint = np.block([[r_y, r_yz], [r_yz.conj().T, r_z]])
        out.append(
            np.linalg.slogdet(r_y)[1] + np.linalg.slogdet(r_z)[1] - np.linalg.slogdet(joint)[1]
        )
    return np.array(out)


@pytest.mark.parametrize(("k", "m", "me", "p_u"), [(2, 4, 4, 1.0), (3, 4, 2, 0.3), (2, 3, 1, 5.0)])
def test_theorem1_matches_block_determinant(k, m, me, p_u):
    rng = np.random.default_rng(k * 100 + me)
    cov = random_psd(rng, k, m)
    p = rng.normal(size=(k, me, m)) + 1j * rng.normal(size=(k, me, m))
    got = ris_kgr_nats(torch.as_tensor(cov), torch.as_tensor(p), p_u).numpy()
    np.testing.assert_allclose(got, numpy_mi(cov, p, p_u), rtol=1e-10, atol=1e-12)
    bits = ris_kgr_bits(torch.as_tensor(cov), torch.as_tensor(p), p_u).numpy()
    np.testing.assert_allclose(bits, got / np.log(2), rtol=1e-14)


def test_batched_leading_dimensions():
    rng = np.random.default_rng(3)
    cov = np.stack([random_psd(rng, 2, 3) for _ in range(4)])
    p = rng.normal(size=(4, 2, 2, 3)) + 1j * rng.normal(size=(4, 2, 2, 3))
    got = ris_kgr_nats(torch.as_tensor(cov), torch.as_tensor(p), 0.5).numpy()
    for b in range(4):
        np.testing.assert_allclose(got[b], numpy_mi(cov[b], p[b], 0.5), rtol=1e-10)


def test_rank_deficient_precoder_equals_reduced_precoder():
    rng = np.random.default_rng(5)
    cov = random_psd(rng, 2, 3)
    p = rng.normal(size=(2, 2, 3)) + 1j * rng.normal(size=(2, 2, 3))
    p_def = p.copy()
    p_def[0, 1] = 2.0 * p_def[0, 0]  # rank-1 P_1: z_1 carries one dimension only
    got = ris_kgr_nats(torch.as_tensor(cov), torch.as_tensor(p_def), 1.0).numpy()
    # independent: MI with the single row (y_1 sees P_1 whole, z_1 only its first row)
    r_y = sum(p_def[i] @ cov[i, 0] @ p_def[i].conj().T for i in range(2)) + np.eye(2)
    q = p_def[0, :1]
    r_z = q @ (cov[0].sum(0) + np.eye(3)) @ q.conj().T
    r_yz = p_def[0] @ cov[0, 0] @ q.conj().T
    joint = np.block([[r_y, r_yz], [r_yz.conj().T, r_z]])
    ref = np.linalg.slogdet(r_y)[1] + np.linalg.slogdet(r_z)[1] - np.linalg.slogdet(joint)[1]
    assert got[0] == pytest.approx(ref, rel=1e-8)


@pytest.mark.parametrize("p_u", [1.0, 1000.0])
def test_remark2_equals_theorem1_without_ris(p_u):
    s = two_cell(n_ris_elements=4, ut_power_dbm=30.0)
    model = build_channel_model(s).without_ris()
    powers = np.array([1.0, 0.3])
    cov = cascaded_covariance(model, torch.ones(4, dtype=torch.complex128))
    torch.testing.assert_close(cov, torch.as_tensor(model.rd), rtol=0, atol=0)
    p = np.stack([np.sqrt(pw / 4) * np.eye(4) for pw in powers]).astype(complex)
    thm1 = ris_kgr_nats(cov, torch.as_tensor(p), p_u).numpy()
    np.testing.assert_allclose(remark2_kgr_nats(model.rd, powers, p_u), thm1, rtol=1e-10)


def test_proposition1_rate_decreases_with_interference_power():
    model = build_channel_model(two_cell(n_ris_elements=2))
    rates = [remark2_kgr_nats(model.rd, [1.0, p2], 1.0)[0] for p2 in (0.0, 1.0, 10.0, 1e3, 1e7)]
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))
    assert rates[-1] < 1e-3 * rates[0]  # R_k -> 0 for large interference (Proposition 1)


def test_bad_inputs_raise():
    rng = np.random.default_rng(0)
    cov = torch.as_tensor(random_psd(rng, 2, 3))
    p = torch.as_tensor(rng.normal(size=(2, 2, 3)) + 0j)
    with pytest.raises(ValueError, match="shape"):
        ris_kgr_nats(cov, p[..., :2], 1.0)
    with pytest.raises(ValueError, match="M_e"):
        ris_kgr_nats(cov, torch.zeros(2, 4, 3, dtype=torch.complex128), 1.0)
    bad = p.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ris_kgr_nats(cov, bad, 1.0)
    nonherm = cov.clone()
    nonherm[0, 0, 0, 1] += 1.0
    with pytest.raises(ValueError, match="Hermitian"):
        ris_kgr_nats(nonherm, p, 1.0)
    with pytest.raises(ValueError, match="UT power"):
        ris_kgr_nats(cov, p, -1.0)
    with pytest.raises(ValueError, match="positive definite"):
        ris_kgr_nats(-10 * cov, p, 1.0)
    with pytest.raises(ValueError, match="bs_powers_w"):
        remark2_kgr_nats(cov.numpy(), [1.0, -1.0])
