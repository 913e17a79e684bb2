"""Figure and CSV output shared by every figure module (written atomically)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from plkg.data.atomic import write_bytes_atomic, write_text_atomic


def write_csv(path: Path, header: list[str], rows) -> Path:
    """Write a CSV (floats with 10 significant digits; text quoted when it holds commas)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([f"{v:.10g}" if isinstance(v, float) else v for v in row])
    return write_text_atomic(path, buf.getvalue())


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def subplots(ncols: int = 1, width: float = 6.0, height: float = 4.2):
    """A figure with one row of ``ncols`` axes; returns (fig, axes [1, ncols])."""
    return pyplot().subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)


def save_png(fig, path: Path, dpi: int = 130) -> Path:
    """Save ``fig`` as PNG at ``path`` and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    return write_bytes_atomic(path, buf.getvalue())
