"""`plkg reproduce` records each finished figure at once, and pins version and configs without git."""

from __future__ import annotations

import hashlib
import json

import pytest

import plkg.commands.reproduce as reproduce
from plkg import __version__, defaults
from plkg.cli import main

pytestmark = pytest.mark.surface  # no floating-point kernel decides these outcomes


def _figure(name):
    def fig(out, quick=False):
        path = out / f"{name}.csv"
        path.write_text("x\n1\n")
        return [path]

    fig.__name__ = name.replace("-", "_")
    return fig


def _interrupted(out, quick=False):
    raise KeyboardInterrupt


@pytest.fixture
def registry(monkeypatch):
    reg = {"a": _figure("a"), "b": _interrupted}
    monkeypatch.setattr(reproduce, "figure_registry", lambda: reg)
    monkeypatch.setattr(reproduce, "_code_commit", lambda: None)  # as from an installed wheel
    return reg


def test_interrupt_keeps_finished_figures_in_the_manifest(tmp_path, capsys, registry):
    assert main(["reproduce", "a", "b", "--out", str(tmp_path)]) == 130
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert list(manifest["figures"]) == ["a"]
    assert manifest["figures"]["a"]["files"] == ["a.csv"]  # relative: the folder can move
    assert "Traceback" not in capsys.readouterr().err


def test_manifest_pins_version_and_config_texts_without_git(tmp_path, registry):
    assert main(["reproduce", "a", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["code_commit"] is None
    assert manifest["plkg_version"] == __version__
    assert "plkg_installed_version" in manifest
    shipped = sorted(defaults.folder("configs").glob("*.yaml"))
    assert sorted(manifest["configs"]) == sorted(p.stem for p in shipped)
    for path in shipped:
        entry = manifest["configs"][path.stem]
        assert entry["text"] == path.read_text(encoding="utf-8")
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_figure_writing_outside_out_is_refused(tmp_path, capsys, monkeypatch, registry):
    def escaping(out, quick=False):
        return [out.parent / "elsewhere.png"]

    registry["a"] = escaping
    out = tmp_path / "res"
    assert main(["reproduce", "a", "--out", str(out)]) == 2
    assert "would leave the folder" in capsys.readouterr().err
    assert not (out / "manifest.json").exists()
