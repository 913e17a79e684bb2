"""plkg sweep under hostile use: concurrent writers, damaged parts, bad specs, bad --out/--slurm,
absurd --workers, Ctrl-C and SIGTERM.

Every refusal is exit 2 with exactly one ``plkg sweep: error:`` line naming the culprit and nothing
written; every resume of a damaged table gives the table of a clean run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plkg.cli import main
from plkg.io.folder_lock import LOCK_FILE, exclusive_owner
from plkg.sweep.table import PARTS_FILE, SPEC_FILE, read_results

pytestmark = pytest.mark.surface

BASE = (
    "system: nearfield\nn_antennas: 16\nue_distance_m: [6.0, 12.0]\nue_angle_rad: [-0.4, 0.5]\n"
    "scatter_radius_m: 1.0\nn_scatterers: 8\nccm_draws: 2\n"
)
SPEC = (
    "system: nearfield\nbase: tiny.yaml\n"
    "grid:\n  n_antennas: [16, 20, 24]\n  pa_dbm: [0, 10]\nmethods: [epa, wfpa]\n"
)
TIMING = ["seconds", "design_seconds"]


@pytest.fixture(autouse=True)
def no_design_cache(monkeypatch):
    monkeypatch.setenv("PLKG_NO_CACHE", "1")


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "tiny.yaml").write_text(BASE)
    (tmp_path / "spec.yaml").write_text(SPEC)
    return tmp_path


def sweep(capsys, *argv):
    """(exit status, stdout, stderr lines) of ``plkg sweep ... --workers 1`` in-process."""
    code = main(["sweep", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def assert_refused(code, err, *culprits):
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("plkg sweep: error: "), err
    assert "Traceback" not in err[0]
    for culprit in culprits:
        assert culprit in err[0], (culprit, err[0])


def numbers(path):
    return read_results(path).drop_columns(TIMING)


@pytest.fixture
def finished(folder, capsys):
    """A finished table of SPEC (3 tasks, 12 rows) and its numbers."""
    out = folder / "res.parquet"
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert code == 0 and err == []
    return out, numbers(out)


# ----------------------------------------------------------------------------- one writer
def _holder(path: Path):
    """A separate process holding the table's lock until killed."""
    code = (
        "import sys, time; from plkg.io.folder_lock import exclusive_owner\n"
        f"with exclusive_owner({str(path)!r}, 'x'):\n"
        "    print('ready', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_second_writer_is_refused_naming_the_holder(finished, folder, capsys):
    out, _ = finished
    holder = _holder(out)
    try:
        code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    finally:
        holder.kill()
        holder.wait()
    assert_refused(code, err, str(out), f"pid {holder.pid}", "in use")
    assert (out / LOCK_FILE).exists()  # the holder's record, untouched (it was SIGKILLed)
    # the holder is gone now: its lock is stale and taken over with one warning
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert code == 0 and len(err) == 1 and "taking over the lock" in err[0]
    assert f"pid {holder.pid}" in err[0] and not (out / LOCK_FILE).exists()


def test_lock_of_another_host_is_not_taken_over(finished, folder, capsys):
    out, _ = finished
    record = {"pid": 1, "host": "another-node", "started": "2026-01-01T00:00:00"}
    (out / LOCK_FILE).write_text(json.dumps(record))
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert_refused(code, err, "pid 1 on host another-node", LOCK_FILE)


def test_in_process_lock_refuses_a_second_holder(tmp_path):
    with exclusive_owner(tmp_path, "folder x"):
        with pytest.raises(ValueError, match="folder x is in use"):
            with exclusive_owner(tmp_path, "folder x"):
                pass
    assert not (tmp_path / LOCK_FILE).exists()


# ----------------------------------------------------------------------------- checksummed parts
def _flip(path: Path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path):
    path.write_bytes(path.read_bytes()[:-100])


def _copy_unlisted(path: Path):
    shutil.copy(path, path.with_name("part-copied-by-hand.parquet"))


def _delete(path: Path):
    path.unlink()


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (_flip, "does not match its recorded SHA-256"),
        (_truncate, "does not match its recorded SHA-256"),
        (_copy_unlisted, "is not listed"),
        (_delete, "listed but missing"),
    ],
)
def test_damaged_part_is_recomputed_never_read(finished, folder, capsys, damage, said):
    out, clean = finished
    (part,) = out.glob("part-*.parquet")
    damage(part)
    if damage is not _delete:
        with pytest.raises(ValueError, match="rerun the plkg sweep command"):
            read_results(out)  # a reader refuses it too
    code, stdout, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1, "--json")
    assert code == 0 and len(err) == 1 and said in err[0], err
    summary = json.loads(stdout)
    assert summary["rows"] == 12
    assert numbers(out).equals(clean)
    assert len(list(out.glob("part-*.parquet"))) == 1


