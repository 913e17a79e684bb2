"""The LM optimiser against scipy.optimize.least_squares(method="lm")."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import least_squares

from plkg.models.fnn import FNN
from plkg.training.levenberg_marquardt import (
    LevenbergMarquardt,
    flat_parameters,
    load_flat,
    module_residual_fn,
    unflatten,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_matches_scipy_on_exponential_fit(rng):
    t = np.linspace(0, 3, 40)
    y = 2.5 * np.exp(-1.3 * t) + 0.5 + 0.05 * rng.standard_normal(40)

    def res_np(p):
        return p[0] * np.exp(-p[1] * t) + p[2] - y

    ref = least_squares(res_np, [1.0, 1.0, 0.0], method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    tt, yy = torch.tensor(t), torch.tensor(y)

    def res_t(p):
        return p[0] * torch.exp(-p[1] * tt) + p[2] - yy

    out = LevenbergMarquardt().minimize(res_t, torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64))
    assert out.status == "converged"
    np.testing.assert_allclose(out.theta.numpy(), ref.x, rtol=1e-7)
    assert out.sse == pytest.approx(2 * ref.cost, rel=1e-10)


def test_matches_scipy_on_a_tiny_network(seed, rng):
    """A 1-2-1 tanh net fitted to a teacher of the same shape, from a perturbed start: our LM and
    scipy's reach the same (isolated, zero-residual) minimum, the teacher.

    The non-zero-residual case is the exponential fit above. A noisy fit of this net is not a test
    for every seed: for some noise draws the least-squares infimum lies at infinity (two mirrored
    tanh units with output weights growing without bound fit the noise better), and no
    optimiser converges.
    """
    net = FNN(1, (2,), 1, generator=torch.Generator().manual_seed(seed))
    teacher = torch.tensor([3.0, -2.0, 1.0, -0.5, 1.5, 2.0, 0.3], dtype=torch.float64)
    load_flat(net, teacher)
    x = torch.linspace(-2, 2, 50, dtype=torch.float64).reshape(-1, 1)
    with torch.no_grad():
        y = net(x).clone()
    residual = module_residual_fn(net, x, y)
    theta0 = teacher * (1 + 0.1 * torch.as_tensor(rng.standard_normal(7)))
    out = LevenbergMarquardt().minimize(residual, theta0, max_iter=500, ftol=1e-14, gtol=1e-9)

    def res_np(p):
        return residual(torch.as_tensor(p)).numpy()

    ref = least_squares(res_np, theta0.numpy(), method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert out.status == "converged"
    np.testing.assert_allclose(out.theta.numpy(), teacher.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ref.x, out.theta.numpy(), rtol=1e-6, atol=1e-9)


def test_trainlm_damping_schedule():
    lm = LevenbergMarquardt()
    assert (lm.mu, lm.mu_dec, lm.mu_inc, lm.mu_max) == (1e-3, 0.1, 10.0, 1e10)

    def residual(p):
        return torch.stack([p[0] - 1.0, 10 * (p[1] - p[0] ** 2)])

    step = lm.step(residual, torch.tensor([-1.2, 1.0], dtype=torch.float64))
    assert step.improved and step.mu == pytest.approx(1e-3 * 10 ** (step.trials - 1) * 0.1)
    # at the exact minimum no step can improve: mu grows past mu_max and the step fails
    lm2 = LevenbergMarquardt(mu_max=1e-1)
    stuck = lm2.step(residual, torch.tensor([1.0, 1.0], dtype=torch.float64))
    assert not stuck.improved and stuck.mu > 1e-1
    with pytest.raises(ValueError):
        LevenbergMarquardt(mu_dec=2.0)


def test_flat_parameter_helpers(seed):
    net = FNN(1, (4,), 1, generator=torch.Generator().manual_seed(seed))
    theta = flat_parameters(net)
    assert theta.numel() == 4 + 4 + 4 + 1
    load_flat(net, theta * 2)
    torch.testing.assert_close(flat_parameters(net), theta * 2)
    with pytest.raises(ValueError, match="entries"):
        unflatten(net, theta[:-1])
