"""Smoke tests of the fairness figures (quick mode): files written, paper trends in the CSVs."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from plkg.reproduce import nearfield_fairness as nf


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def fig6(tmp_path_factory):
    out = tmp_path_factory.mktemp("fig6")
    return nf.make_fig6_fair(out, quick=True)


def test_fig6_fair_files_and_trends(fig6):
    png, csv_path, gap_csv = fig6
    assert png.stat().st_size > 10_000 and png.suffix == ".png"
    rows = read(csv_path)
    by = {(r["method"], float(r["pa_dbm"])): r for r in rows}
    assert any(r["cvxpakf_status"] == "optimal" for r in rows)
    for (method, pa), r in by.items():
        if method == "cvxpakf" and r["cvxpakf_status"] == "optimal":
            exact = by[("exact-maxmin", pa)]
            assert float(r["min_kr_bits"]) == pytest.approx(float(exact["min_kr_bits"]), rel=1e-4)
            # Fig. 6: fairness costs sum KR
            assert float(r["sum_kr_bits"]) < float(by[("wfpa", pa)]["sum_kr_bits"])
            assert float(r["min_kr_bits"]) > float(by[("wfpa", pa)]["min_kr_bits"])
    gaps = {
        r["method"]: float(r["relative_min_kr_gap_vs_cvxpakf"])
        for r in read(gap_csv)
        if r["pa_dbm"] == "test-mean"
    }
    assert gaps["fnnpakf --mapping exact"] < 5e-3
    assert gaps["fnnpakf --mapping exact"] < gaps["fnnpakf"]


def test_fig7_quick(tmp_path):
    png, csv_path = nf.make_fig7(tmp_path, quick=True)
    rows = read(csv_path)
    assert len({r["subchannel"] for r in rows}) == 3
    x = np.array([float(r["x_fnnpakf_exact_w"]) for r in rows])
    assert np.all(x >= 0) and png.is_file()


def test_registry_names():
    assert set(nf.FIGURES) == {"nf-fig6-fair", "nf-fig7", "nf-fig8", "nf-fig9", "nf-fig10"}


@pytest.mark.parametrize(
    "points",
    [
        nf.fig8_points,
        nf.fig9_points,
        nf.fig10_points,
        lambda quick: nf.fig9_points("fig9-paper", quick),
    ],
)
def test_quick_points_are_points_of_the_full_run(points):
    """--quick computes fewer points, never other ones: each quick scenario (and so its design,
    seeds and draws) is the full run's scenario at that x, so its values equal the full run's."""
    xs_quick, quick = points(quick=True)
    xs_full, full = points(quick=False)
    assert 0 < len(xs_quick) < len(xs_full)
    by_x = dict(zip(xs_full, full, strict=True))
    for x, sc in zip(xs_quick, quick, strict=True):
        assert sc.to_dict() == by_x[x].to_dict()
        assert sc.fingerprint() == by_x[x].fingerprint()