def test_stray_file_is_named_and_ignored(finished, folder, capsys):
    out, clean = finished
    (out / "notes.txt").write_text("mine")
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert code == 0 and len(err) == 1 and "ignoring notes.txt" in err[0]
    assert numbers(out).equals(clean)


def test_damaged_part_list_is_refused(finished, folder, capsys):
    out, _ = finished
    (out / PARTS_FILE).write_text("{not json")
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert_refused(code, err, PARTS_FILE, "damaged")


def test_killed_run_leftovers_resume(finished, folder, capsys):
    """What SIGKILL leaves: a stale lock record, a temporary part, a listed part never renamed."""
    out, clean = finished
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / LOCK_FILE).write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename}))
    (out / ".part-x.parquet.abc123.tmp").write_bytes(b"half a part")
    parts = json.loads((out / PARTS_FILE).read_text())
    parts["parts"]["part-never-renamed.parquet"] = {"sha256": "0" * 64, "rows": 4, "bytes": 1}
    (out / PARTS_FILE).write_text(json.dumps(parts))
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert code == 0 and len(err) == 2, err
    assert "taking over the lock" in err[0] and "part-never-renamed" in err[1]
    assert numbers(out).equals(clean)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("part-")) == [
        PARTS_FILE,
        SPEC_FILE,
    ]


def test_changed_spec_is_refused_only_when_rows_exist(finished, folder, capsys):
    out, _ = finished
    (folder / "other.yaml").write_text(SPEC.replace("[0, 10]", "[0, 20]"))
    code, _, err = sweep(capsys, folder / "other.yaml", "--out", out, "--workers", 1)
    assert_refused(code, err, "different spec", str(out))


# ----------------------------------------------------------------------------- validated up front
GRID = "system: nearfield\nbase: tiny.yaml\ngrid:\n  pa_dbm: [0]\n  {axis}\nmethods: [epa]\n"


@pytest.mark.parametrize(
    ("text", "culprits"),
    [
        (GRID.format(axis="n_scatterers: [1, 'a']"), ["n_scatterers", "'a'", "integers"]),
        (GRID.format(axis="scatter_radius_m: [1, 2.5, 'x']"), ["scatter_radius_m", "'x'"]),
        (GRID.format(axis="scatter_radius_m: [.nan]"), ["scatter_radius_m", "finite"]),
        (GRID.format(axis="ue_distance_m[1]: [12.0, -5.0]"), ["ue_distance_m[1]", "-5.0"]),
        (GRID.format(axis="n_antennas: [0]"), ["n_antennas", "0"]),
        (GRID.format(axis="n_antennas: [16.5]"), ["n_antennas", "16.5"]),
        (GRID.format(axis="n_antenas: [16]"), ["n_antenas"]),
        (GRID.format(axis="ccm_draws: []"), ["ccm_draws", "non-empty"]),
        (
            GRID.format(axis="ccm_draws: [{r}]\n  n_scatterers: [{r}]\n  seed: [{r}]").replace(
                "{r}", ", ".join(str(i) for i in range(1, 1001))
            ),
            ["1000000000 tasks", "split"],
        ),
        (GRID.format(axis="x: 1").replace("  x: 1\n", "").replace("[0]", "[1.0e+400]"), ["pa_dbm"]),
        ("system: nearfield\nbase: tiny.yaml\ngrid: {pa_dbm: [0]}\nmethods: [magic]\n", ["magic"]),
        (
            "system: nearfield\nbase: nope.yaml\ngrid: {pa_dbm: [0]}\nmethods: [epa]\n",
            ["nope.yaml"],
        ),
        (
            "system: nearfield\nbase: tiny.yaml\ngrid: {pa_dbm: [0]}\nmethods: [epa]\nseed: -3\n",
            ["seed", "-3"],
        ),
        (
            "system: nearfield\nbase: tiny.yaml\ngrid: {pa_dbm: [0]}\nmethods: [epa]\n"
            "random: {n: 2, ue_angle_rad: {low: -2, high: 0}}\n",
            ["ue_angle_rad", "low"],
        ),
        (
            "system: ris\nbase: two-cell\ngrid: {n_ris_elements: [4]}\nmethods: [no-ris]\n"
            "options: {tol: 5.0}\n",
            ["options.tol", "5.0"],
        ),
        (
            "system: ris\nbase: two-cell\ngrid: {n_ris_elements: [4]}\nmethods: [no-ris]\n"
            "options: {max_iter: 0}\n",
            ["options.max_iter"],
        ),
        (
            "system: ris\nbase: two-cell\ngrid: {n_ris_elements: [4]}\nmethods: [no-ris]\n"
            "options: {colour: red}\n",
            ["colour"],
        ),
        ("system: nearfield\nsystem: ris\n", ["'system' is given twice"]),
        ("- system: nearfield\n", ["mapping", "list"]),
        ("", ["mapping", "empty"]),
    ],
)
def test_bad_spec_is_refused_before_anything_is_written(folder, capsys, text, culprits):
    (folder / "bad.yaml").write_text(text)
    out = folder / "res.parquet"
    code, _, err = sweep(capsys, folder / "bad.yaml", "--out", out, "--workers", 1)
    assert_refused(code, err, "bad.yaml", *culprits)
    assert not out.exists()


