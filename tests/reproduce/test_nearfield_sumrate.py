"""Smoke test of the sum-KR figures (quick mode): files exist and the curves are ordered."""

from __future__ import annotations

import csv

import pytest

from plkg.reproduce import figure_registry

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_registered():
    assert {"nf-fig4", "nf-fig5", "nf-fig6-sum"} <= set(figure_registry())


def test_fig5_and_fig6_sum_quick(tmp_path):
    reg = figure_registry()
    paths = reg["nf-fig5"](tmp_path, quick=True) + reg["nf-fig6-sum"](tmp_path, quick=True)
    assert {p.suffix for p in paths} == {".png", ".csv"}
    assert all(p.stat().st_size > 0 for p in paths)
    rows = list(csv.DictReader(open(tmp_path / "nf-fig5.csv")))
    assert sum(r["split"] == "train" for r in rows) == 140
    assert sum(r["split"] == "test" for r in rows) == 30
    curves: dict[str, dict[float, float]] = {}
    for r in csv.DictReader(open(tmp_path / "nf-fig6-sum.csv")):
        curves.setdefault(r["method"], {})[float(r["pa_dbm"])] = float(r["sum_c_bits_eq42"])
        # quick computes the full run's column, I_k of Eq. (17) on the real design, which equals
        # C_k of Eq. (42) for the designed precoders
        eq17 = float(r["sum_kr_bits_eq17"])
        assert eq17 == pytest.approx(float(r["sum_c_bits_eq42"]), rel=1e-6)
    for p, wf in curves["wfpa"].items():
        assert curves["epa"][p] <= wf * (1 + 1e-12)  # water-filling is optimal
        assert 0.999 * wf <= curves["fnnpa"][p] <= wf * (1 + 1e-12)
    ps = sorted(curves["wfpa"])
    assert all(curves["wfpa"][a] < curves["wfpa"][b] for a, b in zip(ps, ps[1:], strict=False))
