"""Smoke test of the key-bit figures registry (quick mode of the cheapest one)."""

from __future__ import annotations

import csv

from plkg.reproduce import figure_registry


def test_keygen_figures_registered_and_table_quick(tmp_path):
    registry = figure_registry()
    for name in ("ris-fig7", "ris-table1", "nf-keybits"):
        assert name in registry
    paths = registry["ris-table1"](tmp_path, quick=True)
    assert {p.suffix for p in paths} == {".csv", ".md", ".tex"}
    assert not (tmp_path / "ris-table1.png").exists()  # a table, not an image
    rows = list(csv.DictReader(open(tmp_path / "ris-table1.csv")))
    assert len(rows) == 11
    rank = next(r for r in rows if r["test"] == "rank")
    assert rank["eligible_at_2048"] == "False" and "38" in rank["note"]
    for r in rows:
        assert 0.0 <= float(r["pass_ratio"]) <= 1.0
