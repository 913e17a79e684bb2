"""Algorithm 1 (Eqs. (15)-(27)): brute force on scalar cases, KKT residual (Eq. (46)), C1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plkg.channels.ris_multicell import build_channel_model, cascaded_covariance
from plkg.channels.ris_scenario import two_cell
from plkg.keyrate.ris_upper_bound import n_kk, ris_upper_bound_nats
from plkg.solvers.ris_precoder_kkt import (
    _multipliers,
    check_power,
    optimize_precoders_kkt,
    optimize_precoders_kkt_batched,
    uniform_precoders,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_scalar_case_matches_brute_force_grid(seed):
    """K = 2, M = M_e = 1: the objective depends on |p_1|^2, |p_2|^2 only; grid search them."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.1, 5, (2, 2)) * np.array([[3, 1], [1, 3]])
    cov = torch.as_tensor(a[:, :, None, None] + 0j)
    w = rng.uniform(0.2, 1, 2)
    res = optimize_precoders_kkt(cov, w, 1.0, 1.0, 1, max_iter=2000, tol=1e-12)
    grid = np.linspace(0, 1, 201)
    pw = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2, 1, 1)
    p = torch.as_tensor(np.sqrt(pw) + 0j)
    vals = (
        ris_upper_bound_nats(cov.expand(p.shape[0], 2, 2, 1, 1), p, 1.0) * torch.as_tensor(w)
    ).sum(-1)
    best = float(vals.max()) / np.log(2)
    assert res.objective >= best - 1e-6 * abs(best)
    assert res.objective <= best + 1e-3 * abs(best)  # the grid (step 0.005) is near the optimum


def _system(me=2, bs_power_w=1.0):
    s = two_cell(
        n_ris_elements=6,
        n_antennas=4,
        n_rf_chains=me,
        ut_xy_m=((200.0, 0.0), (400.0, 0.0)),
        ris_xy_m=((210.0, 0.0),),
    )
    model = build_channel_model(s)
    rng = np.random.default_rng(0)
    v = torch.as_tensor(np.exp(1j * rng.uniform(0, 6, 6)))
    return model, cascaded_covariance(model, v)


def test_converged_point_satisfies_kkt_conditions():
    model, cov = _system(me=2)
    res = optimize_precoders_kkt(
        cov, model.weights, 1.0, model.ut_power_w, 2, max_iter=500, tol=1e-13
    )
    p, lam = res.precoders, res.multipliers
    ntil = cov.clone()
    idx = torch.arange(2)
    ntil[idx, idx] = cov[idx, idx] - n_kk(cov, model.ut_power_w)
    eye = torch.eye(2, dtype=cov.dtype)
    a = torch.einsum("iem,ikmn,ifn->kef", p, cov, p.conj()) + eye
    b = torch.einsum("iem,ikmn,ifn->kef", p, ntil, p.conj()) + eye
    for i in range(2):
        g_a = sum(torch.linalg.solve(a[k], p[i] @ cov[i, k]) for k in range(2))
        g_b = sum(torch.linalg.solve(b[k], p[i] @ ntil[i, k]) for k in range(2))
        residual = g_a - g_b - lam[i] * p[i]  # Eq. (46) = 0
        assert float(residual.norm() / g_a.norm()) < 1e-4
        power = float((p[i].abs() ** 2).sum())
        assert power <= 1.0 * (1 + 1e-12)
        if lam[i] > 0:  # complementary slackness, Eq. (18)
            assert power == pytest.approx(1.0, rel=1e-9)
    assert res.objective >= res.history[0]


def test_low_power_and_power_constraint_c1():
    model, cov = _system(me=4)
    for p_a in (1e-3, 10.0):
        res = optimize_precoders_kkt(cov, model.weights, p_a, model.ut_power_w, 4, max_iter=50)
        check_power(res.precoders, p_a, rtol=1e-12)
        assert res.objective >= res.history[0] - 1e-12
        assert res.status in ("converged", "max_iter") and 1 <= res.iterations <= 50


def test_multiplier_bisection_meets_power_and_bound25():
    rng = np.random.default_rng(3)
    b2 = rng.uniform(0, 2, (3, 8))
    f = rng.uniform(0.0, 1.0, (3, 8))
    f[0, 0] = 0.0  # phi(0) = inf -> lambda > 0
    lam = _multipliers(b2, f, 0.5, 1e-14)
    phi = (b2 / (lam[:, None] + f) ** 2).sum(-1)
    assert np.all(lam <= np.sqrt(b2.sum(-1) / 0.5))  # Eq. (25)
    for i in range(3):
        if lam[i] > 0:
            assert phi[i] <= 0.5 and phi[i] == pytest.approx(0.5, rel=1e-9)
        else:
            assert phi[i] <= 0.5


def test_bad_inputs():
    model, cov = _system()
    with pytest.raises(ValueError, match="P_A"):
        optimize_precoders_kkt(cov, model.weights, -1.0, 1.0, 2)
    with pytest.raises(ValueError, match="weights"):
        optimize_precoders_kkt(cov, [1.0, -1.0], 1.0, 1.0, 2)
    with pytest.raises(ValueError, match="exceeds"):
        optimize_precoders_kkt(
            cov, model.weights, 1.0, 1.0, 2, init=uniform_precoders(2, 2, 4, 4.0)
        )


def test_batched_equals_single():
    model, cov = _system(me=2)
    model2, cov2 = _system(me=2, bs_power_w=1.0)
    rng = np.random.default_rng(1)
    v = torch.as_tensor(np.exp(1j * rng.uniform(0, 6, 6)))
    covs = torch.stack([cov, cascaded_covariance(model, v)])
    batched = optimize_precoders_kkt_batched(
        covs, model.weights, 1.0, model.ut_power_w, 2, max_iter=40
    )
    for b in range(2):
        single = optimize_precoders_kkt(
            covs[b], model.weights, 1.0, model.ut_power_w, 2, max_iter=40
        )
        np.testing.assert_allclose(batched[b].history, single.history, rtol=1e-10)
        torch.testing.assert_close(batched[b].precoders, single.precoders, rtol=1e-9, atol=1e-12)
