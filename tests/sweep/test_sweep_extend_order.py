"""An extended table reads back exactly as a fresh run of the larger spec: same rows, same order,
same ``task_index`` / ``eval_index``, also when values are inserted in the middle of an axis."""

from __future__ import annotations

import pytest

from plkg.cli import main
from plkg.sweep.table import read_results

pytestmark = pytest.mark.surface

BASE = (
    "system: nearfield\nn_antennas: 16\nue_distance_m: [6.0, 12.0]\nue_angle_rad: [-0.4, 0.5]\n"
    "scatter_radius_m: 1.0\nn_scatterers: 8\nccm_draws: 2\n"
)
SPEC = (
    "system: nearfield\nbase: tiny.yaml\nseed: 0\ngrid:\n  n_antennas: {n}\n  pa_dbm: {pa}\n"
    "methods: [epa, wfpa]\n"
)
TIMING = ["seconds", "design_seconds"]


@pytest.fixture(autouse=True)
def no_design_cache(monkeypatch):
    monkeypatch.setenv("PLKG_NO_CACHE", "1")


def sweep(capsys, folder, out, n, pa):
    spec = folder / f"spec-{len(list(folder.glob('spec-*')))}.yaml"
    spec.write_text(SPEC.format(n=n, pa=pa))
    code = main(["sweep", str(spec), "--out", str(out), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 0, err
    return err


def rows(out):
    return read_results(out).drop_columns(TIMING).to_pylist()


@pytest.mark.parametrize(
    "steps",
    [
        [("[16]", "[0, 20]"), ("[16]", "[0, 10, 20]")],  # a P_a value in the middle
        [("[16, 24]", "[10]"), ("[12, 16, 24]", "[10]")],  # a grid value in front
        [("[16, 24]", "[0, 20]"), ("[16, 20, 24]", "[0, 10, 20]")],  # both at once
        [("[24]", "[20]"), ("[16, 24]", "[20]"), ("[16, 24]", "[0, 20]")],  # one after another
    ],
)
def test_extension_reads_as_a_fresh_run(tmp_path, capsys, steps):
    (tmp_path / "tiny.yaml").write_text(BASE)
    out = tmp_path / "extended.parquet"
    for n, pa in steps:
        sweep(capsys, tmp_path, out, n, pa)
    fresh = tmp_path / "fresh.parquet"
    sweep(capsys, tmp_path, fresh, *steps[-1])
    got, want = rows(out), rows(fresh)
    assert got == want
    keys = [(r["task_index"], r["eval_index"]) for r in got]
    assert len(set(keys)) == len(keys) == len(want)
    # resuming the finished table changes nothing
    sweep(capsys, tmp_path, out, *steps[-1])
    assert rows(out) == want
