"""Smoke test of one RIS figure (quick mode) and of the registry entries."""

from __future__ import annotations

from plkg.reproduce import figure_registry
from plkg.reproduce.ris_figures import FIGURES


def test_registry_has_ris_figures():
    names = set(figure_registry())
    assert {f"ris-fig{i}" for i in (4, 5, 6, 8, 9, 10, 11, 12)} <= names
    assert set(FIGURES) <= names


def test_fig11_layout_quick(tmp_path):
    paths = FIGURES["ris-fig11"](tmp_path, quick=True)
    assert sorted(p.suffix for p in paths) == [".csv", ".png"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    csv = next(p for p in paths if p.suffix == ".csv").read_text().splitlines()
    assert csv[0] == "node,x_m,y_m" and len(csv) == 1 + 4 + 4 + 3
