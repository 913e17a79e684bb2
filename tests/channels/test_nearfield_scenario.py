import math

import pytest

from plkg.channels.nearfield_scenario import NearFieldScenario, available_scenarios, load_scenario


def test_default_is_fig6():
    sc = load_scenario("fig6")
    assert sc == NearFieldScenario()
    assert sc.n_users == 4 and sc.n_antennas == 256
    assert sc.ue_distance_m == (20.0, 40.0, 80.0, 100.0)
    assert sc.noise_bs_w == pytest.approx(10 ** (-14.4))
    assert sc.pathloss_linear[0] == pytest.approx(1e-3 * 20**-3.5)
    assert "fig6" in available_scenarios()
    # all UEs in the radiating near field: closer than the Rayleigh distance
    assert max(sc.ue_distance_m) < sc.rayleigh_distance_m


def test_yaml_path_and_fingerprint(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "system: nearfield\nn_antennas: 64\nue_distance_m: [10, 20]\nue_angle_rad: [0.1, -0.2]\ncarrier_hz: 2.8e10\n"
    )
    sc = load_scenario(path)
    assert sc.n_antennas == 64 and sc.carrier_hz == 2.8e10 and sc.name == "mine"
    assert (
        sc.fingerprint()
        == NearFieldScenario(
            n_antennas=64, ue_distance_m=(10, 20), ue_angle_rad=(0.1, -0.2), carrier_hz=2.8e10
        ).fingerprint()
    )
    assert sc.fingerprint() != load_scenario("fig6").fingerprint()


def test_zero_d_arrays_are_stored_as_plain_numbers():
    """replace(carrier_hz=np.array(28e9)) stores a float: to_dict() and the fingerprint work."""
    import numpy as np

    base = NearFieldScenario()
    sc = base.replace(carrier_hz=np.array(28e9), n_scatterers=np.array(64))
    assert type(sc.carrier_hz) is float and type(sc.n_scatterers) is int
    assert sc.fingerprint() == base.replace(carrier_hz=28e9, n_scatterers=64).fingerprint()
    with pytest.raises(TypeError, match="n_scatterers"):
        base.replace(n_scatterers=np.array(True))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"ue_distance_m": (10.0, 20.0)}, "one distance and one angle"),
        ({"ue_distance_m": (-1.0, 2.0, 3.0, 4.0)}, "distances must be positive"),
        ({"ue_angle_rad": (0.0, 0.0, 2.0, 0.0)}, "angles must lie"),
        ({"n_antennas": 1}, "n_antennas"),
        ({"carrier_hz": math.nan}, "carrier_hz"),
        ({"uplink_pilot_len": 0}, "uplink_pilot_len"),
        ({"downlink_pilot_len": 0}, "downlink_pilot_len"),
        ({"null_space_rtol": 0.0}, "null_space_rtol"),
        ({"scatter_radius_m": 30.0}, "scatter_radius_m"),
    ],
)
def test_bad_scenarios_rejected(changes, message):
    with pytest.raises(ValueError, match=message):
        NearFieldScenario().replace(**changes)


def test_unknown_scenario_name():
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        load_scenario("nope")
    with pytest.raises(FileNotFoundError):
        load_scenario("does/not/exist.yaml")


def test_unknown_field_and_wrong_system(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("n_antenas: 64\n")
    with pytest.raises(ValueError, match="unknown near-field scenario field"):
        load_scenario(bad)
    ris = tmp_path / "ris.yaml"
    ris.write_text("system: ris\n")
    with pytest.raises(ValueError, match="not nearfield"):
        load_scenario(ris)
