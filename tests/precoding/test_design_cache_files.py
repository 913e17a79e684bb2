"""``plkg cache`` touches plkg's own files only and survives damaged ones: a corrupt entry is
listed as unreadable and cleared, a user's file or folder with a similar name is left alone, and
a file that cannot be removed is one warning line."""

from __future__ import annotations

import json
import os
import re

import pytest

from plkg.cli import main
from plkg.precoding import design_cache

pytestmark = pytest.mark.surface


@pytest.fixture
def cache(tmp_path, monkeypatch, small_scenario):
    folder = tmp_path / "cache"
    monkeypatch.setenv("PLKG_CACHE_DIR", str(folder))
    monkeypatch.delenv("PLKG_NO_CACHE", raising=False)
    tiny = small_scenario.replace(n_antennas=16, n_scatterers=4, ccm_draws=2, name="tiny")
    design_cache.cached_design(tiny)
    (good,) = folder.glob("design-*.npz")
    return folder, good, tiny


def run(capsys, *argv):
    code = main(["cache", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_key_is_what_the_entry_names_accept(cache):
    folder, good, tiny = cache
    key = design_cache.cache_key(tiny)
    assert re.fullmatch(r"[0-9a-f]{32}", key) and good.name == f"design-{key}.npz"
    assert design_cache.ENTRY_NAME.fullmatch(good.name)


def test_corrupt_entry_is_listed_and_cleared(cache, capsys):
    folder, good, _ = cache
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


def test_foreign_names_and_folders_are_left_alone(cache, capsys):
    folder, good, _ = cache
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
def test_file_that_cannot_be_removed_is_one_warning(cache, capsys):
    folder, good, _ = cache
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


def test_unremovable_file_does_not_stop_the_others(cache, monkeypatch):
    folder, good, _ = cache
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
