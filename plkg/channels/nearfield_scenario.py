"""The near-field multi-user scenario (Section II and VII-A of the near-field paper).

A :class:`NearFieldScenario` is a frozen, self-validating dataclass. ``configs/<name>.yaml``
files name the paper's figures; :func:`load_scenario` accepts such a name or a YAML path.

Longer than 500 lines: one frozen dataclass whose docstring documents every field (unit, paper
equation), its validation, and the config reader that builds it; they change together, and
``load_scenario`` is imported from here throughout the package and by users.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from plkg import defaults, units
from plkg.checks import (
    PlkgTypeError,
    check_choice,
    check_integer,
    check_number,
    check_options,
    check_path,
    check_real_array,
    describe,
)
from plkg.errors import PlkgInputError

CONFIG_DIR = defaults.folder("configs")

# Integer fields and their smallest allowed value (downlink_pilot_len may also be None).
_INTEGER_FIELDS = {
    "n_antennas": 2,
    "downlink_pilot_len": 1,
    "uplink_pilot_len": 1,
    "n_scatterers": 1,
    "ccm_draws": 1,
    "seed": 0,
}
# Paper-reading switches (docs/assumptions.md); the first entry is the default.
SCATTERER_MODELS = ("continuum-disc", "fixed", "wedge")
SUBCHANNEL_COUNTS = ("energy", "literal")
# Largest ULA: K covariances of N x N complex128 (N = 8192: 1 GiB each) must fit in memory.
MAX_ANTENNAS = 8192


# Real-valued fields: (lowest value, strict?) or None for any finite number.
_REAL_FIELDS = {
    "carrier_hz": (0.0, True),
    "spacing_wavelengths": (0.0, True),
    "noise_bs_dbm": None,
    "noise_ue_dbm": None,
    "pathloss_ref_db": None,
    "pathloss_ref_distance_m": (0.0, True),
    "pathloss_exponent": (0.0, False),
    "ue_power_dbm": None,
    "scatter_radius_m": (0.0, False),
    "null_space_rtol": None,  # (0, 1): checked with its own message below
    "subchannel_rtol": None,
    "cut_window": None,
    "wedge_angle_spread_rad": None,
    "wedge_distance_spread_m": None,
}


def _as_float_tuple(values, name: str) -> tuple[float, ...]:
    """One number per UE (a scalar is one UE): refuses None, str, bool, complex, NaN, inf."""
    arr = check_real_array(values, name, ndim=(0, 1))
    return tuple(float(v) for v in np.atleast_1d(arr))


def _plain_number(value):
    """NumPy scalars and 0-d arrays as Python int/float (``.item()``), so that to_dict() and the
    fingerprint's JSON take them.

    Plain int and float values are kept as given: the fingerprint of an existing scenario (whose
    YAML may hold ``3`` or ``3.0``) must not change. A 0-d array of another dtype is stored as
    its Python value too (a bool, a complex: the field checks then refuse it by name).
    """
    if type(value) in (int, float):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biufc":
        return value.item()
    if not isinstance(value, (np.integer, np.floating)):
        return value
    return int(value) if isinstance(value, np.integer) else float(value)


@dataclass(frozen=True)
class NearFieldScenario:
    """One BS with an N-antenna ULA and K single-antenna UEs in its near field.

    Parameters
    ----------
    n_antennas : int
        N, number of ULA elements (Eq. (2)).
    ue_distance_m : tuple of float, length K
        r_{b_k}, UE distance to the reference antenna in metres.
    ue_angle_rad : tuple of float, length K
        psi_{b_k}, UE azimuth from the array broadside (y-axis) in radians, in (-pi/2, pi/2).
    carrier_hz : float
        f_c; the wavelength follows from :func:`plkg.units.wavelength_m`.
    spacing_wavelengths : float
        d / lambda, antenna spacing in wavelengths (paper: 0.5).
    noise_bs_dbm, noise_ue_dbm : float
        sigma_a^2 and sigma_b^2 (paper: -114 dBm each).
    pathloss_ref_db : float
        alpha_0, path loss at ``pathloss_ref_distance_m`` (paper: -30 dB at 1 m).
    pathloss_ref_distance_m : float
        r_0 > 0, reference distance of ``pathloss_ref_db`` in metres (paper: 1 m).
    pathloss_exponent : float
        epsilon (paper: 3.5); alpha = alpha_0 (r_{b_k}/r_0)^-epsilon, Section VII-A.
    ue_power_dbm : float
        P_b, UE uplink pilot power (Fig. 6: 20 dBm).
    downlink_pilot_len : int or None
        L, downlink packet length (Eq. (6)). ``None`` uses the shortest length the paper allows,
        L = N_s = max_k D_k (text after Eq. (19)). See ``docs/assumptions.md``.
    uplink_pilot_len : int
        Q >= 1, uplink packet length (Eq. (9)); default 1.
    n_scatterers : int
        L_k, scatterers per UE in one draw of Eq. (1).
    scatter_radius_m : float
        Scatterers are uniform in a disc of this radius centred on the UE (our scatterer model).
    ccm_draws : int
        Number of independent scatterer sets averaged for the Monte-Carlo CCM of Eq. (4).
    null_space_rtol : float
        Eq. (16): the null space of B_k may leak at most about ``null_space_rtol`` of each other
        UE's own channel energy tr(R_j) (B_k's blocks are divided by their traces before the SVD).
    subchannel_rtol : float
        Eq. (20): an eigen-direction of R_hk is a subchannel only if its eigenvalue is above about
        ``subchannel_rtol`` times the UE's own channel energy tr(R_k); directions below carry no
        key rate (m = sigma^2/lambda is astronomically large in Eq. (42)) and their constants
        would only reflect round-off. See ``docs/assumptions.md``.
    cut_window : float
        Both cuts move, within a factor ``cut_window`` of their nominal tolerance, to the widest
        gap of the spectrum, so that no eigenvalue sits next to a cut and flips in or out under
        round-off (another CPU or BLAS thread count). See
        :func:`plkg.precoding.block_diagonalization.spectral_cut`.
    seed : int
        Seed of the scatterer draws, so the CCMs of a scenario are reproducible.
    scatterer_model : {"continuum-disc", "fixed", "wedge"}
        How the expectation of Eq. (4)/(5) treats the scatterers. ``"continuum-disc"`` (default):
        scatterers uniform in a disc of ``scatter_radius_m`` around the UE, CCM averaged over
        ``ccm_draws`` sets of ``n_scatterers`` positions. ``"fixed"``: Eq. (5) read literally, one
        seeded set of L_k = ``n_scatterers`` positions in that disc, expectation over the path
        gains only (rank R_k <= L_k). ``"wedge"``: scatterers uniform in the angular wedge
        psi_k +- ``wedge_angle_spread_rad`` and the distance band r_k +- ``wedge_distance_spread_m``,
        CCM by deterministic Gauss-Legendre quadrature. See ``docs/assumptions.md``.
    wedge_angle_spread_rad : float
        Half-width of the wedge in azimuth (rad), ``scatterer_model="wedge"`` only.
    wedge_distance_spread_m : float
        Half-width of the wedge in distance (m), ``scatterer_model="wedge"`` only.
    subchannel_count : {"energy", "literal"}
        D_k of Eq. (20). ``"energy"`` (default): only the eigen-directions of R_hk above
        ``subchannel_rtol`` (the ones carrying channel energy). ``"literal"``: D_k = N - r_k, every
        null-space direction of Eq. (16) (text after Eq. (16)); eigenvalues are clamped to a floor
        (:data:`plkg.precoding.block_diagonalization.LITERAL_LAMBDA_FLOOR_RTOL` x tr(R_k)) so
        m_a, m_b of Eq. (42) stay finite. L = max_k D_k follows the count when
        ``downlink_pilot_len`` is None.
    name : str
        Label used in files and plots.
    """

    n_antennas: int = 256
    ue_distance_m: tuple[float, ...] = (20.0, 40.0, 80.0, 100.0)
    ue_angle_rad: tuple[float, ...] = (-0.5, 0.5, 1.0, -1.0)
    carrier_hz: float = 3.5e9
    spacing_wavelengths: float = 0.5
    noise_bs_dbm: float = -114.0
    noise_ue_dbm: float = -114.0
    pathloss_ref_db: float = -30.0
    pathloss_ref_distance_m: float = 1.0
    pathloss_exponent: float = 3.5
    ue_power_dbm: float = 20.0
    downlink_pilot_len: int | None = None
    uplink_pilot_len: int = 1
    n_scatterers: int = 64
    scatter_radius_m: float = 4.0
    ccm_draws: int = 32
    null_space_rtol: float = 1e-9
    subchannel_rtol: float = 1e-7
    cut_window: float = 10.0
    seed: int = 2025
    scatterer_model: str = "continuum-disc"
    wedge_angle_spread_rad: float = 0.05
    wedge_distance_spread_m: float = 2.0
    subchannel_count: str = "energy"
    name: str = field(default="custom", compare=False)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _plain_number(getattr(self, f.name)))
        object.__setattr__(
            self, "ue_distance_m", _as_float_tuple(self.ue_distance_m, "ue_distance_m")
        )
        object.__setattr__(self, "ue_angle_rad", _as_float_tuple(self.ue_angle_rad, "ue_angle_rad"))
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        """Every field by name: type first (bool, str, None refused), then its domain."""
        for name, bound in _REAL_FIELDS.items():
            low, strict = bound if bound is not None else (None, False)
            check_number(getattr(self, name), name, low=low, low_open=strict)
        for name, low in _INTEGER_FIELDS.items():
            v = getattr(self, name)
            if v is None and name == "downlink_pilot_len":
                continue
            # bool is an int to Python but never a count; floats like 1.5 are not counts either
            check_integer(v, name, low=low)
        if self.n_antennas > MAX_ANTENNAS:
            raise PlkgInputError(
                f"n_antennas = {self.n_antennas} is too large: the N x N covariances would not fit "
                f"in memory (at most {MAX_ANTENNAS})"
            )
        if not isinstance(self.name, str) or not self.name.strip():
            raise PlkgInputError(f"name must be a non-empty string, got {describe(self.name)}")
        self._validate_users()
        if min(self.ue_distance_m) <= self.scatter_radius_m:
            raise PlkgInputError(
                "every UE must be farther from the array than scatter_radius_m so that scatterers "
                f"stay in front of the array (scatter_radius_m = {self.scatter_radius_m}, "
                f"ue_distance_m = {self.ue_distance_m})"
            )
        for name in ("subchannel_rtol", "null_space_rtol"):
            check_number(
                getattr(self, name), name, low=0.0, high=1.0, low_open=True, high_open=True
            )
        check_number(
            self.cut_window, "cut_window", low=1.0, high=1e6, low_open=True, high_open=True
        )
        self._validate_modelling_options()

    def _validate_users(self) -> None:
        """One distance and one angle per UE, at least one UE, all in front of the array."""
        if len(self.ue_distance_m) != len(self.ue_angle_rad):
            raise PlkgInputError(
                f"ue_distance_m has {len(self.ue_distance_m)} entries but ue_angle_rad has "
                f"{len(self.ue_angle_rad)}: one distance and one angle per UE"
            )
        if len(self.ue_distance_m) < 1:
            raise PlkgInputError(
                "ue_distance_m and ue_angle_rad are empty: at least one UE is needed"
            )
        if any(r <= 0 for r in self.ue_distance_m):
            raise PlkgInputError(
                f"ue_distance_m: UE distances must be positive and finite, got {self.ue_distance_m}"
            )
        if any(abs(a) >= math.pi / 2 for a in self.ue_angle_rad):
            raise PlkgInputError(
                f"ue_angle_rad: UE angles must lie in (-pi/2, pi/2) rad, got {self.ue_angle_rad}"
            )

    def _validate_modelling_options(self) -> None:
        """The paper-reading switches: scatterer model and subchannel count."""
        check_choice(self.scatterer_model, SCATTERER_MODELS, "scatterer_model")
        check_choice(self.subchannel_count, SUBCHANNEL_COUNTS, "subchannel_count")
        check_number(
            self.wedge_angle_spread_rad,
            "wedge_angle_spread_rad",
            low=0.0,
            high=math.pi / 2,
            high_open=True,
        )
        check_number(self.wedge_distance_spread_m, "wedge_distance_spread_m", low=0.0)
        if self.scatterer_model == "wedge":
            psi, r = np.asarray(self.ue_angle_rad), np.asarray(self.ue_distance_m)
            if np.any(np.abs(psi) + self.wedge_angle_spread_rad >= math.pi / 2):
                raise PlkgInputError(
                    "wedge_angle_spread_rad is too wide: a UE's wedge reaches |psi| >= pi/2 "
                    f"(angles {self.ue_angle_rad}, spread {self.wedge_angle_spread_rad})"
                )
            if np.any(r <= self.wedge_distance_spread_m):
                raise PlkgInputError(
                    "wedge_distance_spread_m must be smaller than every UE distance, got "
                    f"{self.wedge_distance_spread_m} with distances {self.ue_distance_m}"
                )

    # ------------------------------------------------------------------ derived quantities
    @property
    def n_users(self) -> int:
        """K, number of UEs."""
        return len(self.ue_distance_m)

    @property
    def wavelength_m(self) -> float:
        """lambda = c / f_c, the carrier wavelength in metres."""
        return units.wavelength_m(self.carrier_hz)

    @property
    def spacing_m(self) -> float:
        """d, antenna spacing in metres."""
        return self.spacing_wavelengths * self.wavelength_m

    @property
    def noise_bs_w(self) -> float:
        """sigma_a^2, the BS receiver noise power in watts."""
        return float(units.dbm_to_w(self.noise_bs_dbm))

    @property
    def noise_ue_w(self) -> float:
        """sigma_b^2, the UE receiver noise power in watts."""
        return float(units.dbm_to_w(self.noise_ue_dbm))

    @property
    def ue_power_w(self) -> float:
        """P_b, the UE uplink pilot power in watts."""
        return float(units.dbm_to_w(self.ue_power_dbm))

    @property
    def pathloss_linear(self) -> np.ndarray:
        r"""Linear path loss per UE, shape [K] (Section VII-A).

        :math:`\alpha_{b_k} = \alpha_0 (r_{b_k}/r_0)^{-\epsilon}`, dimensionless.
        """
        r = np.asarray(self.ue_distance_m)
        return units.db_to_linear(self.pathloss_ref_db) * (r / self.pathloss_ref_distance_m) ** (
            -self.pathloss_exponent
        )

    @property
    def rayleigh_distance_m(self) -> float:
        r"""Rayleigh distance in metres (Section II-C).

        :math:`d_R = 2 D^2 / \lambda` with the aperture :math:`D = (N-1) d`.
        """
        aperture = (self.n_antennas - 1) * self.spacing_m
        return 2 * aperture**2 / self.wavelength_m

    def replace(self, **changes) -> NearFieldScenario:
        """A copy with some fields changed (validated again); an unknown field is refused.

        Parameters
        ----------
        **changes
            New values of fields, by field name (same types and units as the constructor).

        Returns
        -------
        NearFieldScenario
            The changed copy; ``self`` is left as it is.

        Raises
        ------
        PlkgInputError
            An unknown field name, or a new value that fails the field's check.
        """
        fields = [f.name for f in dataclasses.fields(self)]
        check_options(
            changes, fields, call="NearFieldScenario.replace()", owner="NearFieldScenario"
        )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as a plain mapping (tuples as lists), as a YAML scenario file holds them.

        Returns
        -------
        dict
            Field name -> value; :meth:`from_dict` reads it back into an equal scenario.
        """
        d = dataclasses.asdict(self)
        d["ue_distance_m"] = list(self.ue_distance_m)
        d["ue_angle_rad"] = list(self.ue_angle_rad)
        return d

    def fingerprint(self) -> str:
        """SHA-256 (16 hex digits) of every field that changes the physics (``name`` excluded).

        Returns
        -------
        str
            16 lowercase hex digits; equal scenarios (any ``name``) share it.
        """
        d = self.to_dict()
        d.pop("name")
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict, name: str | None = None) -> NearFieldScenario:
        """A scenario from a mapping of fields (a YAML file's, :meth:`to_dict`'s).

        Numeric strings (YAML 1.1 reads ``1e9`` as a string) are read as numbers; unknown fields
        are refused, naming them.

        Parameters
        ----------
        data : dict
            Field name -> value (units as in the constructor's parameters).
        name : str or None
            Label of the scenario when ``data`` has no ``name`` field.

        Returns
        -------
        NearFieldScenario
            The validated scenario.

        Raises
        ------
        PlkgTypeError
            ``data`` is not a mapping.
        PlkgInputError
            An unknown field, or a value that fails its field's check.
        """
        if not isinstance(data, dict):
            raise PlkgTypeError(f"scenario data must be a mapping of fields, got {describe(data)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise PlkgInputError(f"unknown near-field scenario field(s): {', '.join(unknown)}")
        kwargs = {key: _coerce(cls, key, value) for key, value in data.items()}
        if name is not None and "name" not in kwargs:
            kwargs["name"] = name
        return cls(**kwargs)


def _number_from_text(key: str, value: str, as_int: bool):
    try:
        return int(value) if as_int else float(value)
    except ValueError as exc:
        raise PlkgInputError(f"field {key!r} must be a number, got {value!r}") from exc


def _coerce(cls, key: str, value):
    """YAML 1.1 reads '3.5e9' as a string: turn numeric strings into the field's type."""
    default = next(f.default for f in dataclasses.fields(cls) if f.name == key)
    if isinstance(default, tuple) and isinstance(value, (list, tuple)):
        return [_number_from_text(key, v, False) if isinstance(v, str) else v for v in value]
    if (
        isinstance(value, str)
        and isinstance(default, (int, float))
        and not isinstance(default, bool)
    ):
        if isinstance(default, float):
            return _number_from_text(key, value, False)
        return _number_from_text(key, value, True)
    return value


def available_scenarios() -> list[str]:
    """Names of the near-field YAML scenarios shipped in ``configs/``.

    The RIS scenarios (names starting with ``ris-``) are left out.

    Returns
    -------
    list of str
        Sorted config names, each accepted by :func:`load_scenario`.
    """
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if not p.stem.startswith("ris-"))