def test_binary_spec_and_folder_spec(folder, capsys):
    (folder / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = sweep(capsys, folder / "bin.yaml", "--out", folder / "r", "--workers", 1)
    assert_refused(code, err, "bin.yaml", "UTF-8")
    code, _, err = sweep(capsys, folder, "--out", folder / "r", "--workers", 1)
    assert_refused(code, err, str(folder), "not a regular file")
    assert not (folder / "r").exists()


def test_bad_out_is_refused_before_anything_is_written(folder, capsys):
    spec = folder / "spec.yaml"
    (folder / "file.txt").write_text("x")
    (folder / "busy").mkdir()
    (folder / "busy" / "thesis.tex").write_text("x")
    before = sorted(p.name for p in folder.rglob("*"))
    for out, culprit in [
        ("", "--out"),
        (folder / "file.txt", "is a file"),
        (folder / "file.txt" / "res.parquet", "is a file, not a folder"),
        (folder / "busy", "holds no sweep table"),
    ]:
        code, _, err = sweep(capsys, spec, "--out", out, "--workers", 1)
        assert_refused(code, err, "--out", culprit)
    assert sorted(p.name for p in folder.rglob("*")) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_refused(folder, capsys):
    ro = folder / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code, _, err = sweep(capsys, folder / "spec.yaml", "--out", ro / "r", "--workers", 1)
    finally:
        ro.chmod(0o755)
    assert_refused(code, err, "not writable")


def test_bad_slurm_file_writes_nothing_and_the_fix_runs(folder, capsys):
    slurm = folder / "q.yaml"
    out = folder / "res.parquet"
    for text, culprit in [
        ("cores: 4\n", "lack memory"),
        ("cores: 4\nmemory: 8GB\ncores: 8\n", "given twice"),
        ("cores: 4\nmemory: lots\n", "memory"),
        ("cores: 0\nmemory: 8GB\n", "cores"),
    ]:
        slurm.write_text(text)
        code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--slurm", slurm)
        assert_refused(code, err, "q.yaml", culprit)
        assert not out.exists()
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert code == 0 and err == []


@pytest.mark.parametrize(
    ("argv", "culprits"),
    [
        (["--workers", "100000"], ["--workers 100000", "usable core", "--oversubscribe"]),
        (["--workers", "100000", "--oversubscribe"], ["--workers 100000", "even with"]),
        (["--workers", "0"], ["--workers", "0"]),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], ["--workers", "--scheduler"]),
        (["--scheduler", ""], ["--scheduler"]),
    ],
)
def test_workers_checked_against_the_machine(folder, capsys, argv, culprits):
    out = folder / "res.parquet"
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, *argv)
    assert_refused(code, err, *culprits)
    assert not out.exists()


