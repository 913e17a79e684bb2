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
