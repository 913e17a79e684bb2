import numpy as np
import pytest

from plkg import units


def test_dbm_watt_round_trip_and_anchors():
    assert units.dbm_to_w(30.0) == pytest.approx(1.0)
    assert units.dbm_to_w(-114.0) == pytest.approx(10 ** (-14.4), rel=1e-12)
    values = np.linspace(-120, 40, 17)
    np.testing.assert_allclose(units.w_to_dbm(units.dbm_to_w(values)), values, rtol=0, atol=1e-12)


def test_db_linear_round_trip():
    assert units.db_to_linear(-30.0) == pytest.approx(1e-3)
    np.testing.assert_allclose(
        units.linear_to_db(units.db_to_linear([-3.0, 0.0, 10.0])), [-3.0, 0.0, 10.0]
    )


def test_wavelength():
    assert units.wavelength_m(3.5e9) == pytest.approx(299_792_458.0 / 3.5e9)
    with pytest.raises(ValueError, match="carrier_hz"):
        units.wavelength_m(0.0)


def test_negative_power_rejected():
    with pytest.raises(ValueError, match=">= 0"):
        units.w_to_dbm(-1.0)
    with pytest.raises(ValueError, match=">= 0"):
        units.linear_to_db(-0.5)


def test_zero_round_trips_through_minus_inf():
    """0 W / ratio 0 -> -inf dBm / dB (exact) -> 0 again; NaN and +inf stay refused."""
    assert units.w_to_dbm(0.0) == -np.inf and units.dbm_to_w(-np.inf) == 0.0
    assert units.linear_to_db(0.0) == -np.inf and units.db_to_linear(-np.inf) == 0.0
    watts = np.array([0.0, 1e-3, 1.0])
    np.testing.assert_array_equal(units.dbm_to_w(units.w_to_dbm(watts)), watts)
    ratios = np.array([0.0, 1.0, 10.0])
    np.testing.assert_allclose(units.db_to_linear(units.linear_to_db(ratios)), ratios, rtol=1e-15)
    for bad in (np.nan, np.inf, [0.0, np.inf]):
        with pytest.raises(ValueError, match="power_dbm"):
            units.dbm_to_w(bad)
        with pytest.raises(ValueError, match="value_db"):
            units.db_to_linear(bad)
