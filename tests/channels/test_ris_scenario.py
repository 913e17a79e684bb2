"""RIS scenario validation and layouts (Section V of the RIS paper)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plkg.channels.ris_scenario import (
    RISScenario,
    four_cell,
    four_cell_scheme,
    load_ris_scenario,
    scheme_ris_positions,
    two_cell,
    two_cell_ut_position,
)


def test_two_cell_defaults_follow_fig3():
    s = two_cell()
    assert s.n_cells == 2 and s.n_ris == 1
    np.testing.assert_allclose(s.bs_positions_m(), [[0, 0, 30], [600, 0, 30]])
    np.testing.assert_allclose(s.ut_positions_m(), [[280, 0, 1.5], [320, 0, 1.5]])
    np.testing.assert_allclose(s.ris_positions_m(), [[300, 0, 10]])
    assert math.isclose(s.bs_power_w, 1.0) and math.isclose(s.noise_w, 1e-12)


def test_four_cell_and_schemes():
    s = four_cell()
    assert s.n_cells == 4
    assert scheme_ris_positions(1, 1, 0.5) == ((300.0, 0.0),)
    assert scheme_ris_positions(2, 1, 0.25) == ((150.0, 0.0), (450.0, 600.0))
    assert scheme_ris_positions(2, 3, 1.0) == ((300.0, 0.0), (300.0, 600.0))
    assert four_cell_scheme(2, 2, 0.5).ris_xy_m == ((0.0, 300.0), (600.0, 300.0))
    assert two_cell_ut_position(100.0).ut_xy_m == ((100.0, 0.0), (500.0, 0.0))


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"ris_xy_m": ((0.0, 0.0),)}, "BS 1 and RIS 1.*RIS on a BS"),
        ({"ris_xy_m": ((600.0, 0.2),)}, "BS 2 and RIS 1"),
        ({"ut_xy_m": ((0.0, 0.0), (320.0, 0.0)), "ut_height_m": 30.0}, "zero link distance"),
        ({"ut_xy_m": ((300.0, 0.0), (320.0, 0.0)), "ut_height_m": 10.0}, "UT 1 and RIS 1"),
        ({"n_ris_elements": 0}, "n_ris_elements"),
        ({"n_antennas": 2, "n_rf_chains": 3}, "n_rf_chains"),
        ({"ris_xy_m": ((float("nan"), 0.0),)}, "NaN"),
        ({"ris_xy_m": ()}, "at least one RIS"),
        ({"rician_factor": -1.0}, "rician_factor"),
        ({"alpha_bu": 0.0}, "alpha_bu"),
        ({"weights": (1.0,)}, "weights"),
        ({"weights": (1.0, -1.0)}, "weights"),
        ({"ut_xy_m": ((280.0, 0.0),)}, "one UT per BS"),
        ({"bs_power_dbm": float("inf")}, "bs_power_dbm"),
    ],
)
def test_bad_scenarios_raise(changes, match):
    with pytest.raises(ValueError, match=match):
        two_cell(**changes)


def test_scheme_start_on_bs_is_rejected():
    with pytest.raises(ValueError, match="RIS on a BS"):
        four_cell_scheme(1, 1, 0.0)
    with pytest.raises(ValueError, match="scheme"):
        scheme_ris_positions(1, 4, 0.5)


def test_yaml_configs(tmp_path):
    assert load_ris_scenario("ris-two-cell") == two_cell()
    assert load_ris_scenario("ris-four-cell").n_cells == 4
    fig6 = load_ris_scenario("ris-fig6")
    assert (fig6.n_antennas, fig6.n_ris_elements) == (10, 20)
    bad = tmp_path / "x.yaml"
    bad.write_text("system: nearfield\nn_ris_elements: 4\n")
    with pytest.raises(ValueError, match="system"):
        load_ris_scenario(str(bad))
    bad.write_text("system: ris\nfoo: 1\n")
    with pytest.raises(ValueError, match="foo"):
        load_ris_scenario(str(bad))
    with pytest.raises(FileNotFoundError):
        load_ris_scenario("no-such-ris-config")


def test_ris_above_ut_is_allowed():
    assert two_cell(ris_xy_m=((280.0, 0.0),)).n_ris == 1  # Fig. 9, x_RIS = 280 m


def test_replace_revalidates():
    s = RISScenario()
    with pytest.raises(ValueError):
        s.replace(n_ris_elements=-3)
