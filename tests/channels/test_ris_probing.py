"""Monte-Carlo probing (Eqs. (2)-(6)) vs Theorem 1 and Theorem 2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plkg.channels.ris_multicell import build_channel_model, cascaded_covariance
from plkg.channels.ris_probing import simulate_ris_probing
from plkg.channels.ris_scenario import two_cell
from plkg.keyrate.ris_kgr import ris_kgr_nats
from plkg.keyrate.ris_upper_bound import ris_upper_bound_nats

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gaussian_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information (nats) of jointly circular Gaussian samples a [n, p], b [n, q]."""

    def logdet(x):
        c = x.T @ x.conj() / x.shape[0]
        return np.linalg.slogdet(c)[1]

    return logdet(a) + logdet(b) - logdet(np.concatenate([a, b], axis=1))


def _setup(seed):
    s = two_cell(
        n_ris_elements=8,
        n_antennas=3,
        n_rf_chains=2,
        ut_xy_m=((150.0, 0.0), (450.0, 0.0)),
        ris_xy_m=((160.0, 0.0),),
    )
    model = build_channel_model(s)
    rng = np.random.default_rng(seed)
    v = np.exp(1j * rng.uniform(0, 2 * np.pi, 8))
    p = rng.normal(size=(2, 2, 3)) + 1j * rng.normal(size=(2, 2, 3))
    p *= np.sqrt(model.bs_power_w / (np.abs(p) ** 2).sum((1, 2)))[:, None, None]
    return s, model, rng, v, p


@pytest.mark.parametrize("seed", [0, 1])
def test_theorem1_equals_simulated_gaussian_mi(seed):
    s, model, rng, v, p = _setup(seed)
    cov = cascaded_covariance(model, torch.as_tensor(v))
    theory = ris_kgr_nats(cov, torch.as_tensor(p), model.ut_power_w).numpy()
    ub = ris_upper_bound_nats(cov, torch.as_tensor(p), model.ut_power_w).numpy()
    n, batches = 60_000, 12
    res = simulate_ris_probing(s, p, v, n, rng, fading="gaussian")
    assert res.alice.shape == (n, 2, 2) and res.bob.shape == (n, 2, 2)
    assert res.bs_unprecoded.shape == (n, 2, 3)
    for k in range(2):
        est = _gaussian_mi(res.bob[:, k], res.alice[:, k])
        parts = [
            _gaussian_mi(res.bob[i::batches, k], res.alice[i::batches, k]) for i in range(batches)
        ]
        # standard error of the full-sample estimate from the spread of the 12 sub-estimates,
        # plus the O(d^2 / n) plug-in bias (d = 4 complex dimensions)
        se = np.std(parts, ddof=1) / np.sqrt(batches)
        tol = 5 * se + 16 / n
        assert theory[k] > 0.2, "configuration must carry a non-trivial key rate"
        assert abs(est - theory[k]) < tol, (k, est, theory[k], tol)
        # Theorem 2: I(y; z_tilde) from the unprecoded BS estimate
        est_ub = _gaussian_mi(res.bob[:, k], res.bs_unprecoded[:, k])
        assert abs(est_ub - ub[k]) < 5 * se + 25 / n + 0.01, (k, est_ub, ub[k])


def test_probing_input_validation():
    s, model, rng, v, p = _setup(0)
    with pytest.raises(ValueError, match="unit-modulus"):
        simulate_ris_probing(s, p, 0.5 * v, 10, rng)
    with pytest.raises(ValueError, match="precoders"):
        simulate_ris_probing(model, p[:, :, :2], v, 10, rng)
    with pytest.raises(ValueError, match="n_rounds"):
        simulate_ris_probing(model, p, v, 0, rng)
    with pytest.raises(ValueError, match="fading"):
        simulate_ris_probing(model, p, v, 5, rng, fading="rayleigh")
    bad = p.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        simulate_ris_probing(model, bad, v, 5, rng)
