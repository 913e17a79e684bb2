"""Merging general datasets (several seeds into one training set) keeps every set and sample."""

from __future__ import annotations

import numpy as np

from plkg.data.general_dataset import GeneralDataset, merge_general_datasets


def _fake(rng, n_geom: int, tag: float) -> GeneralDataset:
    """A hand-made dataset in the file layout: 2 sets per geometry, 3 P_a per set."""
    sizes = rng.integers(2, 6, 2 * n_geom)
    total = int(sizes.sum())
    n_sets, n_samples = sizes.size, 3 * sizes.size
    arrays = {
        "set_m_a": rng.uniform(size=total) + tag,
        "set_m_b": rng.uniform(size=total),
        "set_user": rng.integers(0, 2, total),
        "set_offsets": np.concatenate([[0], np.cumsum(sizes)]),
        "set_geometry": np.repeat(np.arange(n_geom), 2),
        "set_pb_dbm": rng.uniform(10, 30, n_sets),
        "set_n_users": np.full(n_sets, 2),
        "geom_n_antennas": np.full(n_geom, 64),
        "geom_n_users": np.full(n_geom, 2),
        "geom_distance_m": rng.uniform(15, 120, (n_geom, 10)),
        "geom_angle_rad": rng.uniform(-1, 1, (n_geom, 10)),
        "sample_set": np.repeat(np.arange(n_sets), 3),
        "pa_dbm": rng.uniform(-10, 30, n_samples),
        "mu": rng.uniform(size=n_samples),
        "t": rng.uniform(size=n_samples) + tag,
        "split": rng.integers(0, 2, n_samples).astype(np.int8),
    }
    meta = {"n_samples": n_samples, "n_geometries": n_geom, "npz_sha256": str(tag), "seed": 0}
    return GeneralDataset(arrays=arrays, meta=meta)


def test_merge_keeps_every_set_and_sample(rng):
    a, b = _fake(rng, 3, 0.0), _fake(rng, 4, 10.0)
    m = merge_general_datasets([a, b])
    na = a.arrays["set_geometry"].size
    for s in range(na):
        for got, ref in zip(m.set_constants(s), a.set_constants(s), strict=True):
            np.testing.assert_array_equal(got, ref)
    for s in range(b.arrays["set_geometry"].size):
        for got, ref in zip(m.set_constants(na + s), b.set_constants(s), strict=True):
            np.testing.assert_array_equal(got, ref)
    # every sample still points at a set of its own dataset (b's t and m_a carry the +10 tag)
    ss = m.arrays["sample_set"]
    np.testing.assert_array_equal(m.arrays["t"][ss >= na] >= 10, True)
    np.testing.assert_array_equal(m.arrays["set_geometry"][na:], b.arrays["set_geometry"] + 3)
    assert m.meta["n_samples"] == a.meta["n_samples"] + b.meta["n_samples"]
    assert [p["npz_sha256"] for p in m.meta["parts"]] == ["0.0", "10.0"]
    assert merge_general_datasets([a]) is a
