"""``plkg cache list|size|clear`` on a temporary cache folder: plkg's entries only.

A corrupt entry is listed as unreadable and cleared; a user's file or folder with a similar name
is left alone; a file that cannot be removed is one warning line."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from plkg.cli import main
from plkg.precoding import design_cache

pytestmark = pytest.mark.surface


@pytest.fixture
def one_entry(tmp_path, monkeypatch, small_scenario):
    """A cache folder ($PLKG_CACHE_DIR) with one recorded entry: (folder, entry, scenario)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("PLKG_CACHE_DIR", str(folder))
    monkeypatch.delenv("PLKG_NO_CACHE", raising=False)
    tiny = small_scenario.replace(n_antennas=16, n_scatterers=4, ccm_draws=2, name="tiny")
    design_cache.cached_design(tiny)
    (entry,) = folder.glob("design-*.npz")
    return folder, entry, tiny


@pytest.fixture
def cache(one_entry):
    """The entry of ``one_entry`` plus one old entry, a stray temp and a foreign file."""
    folder, fresh, tiny = one_entry
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


# ---- damaged entries and files that are not plkg's
def test_key_is_what_the_entry_names_accept(one_entry):
    folder, good, tiny = one_entry
    key = design_cache.cache_key(tiny)
    assert re.fullmatch(r"[0-9a-f]{32}", key) and good.name == f"design-{key}.npz"
    assert design_cache.ENTRY_NAME.fullmatch(good.name)


def test_corrupt_entry_is_listed_and_cleared(one_entry, capsys):
    folder, good, _ = one_entry
    bad = folder / ("design-" + "ab" * 16 + ".npz")
    bad.write_bytes(b"PK\x03\x04 not a zip archive")
    code, out, err = run(capsys, "list")
    assert code == 0 and err == ""
    assert any(line.startswith("ab" * 16) and "unreadable" in line for line in out.splitlines())
    assert any("tiny" in line for line in out.splitlines())
    code, out, _ = run(capsys, "list", "--json")
    shown = {e["key"]: e["unreadable"] for e in json.loads(out)}
    assert shown[good.name[7:-4]] is None and shown["ab" * 16]
    code, out, err = run(capsys, "size")
    assert code == 0 and out.startswith("2 design entries")
    code, out, err = run(capsys, "clear")
    assert code == 0 and err == "" and not bad.exists() and not good.exists()


def test_foreign_names_and_folders_are_left_alone(one_entry, capsys):
    folder, good, _ = one_entry
    foreign = [folder / "design-foo.npz", folder / ("design-" + "A" * 32 + ".npz")]
    for path in foreign:
        path.write_bytes(good.read_bytes())
    (folder / ("design-" + "1" * 32 + ".npz")).mkdir()  # a folder with an entry's name
    (folder / ("design-" + "2" * 32 + ".npz")).symlink_to(good)
    code, out, err = run(capsys, "list", "--json")
    assert code == 0 and [e["path"] for e in json.loads(out)] == [str(good)]
    code, out, err = run(capsys, "clear")
    assert code == 0 and err == "", err
    assert out.splitlines()[0] == f"removed {good}"
    assert not good.exists() and all(p.exists() for p in foreign)
    assert (folder / ("design-" + "1" * 32 + ".npz")).is_dir()
    assert (folder / ("design-" + "2" * 32 + ".npz")).is_symlink()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions")
def test_file_that_cannot_be_removed_is_one_warning(one_entry, capsys):
    folder, good, _ = one_entry
    other = folder / ("design-" + "c" * 32 + ".npz")
    other.write_bytes(good.read_bytes())
    os.chmod(folder, 0o555)  # entries cannot be unlinked
    try:
        code, out, err = run(capsys, "clear")
    finally:
        os.chmod(folder, 0o755)
    assert code == 0
    lines = err.splitlines()
    assert len(lines) == 2 and all(
        "cannot remove" in line and "PermissionError" in line for line in lines
    )
    assert good.exists() and other.exists()
    assert "removed 0 file(s)" in out


def test_unremovable_file_does_not_stop_the_others(one_entry, monkeypatch):
    folder, good, _ = one_entry
    other = folder / ("design-" + "d" * 32 + ".npz")
    other.write_bytes(good.read_bytes())
    real = type(good).unlink

    def unlink(self, missing_ok=False):
        if self == good:
            raise IsADirectoryError(21, "Is a directory", str(self))
        return real(self, missing_ok=missing_ok)

    monkeypatch.setattr(type(good), "unlink", unlink)
    warned = []
    removed = design_cache.clear_entries(warn=warned.append)
    assert removed == [other] and good.exists() and not other.exists()
    assert len(warned) == 1 and "IsADirectoryError" in warned[0] and str(good) in warned[0]
