"""RIS-aided multi-cell scenario (Section II and V of the RIS paper).

A :class:`RISScenario` is a frozen, self-validating dataclass holding the geometry (K cells, one
M-antenna BS and one single-antenna UT per cell, L RISs of N elements) and the link parameters of
Section V-A. :func:`two_cell` builds the Fig. 3 layout, :func:`four_cell` the Fig. 11 layout, and
:func:`four_cell_scheme` the RIS movement schemes of Fig. 12. :func:`load_ris_scenario` reads a
``configs/ris-*.yaml`` file (top-level key ``system: ris``) or accepts ``two-cell``/``four-cell``.

Coordinates are horizontal ``(x, y)`` in metres; heights come from ``*_height_m`` (Section V-A
gives heights 30 m / 10 m / 1.5 m but also lists z-coordinates that contradict them; we use the
heights, see ``docs/assumptions.md``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plkg import defaults, units

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


# Paper-reading switches (issue 12, docs/assumptions.md); the first entry is the default.
LOS_ANGLES = ("geometric", "random")
DIRECT_CORRELATIONS = ("iid", "exponential")


def _xy_tuple(values, name: str) -> tuple[tuple[float, float], ...]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a list of (x, y) pairs in metres, got {values!r}"
        ) from exc
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape [n, 2] ((x, y) in metres), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    return tuple((float(x), float(y)) for x, y in arr)


@dataclass(frozen=True)
class RISScenario:
    """K-cell RIS-aided key-generation scenario (Fig. 1 of the RIS paper).

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
        UT uplink pilot power. The paper's Eq. (4) uses |s|^2 = 1 without a power; we expose it.
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
        Spatial correlation of the Rayleigh BS-UT links: ``"iid"`` (default) R^d = zeta_0 d^-alpha I_M;
        ``"exponential"`` R^d = zeta_0 d^-alpha T, T_{mn} = rho^|m-n| with
        rho = ``direct_correlation_coeff`` (R^d of Eq. (12) and Theorem 2).
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
        set_ = object.__setattr__
        set_(self, "bs_xy_m", _xy_tuple(self.bs_xy_m, "bs_xy_m"))
        set_(self, "ut_xy_m", _xy_tuple(self.ut_xy_m, "ut_xy_m"))
        set_(self, "ris_xy_m", _xy_tuple(self.ris_xy_m, "ris_xy_m"))
        k = len(self.bs_xy_m)
        if k < 1:
            raise ValueError("need at least one cell (bs_xy_m is empty)")
        if len(self.ut_xy_m) != k:
            raise ValueError(f"need one UT per BS: {k} BSs but {len(self.ut_xy_m)} UTs")
        if len(self.ris_xy_m) < 1:
            raise ValueError("need at least one RIS (ris_xy_m is empty)")
        for attr in ("n_ris_elements", "n_antennas", "n_rf_chains"):
            value = getattr(self, attr)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.integer, np.floating))
                or int(value) != value
                or int(value) < 1
            ):
                raise ValueError(f"{attr} must be a positive integer, got {value!r}")
            set_(self, attr, int(value))
        if self.n_rf_chains > self.n_antennas:
            raise ValueError(
                f"n_rf_chains M_e={self.n_rf_chains} must not exceed n_antennas M={self.n_antennas}"
            )
        for attr in (
            "bs_power_dbm",
            "ut_power_dbm",
            "noise_dbm",
            "pathloss_ref_db",
            "alpha_bu",
            "alpha_br",
            "alpha_ru",
            "rician_factor",
            "bs_height_m",
            "ris_height_m",
            "ut_height_m",
            "bs_spacing_wavelengths",
            "ris_spacing_wavelengths",
            "min_separation_m",
            "bs_array_axis_deg",
            "ris_array_axis_deg",
            "direct_correlation_coeff",
        ):
            raw = getattr(self, attr)
            if isinstance(raw, bool) or not isinstance(raw, (int, float, np.integer, np.floating)):
                raise ValueError(f"{attr} must be a finite number, got {raw!r}")
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(f"{attr} must be finite, got {value!r}")
            set_(self, attr, value)
        for attr in ("alpha_bu", "alpha_br", "alpha_ru", "bs_spacing_wavelengths"):
            if getattr(self, attr) <= 0:
                raise ValueError(f"{attr} must be positive, got {getattr(self, attr)}")
        if self.ris_spacing_wavelengths <= 0:
            raise ValueError("ris_spacing_wavelengths must be positive")
        if self.rician_factor < 0:
            raise ValueError(f"rician_factor must be >= 0, got {self.rician_factor}")
        for attr in ("bs_height_m", "ris_height_m", "ut_height_m"):
            if getattr(self, attr) < 0:
                raise ValueError(f"{attr} must be >= 0, got {getattr(self, attr)}")
        if self.min_separation_m <= 0:
            raise ValueError("min_separation_m must be positive")
        self._check_modelling_options()
        if self.weights is None:
            set_(self, "weights", tuple(1.0 for _ in range(k)))
        else:
            w = tuple(float(x) for x in np.atleast_1d(np.asarray(self.weights, dtype=np.float64)))
            if len(w) != k:
                raise ValueError(f"weights must have one entry per cell ({k}), got {len(w)}")
            if not all(math.isfinite(x) and x >= 0 for x in w) or sum(w) <= 0:
                raise ValueError(f"weights must be finite, >= 0 and not all zero, got {w}")
            set_(self, "weights", w)
        self._check_geometry()

    def _check_modelling_options(self) -> None:
        """The paper-reading switches (issue 12): LoS angles and direct-link correlation."""
        if self.los_angles not in LOS_ANGLES:
            raise ValueError(
                f"los_angles must be one of {', '.join(LOS_ANGLES)}, got {self.los_angles!r}"
            )
        if self.direct_correlation not in DIRECT_CORRELATIONS:
            raise ValueError(
                f"direct_correlation must be one of {', '.join(DIRECT_CORRELATIONS)}, "
                f"got {self.direct_correlation!r}"
            )
        if not 0 <= self.direct_correlation_coeff < 1:
            raise ValueError(
                f"direct_correlation_coeff must lie in [0, 1), got {self.direct_correlation_coeff!r}"
            )
        seed = self.los_seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"los_seed must be an integer >= 0, got {seed!r}")

    def array_axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors [3] of the BS and RIS ULA axes (horizontal plane)."""

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
                    raise ValueError(
                        f"bad geometry: {name_a} and {name_b} are {d3:.3g} m apart "
                        f"(< min_separation_m = {tol} m): zero link distance"
                    )
                pair = {name_a.split()[0], name_b.split()[0]}
                if pair == {"BS", "RIS"}:
                    dh = float(np.linalg.norm(pa[:2] - pb[:2]))
                    if dh < tol:
                        raise ValueError(
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
        """BS positions, shape [K, 3], metres."""
        return self._positions(self.bs_xy_m, self.bs_height_m)

    def ut_positions_m(self) -> np.ndarray:
        """UT positions, shape [K, 3], metres."""
        return self._positions(self.ut_xy_m, self.ut_height_m)

    def ris_positions_m(self) -> np.ndarray:
        """RIS positions, shape [L, 3], metres."""
        return self._positions(self.ris_xy_m, self.ris_height_m)

    def replace(self, **changes) -> RISScenario:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
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


def load_ris_scenario(name_or_path: str, **overrides) -> RISScenario:
    """``two-cell``, ``four-cell``, a ``configs/`` name, or a YAML path with ``system: ris``."""
    import yaml

    if name_or_path in ("two-cell", "four-cell"):
        builder = two_cell if name_or_path == "two-cell" else four_cell
        return builder(**overrides)
    path = Path(name_or_path)
    if not path.exists() and not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no RIS scenario named {name_or_path!r} (file {path} not found)")
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        what = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "malformed YAML"
        raise ValueError(f"RIS scenario file {str(path)!r} is {what}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    if data.get("system") != "ris":
        raise ValueError(f"{path}: not a RIS scenario (top-level 'system' must be 'ris')")
    data = {k: v for k, v in data.items() if k != "system"}
    layout = data.pop("layout", "two-cell")
    unknown = set(data) - _FIELDS
    if unknown:
        raise ValueError(f"{path}: unknown RIS scenario field(s) {sorted(unknown)}")
    if layout not in ("two-cell", "four-cell"):
        raise ValueError(f"{path}: layout must be 'two-cell' or 'four-cell', got {layout!r}")
    builder = two_cell if layout == "two-cell" else four_cell
    return builder(**{**data, **overrides})
