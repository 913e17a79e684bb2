"""``plkg keys``: security options, the ``security`` report, and an honest ``--out DIR``.

CLI semantics only (exit codes, one-line messages, files written or not): marked ``surface``.
"""

from __future__ import annotations

import json
import math
import os
import signal

import pytest

from plkg.cli import main

pytestmark = pytest.mark.surface


@pytest.fixture()
def small(small_yaml):
    p = small_yaml
    return ["keys", "--scenario", str(p), "--pa-dbm", "-10", "--quiet"]


def one_error_line(capsys, argv, status=2):
    assert main(argv) == status
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("option", ["--eps-sec", "--eps-cor", "--training-fraction"])
@pytest.mark.parametrize("value", ["0", "2", "nan", "1", "-0.5", "inf"])
def test_probability_options_outside_open_unit_interval(option, value, capsys, tmp_path):
    out = tmp_path / "never"
    line = one_error_line(capsys, ["keys", option, value, "--out", str(out)])
    assert option in line and "(0, 1)" in line
    assert not out.exists()  # refused before any work


def test_eps_sec_and_margin_exclude_each_other(capsys):
    line = one_error_line(capsys, ["keys", "--eps-sec", "1e-6", "--security-margin-bits", "40"])
    assert "--eps-sec" in line and "--security-margin-bits" in line
    line = one_error_line(capsys, ["keys", "--security-margin-bits", "nan"])
    assert "--security-margin-bits" in line
    line = one_error_line(capsys, ["keys", "--basis-from", "block", "--training-fraction", "0.2"])
    assert "--training-fraction" in line


def test_security_object_in_json(small, capsys):
    assert main([*small, "--rounds", "64", "--json", "--eps-sec", "1e-6", "--eps-cor", "1e-3"]) == 0
    out = json.loads(capsys.readouterr().out)
    sec = out["security"]
    assert sec["eps_sec"] == 1e-6 and sec["eps_cor"] == 1e-3
    assert sec["margin_bits"] == pytest.approx(2 * math.log2(1e6))
    assert sec["hash_bits"] == math.ceil(math.log2(1e3)) == 10
    assert isinstance(sec["assumptions"], list) and len(sec["assumptions"]) >= 5
    text = " ".join(sec["assumptions"])
    assert "half a wavelength" in text and "identically distributed" in text
    assert sec["key_material"] == out["key_material"] == "test"
    assert "not secrets" in sec["key_material_note"]
    assert sec["public_correlation"] is True  # near-field: designed subchannel correlations
    assert "leak" in sec["leak_accounting"]
    for u in out["users"]:
        assert u["leak_bits"] == u["disclosed_bits"] + u["reply_bits"] + u["length_bits"]


def test_explicit_margin_reports_the_implied_eps(small, capsys):
    assert main([*small, "--rounds", "64", "--json", "--security-margin-bits", "40"]) == 0
    sec = json.loads(capsys.readouterr().out)["security"]
    assert sec["margin_bits"] == 40 and sec["eps_sec"] == 2.0**-20
    assert sec["eps_sec_source"] == "security_margin_bits" and sec["hash_bits"] == 34


def test_text_output_and_help_state_assumptions_and_test_material(small, capsys):
    assert main([*small, "--rounds", "64"]) == 0
    text = capsys.readouterr().out
    for phrase in (
        "eps_sec 1e-10",
        "eps_cor 1e-10",
        "34-bit",
        "assumptions:",
        "TEST",
        "not secrets",
    ):
        assert phrase in text, phrase
    with pytest.raises(SystemExit):
        main(["keys", "--help"])
    helptext = capsys.readouterr().out
    for phrase in ("NOT SECRETS", "eps_sec", "half a", "--out DIR", "only as secret"):
        assert phrase in helptext, phrase


