"""One table written as CSV, Markdown or LaTeX (the text form of a figure's numbers).

Numbers are written with 10 significant digits (as every reproduce CSV), so the three forms
carry the same values; NaN and None are empty cells.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from plkg.errors import PlkgInputError
from plkg.io.atomic import write_text_atomic

TABLE_FORMATS = ("csv", "md", "latex")
# File suffix -> format, for ``--out FILE`` without an explicit ``--table``.
TABLE_SUFFIXES = {".csv": "csv", ".md": "md", ".tex": "latex"}
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def cell_text(value) -> str:
    """A cell as text: floats with 10 significant digits, NaN/None empty, the rest ``str``."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.10g}"
    return str(value)


def csv_text(header, rows) -> str:
    """The table as CSV (text quoted when it holds commas or quotes)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell_text(v) for v in row])
    return buf.getvalue()


def markdown_text(header, rows) -> str:
    """The table as a GitHub-flavoured Markdown table (``|`` in a cell escaped)."""

    def line(cells):
        return "| " + " | ".join(cell_text(c).replace("|", r"\|") for c in cells) + " |"

    out = [line(header), "|" + "|".join("---" for _ in header) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_text(header, rows, caption: str | None = None) -> str:
    """The table as a LaTeX ``tabular`` (no packages needed; wrapped in ``table`` if captioned)."""
    cols = "l" * len(header)
    body = [rf"\begin{{tabular}}{{{cols}}}", r"\hline"]
    body.append(" & ".join(latex_escape(str(h)) for h in header) + r" \\")
    body.append(r"\hline")
    body += [" & ".join(latex_escape(cell_text(v)) for v in r) + r" \\" for r in rows]
    body += [r"\hline", r"\end{tabular}"]
    if caption:
        body = [r"\begin{table}", r"\centering", *body, rf"\caption{{{latex_escape(caption)}}}"]
        body.append(r"\end{table}")
    return "\n".join(body) + "\n"


def table_text(header, rows, fmt: str, caption: str | None = None) -> str:
    """The table in format ``fmt`` (``csv``, ``md`` or ``latex``)."""
    if fmt == "csv":
        return csv_text(header, rows)
    if fmt == "md":
        return (f"{caption}\n\n" if caption else "") + markdown_text(header, rows)
    if fmt == "latex":
        return latex_text(header, rows, caption)
    raise PlkgInputError(f"table format {fmt!r}: use one of {', '.join(TABLE_FORMATS)}")


def write_table(path, header, rows, fmt: str | None = None, caption: str | None = None) -> Path:
    """Write the table to ``path`` atomically (format from ``fmt`` or from the suffix)."""
    path = Path(path)
    if fmt is None:
        fmt = TABLE_SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise PlkgInputError(
                f"table path {str(path)!r}: unknown suffix; use {', '.join(TABLE_SUFFIXES)}"
            )
    return write_text_atomic(path, table_text(header, [list(r) for r in rows], fmt, caption))
