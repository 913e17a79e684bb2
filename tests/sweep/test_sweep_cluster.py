"""Sweeps on a real LocalCluster of 2 worker processes: same table as serial, error rows, resume.

One cluster (2 processes x 1 thread) serves the module; the sweeps reach it by ``--scheduler``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from plkg.cli import main
from plkg.commands.sweep import run_sweep
from plkg.parallel.engine import LEAN_LOCAL_CONFIG, EngineSettings, local_cluster
from plkg.parallel.runner import map_tasks
from plkg.sweep import table as table_mod
from plkg.sweep.spec import load_spec
from plkg.sweep.table import read_results

TIMING = ["seconds", "design_seconds"]
BASE = (
    "system: nearfield\nn_antennas: 16\nue_distance_m: [6.0, 12.0]\nue_angle_rad: [-0.4, 0.5]\n"
    "scatter_radius_m: 1.0\nn_scatterers: 8\nccm_draws: 2\n"
)


@pytest.fixture(scope="module")
def cluster():
    """2 worker processes x 1 thread. The design cache is off here and in the workers, so every
    run computes its designs (a cache hit would hide a worker computing differently)."""
    pytest.importorskip("dask.distributed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLKG_NO_CACHE", "1")
        with local_cluster(2) as lc:  # the embedded cluster of plkg sweep
            yield lc


@pytest.fixture
def base_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(BASE)
    return path


def nearfield_spec(base_file, seed, **grid):
    return load_spec(
        {
            "system": "nearfield",
            "base": str(base_file),
            "seed": seed,
            "grid": {"n_antennas": [16, 20], "pa_dbm": [0.0, 15.0], **grid},
            "methods": ["epa", "wfpa", "exact-maxmin"],
        }
    )


def numbers(path):
    return read_results(path).drop_columns(TIMING)


def test_two_workers_give_the_serial_table_bit_for_bit(cluster, base_file, tmp_path, seed):
    specs = {
        "nf": nearfield_spec(base_file, seed),
        "ris": load_spec(
            {
                "system": "ris",
                "base": "two-cell",
                "seed": seed,
                "grid": {"n_ris_elements": [4, 6], "pa_dbm": [20.0]},
                "methods": ["proposed", "rand-phase", "no-ris"],
                "options": {"max_iter": 4, "baseline_kkt_max_iter": 20, "rand_phase_draws": 2},
            }
        ),
    }
    for name, spec in specs.items():
        serial, parallel = tmp_path / f"{name}-1.parquet", tmp_path / f"{name}-2.parquet"
        s1 = run_sweep(spec, serial, EngineSettings(workers=1), progress=False)
        s2 = run_sweep(spec, parallel, EngineSettings(scheduler=cluster.scheduler_address), False)
        assert s1["failed_tasks"] == s2["failed_tasks"] == 0
        a, b = numbers(serial), numbers(parallel)
        assert a.num_rows == 2 * len(spec.methods) * (2 if name == "nf" else 1)
        assert a.equals(b), f"{name}: the 2-worker table differs from the serial one"
    rows = numbers(tmp_path / "nf-1.parquet").to_pylist()
    for r in rows:  # the row summaries agree with the per-UE rates
        assert math.isclose(r["sum_kr_bits"], sum(r["kr_bits"]), rel_tol=1e-12)
        assert r["min_kr_bits"] == min(r["kr_bits"]) and r["n_subchannels"] >= 2
    by = {(r["n_antennas"], r["pa_dbm"], r["method"]): r for r in rows}
    for n in (16, 20):
        for pa in (0.0, 15.0):
            # WFPA maximises the sum rate, exact max-min the minimum rate (which it equalises)
            assert by[(n, pa, "wfpa")]["sum_kr_bits"] >= by[(n, pa, "epa")]["sum_kr_bits"] - 1e-9
            mm = by[(n, pa, "exact-maxmin")]
            assert mm["min_kr_bits"] >= by[(n, pa, "epa")]["min_kr_bits"] - 1e-9
            assert np.ptp(mm["kr_bits"]) <= 1e-6 * mm["min_kr_bits"]
    ris = numbers(tmp_path / "ris-1.parquet").to_pylist()
    for r in ris:
        assert math.isclose(r["sum_kr_bits"], sum(r["kr_bits"]), rel_tol=1e-12)
        assert r["wskr_bits"] <= r["ub_bits"] + 1e-9  # Theorem 2 bounds Theorem 1


def test_one_invalid_scenario_records_one_error_row(cluster, base_file, tmp_path, capsys, seed):
    # Every value is valid on its own (the spec is accepted), but scatter radius 8 m with UE 1 at
    # 6 m is not a valid scenario: that one combination becomes one error row. (A value that no
    # scenario of the sweep accepts, such as a negative distance, is refused with the spec:
    # tests/sweep/test_sweep_hardening.py.)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"system: nearfield\nbase: {base_file}\nseed: {seed}\n"
        "grid:\n  scatter_radius_m: [1.0, 8.0]\n  ue_distance_m[0]: [6.0, 10.0]\n  pa_dbm: [5]\n"
        "methods: [epa, wfpa]\n"
    )
    out = tmp_path / "res.parquet"
    argv = ["sweep", str(spec), "--out", str(out), "--scheduler", cluster.scheduler_address]
    assert main([*argv, "--json"]) == 1  # exit code = number of failed tasks
    summary = json.loads(capsys.readouterr().out)
    assert summary["failed_tasks"] == 1 and summary["tasks"] == 4 and summary["rows"] == 7
    rows = read_results(out).to_pylist()
    errors = [r for r in rows if r["status"] == "error"]
    assert len(errors) == 1
    (bad,) = errors
    assert bad["scatter_radius_m"] == 8.0 and bad["ue_distance_m[0]"] == 6.0
    assert bad["method"] is None and "scatter_radius_m" in bad["error"]
    assert all(r["error"] is None and r["kr_bits"] for r in rows if r is not bad)


def test_interrupted_sweep_resumes(cluster, base_file, tmp_path, monkeypatch, seed):
    spec = nearfield_spec(base_file, seed, n_antennas=[16, 20, 24, 28])
    out = tmp_path / "res.parquet"
    original, calls = table_mod.ResultTable.add, []

    def add_then_interrupt(self, rows):
        original(self, rows)
        calls.append(len(rows))
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C after two tasks finished

    monkeypatch.setattr(table_mod.ResultTable, "add", add_then_interrupt)
    argv = ["sweep", str(_write(tmp_path, spec)), "--out", str(out)]
    assert main([*argv, "--scheduler", cluster.scheduler_address]) == 130
    partial = read_results(out)  # consistent: whole tasks only, no temporary files
    assert sorted(set(partial.column("task_index").to_pylist())) == sorted(
        set(partial.column("task_index").to_pylist())
    )
    assert partial.num_rows == 2 * 2 * 3
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    monkeypatch.setattr(table_mod.ResultTable, "add", original)
    resumed = run_sweep(
        spec, out, EngineSettings(scheduler=cluster.scheduler_address), progress=False
    )
    assert resumed["skipped"] == 2 and resumed["ran"] == 2 and resumed["rows"] == 4 * 2 * 3
    fresh = tmp_path / "fresh.parquet"
    run_sweep(spec, fresh, EngineSettings(workers=1), progress=False)
    assert numbers(out).equals(numbers(fresh))
    # a different spec is refused in the same folder
    other = nearfield_spec(base_file, seed + 1)
    with pytest.raises(ValueError, match="different spec"):
        run_sweep(other, out, EngineSettings(workers=1), progress=False)


def _write(tmp_path, spec):
    import yaml

    path = tmp_path / "spec.yaml"
    record = spec.record()
    data = {k: record[k] for k in ("system", "base", "seed", "grid", "methods")}
    path.write_text(yaml.safe_dump(data))
    return path


def test_map_tasks_keeps_task_order(cluster):
    from dask.distributed import Client

    tasks = [list(range(i)) for i in (3, 0, 5, 1, 4, 2, 6)]  # len: importable on the workers
    assert map_tasks(len, tasks) == [3, 0, 5, 1, 4, 2, 6]
    with Client(cluster.scheduler_address) as client:
        assert map_tasks(len, tasks, client=client) == [3, 0, 5, 1, 4, 2, 6]


def test_fairness_dataset_is_the_same_on_two_workers(cluster, base_file, seed):
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.data.fairness_dataset import generate_fairness_dataset
    from plkg.parallel.engine import session
    from plkg.precoding.design_cache import design_for_scenario

    scenario = load_scenario(base_file)
    design = design_for_scenario(scenario)
    n = 30  # P_a in three 10 dB bands: three engine tasks
    kwargs = {"n_samples": n, "seed": seed, "design": design, "pa_dbm_range": (5.0, 25.0)}
    serial = generate_fairness_dataset(scenario, **kwargs)
    with session(scheduler=cluster.scheduler_address):
        parallel = generate_fairness_dataset(scenario, **kwargs)
    for name in ("t_cvxpy", "label_source", "t_exact"):
        np.testing.assert_array_equal(serial.extras[name], parallel.extras[name])
    np.testing.assert_array_equal(serial.labels, parallel.labels)
    assert serial.meta["disagreements"] == parallel.meta["disagreements"]
    # every certified CVXPY label agrees with the exact max-min optimum
    ok = serial.extras["label_source"] == 0
    assert ok.sum() >= n // 2
    rel = (
        np.abs(serial.extras["t_cvxpy"][ok] - serial.extras["t_exact"][ok])
        / serial.extras["t_exact"][ok]
    )
    assert np.all(rel <= serial.meta["certify_rtol"])


def test_reproduce_runs_figure_points_on_the_cluster(cluster, tmp_path, capsys):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert main(["reproduce", "nf-fig8", "--quick", "--out", str(serial)]) == 0
    argv = ["reproduce", "nf-fig8", "--quick", "--out", str(parallel)]
    assert main([*argv, "--scheduler", cluster.scheduler_address]) == 0
    capsys.readouterr()
    a, b = ((p / "nf-fig8.csv").read_text().splitlines() for p in (serial, parallel))
    assert a[0] == b[0] and len(a) == len(b) == 1 + 2 * 8  # two N, eight schemes
    # Serial reproduce keeps the process's BLAS threads (2 here), workers use 1: the designs differ
    # in the last bits, which CVXPAKF (an interior-point solve, certified to 1e-4 against the exact
    # optimum) turns into up to ~2e-5 relative changes; every other scheme agrees to 10 digits.
    for row_a, row_b in zip(a[1:], b[1:], strict=True):
        cells_a, cells_b = row_a.split(","), row_b.split(",")
        for x, y in zip(cells_a, cells_b, strict=True):
            try:
                fx, fy = float(x), float(y)
            except ValueError:
                assert x == y
                continue
            tol = 1e-4 if cells_a[1].lower() == "cvxpakf" else 1e-9
            assert math.isclose(fx, fy, rel_tol=tol), (row_a, row_b)


def test_embedded_cluster_workers_are_lean(cluster):
    import dask
    from dask.distributed import Client

    with Client(cluster) as client:
        seen = {key: client.run(dask.config.get, key) for key in LEAN_LOCAL_CONFIG}
        profiling = client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
        trim = client.run(lambda: __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_"))
        threads = client.run(lambda: __import__("os").environ.get("OPENBLAS_NUM_THREADS"))
    assert len(profiling) == 2 and not any(profiling.values())
    # glibc's dynamic mmap threshold stays on (Dask's 65536 made NumPy temporaries page-fault)
    assert set(trim.values()) == {None}
    assert set(threads.values()) == {"1"}
    for key, value in LEAN_LOCAL_CONFIG.items():
        assert list(seen[key].values()) == [value, value], key
