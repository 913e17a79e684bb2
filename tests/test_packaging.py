"""What a user of a package expects to find, and one source of truth for the shipped data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from plkg import defaults

pytestmark = pytest.mark.surface  # no floating-point kernel decides these outcomes

ROOT = Path(__file__).resolve().parents[1]


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_top_level_data_folders_are_the_package_data():
    for kind in defaults.KINDS:
        top = ROOT / kind
        assert top.is_symlink(), f"{kind}/ must link to plkg/defaults/{kind}"
        assert top.resolve() == defaults.folder(kind).resolve()


def test_shipped_data_is_declared_as_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["plkg.defaults"]
    for kind in defaults.KINDS:
        for path in defaults.folder(kind).iterdir():
            if path.name.startswith("."):
                continue
            rel = f"{kind}/{path.name}"
            assert any(Path(rel).match(p) for p in patterns), f"{rel} would not be in the wheel"


def test_license_citation_changelog():
    assert _project()["license"]["text"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == _project()["version"]
    titles = " ".join(ref["title"] for ref in citation["references"])
    assert "Near-Field" in titles and "Reconfigurable Intelligent Surface" in titles
    assert f"## {_project()['version']}" in (ROOT / "CHANGELOG.md").read_text()


def test_package_data_names_are_bare():
    import pytest

    for bad in ("../x", "a/b", "", ".."):
        with pytest.raises(ValueError, match="bare name"):
            defaults.config_path(bad)
    assert defaults.config_path("fig6").is_file()
    assert "kglm_fig6" in defaults.names("checkpoints")
