"""The design cache: computed once, keyed by fingerprint and design version, never trusted blindly."""

from __future__ import annotations

import numpy as np
import pytest

from plkg.channels.nearfield_scenario import NearFieldScenario
from plkg.precoding import design_cache
from plkg.precoding.block_diagonalization import compute_design
from plkg.precoding.design_cache import design_for_scenario


@pytest.fixture
def tiny(small_scenario) -> NearFieldScenario:
    return small_scenario.replace(n_antennas=24, n_scatterers=8, ccm_draws=2, name="tiny")


def _same(a, b):
    assert np.array_equal(a.ccm, b.ccm)
    assert np.array_equal(a.m_a, b.m_a) and np.array_equal(a.m_b, b.m_b)
    assert np.array_equal(a.user, b.user)
    for u, v in zip(a.directions, b.directions, strict=True):
        assert np.array_equal(u, v)
    assert a.downlink_pilot_len == b.downlink_pilot_len


def test_cached_design_is_bit_identical_and_computed_once(tiny, tmp_path, monkeypatch):
    first = design_cache.cached_design(tiny, cache_dir=tmp_path)
    entries = list(tmp_path.glob("design-*.npz"))
    assert len(entries) == 1 and not list(tmp_path.glob("*.tmp"))
    _same(first, compute_design(tiny))

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(design_cache, "compute_design", fail)
    _same(design_cache.cached_design(tiny, cache_dir=tmp_path), first)


def test_key_follows_fingerprint_and_design_version(tiny, monkeypatch):
    key = design_cache.cache_key(tiny)
    assert design_cache.cache_key(tiny.replace(name="renamed")) == key  # name is not physics
    assert design_cache.cache_key(tiny.replace(ue_power_dbm=10.0)) != key
    monkeypatch.setattr(design_cache, "DESIGN_VERSION", design_cache.DESIGN_VERSION + 1)
    assert design_cache.cache_key(tiny) != key


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"not a zip"),
        lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
        lambda p: _flip_array(p),
    ],
    ids=["garbage", "truncated", "tampered"],
)
def test_corrupt_entry_is_recomputed_not_trusted(tiny, tmp_path, damage):
    good = design_cache.cached_design(tiny, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("design-*.npz")
    damage(entry)
    assert design_cache.load_design(entry) is None
    _same(design_cache.cached_design(tiny, cache_dir=tmp_path), good)
    assert design_cache.load_design(entry) is not None  # replaced by a good entry


def _flip_array(path):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["m_a"] = arrays["m_a"] * 2.0
    np.savez(path, **arrays)


def test_no_cache_and_environment(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PLKG_CACHE_DIR", str(tmp_path / "env"))
    design_for_scenario(tiny, cache=False)
    assert not (tmp_path / "env").exists()
    monkeypatch.setenv("PLKG_NO_CACHE", "1")
    design_for_scenario(tiny)
    assert not (tmp_path / "env").exists()
    monkeypatch.delenv("PLKG_NO_CACHE")
    design_for_scenario(tiny)
    assert len(list((tmp_path / "env").glob("design-*.npz"))) == 1


def test_unwritable_cache_warns_and_still_returns_the_design(tiny, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.warns(UserWarning, match="not writable"):
        design = design_cache.cached_design(tiny, cache_dir=blocker / "sub")
    _same(design, compute_design(tiny))
