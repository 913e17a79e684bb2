"""Fixtures of the key-pipeline tests."""

import math

import pytest


def _gaussian_pair(rng, n_rounds, d, rho):
    """Complex measurements [n_rounds, d] of both ends with per-real-dimension correlation rho
    (Eqs. (8)/(11) of the near-field paper in spirit: common channel plus independent noise)."""

    def cn(shape):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2)

    h = cn((n_rounds, d))
    s = math.sqrt((1 - rho) / rho)
    return h + s * cn((n_rounds, d)), h + s * cn((n_rounds, d))


@pytest.fixture
def gaussian_pair():
    """The function ``(rng, n_rounds, d, rho) -> (z_a, z_b)``."""
    return _gaussian_pair
