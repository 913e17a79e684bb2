"""plkg.progress: throttled compact lines on stderr when it is not a terminal, one summary line,
nothing on stdout, nothing at all when quiet (set_quiet, PLKG_QUIET, the CLI's global --quiet)."""

from __future__ import annotations

import pytest

import plkg.progress as progress
from plkg.cli import main

pytestmark = pytest.mark.surface


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progress, "_clock", fake)
    monkeypatch.delenv("PLKG_QUIET", raising=False)
    progress.set_quiet(False)
    yield fake
    progress.set_quiet(False)


def _run_blocks(clock, n=40, seconds_each=0.7):
    with progress.progress_bar(n, desc="keys", unit="block") as bar:
        for i in range(n):
            clock.t += seconds_each
            bar.update(1, note=f"UE {i // 10 + 1}")


def test_lines_are_throttled_and_end_with_one_summary(clock, capsys):
    _run_blocks(clock)  # 28 s of fake time
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout is for results only
    lines = captured.err.splitlines()
    heartbeat, summary = lines[:-1], lines[-1]
    # at most one line per INTERVAL_S: 28 s give 5 heartbeat lines, not 40
    assert 1 <= len(heartbeat) <= 28 / progress.INTERVAL_S
    assert all(line.startswith("[keys] ") and "/40 blocks, UE " in line for line in heartbeat)
    assert "\r" not in captured.err
    assert summary == "[keys] 40/40 blocks in 28.0 s"


def test_short_run_prints_only_the_summary(clock, capsys):
    _run_blocks(clock, n=3, seconds_each=0.1)
    assert capsys.readouterr().err.splitlines() == ["[keys] 3/3 blocks in 0.3 s"]


def test_unknown_total_and_plural(clock, capsys):
    with progress.progress_bar(None, desc="general dataset", unit="geometry") as bar:
        clock.t += 6.0
        bar.update(2)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[general dataset] 2 geometries, 6")
    assert err[-1] == "[general dataset] 2 geometries in 6.0 s"


def test_error_inside_the_bar_gives_no_summary(clock, capsys):
    with pytest.raises(RuntimeError):
        with progress.progress_bar(4, desc="keys", unit="block") as bar:
            bar.update(1)
            raise RuntimeError("boom")
    assert capsys.readouterr().err == ""  # the error keeps its one line


def test_summary_false_leaves_the_summary_to_the_caller(clock, capsys):
    with progress.progress_bar(2, desc="keys", unit="block", summary=False) as bar:
        bar.update(2)
    assert capsys.readouterr().err == ""


def test_quiet_silences_bars_and_steps(clock, capsys):
    progress.set_quiet(True)
    assert progress.is_quiet()
    _run_blocks(clock)
    progress.step("[demo] 3/9 training ...")
    assert capsys.readouterr() == ("", "")


def test_plkg_quiet_environment(clock, capsys, monkeypatch):
    monkeypatch.setenv("PLKG_QUIET", "1")
    assert progress.is_quiet()
    progress.step("[x] hidden")
    monkeypatch.setenv("PLKG_QUIET", "0")
    assert not progress.is_quiet()
    progress.step("[x] shown")
    assert capsys.readouterr().err == "[x] shown\n"


def test_step_is_one_stderr_line(clock, capsys):
    progress.step("[demo] 3/9 training KGLM-Net ...")
    assert capsys.readouterr() == ("", "[demo] 3/9 training KGLM-Net ...\n")


def test_quiet_flag_is_taken_out_anywhere_before_double_dash():
    from plkg.cli_boundary import quiet_requested

    assert quiet_requested(["keys", "--quiet", "--rounds", "8"]) == (
        True,
        ["keys", "--rounds", "8"],
    )
    assert quiet_requested(["--quiet", "nist", "--", "--quiet"]) == (
        True,
        ["nist", "--", "--quiet"],
    )


def test_global_quiet_silences_keys(small_yaml, capsys, monkeypatch):
    """`plkg --quiet keys ...` and `plkg keys ... --quiet`: results on stdout, nothing on stderr;
    without it the one summary line. The global setting does not outlive the call."""
    monkeypatch.delenv("PLKG_QUIET", raising=False)
    argv = ["keys", "--scenario", str(small_yaml), "--pa-dbm", "-10", "--rounds", "64"]
    assert main(["--quiet", *argv]) == 0
    out, err = capsys.readouterr()
    assert "UE 1:" in out and err == ""
    assert not progress.is_quiet()  # restored after the in-process call
    assert main([*argv, "--quiet", "--json"]) == 0
    assert capsys.readouterr().err == ""
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("plkg keys: 2 UEs, 2 key blocks in ")


def test_global_quiet_is_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "--quiet" in text and "PLKG_QUIET" in text and "numbered from 1" in text


def test_quiet_block_restores_the_previous_setting(clock, capsys):
    with progress.quiet():
        progress.step("[sweep task] hidden")
        assert progress.is_quiet()
    assert not progress.is_quiet()
    progress.step("[after] shown")
    err = capsys.readouterr().err
    assert "hidden" not in err and "[after] shown" in err
