"""A tiny P_a -> mu dataset shared by the trainer tests."""

from __future__ import annotations

import os

import numpy as np
import pytest

from plkg.data.dataset import make_split, save_dataset

TINY_META = {
    "input_name": "pa_dbm",
    "input_units": "dBm",
    "label_name": "mu",
    "label_units": "bit/W",
    "scenario_fingerprint": "tiny",
    "solver": "closed form",
    "seed": 0,
    "package_version": "0",
    "input_range": [-10.0, 30.0],
}


@pytest.fixture(scope="session")
def tiny_mu_dataset(tmp_path_factory):
    """A smooth 1-D map like P_a -> mu: mu = 1/(P_a + 0.1) in W, 60 samples."""
    rng = np.random.default_rng(int(os.environ.get("PLKG_TEST_SEED", "0")))
    x = rng.uniform(-10, 30, 60)
    y = 1 / (10 ** ((x - 30) / 10) + 0.1)
    path = tmp_path_factory.mktemp("ds") / "tiny.npz"
    extras = {"m_a": np.ones(3), "m_b": np.ones(3), "user": np.zeros(3, dtype=np.int64)}
    return save_dataset(path, x, y, make_split(60, rng), dict(TINY_META), extras)
