"""``plkg reproduce nf-keybits``: achieved vs analytic KR per scheme, per UE.

Run on a small 32-antenna, 2-UE variant of the Fig. 6 scenario (the figure's own scenario takes
minutes even in quick mode): the properties below hold for any scenario."""

from __future__ import annotations

import csv

from plkg.reproduce.keygen_figures import NF_KEYBITS_SCHEMES, nf_keybits


def test_nf_keybits_quick(tmp_path):
    from plkg.channels.nearfield_scenario import load_scenario

    small = load_scenario("fig6").replace(
        n_antennas=32,
        ue_distance_m=(20.0, 60.0),
        ue_angle_rad=(-0.5, 0.6),
        ccm_draws=4,
        n_scatterers=16,
        name="fig6-small",
    )
    paths = nf_keybits(tmp_path, quick=True, scenario=small, n_rounds=256)
    assert {p.suffix for p in paths} == {".png", ".csv"}
    rows = list(csv.DictReader(open(tmp_path / "nf-keybits.csv")))
    assert {r["scheme"] for r in rows} == set(NF_KEYBITS_SCHEMES)
    for r in rows:
        assert int(r["residual_mismatch_bits"]) == 0
        assert 0.0 <= float(r["ratio"]) < 1.0
        assert float(r["final_key_bits_per_round"]) <= float(r["analytic_kr_bits"])

    def ratio(scheme):
        return sum(float(r["ratio"]) for r in rows if r["scheme"] == scheme)

    legacy, default = list(NF_KEYBITS_SCHEMES)[0], list(NF_KEYBITS_SCHEMES)[-1]
    assert ratio(default) > 2 * ratio(legacy)
