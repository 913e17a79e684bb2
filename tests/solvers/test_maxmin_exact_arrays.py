"""The exact max-min solver on the array API standard: NumPy and torch through one code path."""

from __future__ import annotations

import warnings

import array_api_compat
import numpy as np
import pytest
import torch

from plkg.solvers.maxmin_exact import ExactMaxMin, least_power_allocation, solve_maxmin
from plkg.solvers.maxmin_exact.arrays import (
    is_torch,
    namespace_of,
    quiet_float_warnings,
    to_numpy,
)


@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(3)
    user = np.repeat(np.arange(3), [5, 3, 2])
    m_b = 10.0 ** rng.uniform(-10, -6, size=user.size)
    return 600.0 * m_b, m_b, user, 3


@pytest.mark.parametrize("like", [None, 1.0, [1.0, 2.0], np.ones(3), np.float64(2.0)])
def test_non_tensors_compute_in_numpy(like):
    xp, device = namespace_of(like)
    assert array_api_compat.is_numpy_namespace(xp) and device is None
    assert not is_torch(xp)


def test_tensors_compute_in_torch_on_their_device():
    like = torch.zeros(2, dtype=torch.float64)
    xp, device = namespace_of(like)
    assert is_torch(xp) and device == like.device


def test_to_numpy():
    tensor = torch.arange(3, dtype=torch.float64)
    out = to_numpy(tensor)
    assert isinstance(out, np.ndarray) and out.tolist() == [0.0, 1.0, 2.0]
    array = np.arange(3.0)
    assert to_numpy(array) is array
    assert to_numpy([1.0, 2.0]).tolist() == [1.0, 2.0]


def test_quiet_float_warnings_silences_numpy_only():
    xp, _ = namespace_of(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with quiet_float_warnings(xp):
            assert np.isinf(np.exp(np.array(1e3)))
            assert np.isnan(np.log(np.array(-1.0)))
    torch_xp, _ = namespace_of(torch.zeros(1))
    with quiet_float_warnings(torch_xp):
        assert torch.isinf(torch.exp(torch.tensor(1e3, dtype=torch.float64)))


def test_torch_results_are_float64_tensors(design):
    pa = torch.tensor([1e-4, 1e-2])
    sol = solve_maxmin(*design, pa)
    for value in (sol.x_w, sol.t_bits, sol.rate_bits, sol.water_level_w, sol.level_offset):
        assert isinstance(value, torch.Tensor) and value.dtype == torch.float64
    lp = least_power_allocation(sol.t_bits * 0.5, *design)
    for value in (lp.x_w, lp.power_w, lp.water_level_w, lp.rate_bits):
        assert isinstance(value, torch.Tensor) and value.dtype == torch.float64


@pytest.mark.parametrize("make", [np.asarray, torch.tensor])
def test_least_power_function_equals_method(design, make):
    """least_power_allocation and ExactMaxMin.least_power run the same computation."""
    t = make(np.array([0.0, 0.3, 2.0, 7.5]))
    a = least_power_allocation(t, *design)
    b = ExactMaxMin(*design).least_power(t)
    for name in ("x_w", "power_w", "water_level_w", "rate_bits"):
        assert np.array_equal(to_numpy(getattr(a, name)), to_numpy(getattr(b, name)))
    assert (a.status, a.iterations, a.objective) == (b.status, b.iterations, b.objective)


def test_batched_numpy_and_torch_agree(design):
    pa = 10.0 ** np.linspace(-6, 0, 7)
    ref = solve_maxmin(*design, pa)
    tor = solve_maxmin(*design, torch.tensor(pa))
    np.testing.assert_allclose(to_numpy(tor.t_bits), ref.t_bits, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(tor.x_w), ref.x_w, rtol=1e-9, atol=1e-15)