def test_memory_estimate_refuses_and_override_is_named(folder, capsys, monkeypatch):
    import plkg.machine

    monkeypatch.setattr(plkg.machine, "available_memory_bytes", lambda: 2**20)
    out = folder / "res.parquet"
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert_refused(code, err, "--workers 1", "N = 24", "--oversubscribe")
    assert not out.exists()


def test_help_documents_the_override(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    assert "--oversubscribe" in capsys.readouterr().out


def test_runs_from_another_working_folder(folder, tmp_path_factory, capsys, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)  # base: tiny.yaml is found next to the spec
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", "res.parquet", "--workers", 1)
    assert code == 0 and err == [] and read_results(elsewhere / "res.parquet").num_rows == 12


def test_failure_before_the_first_task_leaves_nothing(folder, capsys, monkeypatch):
    import plkg.parallel.engine as engine

    def no_cluster(workers):
        raise OSError("cannot start workers")

    monkeypatch.setattr(engine, "local_cluster", no_cluster)
    out = folder / "new" / "deeper" / "res.parquet"
    argv = [folder / "spec.yaml", "--out", out, "--workers", 2, "--oversubscribe"]
    code, _, err = sweep(capsys, *argv)
    assert code == 1 and len(err) == 1 and "cannot start workers" in err[0]
    assert not (folder / "new").exists()  # no folder, no _spec.json, no lock


def test_ctrl_c_in_process_before_and_after_rows(folder, capsys, monkeypatch):
    import plkg.sweep.tasks as tasks

    real, calls = tasks.run_task, []

    def interrupted_third(task):
        calls.append(task)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(tasks, "run_task", interrupted_third)
    monkeypatch.setattr("plkg.sweep.table_writer.FLUSH_ROWS", 1)
    out = folder / "res.parquet"
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert code == 130 and len(err) == 1 and "rerun the same command to resume" in err[0]
    assert read_results(out).num_rows == 2 * 4 and not (out / LOCK_FILE).exists()
    calls.clear()
    monkeypatch.setattr(tasks, "run_task", lambda task: (_ for _ in ()).throw(KeyboardInterrupt))
    fresh = folder / "fresh.parquet"
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", fresh, "--workers", 1)
    assert code == 130 and "nothing was written" in err[0] and not fresh.exists()


# ----------------------------------------------------------------------------- signals
def _start(argv, cwd):
    """``plkg sweep`` in its own process group with SIGINT handled (as in a terminal), writing
    one part per task, so that the test knows when the first tasks are on disk."""
    code = (
        "import sys; import plkg.sweep.table_writer as t; t.FLUSH_ROWS = 1\n"
        "from plkg.cli import main; sys.exit(main(['sweep', *sys.argv[1:]]))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, argv)],
        cwd=cwd,
        env={**os.environ, "PLKG_NO_CACHE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_part(out: Path, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not any(out.glob("part-*.parquet")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


SLOW = (
    "system: nearfield\nbase: tiny.yaml\ngrid:\n  n_antennas: [{n}]\n  ccm_draws: [8]\n"
    "  pa_dbm: [0]\nmethods: [epa]\n"
)


@pytest.mark.parametrize(
    ("sig", "workers", "status"),
    [(signal.SIGINT, 2, 130), (signal.SIGTERM, 1, 143)],
)
def test_interrupt_stops_cleanly_leaving_a_resumable_table(folder, sig, workers, status):
    # small tasks, then long ones (N = 1024: seconds of LAPACK each); the signal lands while a
    # long task runs: in a worker process (SIGINT to the whole process group, as a terminal's
    # Ctrl-C) or in this process's task thread (SIGTERM to the main process only)
    sizes = [16, 17, 18, 19, 1024, 1025]
    (folder / "slow.yaml").write_text(SLOW.format(n=", ".join(map(str, sizes))))
    out = folder / "res.parquet"
    argv = ["slow.yaml", "--out", out, "--workers", workers, "--oversubscribe"]
    proc = _start(argv, folder)
    _wait_for_part(out, proc)
    t0 = time.monotonic()
    os.killpg(proc.pid, sig) if sig == signal.SIGINT else proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert time.monotonic() - t0 < 10
    # besides the stage lines of the large designs ("[design] ..."), one error line
    lines = [line for line in err.splitlines() if not line.startswith("[")]
    assert len(lines) == 1 and "rerun the same command to resume" in lines[0], err
    assert "Traceback" not in err
    assert not (out / LOCK_FILE).exists()
    rows = read_results(out).column("n_antennas").to_pylist()
    assert set(rows) <= set(sizes) and 1024 not in rows and 1025 not in rows


# ----------------------------------------------------------------------------- review fixes
@pytest.mark.parametrize(
    ("axis", "culprits"),
    [
        ("n_antennas: [16, 20, 16]", ["grid n_antennas", "16", "twice", "entries 1 and 3"]),
        ("scatter_radius_m: [1, 2.0, 1.0]", ["grid scatter_radius_m", "twice", "1 and 3"]),
    ],
)
def test_duplicate_grid_values_are_refused(folder, capsys, axis, culprits):
    (folder / "dup.yaml").write_text(GRID.format(axis=axis))
    out = folder / "res.parquet"
    code, _, err = sweep(capsys, folder / "dup.yaml", "--out", out, "--workers", 1)
    assert_refused(code, err, *culprits)
    assert not out.exists()


def test_duplicate_pa_dbm_in_other_spellings_is_refused(folder, capsys):
    text = GRID.format(axis="n_antennas: [16]").replace("[0]", "[0, 0.0, '0']")
    (folder / "dup.yaml").write_text(text)
    code, _, err = sweep(capsys, folder / "dup.yaml", "--out", folder / "r", "--workers", 1)
    assert_refused(code, err, "grid pa_dbm", "twice", "entries 1 and 2")


def test_colliding_task_ids_are_refused(folder, monkeypatch):
    import plkg.sweep.expansion as expansion
    import plkg.sweep.spec as spec_module

    spec = spec_module.load_spec(folder / "spec.yaml")
    monkeypatch.setattr(expansion, "_hash", lambda obj: "0" * 64)  # every task id the same
    with pytest.raises(ValueError, match="tasks 0 and 1 have the same task id"):
        spec_module.expand(spec)


@pytest.mark.parametrize("text", ["[]", "null", "3", '"x"', '{"format": 1}'])
def test_part_list_of_the_wrong_type_is_refused(finished, folder, capsys, text):
    out, _ = finished
    (out / PARTS_FILE).write_text(text)
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    if text == "null":  # JSON null reads as no part list: the parts are adopted
        assert code == 0 and len(err) == 1 and "adopted 1 part" in err[0], err
        return
    assert_refused(code, err, PARTS_FILE, "damaged")
    with pytest.raises(ValueError, match="damaged"):
        read_results(out)


def test_table_of_an_older_plkg_is_adopted(finished, folder, capsys):
    out, clean = finished
    (part,) = out.glob("part-*.parquet")
    (out / PARTS_FILE).unlink()  # what an older plkg wrote: parts and _spec.json only
    unreadable = out / "part-unreadable.parquet"
    unreadable.write_bytes(b"not parquet")
    code, stdout, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1, "--json")
    assert code == 0 and json.loads(stdout)["skipped"] == 3, err
    assert len(err) == 2, err
    assert "part-unreadable.parquet cannot be read" in err[0]
    assert "adopted 1 part(s)" in err[1] and "without a recorded checksum" in err[1]
    listed = json.loads((out / PARTS_FILE).read_text())["parts"]
    assert list(listed) == [part.name] and listed[part.name]["rows"] == 12
    assert numbers(out).equals(clean)
    code, _, err = sweep(capsys, folder / "spec.yaml", "--out", out, "--workers", 1)
    assert code == 0 and err == []  # verified against the recorded checksum now


def test_summary_reads_only_the_columns_it_counts(finished, monkeypatch):
    import plkg.sweep.table as table

    out, _ = finished
    small = read_results(out, columns=["task_id", "status"])
    assert small.column_names == ["task_id", "status"] and small.num_rows == 12
    assert small.column("task_id").to_pylist() == read_results(out).column("task_id").to_pylist()
    assert table.count_failed_tasks(small) == 0


class _FakeCluster:
    """Stands in for a SLURMCluster: records how it was closed."""

    def __init__(self):
        self.closed_with = None
        self.shutdown_on_close = True
        self.status = "running"

    def scale(self, jobs):
        self.jobs = jobs

    def close(self, timeout=None):
        self.closed_with = timeout


def test_interrupted_slurm_cluster_is_closed_normally(monkeypatch):
    import plkg.parallel.engine as engine

    fake = _FakeCluster()
    monkeypatch.setattr(engine, "slurm_cluster", lambda path, settings=None: (fake, {"jobs": 1}))
    monkeypatch.setattr("dask.distributed.Client", lambda cluster: None)
    with pytest.raises(KeyboardInterrupt):
        with engine.open_client(engine.EngineSettings(slurm="q.yaml")):
            raise KeyboardInterrupt
    assert fake.closed_with == engine.CLOSE_TIMEOUT_S  # its close cancels the jobs (scancel)
    assert fake.shutdown_on_close is True
    # even when asked to abandon it, a cluster that is not the embedded one keeps its shutdown
    other = _FakeCluster()
    engine.close_quietly(None, other, timeout=0.1, abandon=True)
    assert other.shutdown_on_close is True


def test_adaptive_slurm_scaling_fills_both_bounds(tmp_path):
    pytest.importorskip("dask_jobqueue")
    from plkg.parallel.engine import slurm_settings

    handler = signal.getsignal(signal.SIGINT)

    path = tmp_path / "q.yaml"
    for text, scale in [
        ("minimum_jobs: 3\n", {"minimum_jobs": 3, "maximum_jobs": 3}),
        ("maximum_jobs: 4\n", {"minimum_jobs": 0, "maximum_jobs": 4}),
        ("", {"jobs": 1}),
    ]:
        path.write_text("cores: 4\nmemory: 8GB\n" + text)
        assert slurm_settings(path)[1] == scale
    assert signal.getsignal(signal.SIGINT) is handler  # not dask-jobqueue's sys.exit


def test_workers_spawned_under_the_guard_ignore_sigint():
    from plkg.parallel.engine import _sigint_deferred

    probe = (
        "import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN, "
        "signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"
    )
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with _sigint_deferred():
            # a process spawned meanwhile (a worker) starts with SIGINT ignored: no Ctrl-C for it
            child = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert child.stdout.split() == ["True", "True"], child.stdout + child.stderr
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
        assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.signal(signal.SIGINT, previous)


def _stale_record(pid, **extra):
    return {"pid": pid, "host": os.uname().nodename, "token": "old", **extra}


@pytest.mark.parametrize("pid", [0, -1, True, "123", 1.5, None])
def test_lock_record_with_a_bad_pid_is_taken_over(tmp_path, pid):
    (tmp_path / LOCK_FILE).write_text(json.dumps(_stale_record(pid)))
    seen = []
    with exclusive_owner(tmp_path, "folder x", on_takeover=seen.append) as record:
        assert json.loads((tmp_path / LOCK_FILE).read_text())["token"] == record["token"]
    assert len(seen) == 1 and not (tmp_path / LOCK_FILE).exists()


def test_lock_record_of_an_earlier_process_with_our_pid_is_taken_over(tmp_path):
    from plkg.io.folder_lock import process_start_ticks

    ticks = process_start_ticks(os.getpid())
    if ticks is None:
        pytest.skip("no /proc start times here")
    (tmp_path / LOCK_FILE).write_text(json.dumps(_stale_record(os.getpid(), start_ticks=ticks - 1)))
    with exclusive_owner(tmp_path, "folder x"):
        pass
    # a record of this very process (same start time) is live
    (tmp_path / LOCK_FILE).write_text(json.dumps(_stale_record(os.getpid(), start_ticks=ticks)))
    with pytest.raises(ValueError, match="in use"):
        with exclusive_owner(tmp_path, "folder x"):
            pass


def test_stale_lock_is_taken_over_by_one_process_only(tmp_path, monkeypatch):
    """Without flock, two processes that both judged the record stale: one takes over."""
    import plkg.io.folder_lock as folder_lock

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = _stale_record(dead.pid)
    (tmp_path / LOCK_FILE).write_text(json.dumps(stale))
    first = folder_lock._new_record(stale["host"])
    second = folder_lock._new_record(stale["host"])
    assert folder_lock._place_record(tmp_path, first, stale=stale)
    # the second saw the same stale record before the first took over: refused, first kept
    assert not folder_lock._place_record(tmp_path, second, stale=stale)
    assert json.loads((tmp_path / LOCK_FILE).read_text())["token"] == first["token"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_FILE]
    # and the record gone meanwhile (the other process finished): refused too
    (tmp_path / LOCK_FILE).unlink()
    assert not folder_lock._place_record(tmp_path, second, stale=stale)
