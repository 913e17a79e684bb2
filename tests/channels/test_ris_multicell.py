"""Channel statistics: cheap form of Eq. (12) vs the explicit Kronecker form and vs simulation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plkg.channels.ris_multicell import (
    build_channel_model,
    cascaded_covariance,
    check_unit_modulus,
    explicit_ris_covariance,
)
from plkg.channels.ris_probing import simulate_ris_probing
from plkg.channels.ris_scenario import four_cell, two_cell

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _small(mean=True, **kw):
    base = {"n_ris_elements": 5, "n_antennas": 3, "n_rf_chains": 2, "include_rician_mean": mean}
    return build_channel_model(two_cell(**{**base, **kw}))


@pytest.mark.parametrize("mean", [True, False])
def test_cheap_form_matches_explicit_kronecker(mean):
    rng = np.random.default_rng(1)
    models = [
        _small(mean),
        build_channel_model(
            four_cell(
                n_ris_elements=3,
                n_antennas=2,
                n_rf_chains=2,
                ris_xy_m=((300.0, 0.0), (300.0, 600.0)),
                include_rician_mean=mean,
            )
        ),
    ]
    for model in models:
        nl, m = model.n_elements, model.n_antennas
        # any modulus: the identity holds off the unit circle as well
        v = rng.normal(size=nl) + 1j * rng.normal(size=nl)
        cheap = cascaded_covariance(model, torch.as_tensor(v)).numpy()
        vt = np.kron(v[None, :], np.eye(m))  # v^T (x) I_M = v_bar^H (x) I_M
        for i in range(model.n_cells):
            for j in range(model.n_cells):
                explicit = model.rd[i, j] + vt @ explicit_ris_covariance(model, i, j) @ vt.conj().T
                np.testing.assert_allclose(
                    cheap[i, j], explicit, rtol=1e-12, atol=1e-12 * np.abs(explicit).max()
                )


def test_direct_pathloss_and_hermitian_psd():
    s = two_cell(n_ris_elements=4)
    model = build_channel_model(s)
    d = np.hypot(280.0, 30.0 - 1.5)
    expected = 10 ** (-3.0) * d ** (-3.75) / 1e-12
    np.testing.assert_allclose(np.diag(model.rd[0, 0]).real, expected, rtol=1e-12)
    # Rician split: LoS power beta/(1+beta) of the total per entry
    total = np.abs(model.g_bar[0]) ** 2 + model.g_var[0][None, :]
    np.testing.assert_allclose(np.abs(model.g_bar[0]) ** 2 / total, 0.75, rtol=1e-12)
    v = torch.as_tensor(np.exp(1j * np.linspace(0, 3, 4)))
    cov = cascaded_covariance(model, v)
    herm = cov.conj().transpose(-1, -2).resolve_conj().numpy()
    np.testing.assert_allclose(cov.numpy(), herm, rtol=1e-13, atol=1e-13 * float(cov.abs().max()))
    assert float(torch.linalg.eigvalsh(cov).min()) > 0


def test_centred_covariance_ignores_unit_modulus_phases():
    model = _small(mean=False)
    rng = np.random.default_rng(0)
    a = cascaded_covariance(model, torch.as_tensor(np.exp(1j * rng.uniform(0, 6, 5))))
    b = cascaded_covariance(model, torch.ones(5, dtype=torch.complex128))
    torch.testing.assert_close(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("two_ris", [False, True])
def test_cascaded_simulation_matches_second_moments(two_ris):
    """Physical draws G diag(h) v (random-phase LoS) have the covariance of Eq. (12)."""
    ris = ((290.0, 0.0), (310.0, 5.0)) if two_ris else ((300.0, 0.0),)
    s = two_cell(n_ris_elements=6, n_antennas=2, n_rf_chains=2, ut_power_dbm=0.0, ris_xy_m=ris)
    model = build_channel_model(s)
    rng = np.random.default_rng(7)
    v = np.exp(1j * rng.uniform(0, 2 * np.pi, model.n_elements))
    n = 40_000
    res = simulate_ris_probing(s, np.zeros((2, 2, 2)), v, n, rng, fading="cascaded")
    cov = cascaded_covariance(model, torch.as_tensor(v)).numpy()
    for k in range(2):
        z = res.bs_unprecoded[:, k]
        sample = z.T @ z.conj() / n
        expected = model.ut_power_w * cov[k].sum(0) + np.eye(2)
        # relative standard error of a second moment ~ sqrt(kurtosis / n) < 3 / sqrt(n) = 1.5 %
        np.testing.assert_allclose(sample, expected, rtol=0, atol=0.06 * np.abs(expected).max())


def test_non_unit_modulus_phases_rejected():
    with pytest.raises(ValueError, match="unit-modulus"):
        check_unit_modulus(np.array([1.0, 0.5j]))
    with pytest.raises(ValueError, match="unit-modulus"):
        check_unit_modulus(torch.tensor([1.0 + 0j, float("nan")]))
    check_unit_modulus(np.exp(1j * np.arange(4.0)))