def read_config(name_or_path: str | Path) -> tuple[dict, str]:
    """Read a scenario YAML by config name or path; return (mapping, name).

    The file is read by :func:`plkg.io.yaml_file.read_yaml` (UTF-8, duplicate keys refused, one
    line naming the file on error).
    """
    from plkg.io.yaml_file import read_yaml  # PyYAML only when a file is read

    path = check_path(name_or_path, "scenario", must_exist=False)
    if path.is_dir():
        raise PlkgInputError(f"scenario {str(path)!r} is a folder, not a YAML file or config name")
    if path.suffix not in (".yaml", ".yml") or not path.exists():
        candidate = CONFIG_DIR / f"{name_or_path}.yaml"
        if not candidate.is_file():
            if path.suffix in (".yaml", ".yml"):
                raise FileNotFoundError(2, "scenario file does not exist", str(path))
            raise PlkgInputError(
                f"unknown scenario {str(name_or_path)!r}; available: {', '.join(available_scenarios())}"
                " (or pass the path of a YAML file)"
            )
        path = candidate
    data = read_yaml(path, what="scenario file")
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise PlkgInputError(f"scenario file {str(path)!r} must hold a mapping of fields")
    return data, path.stem


def load_scenario(name_or_path: str | Path = "fig6") -> NearFieldScenario:
    """Load a near-field scenario from ``configs/<name>.yaml`` or a YAML path.

    The YAML holds a mapping of :class:`NearFieldScenario` fields; a ``system`` key, if present,
    must be ``nearfield``, and a ``description`` key is ignored.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A name from :func:`available_scenarios` (``"fig6"``) or the path of a YAML file.

    Returns
    -------
    NearFieldScenario
        The validated scenario, named after the file's stem.

    Raises
    ------
    PlkgTypeError
        ``name_or_path`` is not a str or path.
    FileNotFoundError
        A ``.yaml``/``.yml`` path that does not exist.
    PlkgInputError
        An unknown name, a folder, a file that is not UTF-8 or not YAML, a key given twice, an
        unknown or invalid field; the message names the file or field.
    """
    data, stem = read_config(name_or_path)
    system = data.pop("system", "nearfield")
    data.pop("description", None)
    data.pop("paper_figure", None)
    if system != "nearfield":
        raise PlkgInputError(
            f"scenario {str(name_or_path)!r} is a {system!r} scenario, not nearfield"
        )
    return NearFieldScenario.from_dict(data, name=stem)
