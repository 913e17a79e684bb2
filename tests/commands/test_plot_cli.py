"""`plkg plot`: figures and tables of a sweep table or reproduce CSV, and a scenario's KR vs P_a.

Bad input is one line and exit 2, with nothing written.
"""

from __future__ import annotations

import csv
import textwrap

import pytest

from plkg.cli import main

pytestmark = pytest.mark.surface

SMALL = textwrap.dedent(
    """\
    name: tiny
    n_antennas: 32
    ue_distance_m: [6.0, 12.0]
    ue_angle_rad: [-0.4, 0.5]
    scatter_radius_m: 1.0
    n_scatterers: 16
    ccm_draws: 4
    """
)


@pytest.fixture
def sweep_parquet(tmp_path):
    """A small table with the columns of a plkg sweep table (two N, two methods, three P_a)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for n in (32, 48):
        for method in ("epa", "wfpa"):
            for p in (0.0, 10.0, 20.0):
                rows.append(
                    {
                        "task_id": f"t{n}",
                        "eval_index": len(rows),
                        "n_antennas": n,
                        "pa_dbm": p,
                        "scenario": "fig6",
                        "method": method,
                        "status": "optimal",
                        "sum_kr_bits": n + p + (1.0 if method == "wfpa" else 0.0),
                        "min_kr_bits": n / 10 + p / 10,
                        "wskr_bits": None,
                    }
                )
    rows.append({**rows[0], "method": "wfpakf", "status": "error", "sum_kr_bits": None})
    path = tmp_path / "sweep.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def one_error_line(capsys, culprit):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("plkg plot: error:"), err
    assert culprit in err[0] and "Traceback" not in err[0]
    return err[0]


def test_sweep_table_defaults_to_pdf_and_csv(sweep_parquet, tmp_path, capsys):
    out = tmp_path / "fig.pdf"
    assert main(["plot", str(sweep_parquet), "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"%PDF"
    rows = _csv(tmp_path / "fig.data.csv")
    # one curve per method and per swept N; x = pa_dbm; sum and min KR; the error row left out
    assert list(rows[0]) == ["method", "n_antennas", "pa_dbm", "sum_kr_bits", "min_kr_bits"]
    assert {r["method"] for r in rows} == {"epa", "wfpa"}
    assert len(rows) == 2 * 2 * 3
    got = {(r["method"], float(r["n_antennas"]), float(r["pa_dbm"])): r for r in rows}
    assert float(got[("wfpa", 48.0, 10.0)]["sum_kr_bits"]) == 59.0


def test_selection_where_and_svg(sweep_parquet, tmp_path):
    out = tmp_path / "f.svg"
    argv = ["plot", str(sweep_parquet), "--out", str(out), "--y", "min_kr_bits"]
    argv += ["--by", "method", "--where", "n_antennas=48", "--title", "N = 48"]
    assert main(argv) == 0
    assert b"<svg" in out.read_bytes()[:400]
    rows = _csv(tmp_path / "f.data.csv")
    assert list(rows[0]) == ["method", "pa_dbm", "min_kr_bits"] and len(rows) == 6
    assert all(float(r["min_kr_bits"]) >= 4.8 for r in rows)


@pytest.mark.parametrize("fmt,suffix", [("csv", ".csv"), ("md", ".md"), ("latex", ".tex")])
def test_table_output(sweep_parquet, tmp_path, fmt, suffix):
    out = tmp_path / f"t{suffix}"
    argv = ["plot", str(sweep_parquet), "--table", fmt, "--out", str(out)]
    assert main(argv + ["--where", "method=epa", "n_antennas=32"]) == 0
    text = out.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("t.")] == [out.name]
    for value in ("32", "42", "52"):  # sum KR of epa at N = 32: 32 + P_a
        assert value in text


def test_reproduce_csv_png_dpi(tmp_path):
    table = tmp_path / "nf-fig6-fair.csv"
    table.write_text(
        "pa_dbm,method,sum_kr_bits,min_kr_bits,cvxpakf_status\n"
        "0,wfpa,1100,60,\n10,wfpa,1400,88,\n0,exact-maxmin,350,87,\n10,exact-maxmin,450,113,\n"
    )
    out = tmp_path / "g.png"
    assert main(["plot", str(table), "--out", str(out), "--dpi", "60"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    methods = [r["method"] for r in _csv(tmp_path / "g.data.csv")]
    assert methods == ["wfpa"] * 2 + ["exact-maxmin"] * 2


@pytest.mark.parametrize(
    "extra,culprit",
    [
        (["--y", "nope"], "'nope'"),
        (["--x", "kr"], "available: task_id"),
        (["--by", "colour"], "'colour'"),
        (["--where", "nope=1"], "'nope'"),
        (["--where", "method"], "COL=VALUE"),
        (["--dpi", "0"], "--dpi"),
    ],
)
def test_bad_column_is_one_line_nothing_written(sweep_parquet, tmp_path, capsys, extra, culprit):
    out = tmp_path / "o" / "fig.pdf"
    out.parent.mkdir()
    assert main(["plot", str(sweep_parquet), "--out", str(out), *extra]) == 2
    one_error_line(capsys, culprit)
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize(
    "argv,culprit",
    [
        (["--out", "f.jpg"], ".jpg"),
        (["--out", "f.pdf"], "TABLE"),  # no source at all
        (["--out", "f.pdf", "--scenario", "fig6", "--methods", "banana"], "banana"),
        (["--out", "f.pdf", "--scenario", "fig6", "--checkpoint", "epa=x.safetensors"], "epa"),
    ],
)
def test_bad_usage(tmp_path, capsys, monkeypatch, argv, culprit):
    monkeypatch.chdir(tmp_path)
    assert main(["plot", *argv]) == 2
    one_error_line(capsys, culprit)
    assert list(tmp_path.iterdir()) == []


def test_scenario_curves_without_training(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(SMALL)
    out = tmp_path / "kr.pdf"
    argv = ["plot", "--scenario", str(scenario), "--methods", "wfpa", "exact-maxmin"]
    assert main(argv + ["--pa-dbm", "0", "20", "--points", "3", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"%PDF"
    rows = _csv(tmp_path / "kr.data.csv")
    assert [r["method"] for r in rows] == ["wfpa"] * 3 + ["exact-maxmin"] * 3
    assert {"kr_ue1_bits", "kr_ue2_bits"} <= set(rows[0])  # UEs numbered from 1
    by = {(r["method"], float(r["pa_dbm"])): r for r in rows}
    for p in (0.0, 10.0, 20.0):  # water-filling maximises the sum, max-min the minimum
        wf, mm = by[("wfpa", p)], by[("exact-maxmin", p)]
        assert float(wf["sum_kr_bits"]) >= float(mm["sum_kr_bits"]) * (1 - 1e-9)
        assert float(mm["min_kr_bits"]) >= float(wf["min_kr_bits"]) * (1 - 1e-9)


def test_learned_method_without_matching_checkpoint(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(SMALL)
    out = tmp_path / "kr.pdf"
    argv = ["plot", "--scenario", str(scenario), "--methods", "fnnpa", "--out", str(out)]
    assert main(argv) == 2
    line = one_error_line(capsys, "fnnpa")
    assert "--checkpoint fnnpa=PATH" in line
    assert not out.exists()


REPRODUCE_CSV = (
    "pa_dbm,method,sum_kr_bits_eq17,sum_c_bits_eq42\n"
    "0,epa,10,10\n10,epa,20,20\n0,wfpa,12,12\n10,wfpa,25,25\n"
)


def test_plot_of_a_reproduce_csv_keeps_the_csv(tmp_path, capsys):
    """plkg plot results/nf-fig6-sum.csv --out results/nf-fig6-sum.pdf: the figure's numbers go
    to nf-fig6-sum.data.csv; the reproduce CSV is left as it was."""
    table = tmp_path / "nf-fig6-sum.csv"
    table.write_text(REPRODUCE_CSV)
    out = tmp_path / "nf-fig6-sum.pdf"
    argv = ["plot", str(table), "--out", str(out), "--x", "pa_dbm", "--y", "sum_kr_bits_eq17"]
    assert main(argv) == 0
    assert table.read_text() == REPRODUCE_CSV
    rows = _csv(tmp_path / "nf-fig6-sum.data.csv")
    assert [r["method"] for r in rows] == ["epa", "epa", "wfpa", "wfpa"]
    assert f"wrote {tmp_path / 'nf-fig6-sum.data.csv'}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name,argv",
    [
        ("f.data.csv", ["--out", "f.pdf"]),  # the figure's data CSV would be the input
        ("t.csv", ["--table", "csv", "--out", "t.csv"]),  # the table would be the input
    ],
)
def test_output_that_is_the_input_is_refused(tmp_path, capsys, monkeypatch, name, argv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(REPRODUCE_CSV)
    assert main(["plot", name, *argv]) == 2
    assert "input TABLE itself" in one_error_line(capsys, name)
    assert (tmp_path / name).read_text() == REPRODUCE_CSV
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize(
    "extra,culprit",
    [(["--y", "method"], "column 'method' is not numeric"), (["--x", "method"], "--x 'method'")],
)
def test_text_column_as_x_or_y_is_refused(tmp_path, capsys, extra, culprit):
    table = tmp_path / "r.csv"
    table.write_text(REPRODUCE_CSV)
    out = tmp_path / "o.pdf"
    assert main(["plot", str(table), "--out", str(out), "--by", "pa_dbm", *extra]) == 2
    one_error_line(capsys, culprit)
    assert not out.exists()


@pytest.mark.parametrize("fmt,out", [("csv", "a.pdf"), ("md", "a.csv"), ("latex", "a.md")])
def test_table_format_must_match_the_suffix(tmp_path, capsys, monkeypatch, fmt, out):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv").write_text(REPRODUCE_CSV)
    assert main(["plot", "r.csv", "--table", fmt, "--out", out]) == 2
    one_error_line(capsys, f"--table {fmt}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]
