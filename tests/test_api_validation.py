"""Every name exported by ``plkg`` checks its arguments at the door (docs/reliability.md, class 6).

A hostile caller's None, wrong type, numeric string, bool, NaN, inf, negative value, empty or
wrongly shaped array, complex value, unknown keyword, folder or missing file is refused before any
work with a one-line message naming the parameter: a ``TypeError`` for a wrong type
(:class:`plkg.errors.PlkgTypeError`), a ``ValueError`` (:class:`plkg.errors.PlkgInputError`) for a
wrong value, an ``OSError`` for a missing file - never an AttributeError or a NumPy TypeError from
deep inside, never a silent NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import plkg
from plkg.errors import PlkgInputError, PlkgTypeError
from plkg.solvers.options import check_max_iter, check_rtol

pytestmark = pytest.mark.surface

NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def scenario():
    return plkg.NearFieldScenario(
        n_antennas=32,
        ue_distance_m=(6.0, 12.0),
        ue_angle_rad=(-0.4, 0.5),
        scatter_radius_m=1.0,
        n_scatterers=16,
        ccm_draws=4,
        name="small",
    )


@pytest.fixture(scope="module")
def design(scenario):
    return plkg.design_for_scenario(scenario, cache=False)


@pytest.fixture(scope="module")
def allocators():
    return (
        plkg.Allocator.from_checkpoint(backend="numpy"),
        plkg.FairnessAllocator.from_checkpoint(backend="numpy"),
    )


@pytest.fixture(scope="module")
def ris_scenario():
    return plkg.load_ris_scenario("two-cell")


def refused(call, culprit: str, kind=(TypeError, ValueError)):
    """``call()`` raises ``kind`` (a plkg input error, not a stray library error) with one line
    naming ``culprit``; returns the message."""
    with pytest.raises(kind) as info:
        call()
    exc = info.value
    assert isinstance(exc, (PlkgInputError, OSError)) or type(exc) is ValueError, repr(exc)
    assert not isinstance(exc, AttributeError)
    message = str(exc)
    assert "\n" not in message, message
    assert culprit in message, message
    return message


# ---------------------------------------------------------------- every export is covered
CALLABLE_EXPORTS = {
    "NearFieldScenario",
    "load_scenario",
    "available_scenarios",
    "scenario_ccm",
    "SubchannelDesign",
    "design_for_scenario",
    "design_subchannels",
    "allocate",
    "bind",
    "evaluate_allocation",
    "KeyRateReport",
    "Allocator",
    "FairnessAllocator",
    "load_checkpoint",
    "RISScenario",
    "load_ris_scenario",
    "solve_ris",
}


def test_the_tested_names_are_the_exported_ones():
    exported = {n for n in plkg.__all__ if callable(getattr(plkg, n)) and n[0] != "_"}
    assert exported == CALLABLE_EXPORTS, exported ^ CALLABLE_EXPORTS


def test_unknown_attribute_and_dir():
    with pytest.raises(AttributeError, match="no attribute 'alocate'"):
        plkg.alocate  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        plkg.nonexistent  # noqa: B018
    assert dir(plkg) == sorted(plkg.__all__)
    assert all(getattr(plkg, name) is not None for name in dir(plkg))


def test_available_scenarios_takes_no_argument():
    assert "fig6" in plkg.available_scenarios()
    with pytest.raises(TypeError):
        plkg.available_scenarios("fig6")


# ---------------------------------------------------------------- allocate
WRONG_POWERS = [
    (None, PlkgTypeError),
    ("1", PlkgTypeError),
    (True, PlkgTypeError),
    (1j, PlkgTypeError),
    (np.array([1.0, 2.0]), PlkgTypeError),
    ([1.0], PlkgTypeError),
    (NAN, PlkgInputError),
    (INF, PlkgInputError),
    (-INF, PlkgInputError),
    (-1.0, PlkgInputError),
    (-1e-300, PlkgInputError),
]


@pytest.mark.parametrize(("pa", "kind"), WRONG_POWERS)
def test_allocate_refuses_power(design, pa, kind):
    refused(lambda: plkg.allocate("wfpa", design, pa), "pa_w", kind)


def test_allocate_power_domain_is_the_clis(design):
    # --pa-w: finite and >= 0 (0 W is a valid, empty budget for the sum-rate methods)
    assert plkg.allocate("wfpa", design, 0.0).x_w.sum() == 0.0
    assert plkg.allocate("epa", design, np.float64(1e-3)).x_w.sum() == pytest.approx(1e-3)


@pytest.mark.parametrize(
    ("value", "kind", "culprit"),
    [
        ("design", PlkgTypeError, "got str 'design'"),
        (None, PlkgTypeError, "got None"),
        ({"m_a": 1}, PlkgTypeError, "SubchannelDesign"),
        (np.ones(3), PlkgTypeError, "SubchannelDesign"),
    ],
)
def test_allocate_refuses_design(value, kind, culprit):
    message = refused(lambda: plkg.allocate("wfpa", value, 1.0), culprit, kind)
    assert message.startswith("design must be a SubchannelDesign (from plkg.design_for_scenario)")


@pytest.mark.parametrize(
    ("method", "kind"),
    [(None, PlkgTypeError), (3, PlkgTypeError), ("WFPA", PlkgInputError), ("", PlkgInputError)],
)
def test_allocate_refuses_method(design, method, kind):
    message = refused(lambda: plkg.allocate(method, design, 1.0), "method", kind)
    assert all(name in message for name in plkg.ALLOCATION_METHODS)


@pytest.mark.parametrize("method", sorted(plkg.ALLOCATION_METHODS))
def test_allocate_refuses_unknown_option(design, method):
    from plkg.inference.methods import METHOD_OPTIONS

    message = refused(
        lambda: plkg.allocate(method, design, 1.0, bogus=3), "unknown option 'bogus'", TypeError
    )
    assert message.startswith(f"allocate() got an unknown option 'bogus'; options of '{method}':")
    for option in (*METHOD_OPTIONS[method], "scenario", "allow_extrapolation", "backend"):
        assert option in message


@pytest.mark.parametrize("method", ["wfpa", "exact-maxmin"])
@pytest.mark.parametrize("value", [0, 0.0, 1.0, 2.0, -1e-3, NAN, INF, "1e-6", True, None])
def test_solver_tolerance_domain_is_check_rtol(design, method, value):
    with pytest.raises(ValueError) as cli:
        check_rtol(value, "rtol")
    message = refused(lambda: plkg.allocate(method, design, 1e-3, rtol=value), "rtol")
    assert message == str(cli.value)


@pytest.mark.parametrize("method", ["wfpa", "exact-maxmin"])
@pytest.mark.parametrize("value", [0, -1, 2.5, 10.0, "10", True, None])
def test_solver_iteration_cap_domain_is_check_max_iter(design, method, value):
    with pytest.raises(ValueError) as cli:
        check_max_iter(value, "max_iter")
    message = refused(lambda: plkg.allocate(method, design, 1e-3, max_iter=value), "max_iter")
    assert message == str(cli.value)


@pytest.mark.parametrize(
    ("method", "options", "culprit"),
    [
        ("epa", {"rtol": 1e-6}, "unknown option 'rtol'"),
        ("wfpa", {"checkpoint": "x.safetensors"}, "unknown option 'checkpoint'"),
        ("wfpa", {"scenario": "fig6"}, "scenario must be a NearFieldScenario"),
        ("wfpa", {"allow_extrapolation": "yes"}, "allow_extrapolation must be True or False"),
        ("wfpa", {"backend": "jax"}, "backend must be one of 'torch', 'numpy'"),
        ("fnnpa", {"checkpoint": 3}, "checkpoint must be a path"),
        ("fnnpakf", {"mapping": "bogus"}, "mapping must be one of"),
        ("wfpakf", {"variant": "fast"}, "variant must be one of"),
        ("cvxpakf", {"solvers": 3}, "solvers must be"),
        ("cvxpakf", {"accept_inaccurate": 1}, "accept_inaccurate must be True or False"),
        ("exact-maxmin", {"max_joint_iter": 0}, "max_joint_iter"),
        ("fnnpakf-general", {"newton_steps": -1}, "newton_steps must be an integer >= 0"),
        ("fnnpa-general", {"budget": "all"}, "budget must be one of"),
        ("interp", {"dataset": 3}, "dataset must be a path"),
    ],
)
def test_allocate_refuses_option_values(design, method, options, culprit):
    refused(lambda: plkg.allocate(method, design, 1e-3, **options), culprit)


def test_allocate_takes_the_options_the_cli_passes(design, scenario):
    # plkg keyrate passes scenario, allow_extrapolation and backend to whichever method runs
    common = {"scenario": scenario, "allow_extrapolation": False, "backend": "numpy"}
    assert plkg.allocate("epa", design, 1e-3, **common).status == "closed_form"
    result = plkg.allocate("wfpa", design, 1e-3, rtol=1e-10, max_iter=200, **common)
    assert result.status == "optimal"


# ---------------------------------------------------------------- designs and key rates
def test_scenario_ccm_refuses(scenario):
    refused(lambda: plkg.scenario_ccm(None), "scenario", TypeError)
    refused(lambda: plkg.scenario_ccm("fig6"), "scenario", TypeError)
    refused(lambda: plkg.scenario_ccm(scenario, rng=3), "rng", TypeError)


def test_design_for_scenario_refuses(scenario):
    for value, culprit in [(None, "got None"), ("fig6", "got str 'fig6'"), (3, "got int 3")]:
        message = refused(lambda v=value: plkg.design_for_scenario(v), culprit, PlkgTypeError)
        assert message.startswith("scenario must be a NearFieldScenario (from plkg.load_scenario)")
    refused(lambda: plkg.design_for_scenario(scenario, cache="no"), "cache", PlkgTypeError)
    refused(lambda: plkg.design_for_scenario(scenario, ccm="x"), "ccm", PlkgTypeError)
    refused(lambda: plkg.design_for_scenario(scenario, ccm=np.eye(4)[None]), "ccm", PlkgInputError)


@pytest.mark.parametrize(
    ("changes", "culprit", "kind"),
    [
        ({"ccm": None}, "ccm", PlkgTypeError),
        ({"ccm": "x"}, "ccm", PlkgTypeError),
        ({"noise_bs_w": "1e-14"}, "noise_bs_w", PlkgTypeError),
        ({"noise_ue_w": NAN}, "noise_ue_w", PlkgInputError),
        ({"ue_power_w": 0.0}, "ue_power_w", PlkgInputError),
        ({"ue_power_w": True}, "ue_power_w", PlkgTypeError),
        ({"uplink_pilot_len": 1.5}, "uplink_pilot_len", PlkgTypeError),
        ({"downlink_pilot_len": 0}, "downlink_pilot_len", PlkgInputError),
        ({"null_space_rtol": 0.0}, "null_space_rtol", PlkgInputError),
        ({"subchannel_rtol": "small"}, "subchannel_rtol", PlkgTypeError),
        ({"cut_window": 1.0}, "cut_window", PlkgInputError),
        ({"subchannel_count": "all"}, "subchannel_count", PlkgInputError),
    ],
)
def test_design_subchannels_refuses(design, changes, culprit, kind):
    args = {"ccm": design.ccm, "noise_bs_w": 1e-14, "noise_ue_w": 1e-14, "ue_power_w": 0.1}
    refused(lambda: plkg.design_subchannels(**{**args, **changes}), culprit, kind)


def test_subchannel_design_constructor_refuses(design):
    import dataclasses

    fields = {f.name: getattr(design, f.name) for f in dataclasses.fields(design)}
    for changes, culprit in [
        ({"ccm": None}, "ccm"),
        ({"m_a": design.m_a[:-1]}, "m_a"),
        ({"m_b": -design.m_b}, "m_b"),
        ({"user": design.user.astype(float)}, "user"),
        ({"directions": design.directions[:1]}, "directions"),
        ({"sigma2_a_hat_w": NAN}, "sigma2_a_hat_w"),
        ({"uplink_pilot_len": 0}, "uplink_pilot_len"),
    ]:
        refused(lambda c=changes: plkg.SubchannelDesign(**{**fields, **c}), culprit)


@pytest.mark.parametrize(
    ("x", "culprit", "kind"),
    [
        (None, "x_w", PlkgTypeError),
        ("1", "x_w", PlkgTypeError),
        (True, "x_w", PlkgTypeError),
        ("complex", "x_w", PlkgTypeError),
        ("short", "N_D", PlkgInputError),
        ([], "N_D", PlkgInputError),
        ("nan", "NaN", PlkgInputError),
        ("inf", "NaN or inf", PlkgInputError),
        ("negative", "negative power", PlkgInputError),
        ("2d", "one allocation", PlkgInputError),
    ],
)
def test_evaluate_allocation_refuses(design, x, culprit, kind):
    n = design.n_total
    x = (
        {
            "complex": np.ones(n) * (1 + 1j),
            "short": np.ones(n - 1),
            "nan": np.full(n, NAN),
            "inf": np.full(n, INF),
            "negative": -np.ones(n),
            "2d": np.ones((2, n)),
        }.get(x, x)
        if isinstance(x, str) and x != "1"
        else x
    )
    refused(lambda: plkg.evaluate_allocation(design, x), culprit, kind)


def test_evaluate_allocation_refuses_design(design):
    for value in (None, "design", design.m_a):
        message = refused(
            lambda v=value: plkg.evaluate_allocation(v, np.ones(design.n_total)), "design"
        )
        assert message.startswith("design must be a SubchannelDesign")


def test_key_rate_report_refuses():
    refused(lambda: plkg.KeyRateReport(None, None), "kr_bits", PlkgTypeError)
    refused(lambda: plkg.KeyRateReport([1.0, NAN], [1.0, 1.0]), "kr_bits", PlkgInputError)
    refused(lambda: plkg.KeyRateReport([1.0], [1.0, 2.0]), "c_bits", PlkgInputError)
    refused(lambda: plkg.KeyRateReport([], []), "kr_bits", PlkgInputError)
    assert plkg.KeyRateReport([1.0, 2.0], [1.0, 2.0]).sum_kr_bits == 3.0


# ---------------------------------------------------------------- units
UNIT_FUNCTIONS = [
    ("dbm_to_w", "power_dbm"),
    ("w_to_dbm", "power_w"),
    ("db_to_linear", "value_db"),
    ("linear_to_db", "value"),
]


@pytest.mark.parametrize(("function", "name"), UNIT_FUNCTIONS)
@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, PlkgTypeError),
        ("10", PlkgTypeError),
        (True, PlkgTypeError),
        (1j, PlkgTypeError),
        ([1.0, None], PlkgTypeError),
        ([[1.0], [1.0, 2.0]], PlkgTypeError),
        (NAN, PlkgInputError),
        (INF, PlkgInputError),
        (-INF, PlkgInputError),
        ([1.0, NAN], PlkgInputError),
    ],
)
def test_units_refuse(function, name, value, kind):
    if value == -INF and function in ("dbm_to_w", "db_to_linear"):
        # -inf dBm / dB is the exact image of 0 W / ratio 0: going back gives 0
        assert getattr(plkg.units, function)(value) == 0.0
        return
    refused(lambda: getattr(plkg.units, function)(value), name, kind)


def test_units_signs_zero_and_arrays():
    refused(lambda: plkg.units.w_to_dbm(-1e-3), "power_w", PlkgInputError)
    refused(lambda: plkg.units.linear_to_db([1.0, -0.5]), "index 1", PlkgInputError)
    # 0 W is -inf dBm (exact, documented); going back gives 0 W
    assert plkg.units.w_to_dbm(0.0) == -INF and plkg.units.linear_to_db(0) == -INF
    assert plkg.units.dbm_to_w(plkg.units.w_to_dbm(0.0)) == 0.0
    assert plkg.units.db_to_linear(plkg.units.linear_to_db(0)) == 0.0
    assert plkg.units.dbm_to_w(-300.0) > 0
    np.testing.assert_allclose(plkg.units.dbm_to_w(np.array([[0.0, 30.0]])), [[1e-3, 1.0]])
    assert plkg.units.dbm_to_w([]).shape == (0,)
    assert isinstance(plkg.units.dbm_to_w(np.int64(30)), np.floating)
    for bad, kind in [(None, PlkgTypeError), ("3.5e9", PlkgTypeError), (0.0, PlkgInputError)]:
        refused(lambda b=bad: plkg.units.wavelength_m(b), "carrier_hz", kind)


# ---------------------------------------------------------------- scenarios
NEARFIELD_REAL_FIELDS = [
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
]
NEARFIELD_INTEGER_FIELDS = [
    "n_antennas",
    "downlink_pilot_len",
    "uplink_pilot_len",
    "n_scatterers",
    "ccm_draws",
    "seed",
]
BAD_REALS = [(None, PlkgTypeError), ("1", PlkgTypeError), (True, PlkgTypeError)]
BAD_REALS += [(1j, PlkgTypeError), ([1.0], PlkgTypeError), (NAN, PlkgInputError)]
BAD_REALS += [(INF, PlkgInputError), (-INF, PlkgInputError)]


@pytest.mark.parametrize("field", NEARFIELD_REAL_FIELDS)
@pytest.mark.parametrize(("value", "kind"), BAD_REALS)
def test_nearfield_scenario_refuses_real_field(field, value, kind):
    message = refused(lambda: plkg.NearFieldScenario(**{field: value}), field, kind)
    assert message.startswith(field)


@pytest.mark.parametrize(
    "field",
    [
        "carrier_hz",
        "spacing_wavelengths",
        "pathloss_ref_distance_m",
        "pathloss_exponent",
        "scatter_radius_m",
        "null_space_rtol",
        "subchannel_rtol",
        "cut_window",
        "wedge_angle_spread_rad",
        "wedge_distance_spread_m",
    ],
)
def test_nearfield_scenario_refuses_negative_field(field):
    refused(lambda: plkg.NearFieldScenario(**{field: -1.0}), field, PlkgInputError)


@pytest.mark.parametrize("field", NEARFIELD_INTEGER_FIELDS)
@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, PlkgTypeError),
        ("4", PlkgTypeError),
        (True, PlkgTypeError),
        (4.0, PlkgTypeError),
        (NAN, PlkgTypeError),
        (-1, PlkgInputError),
    ],
)
def test_nearfield_scenario_refuses_integer_field(field, value, kind):
    if field == "downlink_pilot_len" and value is None:
        assert plkg.NearFieldScenario(downlink_pilot_len=None).downlink_pilot_len is None
        return
    refused(lambda: plkg.NearFieldScenario(**{field: value}), field, kind)


@pytest.mark.parametrize(
    ("changes", "culprit", "kind"),
    [
        ({"ue_distance_m": None}, "ue_distance_m", PlkgTypeError),
        ({"ue_distance_m": ("20", "40", "80", "100")}, "ue_distance_m", PlkgTypeError),
        ({"ue_distance_m": (20.0, NAN, 80.0, 100.0)}, "ue_distance_m", PlkgInputError),
        ({"ue_distance_m": (20.0, -40.0, 80.0, 100.0)}, "ue_distance_m", PlkgInputError),
        ({"ue_distance_m": [[20.0, 40.0]]}, "ue_distance_m", PlkgInputError),
        ({"ue_angle_rad": (0.1j, 0.0, 0.0, 0.0)}, "ue_angle_rad", PlkgTypeError),
        ({"ue_angle_rad": (0.1, 0.0, 2.0, 0.0)}, "ue_angle_rad", PlkgInputError),
        ({"ue_distance_m": (), "ue_angle_rad": ()}, "ue_distance_m", PlkgInputError),
        ({"name": ""}, "name", PlkgInputError),
        ({"name": None}, "name", PlkgInputError),
        ({"scatterer_model": None}, "scatterer_model", PlkgTypeError),
        ({"subchannel_count": "all"}, "subchannel_count", PlkgInputError),
    ],
)
def test_nearfield_scenario_refuses_other_fields(changes, culprit, kind):
    refused(lambda: plkg.NearFieldScenario(**changes), culprit, kind)


def test_nearfield_scenario_replace_refuses_unknown_field():
    refused(lambda: plkg.NearFieldScenario().replace(n_antenas=64), "'n_antenas'", PlkgTypeError)


def test_nearfield_numpy_numbers_are_plain_in_the_fingerprint():
    a = plkg.NearFieldScenario(n_antennas=np.int64(64), carrier_hz=np.float32(3.5e9))
    b = plkg.NearFieldScenario(n_antennas=64, carrier_hz=float(np.float32(3.5e9)))
    assert type(a.n_antennas) is int and a.fingerprint() == b.fingerprint()


RIS_REAL_FIELDS = [
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
]
RIS_NONNEGATIVE_FIELDS = [*RIS_REAL_FIELDS[4:14], "direct_correlation_coeff"]


@pytest.mark.parametrize("field", RIS_REAL_FIELDS)
@pytest.mark.parametrize(("value", "kind"), BAD_REALS)
def test_ris_scenario_refuses_real_field(field, value, kind):
    message = refused(lambda: plkg.RISScenario(**{field: value}), field, kind)
    assert message.startswith(field)


@pytest.mark.parametrize("field", RIS_NONNEGATIVE_FIELDS)
def test_ris_scenario_refuses_negative_field(field):
    refused(lambda: plkg.RISScenario(**{field: -1.0}), field, PlkgInputError)


@pytest.mark.parametrize("field", ["n_ris_elements", "n_antennas", "n_rf_chains", "los_seed"])
@pytest.mark.parametrize(
    ("value", "kind"),
    [(None, PlkgTypeError), ("4", PlkgTypeError), (True, PlkgTypeError), (NAN, ValueError)],
)
def test_ris_scenario_refuses_integer_field(field, value, kind):
    refused(lambda: plkg.RISScenario(**{field: value}), field, kind)


@pytest.mark.parametrize(
    ("changes", "culprit", "kind"),
    [
        ({"n_ris_elements": 0}, "n_ris_elements", PlkgInputError),
        ({"n_ris_elements": 2.5}, "n_ris_elements", PlkgInputError),
        ({"n_antennas": INF}, "n_antennas", PlkgInputError),
        ({"los_seed": -1}, "los_seed", PlkgInputError),
        ({"include_rician_mean": 1}, "include_rician_mean", PlkgTypeError),
        ({"include_rician_mean": None}, "include_rician_mean", PlkgTypeError),
        ({"weights": ("1", "1")}, "weights", PlkgTypeError),
        ({"weights": (1.0, NAN)}, "weights", PlkgInputError),
        ({"weights": (0.0, 0.0)}, "weights", PlkgInputError),
        ({"bs_xy_m": None}, "bs_xy_m", PlkgTypeError),
        ({"ut_xy_m": (("a", "b"), ("c", "d"))}, "ut_xy_m", PlkgTypeError),
        ({"ris_xy_m": ((300.0, INF),)}, "ris_xy_m", PlkgInputError),
        ({"ris_xy_m": (300.0, 0.0, 1.0)}, "ris_xy_m", PlkgInputError),
        ({"los_angles": None}, "los_angles", PlkgTypeError),
        ({"direct_correlation": "full"}, "direct_correlation", PlkgInputError),
        ({"direct_correlation_coeff": 1.0}, "direct_correlation_coeff", PlkgInputError),
        ({"name": ""}, "name", PlkgInputError),
    ],
)
def test_ris_scenario_refuses_other_fields(changes, culprit, kind):
    refused(lambda: plkg.RISScenario(**changes), culprit, kind)


def test_ris_integral_float_counts_still_read():
    # a YAML file may say 60.0 elements; it is 60
    assert plkg.RISScenario(n_ris_elements=60.0).n_ris_elements == 60


# ---------------------------------------------------------------- scenario files
@pytest.mark.parametrize("loader", ["load_scenario", "load_ris_scenario"])
def test_scenario_loaders_refuse_paths(loader, tmp_path):
    load = getattr(plkg, loader)
    for value in (123, None, 1.5, b"fig6"):
        refused(lambda v=value: load(v), "must be a path", PlkgTypeError)
    refused(lambda: load(tmp_path), "folder" if loader == "load_scenario" else "regular file")
    with pytest.raises(FileNotFoundError, match="does not exist|no RIS scenario"):
        load(str(tmp_path / "missing.yaml"))


def test_scenario_files_go_through_read_yaml(tmp_path):
    twice = tmp_path / "twice.yaml"
    twice.write_text("n_antennas: 32\nseed: 1\nseed: 2\n", encoding="utf-8")
    message = refused(lambda: plkg.load_scenario(twice), "given twice", PlkgInputError)
    assert "twice.yaml" in message and "'seed'" in message
    ris = tmp_path / "ris.yaml"
    ris.write_text("system: ris\nn_antennas: 4\nn_antennas: 8\n", encoding="utf-8")
    message = refused(lambda: plkg.load_ris_scenario(ris), "given twice", PlkgInputError)
    assert "ris.yaml" in message
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"system: ris\nname: caf\xe9\n")
    refused(lambda: plkg.load_ris_scenario(bad), "UTF-8", PlkgInputError)


def test_yaml_numeric_strings_still_read(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("carrier_hz: 3.5e+9\nue_distance_m: [2e1, 4e1, 8e1, 1e2]\n", encoding="utf-8")
    sc = plkg.load_scenario(path)
    assert sc.carrier_hz == 3.5e9 and sc.ue_distance_m == (20.0, 40.0, 80.0, 100.0)


def test_load_ris_scenario_refuses_unknown_override():
    refused(lambda: plkg.load_ris_scenario("two-cell", bogus=1), "'bogus'", PlkgTypeError)


# ---------------------------------------------------------------- checkpoints and allocators
def test_load_checkpoint_refuses(tmp_path):
    for value in (123, None, 1.5):
        refused(lambda v=value: plkg.load_checkpoint(v), "checkpoint path", PlkgTypeError)
    refused(lambda: plkg.load_checkpoint(tmp_path), "is a folder", PlkgInputError)
    refused(lambda: plkg.load_checkpoint(tmp_path / "x.safetensors"), "does not exist")
    other = tmp_path / "data.npz"
    other.write_bytes(b"not a checkpoint")
    refused(lambda: plkg.load_checkpoint(other), "'" + str(other) + "' is not a checkpoint")
    default = plkg.defaults.checkpoint_path("kglm_fig6")
    refused(lambda: plkg.load_checkpoint(default, backend="jax"), "backend", PlkgInputError)
    refused(lambda: plkg.load_checkpoint(default, expected_label=1), "expected_label")


@pytest.mark.parametrize("which", [0, 1], ids=["Allocator", "FairnessAllocator"])
def test_allocator_constructors_refuse(allocators, which):
    ok = allocators[which]
    cls = type(ok)
    ck, m_a, m_b, user = ok.checkpoint, ok.m_a, ok.m_b, ok.user
    for args, kwargs, culprit, kind in [
        ((None, m_a, m_b, user), {}, "checkpoint", PlkgTypeError),
        (("ck.safetensors", m_a, m_b, user), {}, "checkpoint", PlkgTypeError),
        ((ck, "a", m_b, user), {}, "m_a", PlkgTypeError),
        ((ck, m_a, m_b[:-1], user), {}, "m_b", PlkgInputError),
        ((ck, m_a, -m_b, user), {}, "m_b", PlkgInputError),
        ((ck, m_a, m_b, user.astype(float)), {}, "user", PlkgTypeError),
        ((ck, m_a, m_b, user[:-1]), {}, "user", PlkgInputError),
        ((ck, m_a, m_b, user), {"design": "d"}, "design", PlkgTypeError),
        ((ck, m_a, m_b, user), {"allow_extrapolation": "no"}, "allow_extrapolation", TypeError),
    ]:
        refused(lambda a=args, k=kwargs: cls(*a, **k), culprit, kind)
    for kwargs, culprit, kind in [
        ({"path": 123}, "path", PlkgTypeError),
        ({"scenario": "fig6"}, "scenario", PlkgTypeError),
        ({"design": "d"}, "design", PlkgTypeError),
        ({"backend": "jax"}, "backend", PlkgInputError),
        ({"allow_extrapolation": 1}, "allow_extrapolation", PlkgTypeError),
    ]:
        refused(lambda k=kwargs: cls.from_checkpoint(**k), culprit, kind)


@pytest.mark.parametrize(
    ("pa", "culprit", "kind"),
    [
        (None, "pa_w", PlkgTypeError),
        ("0.01", "pa_w", PlkgTypeError),
        (True, "pa_w", PlkgTypeError),
        (0.01j, "pa_w", PlkgTypeError),
        ([], "P_a", PlkgInputError),
        (NAN, "P_a", PlkgInputError),
        (-0.01, "P_a", PlkgInputError),
        (0.0, "P_a", PlkgInputError),
        (np.ones((2, 2)) * 0.01, "pa_w", PlkgInputError),
    ],
)
def test_allocator_methods_refuse_budgets(allocators, pa, culprit, kind):
    fnn, fair = allocators
    for call in (fnn.predict, fnn.allocation, fair.predict, fair.allocation, fair.mu):
        refused(lambda c=call: c(pa), culprit, (kind, ValueError))


def test_fairness_allocation_refuses_mapping(allocators):
    refused(lambda: allocators[1].allocation(0.01, "bogus"), "mapping", PlkgInputError)
    refused(lambda: allocators[1].allocation(0.01, None), "mapping", PlkgTypeError)


# ---------------------------------------------------------------- RIS
def test_solve_ris_takes_a_scenario(ris_scenario):
    """The module docstring's natural call: a scenario, not only a channel model."""
    res = plkg.solve_ris(ris_scenario, "no-ris")
    assert res.status in ("converged", "max_iter") and len(res.kgr_bits) == ris_scenario.n_cells
    res = plkg.solve_ris(ris_scenario, rng=np.random.default_rng(0), max_iter=1)
    assert res.iterations == 1 and math.isfinite(res.wskr_bits)


