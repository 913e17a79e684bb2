"""The near-field multi-user scenario (Section II and VII-A of the near-field paper).

A :class:`NearFieldScenario` is a frozen, self-validating dataclass. ``configs/<name>.yaml``
files name the paper's figures; :func:`load_scenario` accepts such a name or a YAML path.
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
# Paper-reading switches (issue 12, docs/assumptions.md); the first entry is the default.
SCATTERER_MODELS = ("continuum-disc", "fixed", "wedge")
SUBCHANNEL_COUNTS = ("energy", "literal")
# Largest ULA: K covariances of N x N complex128 (N = 8192: 1 GiB each) must fit in memory.
MAX_ANTENNAS = 8192


def _as_float_tuple(values, name: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in np.atleast_1d(np.asarray(values, dtype=np.float64)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a list of numbers, got {values!r}") from exc
    return out


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
        object.__setattr__(
            self, "ue_distance_m", _as_float_tuple(self.ue_distance_m, "ue_distance_m")
        )
        object.__setattr__(self, "ue_angle_rad", _as_float_tuple(self.ue_angle_rad, "ue_angle_rad"))
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        def finite(name):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise ValueError(f"{name} must be a finite number, got {v!r}")

        for name in (
            "carrier_hz",
            "spacing_wavelengths",
            "noise_bs_dbm",
            "noise_ue_dbm",
            "pathloss_ref_db",
            "pathloss_ref_distance_m",
            "pathloss_exponent",
            "ue_power_dbm",
            "scatter_radius_m",
            "null_space_rtol",
            "subchannel_rtol",
            "cut_window",
            "wedge_angle_spread_rad",
            "wedge_distance_spread_m",
        ):
            finite(name)
        self._validate_modelling_options()
        for name, low in _INTEGER_FIELDS.items():
            v = getattr(self, name)
            if v is None and name == "downlink_pilot_len":
                continue
            # bool is an int to Python but never a count; floats like 1.5 are not counts either
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
        if self.n_antennas > MAX_ANTENNAS:
            raise ValueError(
                f"n_antennas = {self.n_antennas} is too large: the N x N covariances would not fit "
                f"in memory (at most {MAX_ANTENNAS})"
            )
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if int(self.n_antennas) != self.n_antennas or self.n_antennas < 2:
            raise ValueError(f"n_antennas must be an integer >= 2, got {self.n_antennas!r}")
        if len(self.ue_distance_m) != len(self.ue_angle_rad):
            raise ValueError(
                f"ue_distance_m has {len(self.ue_distance_m)} entries but ue_angle_rad has "
                f"{len(self.ue_angle_rad)}: one distance and one angle per UE"
            )
        if len(self.ue_distance_m) < 1:
            raise ValueError("at least one UE is needed")
        if any(not math.isfinite(r) or r <= 0 for r in self.ue_distance_m):
            raise ValueError(f"UE distances must be positive and finite, got {self.ue_distance_m}")
        if any(not math.isfinite(a) or abs(a) >= math.pi / 2 for a in self.ue_angle_rad):
            raise ValueError(f"UE angles must lie in (-pi/2, pi/2) rad, got {self.ue_angle_rad}")
        if self.carrier_hz <= 0 or self.spacing_wavelengths <= 0:
            raise ValueError("carrier_hz and spacing_wavelengths must be positive")
        if self.pathloss_ref_distance_m <= 0:
            raise ValueError("pathloss_ref_distance_m must be positive")
        if self.downlink_pilot_len is not None and (
            int(self.downlink_pilot_len) != self.downlink_pilot_len or self.downlink_pilot_len < 1
        ):
            raise ValueError(
                f"downlink_pilot_len L must be a positive integer or None, got {self.downlink_pilot_len!r}"
            )
        if int(self.uplink_pilot_len) != self.uplink_pilot_len or self.uplink_pilot_len < 1:
            raise ValueError(
                f"uplink_pilot_len Q must be an integer >= 1, got {self.uplink_pilot_len!r}"
            )
        if int(self.n_scatterers) != self.n_scatterers or self.n_scatterers < 1:
            raise ValueError(f"n_scatterers must be an integer >= 1, got {self.n_scatterers!r}")
        if int(self.ccm_draws) != self.ccm_draws or self.ccm_draws < 1:
            raise ValueError(f"ccm_draws must be an integer >= 1, got {self.ccm_draws!r}")
        if self.scatter_radius_m < 0:
            raise ValueError("scatter_radius_m must be >= 0")
        if min(self.ue_distance_m) <= self.scatter_radius_m:
            raise ValueError(
                "every UE must be farther from the array than scatter_radius_m so that scatterers "
                "stay in front of the array"
            )
        if not 0 < self.subchannel_rtol < 1:
            raise ValueError(f"subchannel_rtol must lie in (0, 1), got {self.subchannel_rtol!r}")
        if not 1 < self.cut_window < 1e6:
            raise ValueError(f"cut_window must lie in (1, 1e6), got {self.cut_window!r}")
        if not 0 < self.null_space_rtol < 1:
            raise ValueError(f"null_space_rtol must lie in (0, 1), got {self.null_space_rtol!r}")

    def _validate_modelling_options(self) -> None:
        """The paper-reading switches (issue 12): scatterer model and subchannel count."""
        if self.scatterer_model not in SCATTERER_MODELS:
            raise ValueError(
                f"scatterer_model must be one of {', '.join(SCATTERER_MODELS)}, "
                f"got {self.scatterer_model!r}"
            )
        if self.subchannel_count not in SUBCHANNEL_COUNTS:
            raise ValueError(
                f"subchannel_count must be one of {', '.join(SUBCHANNEL_COUNTS)}, "
                f"got {self.subchannel_count!r}"
            )
        if not 0 <= self.wedge_angle_spread_rad < math.pi / 2:
            raise ValueError(
                f"wedge_angle_spread_rad must lie in [0, pi/2), got {self.wedge_angle_spread_rad!r}"
            )
        if self.wedge_distance_spread_m < 0:
            raise ValueError(
                f"wedge_distance_spread_m must be >= 0, got {self.wedge_distance_spread_m!r}"
            )
        if self.scatterer_model == "wedge":
            psi, r = np.asarray(self.ue_angle_rad), np.asarray(self.ue_distance_m)
            if np.any(np.abs(psi) + self.wedge_angle_spread_rad >= math.pi / 2):
                raise ValueError(
                    "wedge_angle_spread_rad is too wide: a UE's wedge reaches |psi| >= pi/2 "
                    f"(angles {self.ue_angle_rad}, spread {self.wedge_angle_spread_rad})"
                )
            if np.any(r <= self.wedge_distance_spread_m):
                raise ValueError(
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
        return units.wavelength_m(self.carrier_hz)

    @property
    def spacing_m(self) -> float:
        """d, antenna spacing in metres."""
        return self.spacing_wavelengths * self.wavelength_m

    @property
    def noise_bs_w(self) -> float:
        return float(units.dbm_to_w(self.noise_bs_dbm))

    @property
    def noise_ue_w(self) -> float:
        return float(units.dbm_to_w(self.noise_ue_dbm))

    @property
    def ue_power_w(self) -> float:
        return float(units.dbm_to_w(self.ue_power_dbm))

    @property
    def pathloss_linear(self) -> np.ndarray:
        """alpha_{b_k} = alpha_0 (r_{b_k}/r_0)^-epsilon per UE, shape [K] (Section VII-A)."""
        r = np.asarray(self.ue_distance_m)
        return units.db_to_linear(self.pathloss_ref_db) * (r / self.pathloss_ref_distance_m) ** (
            -self.pathloss_exponent
        )

    @property
    def rayleigh_distance_m(self) -> float:
        """d_R = 2 D^2 / lambda with aperture D = (N-1) d (Section II-C)."""
        aperture = (self.n_antennas - 1) * self.spacing_m
        return 2 * aperture**2 / self.wavelength_m

    def replace(self, **changes) -> NearFieldScenario:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["ue_distance_m"] = list(self.ue_distance_m)
        d["ue_angle_rad"] = list(self.ue_angle_rad)
        return d

    def fingerprint(self) -> str:
        """SHA-256 (16 hex digits) of every field that changes the physics (``name`` excluded)."""
        d = self.to_dict()
        d.pop("name")
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict, name: str | None = None) -> NearFieldScenario:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown near-field scenario field(s): {', '.join(unknown)}")
        kwargs = {key: _coerce(cls, key, value) for key, value in data.items()}
        if name is not None and "name" not in kwargs:
            kwargs["name"] = name
        return cls(**kwargs)


def _coerce(cls, key: str, value):
    """YAML 1.1 reads '3.5e9' as a string: turn numeric strings into the field's type."""
    default = next(f.default for f in dataclasses.fields(cls) if f.name == key)
    if (
        isinstance(value, str)
        and isinstance(default, (int, float))
        and not isinstance(default, bool)
    ):
        try:
            return type(default)(float(value)) if isinstance(default, float) else int(value)
        except ValueError as exc:
            raise ValueError(f"field {key!r} must be a number, got {value!r}") from exc
    return value


