"""FNNPA: KGLM-Net checkpoint -> mu_hat -> x (Eq. (48)) -> P_{e,k} (Eq. (39)) -> I_k (Eq. (17))."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plkg import units
from plkg.channels.nearfield_scenario import NearFieldScenario
from plkg.data.dataset import load_dataset
from plkg.inference.allocator import DEFAULT_CHECKPOINT, Allocator, allocate_fnnpa
from plkg.inference.checkpoint import load_checkpoint
from plkg.io.sidecar_hash import with_sidecar_sha256
from plkg.keyrate.subchannel import subchannel_key_rate_bits
from plkg.solvers.water_filling import water_filling, x_from_mu

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "datasets" / "fig6_sumrate.npz"


# ----------------------------------------------------------------------------- committed model
@pytest.fixture(scope="module")
def committed():
    ds = load_dataset(DATASET)
    return ds, Allocator.from_checkpoint(DEFAULT_CHECKPOINT)


def test_committed_checkpoint_pearson(committed):
    """Test-split Pearson r of mu_hat vs mu >= 0.99999 (paper: 0.999992), recomputed here."""
    ds, alloc = committed
    assert alloc.checkpoint.fingerprint == ds.meta["scenario_fingerprint"]
    x, mu = ds.part("test")
    mu_hat = alloc.checkpoint.predict(x)
    assert np.corrcoef(mu_hat, mu)[0, 1] >= 0.99999
    xt, mut = ds.part("train")
    assert np.corrcoef(alloc.checkpoint.predict(xt), mut)[0, 1] >= 0.99999


def test_committed_fnnpa_close_to_wfpa_and_feasible(committed):
    """FNNPA sum KR >= 99.9 % of WFPA at every test P_a (and on a dense grid); sum x <= P_a."""
    ds, alloc = committed
    m_a, m_b = ds.extras["m_a"], ds.extras["m_b"]
    lo, hi = alloc.training_range_dbm
    pa = np.concatenate([ds.extras["pa_w"][ds.split == 2], units.dbm_to_w(np.linspace(lo, hi, 81))])
    fnn = alloc.allocation(pa)
    wf = water_filling(pa, m_a, m_b)
    # independent evaluation of Eq. (42) from x
    sum_fnn = np.sum(subchannel_key_rate_bits(fnn.x_w, m_a, m_b), axis=-1)
    np.testing.assert_allclose(sum_fnn, fnn.sum_c_bits, rtol=1e-12)
    assert np.all(sum_fnn >= 0.999 * wf.objective)
    assert np.all(sum_fnn <= wf.objective * (1 + 1e-12))  # WFPA is optimal
    assert np.all(fnn.x_w >= 0) and np.all(fnn.x_w.sum(-1) <= pa * (1 + 1e-12))
    # unscaled entries are exactly Eq. (48) at mu_hat
    raw = x_from_mu(fnn.mu[:, None], m_a, m_b)
    np.testing.assert_allclose(fnn.x_w[~fnn.scaled], raw[~fnn.scaled], rtol=1e-12)


def test_committed_refuses_out_of_range_and_nan(committed):
    _, alloc = committed
    lo, hi = alloc.training_range_dbm
    with pytest.raises(ValueError, match="outside the training range"):
        alloc.predict(units.dbm_to_w(hi + 1))
    with pytest.raises(ValueError, match="outside the training range"):
        alloc.allocation([units.dbm_to_w(lo), units.dbm_to_w(lo - 0.5)])
    with pytest.raises(ValueError, match="finite"):
        alloc.predict(np.nan)
    with pytest.raises(ValueError, match="positive"):
        alloc.predict(0.0)
    free = Allocator.from_checkpoint(DEFAULT_CHECKPOINT, allow_extrapolation=True)
    assert np.isfinite(free.predict(units.dbm_to_w(hi + 1))).all()


def test_inference_does_not_import_lightning():
    code = (
        "import sys, plkg.inference.allocator, plkg.inference.checkpoint;"
        "bad=[m for m in sys.modules if m.startswith(('lightning','plkg.training'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ----------------------------------------------------------------------------- tiny scenario
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny scenario with its own dataset and checkpoint (fast to build)."""
    from plkg.data.sumrate_dataset import generate_sumrate_dataset
    from plkg.precoding.design_cache import design_for_scenario
    from plkg.training.train import train_regressor

    sc = NearFieldScenario(
        n_antennas=24,
        ue_distance_m=(6.0, 12.0),
        ue_angle_rad=(-0.4, 0.5),
        scatter_radius_m=1.0,
        n_scatterers=8,
        ccm_draws=2,
        seed=int(os.environ.get("PLKG_TEST_SEED", "0")),
        name="tiny",
    )
    design = design_for_scenario(sc)
    d = tmp_path_factory.mktemp("tiny")
    generate_sumrate_dataset(
        sc, n_samples=40, pa_dbm_range=(-20.0, 10.0), seed=1, out_path=d / "ds.npz", design=design
    )
    out = train_regressor(
        d / "ds.npz", "kglm_tiny", out_dir=d, label_norm="log_minmax", max_epochs=30, log_dir=None
    )
    return sc, design, out.checkpoint_path