@pytest.mark.parametrize(
    ("options", "culprit", "kind"),
    [
        ({"max_iter": 0}, "max_iter", ValueError),
        ({"max_iter": 2.0}, "max_iter", ValueError),
        ({"max_iter": None}, "max_iter", ValueError),
        ({"kkt_max_iter": 0}, "kkt_max_iter", ValueError),
        ({"pga_max_iter": True}, "pga_max_iter", ValueError),
        ({"baseline_kkt_max_iter": -1}, "baseline_kkt_max_iter", ValueError),
        ({"tol": 0.0}, "tol", ValueError),
        ({"tol": 1.0}, "tol", ValueError),
        ({"tol": "1e-4"}, "tol", ValueError),
        ({"tol": NAN}, "tol", ValueError),
        ({"kkt_tol": 2.0}, "kkt_tol", ValueError),
        ({"pga_tol": -1e-6}, "pga_tol", ValueError),
        ({"method": "best"}, "method", PlkgInputError),
        ({"method": None}, "method", PlkgTypeError),
        ({"rng": 0}, "rng", PlkgTypeError),
        ({"rng": None}, "rng=np.random.default_rng", PlkgInputError),
        ({"device": "banana"}, "device 'banana'", PlkgInputError),
        ({"device": 0}, "device", PlkgTypeError),
        ({"gradient": "numeric"}, "gradient", PlkgInputError),
        ({"num_threads": 0}, "num_threads", PlkgInputError),
        ({"init_phases": "x"}, "init_phases", PlkgTypeError),
        ({"init_phases": np.ones(3)}, "init_phases", PlkgInputError),
    ],
)
def test_solve_ris_refuses(ris_scenario, options, culprit, kind):
    kwargs = {"rng": np.random.default_rng(0), **options}
    refused(lambda: plkg.solve_ris(ris_scenario, **kwargs), culprit, kind)


