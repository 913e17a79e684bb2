"""One table as CSV, Markdown and LaTeX: the same values in all three, special characters safe."""

from __future__ import annotations

import csv
import math

import pytest

from plkg.errors import PlkgInputError
from plkg.plotting.tables import latex_escape, table_text, write_table

pytestmark = pytest.mark.surface

HEADER = ["method", "pa_dbm", "sum_kr_bits"]
ROWS = [["wfpa", -5.0, 954.3123456789], ["exact-maxmin", 25.0, 1.0 / 3.0], ["a|b_c", 0.0, math.nan]]


def _markdown_rows(text):
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert set(lines[1].replace("|", "")) == {"-"}
    split = [[c.strip().replace(r"\|", "|") for c in _cells(ln)] for ln in lines]
    return split[0], split[2:]


def _cells(line):
    cells, cur, i = [], "", 1
    while i < len(line) - 1:
        if line[i] == "\\" and line[i + 1] == "|":
            cur += "\\|"
            i += 2
            continue
        if line[i] == "|":
            cells.append(cur)
            cur = ""
        else:
            cur += line[i]
        i += 1
    return cells + [cur]


def _latex_rows(text):
    body = [ln for ln in text.splitlines() if ln.endswith(r"\\")]
    unescape = {r"\_": "_", r"\textbackslash{}": "\\"}
    rows = []
    for ln in body:
        cells = [c.strip() for c in ln[:-2].split(" & ")]
        for k, v in unescape.items():
            cells = [c.replace(k, v) for c in cells]
        rows.append(cells)
    return rows[0], rows[1:]


def _same(cell_text, value):
    if isinstance(value, float):
        if math.isnan(value):
            return cell_text == ""
        return float(cell_text) == pytest.approx(value, rel=1e-9)
    return cell_text == value


@pytest.mark.parametrize("fmt", ["csv", "md", "latex"])
def test_round_trip(tmp_path, fmt):
    suffix = {"csv": ".csv", "md": ".md", "latex": ".tex"}[fmt]
    path = write_table(tmp_path / f"t{suffix}", HEADER, ROWS)  # format from the suffix
    text = path.read_text()
    assert text == table_text(HEADER, ROWS, fmt)
    if fmt == "csv":
        header, *rows = list(csv.reader(text.splitlines()))
    elif fmt == "md":
        header, rows = _markdown_rows(text)
    else:
        header, rows = _latex_rows(text)
        rows = [[c.replace(r"\textbar{}", "|") for c in r] for r in rows]
    assert header == HEADER
    assert len(rows) == len(ROWS)
    for got, want in zip(rows, ROWS, strict=True):
        assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (got, want)


def test_latex_escapes_special_characters():
    assert latex_escape("50% & $x_1$ #2 {a} ~ ^") == (
        r"50\% \& \$x\_1\$ \#2 \{a\} \textasciitilde{} \textasciicircum{}"
    )
    text = table_text(["a_b"], [["x&y"]], "latex", caption="KR_1 table")
    assert r"a\_b" in text and r"x\&y" in text and r"\caption{KR\_1 table}" in text


def test_unknown_format_and_suffix(tmp_path):
    with pytest.raises(PlkgInputError, match="xlsx"):
        table_text(HEADER, ROWS, "xlsx")
    with pytest.raises(PlkgInputError, match="unknown suffix"):
        write_table(tmp_path / "t.xlsx", HEADER, ROWS)
    assert list(tmp_path.iterdir()) == []
