"""The house style of every plkg figure: ``plkg.mplstyle`` shipped inside this package."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

#: The one style file (shipped as package data).
STYLE_FILE = Path(__file__).with_name("plkg.mplstyle")


@contextmanager
def house_style():
    """Apply :data:`STYLE_FILE` inside the ``with`` block (matplotlib's settings come back after).

    Figures must be made *and* saved inside the block: a figure takes most settings when it is
    made and drawn, and constrained layout and ``savefig.bbox`` when it is saved. Only the
    settings change: the backend stays as it is (plkg's figures are drawn by
    :func:`plkg.plotting.new_figure` on their own Agg canvas, never through ``pyplot``), so a
    notebook or GUI session keeps its own backend.

    Yields
    ------
    module
        :mod:`matplotlib` (its ``rcParams`` hold the house style inside the block).
    """
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context(str(STYLE_FILE)):
        yield matplotlib
