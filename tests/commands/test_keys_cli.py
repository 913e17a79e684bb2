"""``plkg keys``: near-field and RIS key loops through the CLI."""

from __future__ import annotations

import json

import pytest

from plkg.cli import main

SMALL_NEARFIELD = """system: nearfield
n_antennas: 32
ue_distance_m: [20.0, 60.0]
ue_angle_rad: [-0.5, 0.6]
ccm_draws: 4
n_scatterers: 16
"""


@pytest.fixture()
def small_yaml(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(SMALL_NEARFIELD)
    return p


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_nearfield_keys_json(small_yaml, capsys):
    out = run_json(
        capsys,
        [
            "keys",
            "--system",
            "nearfield",
            "--scenario",
            str(small_yaml),
            "--pa-dbm",
            "-10",
            "--rounds",
            "256",
            "--json",
        ],
    )
    assert out["system"] == "nearfield" and len(out["users"]) == 2
    for u in out["users"]:
        assert u["key_agreement_ratio"] == 1.0 and u["bdr_after"] == 0.0
        assert 0 < u["final_bits_per_round"] <= u["analytic_kr_bits"]
        assert u["final_key_bits"] <= u["entropy_bits"] - u["disclosed_bits"]
        for key in ("bdr_before", "disclosed_bits", "sample_bits", "raw_bits"):
            assert key in u


def test_nearfield_no_usable_subchannel_gives_null_bdr(small_yaml, capsys):
    out = run_json(
        capsys,
        ["keys", "--scenario", str(small_yaml), "--pa-dbm", "-70", "--rounds", "64", "--json"],
    )
    assert all(u["bdr_before"] is None and u["final_key_bits"] == 0 for u in out["users"])


def test_ris_keys_json(capsys):
    out = run_json(
        capsys,
        [
            "keys",
            "--system",
            "ris",
            "--n-ris-elements",
            "20",
            "--pa-dbm",
            "30",
            "--rounds",
            "256",
            "--json",
        ],
    )
    assert out["system"] == "ris" and len(out["cells"]) == 2
    for c in out["cells"]:
        assert 0 < c["bdr_before"] < 0.5 and c["key_agreement_ratio"] == 1.0
        assert (
            c["final_bits_per_round"] <= max(c["analytic_kr_bits"], 0) + 1e-12
            or c["final_key_bits"] == 0
        )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["keys", "--rounds", "4"], "--rounds"),
        (["keys", "--method", "magic", "--rounds", "64"], "unknown allocation method"),
        (["keys", "--system", "ris", "--method", "magic", "--rounds", "64"], "unknown RIS method"),
        (
            ["keys", "--system", "ris", "--min-subchannel-kr-bits", "1", "--rounds", "64"],
            "nearfield only",
        ),
        (["keys", "--pa-w", "-1"], "--pa-w"),
        (["keys", "--scenario", "nope"], "unknown scenario"),
        (["keys", "--bits-per-sample", "0"], "bits_per_sample"),
    ],
)
def test_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
