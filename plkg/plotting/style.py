"""The house style of every plkg figure: ``plkg.mplstyle`` shipped inside this package."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

#: The one style file (shipped as package data).
STYLE_FILE = Path(__file__).with_name("plkg.mplstyle")


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def house_style():
    """Apply :data:`STYLE_FILE` inside the ``with`` block (matplotlib's settings come back after).

    Figures must be made *and* saved inside the block: a figure takes most settings when it is
    drawn, and constrained layout and ``savefig.bbox`` when it is saved.
    """
    plt = pyplot()
    with plt.style.context(str(STYLE_FILE)):
        yield plt
