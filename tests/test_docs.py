"""docs/assumptions.md records every open modelling choice under its parameter name."""

from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "assumptions.md"

CHOICES = [
    # near-field paper: scatterer model, packet lengths, rank thresholds, reproducibility
    "n_scatterers",
    "scatter_radius_m",
    "ccm_draws",
    "downlink_pilot_len",
    "uplink_pilot_len",
    "null_space_rtol",
    "subchannel_rtol",
    "cut_window",
    # RIS paper: UT power, Rician mean in R^r, heights vs coordinates
    "ut_power_dbm",
    "include_rician_mean",
    "height",
    # paper-reading options (issue 12)
    "scatterer_model",
    "wedge_angle_spread_rad",
    "wedge_distance_spread_m",
    "subchannel_count",
    "ris_spacing_wavelengths",
    "bs_array_axis_deg",
    "ris_array_axis_deg",
    "los_angles",
    "los_seed",
    "direct_correlation",
    "direct_correlation_coeff",
    "pathloss_ref_db",
]


@pytest.mark.parametrize("name", CHOICES)
def test_choice_documented(name):
    assert name in DOC.read_text(encoding="utf-8"), (
        f"{name} is not documented in docs/assumptions.md"
    )


def test_choices_are_real_parameters():
    """Every documented parameter name exists on a scenario dataclass (the doc cannot drift alone)."""
    import dataclasses

    from plkg.channels.nearfield_scenario import NearFieldScenario
    from plkg.channels.ris_scenario import RISScenario

    fields = {f.name for cls in (NearFieldScenario, RISScenario) for f in dataclasses.fields(cls)}
    for name in CHOICES:
        assert name in fields or any(name in f for f in fields), name
