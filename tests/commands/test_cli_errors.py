"""The CLI's one error boundary: every bad input or fault gives one line on stderr that
names the culprit, the documented exit status (2 input, 1 runtime, 130 interrupt) and no
traceback; ``--debug`` / ``PLKG_DEBUG=1`` add the traceback."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from plkg.cli import main

SMALL = textwrap.dedent(
    """\
    n_antennas: 32
    ue_distance_m: [6.0, 12.0]
    ue_angle_rad: [-0.4, 0.5]
    scatter_radius_m: 1.0
    n_scatterers: 16
    ccm_draws: 4
    """
)


def check(capsys, argv, status, culprit):
    """Run ``plkg argv``: exit ``status``, one stderr line naming ``culprit``, no traceback."""
    assert main(argv) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("plkg")]
    assert len(lines) == 1, err
    assert culprit in lines[0], lines[0]
    return lines[0]


def yaml_file(tmp_path, text: str | bytes, name="s.yaml") -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


# ---------------------------------------------------------------- scenario files (exit 2)
BAD_SCENARIOS = {
    "malformed YAML": (SMALL + "ue_angle_rad: [0.1, 0.2\n", "malformed YAML"),
    "list for a number": (SMALL.replace("n_antennas: 32", "n_antennas: [32, 64]"), "n_antennas"),
    "float seed": (SMALL + "seed: 1.5\n", "seed"),
    "negative seed": (SMALL + "seed: -3\n", "seed"),
    "bool count": (SMALL + "ccm_draws: true\n", "ccm_draws"),
    "string number": (SMALL + "carrier_hz: banana\n", "carrier_hz"),
    "python tag": (SMALL + "x: !!python/object:os.system {}\n", "python/object"),
    "too large": (SMALL.replace("n_antennas: 32", "n_antennas: 10000000"), "n_antennas"),
    "unknown field": (SMALL + "antennas: 4\n", "antennas"),
    "not a mapping": ("- 1\n- 2\n", "mapping"),
    "empty name": (SMALL + "name: ''\n", "name"),
    "nan distance": (SMALL.replace("[6.0, 12.0]", "[.nan, 12.0]"), "distance"),
}


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
@pytest.mark.parametrize("command", ["scenario", "generate"])
def test_bad_scenario_file(tmp_path, capsys, case, command):
    text, culprit = BAD_SCENARIOS[case]
    path = yaml_file(tmp_path, text)
    argv = [command] + (["sumrate"] if command == "generate" else []) + ["--scenario", path]
    check(capsys, argv, 2, culprit)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]  # nothing written


def test_bad_utf8_names_the_file(tmp_path, capsys):
    path = yaml_file(tmp_path, SMALL.encode() + b"name: caf\xe9\n")
    line = check(capsys, ["scenario", "--scenario", path], 2, "s.yaml")
    assert "UTF-8" in line


@pytest.mark.parametrize(
    "text, culprit",
    [
        ("system: ris\nn_antennas: [1\n", "malformed YAML"),
        ("system: ris\nn_antennas: [4, 8]\n", "n_antennas"),
        ("system: ris\nbs_power_dbm: [1]\n", "bs_power_dbm"),
        (b"system: ris\nlayout: \xff\n", "UTF-8"),
    ],
)
def test_bad_ris_scenario_file(tmp_path, capsys, text, culprit):
    path = yaml_file(tmp_path, text)
    check(capsys, ["ris", "--scenario", path], 2, culprit)


def test_ris_bad_device(capsys):
    check(capsys, ["ris", "--device", "banana"], 2, "--device 'banana'")


# ---------------------------------------------------------------- output paths (exit 2)
def test_export_paths(tmp_path, capsys):
    regular = tmp_path / "regular"
    regular.write_text("x")
    check(capsys, ["scenario", "--export", ""], 2, "--export")
    check(capsys, ["scenario", "--export", str(tmp_path)], 2, "is a folder")
    check(capsys, ["scenario", "--export", str(regular / "x.npz")], 2, "regular")
    check(capsys, ["keyrate", "--pa-dbm", "0", "--export", ""], 2, "--export")


def test_out_paths(tmp_path, capsys):
    regular = tmp_path / "regular"
    regular.write_text("x")
    check(capsys, ["generate", "sumrate", "--out", str(tmp_path)], 2, "is a folder")
    check(capsys, ["generate", "sumrate", "--out", str(regular / "d.npz")], 2, "regular")
    check(capsys, ["generate", "sumrate", "--out", str(tmp_path / "d.txt")], 2, ".npz")
    check(capsys, ["train", "kglm", "--out-dir", str(regular)], 2, "--out-dir")
    check(capsys, ["reproduce", "ris-fig11", "--out", str(regular)], 2, "--out")
    check(capsys, ["demo", "--out", str(regular / "sub")], 2, "regular")


def test_read_only_target_names_the_path(tmp_path, capsys, monkeypatch):
    """A folder the user cannot write (simulated: the tests may run as root)."""
    import plkg.io.atomic as atomic

    def denied(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied", str(dir))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", denied)
    monkeypatch.setenv("PLKG_NO_CACHE", "1")  # the design cache would warn about the same folder
    out = tmp_path / "ro" / "d.npz"
    scenario = yaml_file(tmp_path, SMALL)
    argv = ["generate", "sumrate", "--scenario", scenario, "--n-samples", "9", "--out", str(out)]
    check(capsys, argv, 2, str(out.parent))


# ---------------------------------------------------------------- nist (exit 2)
@pytest.mark.parametrize(
    "extra, culprit",
    [
        (["--apen-m", "40"], "--apen-m"),
        (["--serial-m", "64"], "--serial-m"),
        (["--serial-m", "1"], "--serial-m"),
        (["--block-size", "0"], "--block-size"),
        (["--tests", ","], "--tests"),
        (["--tests", " , ,"], "--tests"),
    ],
)
def test_nist_bad_options(tmp_path, capsys, extra, culprit):
    f = tmp_path / "bits.txt"
    f.write_text("01" * 200)
    check(capsys, ["nist", str(f), *extra], 2, culprit)


def test_nist_directory(tmp_path, capsys):
    check(capsys, ["nist", str(tmp_path)], 2, str(tmp_path))


# ----------------------------------------------------------- runtime failures, refusals (exit 1, 2)
@pytest.mark.parametrize("method", ["wfpa", "exact-maxmin"])
def test_budget_beyond_float64_is_refused_in_one_line(capsys, method):
    """P_a = 1e300 W puts the water level beyond float64. Refused in one line naming the budget:
    exit 2 where the solvable-domain check refuses it as input, 1 where a solver gives up; which
    check fires first is not pinned (it may depend on round-off), a refusal without a traceback is.
    """
    assert main(["keyrate", "--pa-w", "1e300", "--method", method]) in (1, 2)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("plkg")]
    assert "Traceback" not in err and len(lines) == 1, err
    assert "1e+300" in lines[0] and "internal error" not in lines[0], lines[0]


def test_corrupt_manifest_is_named(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text("{not json")
    check(capsys, ["reproduce", "ris-fig11", "--quick", "--out", str(tmp_path)], 2, "manifest.json")


@pytest.mark.parametrize(
    "exc, status, culprit",
    [
        (MemoryError(), 1, "out of memory"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (OSError(errno.ENOSPC, "No space left on device", "/x/y.npz"), 1, "/x/y.npz"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/etc/passwd/x"), 2, "/etc/passwd"),
        (TypeError("seed must be int, got list"), 2, "seed"),
        (KeyError("n_antennas"), 2, "n_antennas"),
        (RuntimeError("boom"), 1, "internal error RuntimeError: boom"),
    ],
)
def test_exception_classes(tmp_path, capsys, monkeypatch, exc, status, culprit):
    import plkg.commands.nist as nist

    def raising(args):
        raise exc

    monkeypatch.setattr(nist, "run", raising)
    check(capsys, ["nist", "whatever"], status, culprit)


def test_debug_shows_the_traceback(capsys, monkeypatch):
    for argv in (
        ["--debug", "ris", "--device", "banana"],
        ["ris", "--device", "banana", "--debug"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback" in err and err.rstrip().endswith("(cpu, cuda, cuda:N)")
    monkeypatch.setenv("PLKG_DEBUG", "1")
    assert main(["ris", "--device", "banana"]) == 2
    assert "Traceback" in capsys.readouterr().err


# ---------------------------------------------------------------- signals (subprocess)
SLOW_WRITER = """
import sys, time
import plkg.commands.nist as nist
from plkg.io.atomic import atomic_path

