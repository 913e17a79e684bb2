"""Sweep specs: validation (one clear error per bad key), expansion, seeds, random draws."""

from __future__ import annotations

import numpy as np
import pytest

from plkg.sweep.spec import apply_params, derive_seed, expand, load_spec

BASE = (
    "system: nearfield\nn_antennas: 16\nue_distance_m: [6.0, 12.0]\nue_angle_rad: [-0.4, 0.5]\n"
    "scatter_radius_m: 1.0\nn_scatterers: 8\nccm_draws: 2\n"
)


@pytest.fixture
def base_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(BASE)
    return path


def spec_dict(base_file, **changes):
    data = {
        "system": "nearfield",
        "base": str(base_file),
        "grid": {"n_antennas": [16, 24], "pa_dbm": [0, 10, 20]},
        "methods": ["epa", "wfpa", "cvxpakf"],
    }
    data.update(changes)
    return data


def test_grid_expansion_shares_one_design_per_scenario(base_file):
    spec = load_spec(spec_dict(base_file))
    assert spec.methods == ("epa", "wfpa", "cvxpakf")
    tasks = expand(spec)
    assert [t["params"] for t in tasks] == [{"n_antennas": 16}, {"n_antennas": 24}]
    for t in tasks:
        assert t["scenario"]["n_antennas"] == t["params"]["n_antennas"]
        pairs = [(e["pa_dbm"], e["method"]) for e in t["evaluations"]]
        assert pairs == [(p, m) for p in (0.0, 10.0, 20.0) for m in spec.methods]
    assert len({t["task_id"] for t in tasks}) == 2


def test_seeds_depend_on_spec_and_parameters_only(base_file):
    a = expand(load_spec(spec_dict(base_file)))
    b = expand(load_spec(spec_dict(base_file, grid={"n_antennas": [24], "pa_dbm": [0, 10, 20]})))
    # the task of N = 24 has the same seed and id whether or not N = 16 is also swept
    assert a[1]["seed"] == b[0]["seed"] and a[1]["task_id"] == b[0]["task_id"]
    assert a[0]["seed"] != a[1]["seed"]
    c = expand(load_spec(spec_dict(base_file, seed=1)))
    assert c[1]["seed"] != a[1]["seed"]
    assert derive_seed(1, "x") == derive_seed(1, "x") < 2**63


def test_indexed_field_and_random_draws(base_file, seed):
    spec = load_spec(
        spec_dict(
            base_file,
            grid={"ue_distance_m[1]": [12.0, 30.0], "pa_dbm": [5]},
            random={
                "n": 4,
                "seed": seed,
                "ue_angle_rad": {"low": -0.3, "high": 0.3},
                "n_scatterers": {"low": 4, "high": 9},
            },
        )
    )
    tasks = expand(spec)
    assert len(tasks) == 2 * 4
    for t in tasks:
        sc = t["scenario"]
        assert sc["ue_distance_m"] == [6.0, t["params"]["ue_distance_m[1]"]]
        angles = np.asarray(t["params"]["ue_angle_rad"])
        assert angles.shape == (2,) and np.all((angles >= -0.3) & (angles < 0.3))
        n_sc = t["params"]["n_scatterers"]
        assert isinstance(n_sc, int) and 4 <= n_sc <= 9
        assert sc["ue_angle_rad"] == list(angles)
    # the same draws for every grid point (common random numbers), draw index recorded
    assert [t["params"]["draw"] for t in tasks] == [0, 1, 2, 3] * 2
    assert tasks[0]["params"]["ue_angle_rad"] == tasks[4]["params"]["ue_angle_rad"]
    again = expand(spec)
    assert [t["task_id"] for t in again] == [t["task_id"] for t in tasks]


def test_apply_params_copies():
    base = {"x": [1.0, 2.0], "y": 3}
    out = apply_params(base, {"x[1]": 5.0, "y": 4})
    assert out == {"x": [1.0, 5.0], "y": 4} and base == {"x": [1.0, 2.0], "y": 3}


def test_ris_spec_without_power_uses_the_scenario_power():
    spec = load_spec(
        {
            "system": "ris",
            "base": "two-cell",
            "grid": {"n_ris_elements": [8]},
            "methods": ["proposed", "rand-phase", "no-ris"],
            "options": {"rand_phase_draws": 3},
        }
    )
    (task,) = expand(spec)
    assert spec.methods == ("proposed", "rand-phase", "no-ris")
    assert [e["pa_dbm"] for e in task["evaluations"]] == [None] * 3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"system": "farfield"}, "'system' must be"),
        ({"grid": {"n_antenas": [16], "pa_dbm": [0]}}, "'n_antenas' is not a nearfield"),
        ({"grid": {"n_antennas": [16]}}, "needs pa_dbm"),
        ({"grid": {"n_antennas": [], "pa_dbm": [0]}}, "non-empty list"),
        ({"grid": {"pa_dbm": ["high"]}}, "pa_dbm must hold numbers"),
        ({"grid": {"ue_distance_m[5]": [1.0], "pa_dbm": [0]}}, "out of range"),
        ({"methods": ["epa", "magic"]}, "unknown nearfield method 'magic'"),
        ({"methods": []}, "non-empty list"),
        ({"random": {"n": 2, "ue_angle_rad": {"low": 1, "high": 0}}}, "low < high"),
        ({"random": {"n": 0, "ue_angle_rad": {"low": 0, "high": 1}}}, "random.n must be >= 1"),
        ({"options": {"tol": 1e-3}}, "ris sweeps only"),
        ({"colour": "red"}, "unknown key"),
        (
            {"grid": {"ue_distance_m": [[6, 12]], "ue_distance_m[0]": [7], "pa_dbm": [0]}},
            "cannot both be swept",
        ),
    ],
)
def test_bad_specs_name_the_problem(base_file, changes, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_spec(spec_dict(base_file, **changes))


def test_missing_spec_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_spec(tmp_path / "nope.yaml")