def test_progress_summary_line_on_stderr_unless_quiet(small, capsys):
    argv = [a for a in small if a != "--quiet"]
    assert main([*argv, "--rounds", "64", "--json"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("plkg keys:") and "blocks" in err[0]
    assert main([*small, "--rounds", "64", "--json"]) == 0
    assert capsys.readouterr().err == ""


def test_reused_out_has_no_stale_key_files(small, tmp_path, capsys):
    out = tmp_path / "keys"
    out.mkdir()
    stale = {"ue3.txt": "0101\n", "cell0.txt": "1\n", "summary.json": "{}\n"}
    mine = {"notes.txt": "keep", "ue3.txt.bak": "keep", "myue1.txt": "keep", "ue.txt": "keep"}
    for name, text in {**stale, **mine}.items():
        (out / name).write_text(text)
    assert main([*small, "--rounds", "64", "--json", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    names = {p.name for p in out.iterdir()}
    assert "ue3.txt" not in names and "cell0.txt" not in names
    assert set(mine) <= names and all((out / n).read_text() == "keep" for n in mine)
    written = set(report["key_files"].values())
    assert written and names == set(mine) | written | {"summary.json"}  # no temporary left
    assert json.loads((out / "summary.json").read_text())["users"] == report["users"]


def _fail_on_block(monkeypatch, n, action):
    """Make the n-th key block call ``action()`` (raise, or send a signal) instead of running."""
    import plkg.keygen.pipeline as pipeline

    real = pipeline.generate_key_pair
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            action()
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "generate_key_pair", wrapped)
    return calls


def _boom():
    raise RuntimeError("injected failure in the middle of the run")


@pytest.mark.parametrize(
    "action, status",
    [
        (_boom, 1),
        (lambda: os.kill(os.getpid(), signal.SIGTERM), 143),
        (lambda: os.kill(os.getpid(), signal.SIGINT), 130),
    ],
    ids=["error", "sigterm", "sigint"],
)
def test_failed_or_interrupted_run_leaves_no_key_files(
    small, tmp_path, capsys, monkeypatch, action, status
):
    """Blocks of UE 1 finish, then the run fails at UE 2: a new DIR is not created, a reused DIR
    keeps exactly its earlier files, and nothing temporary is left behind."""
    fresh = tmp_path / "fresh"
    reused = tmp_path / "reused"
    reused.mkdir()
    (reused / "ue1.txt").write_text("0110\n")
    (reused / "summary.json").write_text('{"old": true}\n')
    argv = [*small, "--rounds", "64", "--block-rounds", "32"]
    for out in (fresh, reused):
        calls = _fail_on_block(monkeypatch, 3, action)  # 2 blocks per UE: fails at UE 2
        line = one_error_line(capsys, [*argv, "--out", str(out)], status)
        assert calls["n"] == 3 and line.startswith("plkg keys:")
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reused", "small.yaml"]
    assert sorted(p.name for p in reused.iterdir()) == ["summary.json", "ue1.txt"]
    assert (reused / "ue1.txt").read_text() == "0110\n"


def test_commit_failure_leaves_folder_unchanged(tmp_path, monkeypatch):
    """A write that fails while staging (disk full) leaves DIR as it was, no temporary left."""
    from pathlib import Path

    from plkg.commands.keys import commit_out

    out = tmp_path / "keys"
    out.mkdir()
    (out / "ue0.txt").write_text("old\n")
    real = Path.write_text
    count = {"n": 0}

    def full(self, *args, **kwargs):
        count["n"] += 1
        if count["n"] == 2:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError):
        commit_out(out, {"ue0.txt": "new\n", "ue1.txt": "1\n", "summary.json": "{}\n"})
    monkeypatch.setattr(Path, "write_text", real)
    assert [p.name for p in out.iterdir()] == ["ue0.txt"]
    assert (out / "ue0.txt").read_text() == "old\n"
    commit_out(tmp_path / "new" / "keys", {"ue0.txt": "1\n", "summary.json": "{}\n"})
    assert sorted(p.name for p in (tmp_path / "new" / "keys").iterdir()) == [
        "summary.json",
        "ue0.txt",
    ]
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["keys"]


@pytest.mark.parametrize(
    "extra, correlation, public, phrase",
    [
        ([], False, False, "published and give no key bits"),
        (["--basis-from", "block"], False, False, "NOT COVERED"),
        ([], True, True, "public design values"),
    ],
    ids=["training", "block", "file-correlation"],
)
def test_measurements_report_where_the_basis_came_from(
    extra, correlation, public, phrase, tmp_path, capsys
):
    import numpy as np

    rng = np.random.default_rng(4)
    h = rng.standard_normal((128, 2)) + 1j * rng.standard_normal((128, 2))
    noise = 0.05 * (rng.standard_normal((2, 128, 2)) + 1j * rng.standard_normal((2, 128, 2)))
    arrays = {"alice": h + noise[0], "bob": h + noise[1]}
    if correlation:
        arrays["correlation"] = np.full(2, 0.99)
    path = tmp_path / "meas.npz"
    np.savez(path, **arrays)
    assert main(["keys", "--measurements", str(path), "--json", "--quiet", *extra]) == 0
    out = json.loads(capsys.readouterr().out)
    sec = out["security"]
    assert sec["public_correlation"] is public and out["key_material"] == "measured"
    assert phrase in " ".join(sec["assumptions"])
    trained = [u["training_rounds"] for u in out["users"]]
    assert trained == ([13] if not extra and not correlation else [0])
