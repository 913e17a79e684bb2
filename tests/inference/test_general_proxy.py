"""Low-SNR budget split (plkg.solvers.maxmin_proxy) and the residual max-min set network that
reads it, against the exact max-min solver and brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plkg.keyrate.subchannel import user_key_rates_bits
from plkg.models.set_allocator import N_UE_FEATURES, SetAllocator, pack_sets, proxy_features
from plkg.solvers.maxmin_exact import ExactMaxMin
from plkg.solvers.maxmin_proxy import lowsnr_shares, maxmin_proxy


def _design(rng, d=24, k=3, m_a_log10=(-4, -1)):
    m_a = 10 ** rng.uniform(*m_a_log10, d)
    m_b = 10 ** rng.uniform(-9, -5, d)
    user = np.sort(np.concatenate([np.arange(k), rng.integers(0, k, d - k)]))
    return m_a, m_b, user, k


def test_split_is_feasible_and_a_lower_bound(rng):
    m_a, m_b, user, k = _design(rng)
    pa = np.logspace(-8, 1, 12)
    prox = maxmin_proxy(m_a, m_b, user, k, pa)
    np.testing.assert_allclose(prox.x_w.sum(-1), pa, rtol=1e-9)
    assert np.all(prox.x_w >= 0)
    # its rates are Eq. (42) evaluated independently on its allocation
    c = np.asarray(user_key_rates_bits(prox.x_w, m_a, m_b, user, k))
    np.testing.assert_allclose(prox.rates_bits, c, rtol=1e-9)
    t_star = np.asarray(ExactMaxMin(m_a, m_b, user, k).solve(pa).t_bits)
    assert np.all(prox.t_bits <= t_star * (1 + 1e-9))  # feasible => below the optimum


def test_split_is_exact_at_low_power_and_for_one_ue(rng):
    m_a, m_b, user, k = _design(rng)
    b = m_b * (1 + m_a)
    # brute force: the low-SNR max-min gives each UE power proportional to its best b
    ref = np.array([b[user == u].min() for u in range(k)])
    np.testing.assert_allclose(lowsnr_shares(m_a, m_b, user, k), ref / ref.sum(), rtol=1e-12)
    pa_low = 1e-4 * b.min()  # deep in the linear regime of Eq. (42)
    t_star = float(ExactMaxMin(m_a, m_b, user, k).solve(pa_low).t_bits)
    t0 = float(maxmin_proxy(m_a, m_b, user, k, pa_low).t_bits[0])
    assert t0 == pytest.approx(t_star, rel=1e-3)
    one = np.zeros_like(user)  # K = 1: the split is the whole budget, i.e. the optimum
    pa = np.array([1e-6, 1e-2])
    t1 = np.asarray(ExactMaxMin(m_a, m_b, one, 1).solve(pa).t_bits)
    np.testing.assert_allclose(maxmin_proxy(m_a, m_b, one, 1, pa).t_bits, t1, rtol=1e-7)


def test_proxy_features_and_refusals(rng):
    m_a, m_b, user, k = _design(rng)
    prox = maxmin_proxy(m_a, m_b, user, k, np.array([1e-5, 1e-3]))
    ue, ctx = proxy_features(prox.rates_bits, prox.shares, m_a, user, k, 6)
    assert ue.shape == (2, 6, N_UE_FEATURES) and ctx.shape == (2, 1)
    np.testing.assert_array_equal(ue[:, k:], 0.0)  # padded UEs
    assert np.all(ue[:, :k, 0] >= 0) and np.allclose(ue[:, :k, 0].min(-1), 0.0)  # bottleneck
    with pytest.raises(ValueError, match="subchannel"):
        lowsnr_shares(m_a, m_b, np.where(user == 1, 0, user), k)
    with pytest.raises(ValueError, match="target 't'"):
        SetAllocator("mu", 8, proxy=True)
    net = SetAllocator("t", 8, k_max=6, proxy=True)
    la, lb, us, mask = pack_sets([m_a], [m_b], [user])
    with pytest.raises(ValueError, match="ue_feat"):
        net(la, lb, us, mask, torch.zeros(1))


def test_residual_network_is_permutation_invariant(rng, one_torch_thread):
    m_a, m_b, user, k = _design(rng, d=30, k=4)
    torch.manual_seed(0)
    net = SetAllocator("t", hidden=16, k_max=6, proxy=True).double().eval()
    perm = rng.permutation(m_a.size)
    relabel = rng.permutation(k)
    pa = np.array([1e-4, 1e-1])
    outs = []
    for a, b, u in ((m_a, m_b, user), (m_a[perm], m_b[perm], relabel[user][perm])):
        prox = maxmin_proxy(a, b, u, k, pa)
        ue, ctx = proxy_features(prox.rates_bits, prox.shares, a, u, k, 6)
        la, lb, us, mask = pack_sets([a, a], [b, b], [u, u], dtype=torch.float64)
        with torch.no_grad():
            outs.append(net(la, lb, us, mask, torch.log(torch.as_tensor(pa)),
                            torch.as_tensor(ue), torch.as_tensor(ctx)))  # fmt: skip
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-10, atol=1e-12)


class _TOracle(torch.nn.Module):
    """Stands in for the max-min network: returns logit(t/t_sup) of a given t."""

    def __init__(self, t, m_a, user, k):
        super().__init__()
        from plkg.models.set_allocator import logit, saturation_rate_bits

        self.target, self.k_max, self.proxy = "t", 12, False
        self.y = logit(np.asarray(t) / saturation_rate_bits(m_a, user, k))

    def predict_log_label(self, la, lb, us, mask, log_pa, *proxy_inputs):
        return torch.as_tensor(self.y, dtype=torch.float64)


@pytest.mark.parametrize("error", [-0.03, 0.03])
def test_slope_budget_map_is_second_order(error, rng):
    """Moving the least-power allocation for t*(1 + e) onto the budget along the KKT slopes
    (dP_k/dt = w_k ln 2) gives min KR = t* + O(e^2); uniform rescaling is first order."""
    from plkg.inference.general_allocator import GeneralAllocator

    m_a, m_b, user, k = _design(rng, d=30, k=4, m_a_log10=(-6, -3))
    pa = np.logspace(-8, -4, 6)  # below saturation, so t*(1 + e) stays a finite logit
    t_star = np.asarray(ExactMaxMin(m_a, m_b, user, k).solve(pa).t_bits)
    alloc = GeneralAllocator(_TOracle(t_star * (1 + error), m_a, user, k), {})
    slope = alloc.allocation(m_a, m_b, user, k, pa, budget="slope")
    uniform = alloc.allocation(m_a, m_b, user, k, pa, budget="exact")
    for out in (slope, uniform):
        np.testing.assert_allclose(out.x_w.sum(-1), pa, rtol=1e-12)
        assert np.all(out.x_w >= 0)
    dev_slope = np.abs(slope.c_bits.min(-1) / t_star - 1)
    dev_uniform = np.abs(uniform.c_bits.min(-1) / t_star - 1)
    assert np.all(dev_slope < 0.1 * abs(error))
    assert dev_slope.max() < dev_uniform.max()
    # second order: half the error, a quarter of the deviation (first order would give a half)
    half = GeneralAllocator(_TOracle(t_star * (1 + error / 2), m_a, user, k), {})
    dev_half = np.abs(half.allocation(m_a, m_b, user, k, pa).c_bits.min(-1) / t_star - 1)
    assert dev_half.max() < 0.45 * dev_slope.max()
    with pytest.raises(ValueError, match="slope"):
        GeneralAllocator(alloc.net, {}).allocation(m_a, m_b, user, k, pa, budget="bogus")
