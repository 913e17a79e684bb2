"""Unit conversions. Every other module converts through here.

Power suffixes: ``_w`` (watt), ``_dbm`` (dB relative to 1 mW), ``_db`` (dimensionless ratio in dB).

Every conversion takes a real scalar or a real array (converted elementwise, shape kept) and
refuses, naming its parameter, what has no power meaning: None, str, bool, complex, NaN, and
+inf. Linear quantities must be finite and >= 0. A linear 0 (0 W, ratio 0) converts to ``-inf``
dB/dBm: that is the exact value, and going back (``-inf`` dB/dBm) gives 0.
"""

from __future__ import annotations

import numpy as np

from plkg.checks import check_number, check_real_array
from plkg.errors import PlkgInputError

SPEED_OF_LIGHT_M_PER_S = 299_792_458.0


def _values(value, name: str, *, nonnegative: bool = False, unit: str = "") -> np.ndarray:
    return check_real_array(value, name, nonnegative=nonnegative, unit=unit)


def _log_values(value, name: str, unit: str) -> np.ndarray:
    """dB/dBm values: real, not NaN and not +inf; ``-inf`` (the exact dB of a linear 0) is kept."""
    arr = check_real_array(value, name, finite=False, unit=unit)
    bad = np.isnan(arr) | (arr == np.inf)
    if np.any(bad):
        got = float(arr) if arr.ndim == 0 else float(arr[tuple(np.argwhere(bad)[0])])
        raise PlkgInputError(f"{name} must be finite or -inf ({unit}), got {got!r}")
    return arr


def db_to_linear(value_db):
    """Power ratio in dB -> linear ratio, ``10**(x/10)``.

    Parameters
    ----------
    value_db : float or array_like of float
        Ratio(s) in dB: finite, or ``-inf`` (gives 0, the round trip of ``linear_to_db(0)``).
        NaN and ``+inf`` are refused.

    Returns
    -------
    float64 scalar or ndarray, same shape as ``value_db``
    """
    return np.power(10.0, _log_values(value_db, "value_db", "dB") / 10.0)


def linear_to_db(value):
    """Linear power ratio -> dB, ``10 log10(x)``.

    Parameters
    ----------
    value : float or array_like of float
        Finite, non-negative ratio(s). 0 gives ``-inf`` dB (the exact value).

    Returns
    -------
    float64 scalar or ndarray, same shape as ``value``, dB

    Raises
    ------
    PlkgInputError
        Negative, NaN or infinite ratios (a ValueError).
    """
    value = _values(value, "value", nonnegative=True)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(value)


def dbm_to_w(power_dbm):
    """Power in dBm -> watt, ``10**((x - 30)/10)``.

    Parameters
    ----------
    power_dbm : float or array_like of float
        Power(s) in dBm: finite, or ``-inf`` (gives 0 W, the round trip of ``w_to_dbm(0)``).
        NaN and ``+inf`` are refused.

    Returns
    -------
    float64 scalar or ndarray, same shape as ``power_dbm``, watt
    """
    return np.power(10.0, (_log_values(power_dbm, "power_dbm", "dBm") - 30.0) / 10.0)


def w_to_dbm(power_w):
    """Power in watt -> dBm, ``10 log10(x) + 30``.

    Parameters
    ----------
    power_w : float or array_like of float
        Finite, non-negative power(s) in W. 0 W gives ``-inf`` dBm (the exact value; code that
        prints or stores dBm should treat it as "no power").

    Returns
    -------
    float64 scalar or ndarray, same shape as ``power_w``, dBm

    Raises
    ------
    PlkgInputError
        Negative, NaN or infinite powers (a ValueError).
    """
    power_w = _values(power_w, "power_w", nonnegative=True, unit="W")
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(power_w) + 30.0


def wavelength_m(carrier_hz: float) -> float:
    r"""Free-space wavelength :math:`\lambda = c / f_c` in metres.

    Parameters
    ----------
    carrier_hz : float
        :math:`f_c` in Hz, finite and > 0.

    Returns
    -------
    float
        :math:`\lambda` in metres (``SPEED_OF_LIGHT_M_PER_S`` divided by ``carrier_hz``).

    Raises
    ------
    PlkgInputError
        ``carrier_hz`` is not a finite number > 0 (:class:`plkg.errors.PlkgTypeError` for a
        non-number).
    """
    carrier = check_number(carrier_hz, "carrier_hz", low=0.0, low_open=True, unit="Hz")
    return SPEED_OF_LIGHT_M_PER_S / carrier


def as_scalar(x):
    """Return a Python float for 0-d arrays and numpy scalars, otherwise ``x`` unchanged.

    Parameters
    ----------
    x : object
        A value, typically the result of a conversion above (any unit).

    Returns
    -------
    float or object
        ``float(x)`` when ``x`` is 0-dimensional, else ``x`` itself.
    """
    arr = np.asarray(x)
    return float(arr) if arr.ndim == 0 else x
