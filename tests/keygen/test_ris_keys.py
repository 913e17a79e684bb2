"""RIS key generation: BDR vs P_A (No-RIS saturation), RIS vs No-RIS, agreement."""

from __future__ import annotations

import numpy as np
import pytest

from plkg.channels.ris_scenario import two_cell
from plkg.keygen.pipeline import KeyGenConfig, quantize_pair
from plkg.keygen.quantization import bit_disagreement_ratio
from plkg.keygen.ris_keys import ris_key_generation, ris_measurements


def mean_bdr(scenario, method, rng, n_rounds=1000):
    alice, bob, res = ris_measurements(scenario, n_rounds, rng, method)
    bits = [
        quantize_pair(alice[:, k], bob[:, k], KeyGenConfig(bits_per_sample=1))[:2]
        for k in range(alice.shape[1])
    ]
    total = sum(a.size for a, _ in bits)
    return sum(bit_disagreement_ratio(a, b) * a.size for a, b in bits) / total, res.wskr_bits


def test_no_ris_bdr_falls_with_kr_and_saturates_near_paper_value():
    """No-RIS: WSKR rises and BDR falls with P_A; at 50-60 dBm the BDR saturates (pilot
    contamination), the paper reports about 0.36. 16,000 bits per point: sigma(BDR) < 0.004."""
    rng = np.random.default_rng(7)
    points = [
        mean_bdr(two_cell(n_ris_elements=20, bs_power_dbm=pa), "no-ris", rng)
        for pa in (10.0, 30.0, 50.0, 60.0)
    ]
    bdr = [p[0] for p in points]
    kr = [p[1] for p in points]
    assert kr[0] < kr[1] < kr[2] <= kr[3] + 1e-9
    assert bdr[0] > bdr[1] > bdr[2]
    assert abs(bdr[3] - bdr[2]) < 0.02  # saturated
    assert 0.32 < bdr[3] < 0.40


def test_ris_lowers_bdr_against_no_ris():
    rng = np.random.default_rng(8)
    no_ris, _ = mean_bdr(two_cell(n_ris_elements=60, bs_power_dbm=30.0), "no-ris", rng)
    ris, _ = mean_bdr(two_cell(n_ris_elements=60, bs_power_dbm=30.0), "proposed", rng)
    assert ris < no_ris - 0.05


def test_ris_keys_agree_and_respect_entropy_bound():
    rng = np.random.default_rng(9)
    out = ris_key_generation(
        two_cell(n_ris_elements=60, bs_power_dbm=30.0), 512, rng, block_rounds=128
    )
    margin = KeyGenConfig().margin_bits
    assert len(out["cells"]) == 2 and out["solver_status"]
    for cell in out["cells"]:
        for b in cell["blocks"]:
            assert b.status in ("ok", "no-key") and b.residual_mismatch_bits == 0
            assert b.final_key_bits <= max(0.0, b.entropy_bits - b.leak_bits - margin)
    best = max(out["cells"], key=lambda c: c["analytic_kr_bits"])
    assert 0 < best["final_bits_per_round"] <= best["analytic_kr_bits"]


def test_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_rounds"):
        ris_key_generation(two_cell(), 4, rng)
    with pytest.raises(ValueError, match="unknown RIS method"):
        ris_key_generation(two_cell(), 64, rng, method="oracle")