def available_scenarios() -> list[str]:
    """Names of the near-field YAML scenarios shipped in ``configs/`` (RIS ones start with ``ris-``)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if not p.stem.startswith("ris-"))


def read_config(name_or_path: str | Path) -> tuple[dict, str]:
    """Read a scenario YAML by config name or path; return (mapping, name)."""
    import yaml

    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") or not path.exists():
        candidate = CONFIG_DIR / f"{name_or_path}.yaml"
        if not candidate.exists():
            if path.suffix in (".yaml", ".yml"):
                raise FileNotFoundError(f"scenario file {str(path)!r} does not exist")
            raise ValueError(
                f"unknown scenario {str(name_or_path)!r}; available: {', '.join(available_scenarios())}"
                " (or pass the path of a YAML file)"
            )
        path = candidate
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"scenario file {str(path)!r} must hold a mapping of fields")
    return data, path.stem


def load_scenario(name_or_path: str | Path = "fig6") -> NearFieldScenario:
    """Load a near-field scenario from ``configs/<name>.yaml`` or a YAML path.

    The YAML holds a mapping of :class:`NearFieldScenario` fields; a ``system`` key, if present,
    must be ``nearfield``, and a ``description`` key is ignored.
    """
    import yaml

    try:
        data, stem = read_config(name_or_path)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        what = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "malformed YAML"
        raise ValueError(
            f"scenario file {str(name_or_path)!r} is {what}: {' '.join(str(exc).split())}"
        ) from exc
    system = data.pop("system", "nearfield")
    data.pop("description", None)
    data.pop("paper_figure", None)
    if system != "nearfield":
        raise ValueError(f"scenario {str(name_or_path)!r} is a {system!r} scenario, not nearfield")
    return NearFieldScenario.from_dict(data, name=stem)