def slow(args):
    with atomic_path(sys.argv[1]) as tmp:
        tmp.write_bytes(b"x" * 1000)
        print("ready", flush=True)
        # slow work as Python steps, not one 60 s sleep: the kernel may hand the signal to a
        # BLAS thread, and CPython then raises it in the main thread only at its next step
        for _ in range(600):
            time.sleep(0.1)

nist.run = slow
from plkg.cli import main
sys.exit(main(["nist", "ignored"]))
"""


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_removes_temporary_files(tmp_path, signum, status):
    target = tmp_path / "big.npz"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # mid-write
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == status
    assert "Traceback" not in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # neither the temporary file nor a partial target


def test_console_script_prints_no_traceback(tmp_path):
    bad = yaml_file(tmp_path, "n_antennas: [32, 64\n")
    res = subprocess.run(
        [sys.executable, "-m", "plkg.cli", "scenario", "--scenario", bad],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PLKG_DEBUG": ""},
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr and bad in res.stderr


# ---------------------------------------------------------------- files (class 3)
def test_scenario_name_cannot_leave_the_output_folder(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    path = yaml_file(tmp_path, SMALL + "name: ../../../somewhere/x\n")
    argv = ["generate", "sumrate", "--scenario", path, "--n-samples", "9", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    out = Path(summary["out"]).resolve()
    assert out.parent == (work / "datasets").resolve()
    assert out.name == "somewhere_x_sumrate.npz"
    assert not (tmp_path / "somewhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml", "work"]


def test_demo_paths_stay_inside_out(tmp_path, monkeypatch):
    """demo: the config name is sanitised before the first file is written (stopped there)."""
    import plkg.data.sumrate_dataset as sumrate

    seen = []

    def capture(scenario, out_path, **kw):
        seen.append(Path(out_path))
        raise KeyboardInterrupt

    monkeypatch.setattr(sumrate, "generate_sumrate_dataset", capture)
    path = yaml_file(tmp_path, SMALL + "name: ../../../somewhere/x\n")
    assert main(["demo", "--scenario", path, "--out", str(tmp_path / "o")]) == 130
    assert seen[0] == (tmp_path / "o" / "datasets" / "somewhere_x_sumrate.npz").resolve()


def test_safe_stem_and_inside(tmp_path):
    from plkg.commands._paths import inside, safe_stem

    assert safe_stem("../../../somewhere/x") == "somewhere_x"
    assert safe_stem("..") == "scenario" and safe_stem("") == "scenario"
    assert safe_stem("a b/c\\d:e*f?g") == "a_b_c_d_e_f_g"
    assert safe_stem(".hidden") == "hidden"
    assert len(safe_stem("x" * 500)) == 100
    assert inside(tmp_path, "a/b.npz") == (tmp_path / "a" / "b.npz").resolve()
    for bad in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(ValueError, match="would leave"):
            inside(tmp_path, bad)


@pytest.mark.parametrize("kind", ["sumrate", "fairness"])
def test_absurd_power_range_writes_no_degenerate_dataset(tmp_path, capsys, kind):
    """-300..-250 dBm: the command refuses, naming the power range, or writes a usable dataset.

    Which check refuses first (the solver's certificate, the KKT residual, labels equal to 1e-12
    or <= 0) depends on round-off, so on the CPU and BLAS: asserted is what every one of them
    guarantees, not which one fires. A success must carry finite, positive, non-constant labels.
    """
    scenario = yaml_file(tmp_path, SMALL)
    out = tmp_path / "o" / "d.npz"
    argv = ["generate", kind, "--scenario", scenario, "--n-samples", "12", "--out", str(out)]
    status = main([*argv, "--pa-dbm-range", "-300", "-250"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if status == 0:
        from plkg.data.dataset import load_dataset

        ds = load_dataset(out)  # refuses constant or non-positive labels itself; checked here too
        assert ds.meta["input_range"] == [-300.0, -250.0]
        assert np.all(np.isfinite(ds.labels)) and np.all(ds.labels > 0)
        assert np.ptp(ds.labels) > 1e-12 * np.max(ds.labels)
        return
    assert status in (1, 2), err
    lines = [line for line in err.splitlines() if line.startswith("plkg")]
    assert len(lines) == 1, err
    assert "power range" in lines[0] and "internal error" not in lines[0], lines[0]
    assert not (tmp_path / "o").exists()
