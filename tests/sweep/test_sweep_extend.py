"""Extending a sweep: a spec that adds points to a table's spec adds rows, keeps finished ones."""

from __future__ import annotations

import json

import pytest

import plkg.sweep.tasks as tasks_module
from plkg.cli import main
from plkg.sweep.table import PART_GLOB, PARTS_FILE, SPEC_FILE, read_results

pytestmark = pytest.mark.surface

BASE = (
    "system: nearfield\nn_antennas: 16\nue_distance_m: [6.0, 12.0]\nue_angle_rad: [-0.4, 0.5]\n"
    "scatter_radius_m: 1.0\nn_scatterers: 8\nccm_draws: 2\n"
)
SPEC = "system: nearfield\nbase: tiny.yaml\nseed: 0\ngrid:\n  pa_dbm: {pa}\nmethods: {methods}\n"
TIMING = ["seconds", "design_seconds"]


@pytest.fixture(autouse=True)
def no_design_cache(monkeypatch):
    monkeypatch.setenv("PLKG_NO_CACHE", "1")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "tiny.yaml").write_text(BASE)
    return tmp_path


def write_spec(folder, name, pa="[0, 10]", methods="[epa, wfpa]", extra=""):
    path = folder / name
    path.write_text(SPEC.format(pa=pa, methods=methods) + extra)
    return path


def sweep(capsys, spec, out):
    code = main(["sweep", str(spec), "--out", str(out), "--workers", "1"])
    captured = capsys.readouterr()
    return code, captured.err.splitlines()


def part_bytes(out):
    return {p.name: p.read_bytes() for p in out.glob(PART_GLOB)}


@pytest.fixture
def counted(monkeypatch):
    """Counts the (P_a, method) evaluations the task function runs."""
    calls = []
    real = tasks_module.nearfield_rows

    def counting(task):
        calls.extend((ev["pa_dbm"], ev["method"]) for ev in task["evaluations"])
        return real(task)

    monkeypatch.setattr(tasks_module, "nearfield_rows", counting)
    return calls


def test_added_power_adds_rows_and_keeps_finished_ones(folder, capsys, counted):
    out = folder / "res.parquet"
    assert sweep(capsys, write_spec(folder, "a.yaml"), out) == (0, [])
    before = part_bytes(out)
    first = read_results(out).drop_columns(TIMING).to_pylist()
    counted.clear()
    code, err = sweep(capsys, write_spec(folder, "b.yaml", pa="[0, 10, 20]"), out)
    assert code == 0 and len(err) == 1, err
    assert "extending" in err[0] and "4 finished row(s) kept, 2 row(s) to add" in err[0]
    assert sorted(counted) == [(20.0, "epa"), (20.0, "wfpa")]  # nothing recomputed
    after = part_bytes(out)
    assert {k: after[k] for k in before} == before  # finished parts byte-identical
    rows = read_results(out).drop_columns(TIMING).to_pylist()
    assert [r for r in rows if r["pa_dbm"] != 20.0] == first
    assert sorted((r["pa_dbm"], r["method"]) for r in rows) == sorted(
        (p, m) for p in (0.0, 10.0, 20.0) for m in ("epa", "wfpa")
    )
    # the extended table equals a fresh run of the larger spec
    fresh = folder / "fresh.parquet"
    assert sweep(capsys, folder / "b.yaml", fresh)[0] == 0
    key = lambda r: (r["pa_dbm"], r["method"])  # noqa: E731
    assert sorted(rows, key=key) == sorted(
        read_results(fresh).drop_columns(TIMING).to_pylist(), key=key
    )
    # rerunning the extended spec does nothing; the spec record is the larger spec's
    counted.clear()
    assert sweep(capsys, folder / "b.yaml", out) == (0, []) and counted == []
    assert json.loads((out / SPEC_FILE).read_text())["grid"]["pa_dbm"] == [0.0, 10.0, 20.0]
    listed = json.loads((out / PARTS_FILE).read_text())["parts"]
    assert sorted(listed) == sorted(after)


