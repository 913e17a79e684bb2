"""plkg.bind: validated once, then per budget the very result of plkg.allocate, for every method."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import plkg
from plkg.errors import PlkgInputError, PlkgTypeError
from plkg.inference.bind import BoundMethod, bind
from plkg.inference.methods import ALLOCATION_METHODS, allocate

# P_a = 0, 10, 20 dBm: inside the training range of the committed Fig. 6 checkpoints
BUDGETS_W = (1e-3, 1e-2, 1e-1)
# extras that are wall-clock times, not results
TIMINGS = ("solve_time_s",)

# every method, and the option variants that take another code path
CASES = [(method, {}) for method in ALLOCATION_METHODS] + [
    ("wfpa", {"rtol": 1e-10, "max_iter": 200}),
    ("fnnpa", {"backend": "numpy"}),
    ("fnnpakf", {"mapping": "exact", "spend_slack": True, "backend": "numpy"}),
    ("fnnpakf", {"mapping": "appro-paper", "backend": "numpy"}),
    ("interpkf", {"spend_slack": True}),
]


@pytest.fixture(scope="module")
def design():
    return plkg.design_for_scenario(plkg.load_scenario("fig6"))


def assert_same_result(got, want) -> None:
    """Every field equal; floats bit for bit (NaN equal to NaN), timings aside."""
    assert type(got) is type(want)
    for field in ("method", "pa_w", "status", "iterations"):
        assert getattr(got, field) == getattr(want, field), field
    np.testing.assert_equal(got.objective, want.objective)
    assert got.x_w.dtype == want.x_w.dtype and np.array_equal(got.x_w, want.x_w)
    assert set(got.extras) == set(want.extras)
    for key in set(got.extras) - set(TIMINGS):
        np.testing.assert_equal(got.extras[key], want.extras[key], err_msg=key)


def refusal(call) -> tuple[type, str]:
    with pytest.raises(Exception) as info:  # noqa: PT011 - the type is compared by the caller
        call()
    message = str(info.value)
    assert "\n" not in message, message
    return type(info.value), message


@pytest.mark.filterwarnings("error::plkg.errors.ExactFallbackWarning")
@pytest.mark.parametrize(("method", "options"), CASES, ids=lambda v: str(v) if v else "default")
def test_bound_call_is_allocate(design, method, options):
    if method == "cvxpakf":
        # cvxpakf keeps its compiled problems per design object, and its solves depend on that
        # history in the last bits: compare first calls on fresh copies of the design
        for pa in BUDGETS_W:
            got = bind(method, copy.copy(design), **options)(pa)
            assert_same_result(got, allocate(method, copy.copy(design), pa, **options))
        return
    bound = bind(method, design, **options)
    assert isinstance(bound, BoundMethod) and bound.method == method
    for pa in (*BUDGETS_W, BUDGETS_W[0]):  # a repeated budget: no call-order dependence
        assert_same_result(bound(pa), allocate(method, design, pa, **options))


@pytest.mark.parametrize("method", ["epa", "wfpa", "fnnpa-general"])
def test_zero_budget_is_allocates(design, method):
    assert_same_result(bind(method, design)(0.0), allocate(method, design, 0.0))


@pytest.mark.parametrize(
    "method", ["fnnpa", "fnnpakf", "interp", "interpkf", "exact-maxmin", "wfpakf", "cvxpakf"]
)
def test_method_refusals_are_allocates(design, method):
    bound = bind(method, design)
    # P_a = 0 (max-min and learned methods), outside the training / fitted range (learned)
    budgets = (0.0,) if method in ("exact-maxmin", "wfpakf", "cvxpakf") else (0.0, 1e-7, 1e3)
    for pa in budgets:
        assert refusal(lambda p=pa: bound(p)) == refusal(lambda p=pa: allocate(method, design, p))


def test_bad_budget_refused_as_allocate(design):
    bound = bind("wfpa", design)
    for pa in (float("nan"), -1.0, float("inf"), None, "1e-3", True, [1e-3]):
        kind, message = refusal(lambda p=pa: bound(p))
        assert issubclass(kind, PlkgInputError) and "pa_w" in message
        assert (kind, message) == refusal(lambda p=pa: allocate("wfpa", design, p))
    with pytest.raises(PlkgInputError, match="pa_w"):
        bound.x_w(np.array([1e-3, float("nan")]))


@pytest.mark.parametrize("method", ["wfpa", "fnnpa", "exact-maxmin", "fnnpa-general"])
def test_online_path_refuses_a_bad_float_budget_naming_it(design, method):
    bound = bind(method, design)
    for pa in (float("nan"), -1.0, float("inf")):
        with pytest.raises(PlkgInputError, match="pa_w"):
            bound.x_w(pa)


def test_bind_refuses_as_allocate(design, tmp_path):
    def same(options=None, method="wfpa", design_=design):
        options = options or {}
        got = refusal(lambda: bind(method, design_, **options))
        want = refusal(lambda: allocate(method, design_, 1e-2, **options))
        assert got[0] is want[0]
        assert got[1] == want[1].replace("allocate()", "bind()")
        return got

    assert same(method="nope")[0] is PlkgInputError
    assert same(method=3)[0] is PlkgTypeError
    assert same(design_="design")[0] is PlkgTypeError
    kind, message = same({"bogus": 3})
    assert kind is PlkgTypeError and message.startswith("bind() got an unknown option 'bogus'")
    same({"rtol": -1.0})
    same({"checkpoint": 3}, "fnnpa")
    same({"mapping": "appro", "spend_slack": True}, "fnnpakf")
    same({"checkpoint": tmp_path / "missing.safetensors"}, "fnnpa")
    same({"checkpoint": plkg.defaults.checkpoint_path("kglm_fig6")}, "fnnpakf")  # label mu


def test_checkpoint_of_another_scenario_refused_at_bind(small_scenario):
    other = plkg.design_for_scenario(small_scenario, cache=False)
    got = refusal(lambda: bind("fnnpa", other, scenario=small_scenario))
    assert got == refusal(lambda: allocate("fnnpa", other, 1e-2, scenario=small_scenario))
    assert "fingerprint" in got[1]


def test_validated_and_loaded_once(design, monkeypatch):
    import plkg.inference._bound as bound_module
    import plkg.inference.methods as methods

    loads = []
    load = bound_module.load_checkpoint
    monkeypatch.setattr(
        bound_module, "load_checkpoint", lambda *a, **k: loads.append(a) or load(*a, **k)
    )
    bound = bind("fnnpa", design, backend="numpy")

    def refuse(*args, **kwargs):
        raise AssertionError("a bound call re-validated the method or its options")

    monkeypatch.setattr(methods, "check_method_options", refuse)
    for pa in BUDGETS_W:
        bound(pa)
    assert len(loads) == 1


def test_fast_paths_agree(design):
    pa = np.array(BUDGETS_W)
    for method in ("wfpa", "fnnpa", "fnnpakf", "exact-maxmin", "fnnpa-general", "epa"):
        bound = bind(method, design)
        calls = np.stack([bound(p).x_w for p in BUDGETS_W])
        for i, p in enumerate(BUDGETS_W):
            one = bound.x_w(p)
            np.testing.assert_allclose(one, calls[i], rtol=0, atol=1e-12 * p, err_msg=method)
        batch = bound.x_w(pa)
        assert batch.shape == (pa.size, design.n_total)
        # the set network runs in float32: its batch differs from one budget in the 7th digit
        rtol = 1e-5 if method == "fnnpa-general" else 1e-12
        np.testing.assert_allclose(batch, calls, rtol=0, atol=rtol * pa.max(), err_msg=method)
        assert (bound.fast is None) == (method == "epa")
    for method in ("fnnpa", "fnnpa-general"):  # one budget: the call's own computation
        bound = bind(method, design)
        assert all(np.array_equal(bound.x_w(p), bound(p).x_w) for p in BUDGETS_W)
    assert bind("fnnpakf", design, mapping="exact").fast is None
    assert bind("wfpa", design).x_w([]).shape == (0, design.n_total)


def test_public_name_and_repr(design):
    assert plkg.bind is bind and "bind" in plkg.__all__
    text = repr(bind("epa", design))
    assert "'epa'" in text and str(design.n_total) in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bind("fnnpa-general", design)(1e-2)