def test_full_chain_eq39_eq17(tiny):
    sc, design, ckpt = tiny
    alloc = Allocator.from_checkpoint(ckpt, scenario=sc, design=design)
    pa = units.dbm_to_w(np.array([-15.0, 0.0, 5.0]))
    out = alloc.allocate(pa)
    for item, p in zip(out, pa, strict=True):
        power = sum(np.linalg.norm(pk, "fro") ** 2 for pk in item["precoders"])  # Eq. (43)
        assert power == pytest.approx(item["x_w"].sum(), rel=1e-10)
        assert power <= p * (1 + 1e-12)
        # I_k of Eq. (17) with the Eq. (39) precoders equals C_k of Eq. (42)
        np.testing.assert_allclose(item["kr_bits"], item["c_bits"], rtol=1e-6)
    res = allocate_fnnpa(design, float(pa[1]), checkpoint=ckpt, scenario=sc, unknown_option=1)
    assert res.method == "fnnpa" and res.extras["checkpoint"] == str(ckpt)
    assert res.status in ("predicted", "scaled_to_budget") and res.x_w.sum() <= pa[1] * (1 + 1e-12)
    from plkg.inference.methods import allocate

    again = allocate("fnnpa", design, float(pa[1]), checkpoint=ckpt, scenario=sc)
    np.testing.assert_array_equal(again.x_w, res.x_w)


def test_mismatched_checkpoint_refused(tiny, committed):
    sc, design, ckpt = tiny
    other = sc.replace(ue_distance_m=(6.0, 13.0))
    with pytest.raises(ValueError, match="fingerprint"):
        Allocator.from_checkpoint(ckpt, scenario=other)
    with pytest.raises(ValueError, match="fingerprint"):
        allocate_fnnpa(design, 1e-3, scenario=sc)  # default (fig6) checkpoint on the tiny scenario
    with pytest.raises(ValueError, match="other subchannels"):
        Allocator.from_checkpoint(DEFAULT_CHECKPOINT, design=design)
    with pytest.raises(ValueError, match="predicts"):
        load_checkpoint(ckpt, expected_label="t")


def test_damaged_checkpoint_files(tiny, tmp_path):
    _, _, ckpt = tiny
    weights = tmp_path / "c.safetensors"
    side = tmp_path / "c.json"
    weights.write_bytes(ckpt.read_bytes()[:-40])
    side.write_text(ckpt.with_suffix(".json").read_text())
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_checkpoint(weights)
    weights.write_bytes(ckpt.read_bytes())
    meta = json.loads(side.read_text())
    meta["architecture"]["hidden"] = [7]
    side.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="edited"):  # the sidecar's own hash catches the edit
        load_checkpoint(weights)
    side.write_text(json.dumps(with_sidecar_sha256(meta)))  # re-signed: the weights do not fit
    with pytest.raises(ValueError, match="do not match the architecture"):
        load_checkpoint(weights)
    side.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_checkpoint(weights)
    side.unlink()
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(weights)