def test_added_method(folder, capsys, counted):
    out = folder / "res.parquet"
    assert sweep(capsys, write_spec(folder, "a.yaml", extra=""), out)[0] == 0
    counted.clear()
    spec = write_spec(folder, "b.yaml", methods="[epa, wfpa, exact-maxmin]")
    code, err = sweep(capsys, spec, out)
    assert code == 0 and "2 row(s) to add" in err[0], err
    assert sorted(counted) == [(0.0, "exact-maxmin"), (10.0, "exact-maxmin")]
    assert read_results(out).num_rows == 6


def test_added_scenario_values_and_random_draws(folder, capsys, counted):
    out = folder / "res.parquet"
    text = (
        "system: nearfield\nbase: tiny.yaml\ngrid:\n  n_antennas: {n}\n  pa_dbm: [10]\n"
        "random:\n  n: {draws}\n  seed: 3\n  scatter_radius_m: {{low: 0.5, high: 1.5}}\n"
        "methods: [wfpa]\n"
    )
    (folder / "a.yaml").write_text(text.format(n="[16]", draws=2))
    assert sweep(capsys, folder / "a.yaml", out)[0] == 0
    first = read_results(out).drop_columns(TIMING).to_pylist()
    counted.clear()
    (folder / "b.yaml").write_text(text.format(n="[16, 20]", draws=3))
    code, err = sweep(capsys, folder / "b.yaml", out)
    assert code == 0 and "2 finished row(s) kept, 4 row(s) to add" in err[0], err
    assert len(counted) == 4
    rows = read_results(out).drop_columns(TIMING).to_pylist()
    assert [r for r in rows if r in first] == first and len(rows) == 6
    assert sorted((r["n_antennas"], r["draw"]) for r in rows) == [
        (n, d) for n in (16, 20) for d in range(3)
    ]
    fresh = folder / "fresh.parquet"
    assert sweep(capsys, folder / "b.yaml", fresh)[0] == 0
    numbers = lambda path: sorted(  # noqa: E731
        (r["n_antennas"], r["draw"], r["scatter_radius_m"], r["kr_bits"])
        for r in read_results(path).to_pylist()
    )
    assert numbers(out) == numbers(fresh)


@pytest.mark.parametrize(
    ("change", "culprit"),
    [
        ({"extra": ""}, None),
        ({"pa": "[0]"}, "grid pa_dbm drops 10.0"),
        ({"methods": "[epa]"}, 'methods drop "wfpa"'),
    ],
)
def test_what_does_not_extend_is_refused(folder, capsys, change, culprit):
    out = folder / "res.parquet"
    assert sweep(capsys, write_spec(folder, "a.yaml"), out)[0] == 0
    code, err = sweep(capsys, write_spec(folder, "b.yaml", **change), out)
    if culprit is None:  # the same spec: a resume with nothing to do
        assert code == 0 and err == []
        return
    assert code == 2 and len(err) == 1 and "different spec" in err[0] and culprit in err[0], err


def test_changed_seed_or_base_is_refused(folder, capsys):
    out = folder / "res.parquet"
    assert sweep(capsys, write_spec(folder, "a.yaml"), out)[0] == 0
    seeded = folder / "seeded.yaml"
    seeded.write_text(
        SPEC.format(pa="[0, 10, 20]", methods="[epa, wfpa]").replace("seed: 0", "seed: 1")
    )
    code, err = sweep(capsys, seeded, out)
    assert code == 2 and len(err) == 1 and "seed 0 is 1 now" in err[0], err
    (folder / "tiny.yaml").write_text(BASE.replace("ccm_draws: 2", "ccm_draws: 3"))
    code, err = sweep(capsys, write_spec(folder, "b.yaml", pa="[0, 10, 20]"), out)
    assert code == 2 and len(err) == 1 and "base scenario differs in ccm_draws" in err[0], err