def test_solve_ris_refuses_model():
    for value in (None, "two-cell", 3):
        message = refused(lambda v=value: plkg.solve_ris(v), "model", PlkgTypeError)
        assert "RISScenario (from plkg.load_ris_scenario)" in message


def test_solve_ris_domains_are_the_clis(ris_scenario):
    # plkg ris --tol / --max-iter use the same checks (plkg.solvers.options)
    for value in (0.0, 1.0, NAN, "x"):
        with pytest.raises(ValueError) as cli:
            check_rtol(value, "tol")
        message = refused(
            lambda v=value: plkg.solve_ris(ris_scenario, rng=np.random.default_rng(0), tol=v),
            "tol",
        )
        assert message == str(cli.value)


# ---------------------------------------------------------------- review fixes
@pytest.mark.parametrize("value", [None, "5", True])
def test_solver_option_types_are_type_errors(value):
    """Wrong types are PlkgTypeError; wrong values PlkgInputError with the options' wording."""
    with pytest.raises(PlkgTypeError, match="rtol"):
        check_rtol(value, "rtol")
    with pytest.raises(PlkgTypeError, match="max_iter"):
        check_max_iter(value, "max_iter")


def test_solver_option_values_keep_their_wording():
    with pytest.raises(PlkgInputError) as info:
        check_rtol(5.0, "rtol")
    assert not isinstance(info.value, PlkgTypeError)
    assert str(info.value) == "rtol must lie in (0, 1), got 5.0"
    with pytest.raises(PlkgInputError) as info:
        check_max_iter(0, "max_iter")
    assert not isinstance(info.value, PlkgTypeError)
    assert str(info.value) == "max_iter must be an integer >= 1, got 0"
    assert check_rtol(np.float64(1e-6)) == 1e-6 and check_max_iter(np.int64(5)) == 5


def test_zero_d_tensors_and_huge_integers_as_numbers(design):
    import torch

    from plkg.checks import check_number

    assert check_number(torch.tensor(0.5), "x") == 0.5
    assert check_number(np.array(3), "x") == 3.0
    refused(lambda: check_number(torch.tensor([0.5]), "x"), "x", PlkgTypeError)
    refused(lambda: check_number(torch.tensor(True), "x"), "x", PlkgTypeError)
    refused(lambda: check_number(10**400, "pa_w"), "pa_w", PlkgInputError)
    res = plkg.allocate("wfpa", design, torch.tensor(0.01, dtype=torch.float64))
    assert res.pa_w == pytest.approx(0.01, rel=1e-15)


def test_solve_ris_takes_a_legacy_random_state(ris_scenario):
    res = plkg.solve_ris(ris_scenario, rng=np.random.RandomState(0), max_iter=1)
    assert res.iterations == 1 and math.isfinite(res.wskr_bits)
