"""Near-field key generation: agreement at the default operating point, BDR vs analytic KR."""

from __future__ import annotations

import numpy as np
import pytest

from plkg import units
from plkg.channels.nearfield_scenario import load_scenario
from plkg.keygen.nearfield_keys import active_subchannels, nearfield_key_generation
from plkg.keygen.pipeline import KeyGenConfig

CASCADE_1BIT = KeyGenConfig(bits_per_sample=1, reconciliation="cascade", entropy_method="mcv")


@pytest.fixture(scope="module")
def small():
    from plkg.precoding.design_cache import design_for_scenario

    scenario = load_scenario("fig6").replace(
        n_antennas=32,
        ue_distance_m=(20.0, 60.0),
        ue_angle_rad=(-0.5, 0.6),
        ccm_draws=4,
        n_scatterers=16,
    )
    return scenario, design_for_scenario(scenario)


def test_keys_identical_in_999_per_mille_of_blocks(small):
    """2000 key blocks of 32 probing rounds (about 500 raw bits each) at P_a = -20 dBm, both UEs:
    at least 99.9 % must end with identical keys (a detected failure discards the block and
    counts as a failure here)."""
    scenario, design = small
    rng = np.random.default_rng(5)
    out = nearfield_key_generation(
        scenario,
        float(units.dbm_to_w(-20)),
        1000 * 32,
        rng,
        design=design,
        block_rounds=32,
        config=CASCADE_1BIT,
    )
    blocks = [b for u in out["users"] for b in u["blocks"]]
    assert len(blocks) == 2000
    agree = sum(b.reconciliation.success and b.residual_mismatch_bits == 0 for b in blocks)
    assert agree >= 0.999 * len(blocks)
    for b in blocks:
        assert b.final_key_bits <= max(0.0, b.entropy_bits - b.leak_bits - CASCADE_1BIT.margin_bits)


def test_bdr_falls_as_analytic_kr_rises(small):
    scenario, design = small
    rng = np.random.default_rng(6)
    kr, bdr = [], []
    for pa_dbm in (-30, -20, -10):
        out = nearfield_key_generation(
            scenario, float(units.dbm_to_w(pa_dbm)), 1024, rng, design=design, config=CASCADE_1BIT
        )
        u = out["users"][0]
        kr.append(u["analytic_kr_bits"])
        bdr.append(u["bdr_before"])
        assert u["final_bits_per_round"] <= u["analytic_kr_bits"]
    assert kr[0] < kr[1] < kr[2]
    assert bdr[0] > bdr[1] > bdr[2]


def test_subchannel_selection_and_errors(small):
    scenario, design = small
    x = np.full(design.n_total, 1e-3)
    sel = active_subchannels(design, x, 0.0)
    assert [s.size for s in sel] == list(design.n_subchannels)
    assert sum(s.size for s in active_subchannels(design, x, 5.0)) < design.n_total
    with pytest.raises(ValueError, match="P_a"):
        nearfield_key_generation(scenario, -1.0, 64, np.random.default_rng(), design=design)
    with pytest.raises(ValueError, match="n_rounds"):
        nearfield_key_generation(scenario, 1e-3, 4, np.random.default_rng(), design=design)


def test_default_keys_follow_the_key_rate_with_zero_mismatch(small):
    """Default pipeline (analytic subchannel correlations, bits per component, LDPC): 4 blocks
    of 512 rounds per UE at two powers; every block verified, final keys identical (zero
    residual mismatch), efficiency = final bits per round / analytic KR reported and high."""
    scenario, design = small
    rng = np.random.default_rng(8)
    for pa_dbm in (-20.0, 0.0):
        out = nearfield_key_generation(
            scenario, float(units.dbm_to_w(pa_dbm)), 4 * 512, rng, design=design, block_rounds=512
        )
        for u in out["users"]:
            assert u["status"] == "ok" and u["residual_mismatch_bits"] == 0
            assert u["reconciliation_failure_rate"] == 0.0 and u["key_agreement_ratio"] == 1.0
            assert all(b.keys_agree for b in u["blocks"])
            assert u["efficiency"] == pytest.approx(
                u["final_bits_per_round"] / u["analytic_kr_bits"]
            )
            assert 0.4 < u["efficiency"] < 1.0  # short blocks: fixed costs weigh more
