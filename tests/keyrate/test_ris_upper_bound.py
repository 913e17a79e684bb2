"""Theorem 2 (Eqs. (11)-(13)): UB >= KGR always, UB = KGR when M_e = M (Remark 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from plkg.channels.ris_multicell import build_channel_model, cascaded_covariance
from plkg.channels.ris_scenario import two_cell
from plkg.keyrate.ris_kgr import ris_kgr_nats
from plkg.keyrate.ris_upper_bound import ris_upper_bound_bits, ris_upper_bound_nats

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def numpy_ub(cov, p, p_u):
    """I(y_k; z_tilde_k) from the joint covariance of (y_k, z_tilde_k) (Eqs. (42)-(45))."""
    k, me, m = p.shape
    out = []
    for kk in range(k):
        r_y = sum(p[i] @ cov[i, kk] @ p[i].conj().T for i in range(k)) + np.eye(me)
        r_z = p_u * cov[kk].sum(0) + np.eye(m)
        r_yz = math.sqrt(p_u) * p[kk] @ cov[kk, kk]
        joint = np.block([[r_y, r_yz], [r_yz.conj().T, r_z]])
        out.append(
            np.linalg.slogdet(r_y)[1] + np.linalg.slogdet(r_z)[1] - np.linalg.slogdet(joint)[1]
        )
    return np.array(out)


def _random(seed, k, m, me):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(k, k, m, m)) + 1j * rng.normal(size=(k, k, m, m))
    cov = a @ np.conj(np.swapaxes(a, -1, -2)) * rng.uniform(0.1, 10)
    p = (rng.normal(size=(k, me, m)) + 1j * rng.normal(size=(k, me, m))) * rng.uniform(0.1, 3)
    return cov, p, float(rng.uniform(0.05, 5))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 3),
    m=st.integers(1, 4),
    data=st.data(),
)
def test_upper_bound_dominates_kgr_and_matches_numpy(seed, k, m, data):
    me = data.draw(st.integers(1, m))
    cov, p, p_u = _random(seed, k, m, me)
    ub = ris_upper_bound_nats(torch.as_tensor(cov), torch.as_tensor(p), p_u).numpy()
    kgr = ris_kgr_nats(torch.as_tensor(cov), torch.as_tensor(p), p_u).numpy()
    np.testing.assert_allclose(ub, numpy_ub(cov, p, p_u), rtol=1e-9, atol=1e-10)
    assert np.all(ub >= kgr - 1e-9 * np.maximum(1.0, ub))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 3), m=st.integers(1, 4))
def test_remark4_tight_when_me_equals_m(seed, k, m):
    cov, p, p_u = _random(seed, k, m, m)
    ub = ris_upper_bound_nats(torch.as_tensor(cov), torch.as_tensor(p), p_u).numpy()
    kgr = ris_kgr_nats(torch.as_tensor(cov), torch.as_tensor(p), p_u).numpy()
    np.testing.assert_allclose(ub, kgr, rtol=1e-9, atol=1e-9)


def test_gap_is_strict_for_me_below_m_on_the_system_model():
    s = two_cell(n_ris_elements=10, n_antennas=4, n_rf_chains=1)
    model = build_channel_model(s)
    rng = np.random.default_rng(2)
    v = torch.as_tensor(np.exp(1j * rng.uniform(0, 6.3, 10)))
    cov = cascaded_covariance(model, v)
    p = torch.as_tensor(rng.normal(size=(2, 1, 4)) + 1j * rng.normal(size=(2, 1, 4))) * 0.5
    ub = ris_upper_bound_bits(cov, p, model.ut_power_w)
    kgr = ris_kgr_nats(cov, p, model.ut_power_w) / np.log(2)
    assert bool((ub > kgr + 1e-6).all())
