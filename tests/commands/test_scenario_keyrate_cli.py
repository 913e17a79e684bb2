"""`plkg scenario` and `plkg keyrate` on a small YAML scenario (fast), plus error paths."""

import json

import numpy as np
import pytest

from plkg.cli import main
from plkg.keyrate.gaussian import general_key_rate_bits


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(
        "system: nearfield\nn_antennas: 32\nue_distance_m: [6.0, 12.0]\nue_angle_rad: [-0.4, 0.5]\n"
        "scatter_radius_m: 1.0\nn_scatterers: 16\nccm_draws: 4\n"
    )
    return path


def test_scenario_export(scenario_file, tmp_path, capsys):
    out = tmp_path / "sc.npz"
    assert main(["scenario", "--scenario", str(scenario_file), "--export", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_total_subchannels"] == sum(summary["n_subchannels"])
    with np.load(out, allow_pickle=False) as data:
        assert data["ccm"].shape == (2, 32, 32) and data["ccm"].dtype == np.complex128
        assert float(data["carrier_hz"]) == 3.5e9
        assert str(data["fingerprint"]) == summary["fingerprint"]


def test_keyrate_epa_json_and_export(scenario_file, tmp_path, capsys):
    out = tmp_path / "kr.npz"
    assert (
        main(
            [
                "keyrate",
                "--scenario",
                str(scenario_file),
                "--pa-dbm",
                "5",
                "--method",
                "epa",
                "--json",
                "--export",
                str(out),
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    for key in ("method", "pa_w", "kr_bits", "sum_kr_bits", "min_kr_bits", "n_subchannels"):
        assert key in res
    assert res["pa_w"] == pytest.approx(10 ** (0.5 - 3))
    assert res["sum_kr_bits"] == pytest.approx(sum(res["kr_bits"]))
    with np.load(out, allow_pickle=False) as data:
        p = data["precoders"]
        assert p.shape == (2, 32, max(res["n_subchannels"])) and p.dtype == np.complex128
        np.testing.assert_allclose(data["x_w"], res["pa_w"] / sum(res["n_subchannels"]))
        # Eq. (44): power used = P_a; the exported precoders reproduce the reported KR through Eq. (14)
        assert np.sum(np.abs(p) ** 2) == pytest.approx(res["pa_w"], rel=1e-12)
        from plkg.channels.nearfield import scenario_ccm
        from plkg.channels.nearfield_scenario import load_scenario

        ccm = scenario_ccm(load_scenario(scenario_file))
        i14 = general_key_rate_bits(
            ccm, p, float(data["sigma2_a_hat_w"]), float(data["sigma2_b_hat_w"])
        )
        np.testing.assert_allclose(i14, res["kr_bits"], rtol=1e-3)
        for name in ("user", "m_a", "m_b", "sigma2_a_hat_w", "sigma2_b_hat_w"):
            assert name in data


@pytest.mark.parametrize(
    "argv, message",
    [
        (["keyrate", "--scenario", "nope", "--pa-dbm", "5"], "unknown scenario"),
        (["keyrate", "--pa-w", "-1"], "non-negative"),
        (["keyrate", "--pa-dbm", "nan"], "finite"),
        (
            ["keyrate", "--pa-dbm", "5", "--method", "epa", "--scenario", "missing.yaml"],
            "does not exist",
        ),
    ],
)
def test_keyrate_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
