"""RIS-aided multi-cell scenario (Section II and V of the RIS paper).

A :class:`RISScenario` is a frozen, self-validating dataclass holding the geometry (K cells, one
M-antenna BS and one single-antenna UT per cell, L RISs of N elements) and the link parameters of
Section V-A. :func:`two_cell` builds the Fig. 3 layout, :func:`four_cell` the Fig. 11 layout, and
:func:`four_cell_scheme` the RIS movement schemes of Fig. 12. :func:`load_ris_scenario` reads a
``configs/ris-*.yaml`` file (top-level key ``system: ris``) or accepts ``two-cell``/``four-cell``.

Coordinates are horizontal ``(x, y)`` in metres; heights come from ``*_height_m`` (Section V-A
gives heights 30 m / 10 m / 1.5 m but also lists z-coordinates that contradict them; we use the
heights, see ``docs/assumptions.md``).

Longer than 500 lines: one frozen dataclass whose docstring documents every field (unit, paper
section), its validation, the paper's layouts and the config reader that builds them by name; they
change together, and ``load_ris_scenario`` is imported from here by the package and by users.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plkg import defaults, units
from plkg.checks import (
    PlkgTypeError,
    check_choice,
    check_flag,
    check_integer,
    check_number,
    check_options,
    check_path,
    check_real_array,
    describe,
)
from plkg.errors import PlkgInputError

CONFIG_DIR = defaults.folder("configs")

# Fig. 11 corner/edge points. The paper names points B, C, D without coordinates; we take D as the
# centre of the four cells and B, C as the midpoints of the BS1-BS2 and BS3-BS4 edges (where the
# UTs are). See docs/assumptions.md.
FOUR_CELL_POINTS = {
    "BS1": (0.0, 0.0),
    "BS2": (600.0, 0.0),
    "BS3": (600.0, 600.0),
    "BS4": (0.0, 600.0),
    "B": (300.0, 0.0),
    "C": (300.0, 600.0),
    "D": (300.0, 300.0),
}

# Movement schemes of Section V-C: scheme -> list of (start, end) paths, one per RIS.
FOUR_CELL_SCHEMES = {
    (1, 1): [("BS1", "BS2")],
    (1, 2): [("D", "B")],
    (1, 3): [("BS3", "BS2")],
    (2, 1): [("BS1", "BS2"), ("BS3", "BS4")],
    (2, 2): [("BS1", "BS4"), ("BS3", "BS2")],
    (2, 3): [("D", "B"), ("D", "C")],
}


# Paper-reading switches (docs/assumptions.md); the first entry is the default.
LOS_ANGLES = ("geometric", "random")
DIRECT_CORRELATIONS = ("iid", "exponential")


def _xy_tuple(values, name: str) -> tuple[tuple[float, float], ...]:
    """[n, 2] horizontal positions in metres; refuses None, str, bool, complex, NaN, inf."""
    arr = check_real_array(values, name, finite=False, unit="m")
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise PlkgInputError(
            f"{name} must have shape [n, 2] ((x, y) in metres), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise PlkgInputError(f"{name} contains NaN or infinite coordinates")
    return tuple((float(x), float(y)) for x, y in arr)


def _count(value, name: str) -> int:
    """A positive integer; an integral float (``60.0`` from a YAML file) is accepted."""
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        if not (math.isfinite(value) and float(value).is_integer()):
            raise PlkgInputError(f"{name} must be a positive integer, got {value!r}")
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise PlkgTypeError(f"{name} must be a positive integer, got {describe(value)}")
    if value < 1:
        raise PlkgInputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# Real-valued fields: (lowest value, strict?) or None for any finite number.
_REAL_FIELDS = {
    "bs_power_dbm": None,
    "ut_power_dbm": None,
    "noise_dbm": None,
    "pathloss_ref_db": None,
    "alpha_bu": (0.0, True),
    "alpha_br": (0.0, True),
    "alpha_ru": (0.0, True),
    "rician_factor": (0.0, False),
    "bs_height_m": (0.0, False),
    "ris_height_m": (0.0, False),
    "ut_height_m": (0.0, False),
    "bs_spacing_wavelengths": (0.0, True),
    "ris_spacing_wavelengths": (0.0, True),
    "min_separation_m": (0.0, True),
    "bs_array_axis_deg": None,
    "ris_array_axis_deg": None,
    "direct_correlation_coeff": (0.0, False),  # < 1: checked with the modelling options
}


@dataclass(frozen=True)
class RISScenario:
    r"""K-cell RIS-aided key-generation scenario (Fig. 1 of the RIS paper).

    Parameters
    ----------
    bs_xy_m : tuple of (float, float), length K
        Horizontal BS positions in metres; BS k serves UT k.
    ut_xy_m : tuple of (float, float), length K
        Horizontal UT positions in metres.
    ris_xy_m : tuple of (float, float), length L >= 1
        Horizontal RIS positions in metres.
    n_ris_elements : int
        N >= 1, elements per RIS (ULA along the x-axis, ``ris_spacing_wavelengths`` apart).
    n_antennas : int
        M, BS antennas (ULA along the x-axis, ``bs_spacing_wavelengths`` apart).
    n_rf_chains : int
        M_e <= M, RF chains / pilot length at each BS (Eq. (2)).
    bs_power_dbm : float
        P_A, per-BS precoder power budget of constraint C1 in Eq. (10).
    ut_power_dbm : float
        UT uplink pilot power. The paper's Eq. (4) uses :math:`|s|^2 = 1` without a power; we
        expose it.
    noise_dbm : float
        Noise power at BSs and UTs (paper: -90 dBm). All covariances are normalised by it.
    pathloss_ref_db : float
        zeta_0, path loss at 1 m (not given by the paper; -30 dB as in its Ref. [34]).
    alpha_bu, alpha_br, alpha_ru : float
        Path-loss exponents BS-UT (3.75), BS-RIS (2.2), RIS-UT (2.2).
    rician_factor : float
        beta >= 0 of the BS-RIS and RIS-UT links (paper: 3). BS-UT links are Rayleigh.
    bs_height_m, ris_height_m, ut_height_m : float
        Heights (paper: 30, 10, 1.5 m).
    bs_spacing_wavelengths, ris_spacing_wavelengths : float
        Element spacing in wavelengths (0.5 each; the paper does not say).
    include_rician_mean : bool
        If True (paper's definition R^r = E{vec(H) vec(H)^H}), R^r is the second moment including
        the LoS part; if False it is the centred covariance (then v has no effect with i.i.d.
        scattering, see docs/assumptions.md).
    weights : tuple of float or None
        w_k >= 0 of Eq. (10); None means all ones.
    min_separation_m : float
        Two nodes closer than this (3-D) are rejected (zero link distance), and so is a RIS
        closer than this horizontally to a BS (a RIS on a BS). A RIS above a UT is allowed
        (Fig. 9 places the RIS at x = 280 m, above UT 1).
    bs_array_axis_deg, ris_array_axis_deg : float
        Orientation of the BS / RIS ULA axis in the horizontal plane, degrees from the x-axis
        (0: along x, the default; 90: along y, broadside to the two-cell line). Enters the LoS
        array responses of G_bar_i and h_bar_j (Eq. (1)) through the direction cosine
        u . axis. See ``docs/assumptions.md``.
    los_angles : {"geometric", "random"}
        ``"geometric"`` (default): LoS direction cosines from the node positions.
        ``"random"``: every LoS endpoint (BS side and RIS side of each BS-RIS link, RIS side of
        each RIS-UT link) gets an independent angle theta ~ U(-pi/2, pi/2), direction cosine
        sin(theta), drawn from ``los_seed`` (reproducible).
    los_seed : int
        Seed of the random LoS angles (``los_angles="random"`` only).
    direct_correlation : {"iid", "exponential"}
        Spatial correlation of the Rayleigh BS-UT links: ``"iid"`` (default)
        :math:`\mathbf{R}^d = \zeta_0 d^{-\alpha} \mathbf{I}_M`; ``"exponential"``
        :math:`\mathbf{R}^d = \zeta_0 d^{-\alpha} \mathbf{T}`, :math:`T_{mn} = \rho^{|m-n|}` with
        :math:`\rho` = ``direct_correlation_coeff`` (:math:`\mathbf{R}^d` of Eq. (12) and
        Theorem 2).
    direct_correlation_coeff : float
        rho in [0, 1) of the exponential model.
    name : str
        Label for files and plots.
    """

    bs_xy_m: tuple[tuple[float, float], ...] = ((0.0, 0.0), (600.0, 0.0))
    ut_xy_m: tuple[tuple[float, float], ...] = ((280.0, 0.0), (320.0, 0.0))
    ris_xy_m: tuple[tuple[float, float], ...] = ((300.0, 0.0),)
    n_ris_elements: int = 60
    n_antennas: int = 4
    n_rf_chains: int = 4
    bs_power_dbm: float = 30.0
    ut_power_dbm: float = 30.0
    noise_dbm: float = -90.0
    pathloss_ref_db: float = -30.0
    alpha_bu: float = 3.75
    alpha_br: float = 2.2
    alpha_ru: float = 2.2
    rician_factor: float = 3.0
    bs_height_m: float = 30.0
    ris_height_m: float = 10.0
    ut_height_m: float = 1.5
    bs_spacing_wavelengths: float = 0.5
    ris_spacing_wavelengths: float = 0.5
    include_rician_mean: bool = True
    weights: tuple[float, ...] | None = None
    min_separation_m: float = 1.0
    bs_array_axis_deg: float = 0.0
    ris_array_axis_deg: float = 0.0
    los_angles: str = "geometric"
    los_seed: int = 0
    direct_correlation: str = "iid"
    direct_correlation_coeff: float = 0.5
    name: str = "ris-two-cell"

    def __post_init__(self) -> None:
        """Validate every field by name (type first: bool, str, None refused; then its domain)."""
        set_ = object.__setattr__
        set_(self, "bs_xy_m", _xy_tuple(self.bs_xy_m, "bs_xy_m"))
        set_(self, "ut_xy_m", _xy_tuple(self.ut_xy_m, "ut_xy_m"))
        set_(self, "ris_xy_m", _xy_tuple(self.ris_xy_m, "ris_xy_m"))
        k = len(self.bs_xy_m)
        if k < 1:
            raise PlkgInputError("need at least one cell (bs_xy_m is empty)")
        if len(self.ut_xy_m) != k:
            raise PlkgInputError(
                f"ut_xy_m: need one UT per BS: {k} BSs but {len(self.ut_xy_m)} UTs"
            )
        if len(self.ris_xy_m) < 1:
            raise PlkgInputError("need at least one RIS (ris_xy_m is empty)")
        for attr in ("n_ris_elements", "n_antennas", "n_rf_chains"):
            set_(self, attr, _count(getattr(self, attr), attr))
        if self.n_rf_chains > self.n_antennas:
            raise PlkgInputError(
                f"n_rf_chains M_e={self.n_rf_chains} must not exceed n_antennas M={self.n_antennas}"
            )
        for attr, bound in _REAL_FIELDS.items():
            low, strict = bound if bound is not None else (None, False)
            set_(self, attr, check_number(getattr(self, attr), attr, low=low, low_open=strict))
        set_(
            self, "include_rician_mean", check_flag(self.include_rician_mean, "include_rician_mean")
        )
        if not isinstance(self.name, str) or not self.name.strip():
            raise PlkgInputError(f"name must be a non-empty string, got {describe(self.name)}")
        self._check_modelling_options()
        if self.weights is None:
            set_(self, "weights", tuple(1.0 for _ in range(k)))
        else:
            w = check_real_array(self.weights, "weights", ndim=(0, 1), nonnegative=True)
            w = tuple(float(x) for x in np.atleast_1d(w))
            if len(w) != k:
                raise PlkgInputError(f"weights must have one entry per cell ({k}), got {len(w)}")
            if sum(w) <= 0:
                raise PlkgInputError(f"weights must be finite, >= 0 and not all zero, got {w}")
            set_(self, "weights", w)
        self._check_geometry()

    def _check_modelling_options(self) -> None:
        """The paper-reading switches: LoS angles and direct-link correlation."""
        check_choice(self.los_angles, LOS_ANGLES, "los_angles")
        check_choice(self.direct_correlation, DIRECT_CORRELATIONS, "direct_correlation")
        check_number(
            self.direct_correlation_coeff,
            "direct_correlation_coeff",
            low=0.0,
            high=1.0,
            high_open=True,
        )
        object.__setattr__(self, "los_seed", check_integer(self.los_seed, "los_seed", low=0))

    def array_axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors of the BS and RIS ULA axes (horizontal plane).

        Returns
        -------
        bs_axis, ris_axis : ndarray, shape [3], float64
            Dimensionless unit vectors at ``bs_array_axis_deg`` and ``ris_array_axis_deg`` from
            the x-axis.
        """

        def axis(deg: float) -> np.ndarray:
            rad = math.radians(deg)
            return np.array([math.cos(rad), math.sin(rad), 0.0])

        return axis(self.bs_array_axis_deg), axis(self.ris_array_axis_deg)

    def _check_geometry(self) -> None:
        nodes = (
            [(f"BS {i + 1}", p) for i, p in enumerate(self.bs_positions_m())]
            + [(f"UT {j + 1}", p) for j, p in enumerate(self.ut_positions_m())]
            + [(f"RIS {r + 1}", p) for r, p in enumerate(self.ris_positions_m())]
        )
        tol = self.min_separation_m
        for a in range(len(nodes)):
            for b in range(a + 1, len(nodes)):
                (name_a, pa), (name_b, pb) = nodes[a], nodes[b]
                d3 = float(np.linalg.norm(pa - pb))
                if d3 < tol:
                    raise PlkgInputError(
                        f"bad geometry: {name_a} and {name_b} are {d3:.3g} m apart "
                        f"(< min_separation_m = {tol} m): zero link distance"
                    )
                pair = {name_a.split()[0], name_b.split()[0]}
                if pair == {"BS", "RIS"}:
                    dh = float(np.linalg.norm(pa[:2] - pb[:2]))
                    if dh < tol:
                        raise PlkgInputError(
                            f"bad geometry: {name_a} and {name_b} share the same horizontal "
                            f"position ({dh:.3g} m < min_separation_m = {tol} m): RIS on a BS"
                        )

    # ---- derived quantities -------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        """K."""
        return len(self.bs_xy_m)

    @property
    def n_ris(self) -> int:
        """L."""
        return len(self.ris_xy_m)

    @property
    def bs_power_w(self) -> float:
        """P_A in watt."""
        return float(units.dbm_to_w(self.bs_power_dbm))

    @property
    def ut_power_w(self) -> float:
        """UT pilot power in watt."""
        return float(units.dbm_to_w(self.ut_power_dbm))

    @property
    def noise_w(self) -> float:
        """Noise power in watt."""
        return float(units.dbm_to_w(self.noise_dbm))

    def _positions(self, xy, height) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return np.concatenate([xy, np.full((xy.shape[0], 1), height)], axis=1)

    def bs_positions_m(self) -> np.ndarray:
        """BS positions (x, y, height).

        Returns
        -------
        ndarray, shape [K, 3], float64, metres
        """
        return self._positions(self.bs_xy_m, self.bs_height_m)

    def ut_positions_m(self) -> np.ndarray:
        """UT positions (x, y, height).

        Returns
        -------
        ndarray, shape [K, 3], float64, metres
        """
        return self._positions(self.ut_xy_m, self.ut_height_m)

    def ris_positions_m(self) -> np.ndarray:
        """RIS positions (x, y, height).

        Returns
        -------
        ndarray, shape [L, 3], float64, metres
        """
        return self._positions(self.ris_xy_m, self.ris_height_m)

    def replace(self, **changes) -> RISScenario:
        """A validated copy with some fields changed; an unknown field is refused.

        Parameters
        ----------
        **changes
            New values of fields, by field name (same types and units as the constructor).

        Returns
        -------
        RISScenario
            The changed copy; ``self`` is left as it is.

        Raises
        ------
        PlkgInputError
            An unknown field name, or a new value that fails the field's check.
        """
        fields = [f.name for f in dataclasses.fields(self)]
        check_options(changes, fields, call="RISScenario.replace()", owner="RISScenario")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as a plain mapping (tuples as lists), as a YAML scenario file holds them.

        Returns
        -------
        dict
            Field name -> value.
        """
        out = dataclasses.asdict(self)
        for key in ("bs_xy_m", "ut_xy_m", "ris_xy_m"):
            out[key] = [list(p) for p in out[key]]
        out["weights"] = list(out["weights"])
        return out


def two_cell(**overrides) -> RISScenario:
    """The two-cell layout of Fig. 3: BSs at x = 0 and 600 m, UTs at 280/320 m, RIS at 300 m."""
    return RISScenario(**{"name": "ris-two-cell", **overrides})


def two_cell_ut_position(x_u_m: float, **overrides) -> RISScenario:
    """Fig. 10 movement: UT 1 at (x_u, 0) and UT 2 at (600 - x_u, 0)."""
    return two_cell(ut_xy_m=((x_u_m, 0.0), (600.0 - x_u_m, 0.0)), **overrides)


def four_cell(**overrides) -> RISScenario:
    """The four-cell layout of Fig. 11 (one RIS at point B unless ``ris_xy_m`` is given)."""
    base = {
        "bs_xy_m": (FOUR_CELL_POINTS[f"BS{i}"] for i in range(1, 5)),
        "ut_xy_m": ((280.0, 0.0), (320.0, 0.0), (280.0, 600.0), (320.0, 600.0)),
        "ris_xy_m": (FOUR_CELL_POINTS["B"],),
        "name": "ris-four-cell",
    }
    base["bs_xy_m"] = tuple(base["bs_xy_m"])
    return RISScenario(**{**base, **overrides})


def scheme_ris_positions(
    n_ris: int, scheme: int, fraction: float
) -> tuple[tuple[float, float], ...]:
    """RIS positions of a Fig. 12 movement scheme at ``fraction`` in [0, 1] along each path.

    Parameters
    ----------
    n_ris : int
        1 (single RIS) or 2 (two RISs).
    scheme : int
        1, 2 or 3 (Section V-C).
    fraction : float
        Position along each path, 0 = start point, 1 = end point.
    """
    key = (int(n_ris), int(scheme))
    if key not in FOUR_CELL_SCHEMES:
        raise ValueError(f"unknown movement scheme {scheme} for {n_ris} RIS(s); use 1, 2 or 3")
    if not (0.0 <= float(fraction) <= 1.0):
        raise ValueError(f"fraction along the path must be in [0, 1], got {fraction}")
    out = []
    for start, end in FOUR_CELL_SCHEMES[key]:
        a = np.asarray(FOUR_CELL_POINTS[start])
        b = np.asarray(FOUR_CELL_POINTS[end])
        p = a + float(fraction) * (b - a)
        out.append((float(p[0]), float(p[1])))
    return tuple(out)


def four_cell_scheme(n_ris: int, scheme: int, fraction: float, **overrides) -> RISScenario:
    """Four-cell scenario with the RIS(s) placed by a Fig. 12 movement scheme."""
    return four_cell(ris_xy_m=scheme_ris_positions(n_ris, scheme, fraction), **overrides)


_FIELDS = {f.name for f in dataclasses.fields(RISScenario)}


def load_ris_scenario(name_or_path: str | Path, **overrides) -> RISScenario:
    """A RIS scenario by layout name, ``configs/`` name or YAML path, with fields overridden.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        ``"two-cell"`` (Fig. 3), ``"four-cell"`` (Fig. 11), a ``configs/`` name (``"ris-fig6"``)
        or the path of a YAML file with top-level ``system: ris`` (and optionally
        ``layout: two-cell|four-cell``, the base the file's fields override).
    **overrides
        :class:`RISScenario` fields, applied last.

    Returns
    -------
    RISScenario
        The validated scenario.

    Raises
    ------
    PlkgTypeError
        ``name_or_path`` is not a str or path; an override is not a RISScenario field.
    FileNotFoundError
        No such layout, config or file.
    PlkgInputError
        A folder, a file that is not UTF-8 or not YAML, a key given twice, an unknown or invalid
        field; the message names the file or field.
    """
    from plkg.io.yaml_file import read_yaml  # PyYAML only when a file is read

    path = check_path(name_or_path, "name_or_path", must_exist=False)
    check_options(overrides, sorted(_FIELDS), call="load_ris_scenario()", owner="RISScenario")
    if name_or_path in ("two-cell", "four-cell"):
        builder = two_cell if name_or_path == "two-cell" else four_cell
        return builder(**overrides)
    if not path.exists() and not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            2, f"no RIS scenario named {str(name_or_path)!r} (no such file)", str(path)
        )
    data = read_yaml(path, what="RIS scenario file")
    if not isinstance(data, dict):
        raise PlkgInputError(
            f"RIS scenario file {str(path)!r}: expected a mapping at the top level"
        )
    if data.get("system") != "ris":
        raise PlkgInputError(
            f"RIS scenario file {str(path)!r}: not a RIS scenario (top-level 'system' must be 'ris')"
        )
    data = {k: v for k, v in data.items() if k != "system"}
    layout = data.pop("layout", "two-cell")
    unknown = set(data) - _FIELDS
    if unknown:
        raise PlkgInputError(
            f"RIS scenario file {str(path)!r}: unknown RIS scenario field(s) {sorted(map(str, unknown))}"
        )
    if layout not in ("two-cell", "four-cell"):
        raise PlkgInputError(
            f"RIS scenario file {str(path)!r}: layout must be 'two-cell' or 'four-cell', got {layout!r}"
        )
    builder = two_cell if layout == "two-cell" else four_cell
    return builder(**{**data, **overrides})
