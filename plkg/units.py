"""Unit conversions. Every other module converts through here.

Power suffixes: ``_w`` (watt), ``_dbm`` (dB relative to 1 mW), ``_db`` (dimensionless ratio in dB).
"""

from __future__ import annotations

import numpy as np

SPEED_OF_LIGHT_M_PER_S = 299_792_458.0


def db_to_linear(value_db):
    """Power ratio in dB -> linear ratio, ``10**(x/10)``. Accepts scalars or arrays."""
    return np.power(10.0, np.asarray(value_db, dtype=np.float64) / 10.0)


def linear_to_db(value):
    """Linear power ratio -> dB. Raises ``ValueError`` for negative ratios."""
    value = np.asarray(value, dtype=np.float64)
    if np.any(value < 0):
        raise ValueError("linear_to_db: power ratio must be non-negative")
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(value)


def dbm_to_w(power_dbm):
    """Power in dBm -> watt."""
    return np.power(10.0, (np.asarray(power_dbm, dtype=np.float64) - 30.0) / 10.0)


def w_to_dbm(power_w):
    """Power in watt -> dBm. Raises ``ValueError`` for negative powers."""
    power_w = np.asarray(power_w, dtype=np.float64)
    if np.any(power_w < 0):
        raise ValueError("w_to_dbm: power must be non-negative")
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(power_w) + 30.0


def wavelength_m(carrier_hz: float) -> float:
    """Free-space wavelength in metres for a carrier frequency in Hz."""
    if not np.isfinite(carrier_hz) or carrier_hz <= 0:
        raise ValueError(f"carrier frequency must be positive and finite, got {carrier_hz!r} Hz")
    return SPEED_OF_LIGHT_M_PER_S / float(carrier_hz)


def as_scalar(x):
    """Return a Python float for 0-d arrays and numpy scalars, otherwise ``x`` unchanged."""
    arr = np.asarray(x)
    return float(arr) if arr.ndim == 0 else x
