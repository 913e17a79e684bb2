"""``plkg cache list|size|clear`` on a temporary cache folder: plkg's entries only."""

from __future__ import annotations

import json
import os
import time

import pytest

from plkg.cli import main
from plkg.precoding import design_cache

pytestmark = pytest.mark.surface


@pytest.fixture
def cache(tmp_path, monkeypatch, small_scenario):
    """A cache folder with one recorded entry, one old entry, a stray temp and a foreign file."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("PLKG_CACHE_DIR", str(folder))
    monkeypatch.delenv("PLKG_NO_CACHE", raising=False)
    tiny = small_scenario.replace(n_antennas=16, n_scatterers=4, ccm_draws=2, name="tiny")
    design_cache.cached_design(tiny)
    (fresh,) = folder.glob("design-*.npz")
    old = folder / ("design-" + "0" * 32 + ".npz")
    old.write_bytes(fresh.read_bytes())
    stray = folder / f".{old.name}.abc123.tmp"
    stray.write_bytes(b"half an entry")
    week = time.time() - 7 * 86400
    for path in (old, stray):
        os.utime(path, (week, week))
    (folder / "notes.txt").write_text("mine")
    (folder / "design-notes.txt").write_text("mine too")
    return folder, fresh, old, stray, tiny


def run(capsys, *argv):
    code = main(["cache", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_entries_with_their_scenario(cache, capsys):
    folder, fresh, old, _, tiny = cache
    code, out, _ = run(capsys, "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith(fresh.name[7:-4]) and "tiny (N = 16, K = 2)" in lines[0]
    code, out, _ = run(capsys, "list", "--json")
    entries = json.loads(out)
    assert [e["path"] for e in entries] == [str(fresh), str(old)]
    assert entries[0]["scenario"] == "tiny" and entries[0]["n_users"] == tiny.n_users
    assert entries[0]["size_bytes"] == fresh.stat().st_size


def test_size_counts_entries_only(cache, capsys):
    folder, fresh, old, _, _ = cache
    code, out, _ = run(capsys, "size", "--json")
    size = json.loads(out)
    assert code == 0 and size["entries"] == 2 and size["folder"] == str(folder)
    assert size["bytes"] == fresh.stat().st_size + old.stat().st_size
    code, out, _ = run(capsys, "size")
    assert "2 design entries" in out and str(folder) in out


def test_clear_older_than_dry_run_then_all(cache, capsys):
    folder, fresh, old, stray, _ = cache
    code, out, _ = run(capsys, "clear", "--older-than", "1", "--dry-run")
    assert code == 0 and f"would remove {old}" in out and f"would remove {stray}" in out
    assert old.exists() and stray.exists() and str(fresh) not in out
    code, out, _ = run(capsys, "clear", "--older-than", "1")
    assert code == 0 and not old.exists() and not stray.exists() and fresh.exists()
    code, out, _ = run(capsys, "clear")
    assert code == 0 and f"removed {fresh}" in out and not fresh.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["design-notes.txt", "notes.txt"]


def test_used_entry_is_kept_by_older_than(cache, capsys):
    folder, fresh, old, _, tiny = cache
    week = time.time() - 7 * 86400
    os.utime(fresh, (week, week))
    design_cache.cached_design(tiny)  # a hit marks the entry as used now
    run(capsys, "clear", "--older-than", "1")
    assert fresh.exists() and not old.exists()


@pytest.mark.parametrize("days", ["-1", "nan", "inf"])
def test_bad_older_than_is_one_line(cache, capsys, days):
    folder, fresh, old, _, _ = cache
    code, out, err = run(capsys, "clear", "--older-than", days)
    assert code == 2 and err.count("\n") == 1 and "--older-than" in err
    assert fresh.exists() and old.exists()


def test_missing_cache_folder_is_empty(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PLKG_CACHE_DIR", str(tmp_path / "none"))
    assert run(capsys, "list") == (0, "", "")
    code, out, _ = run(capsys, "clear")
    assert code == 0 and "removed 0 file(s)" in out
