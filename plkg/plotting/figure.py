"""New figures and saving them: vector (PDF, SVG) or raster (PNG), written atomically."""

from __future__ import annotations

import io
from pathlib import Path

from plkg.errors import PlkgInputError
from plkg.io.atomic import write_bytes_atomic

#: Suffix -> matplotlib format of every figure file plkg writes.
FIGURE_FORMATS = {".pdf": "pdf", ".svg": "svg", ".png": "png"}
RASTER_FORMATS = ("png",)
DEFAULT_DPI = 200
# Panel size (inches) of the house style; wide figures get one such width per column.
PANEL_WIDTH_IN = 6.4
PANEL_HEIGHT_IN = 4.4


def figure_format(path, option: str = "--out") -> str:
    """The format of a figure file from its suffix (``.pdf``, ``.svg``, ``.png``).

    Raises
    ------
    PlkgInputError
        Any other suffix (the message names ``option``, the path and the accepted suffixes).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise PlkgInputError(
            f"{option} {str(path)!r}: unknown figure format {suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(FIGURE_FORMATS)}"
        )
    return FIGURE_FORMATS[suffix]


def check_dpi(dpi, option: str = "--dpi") -> int:
    """``dpi`` as an int in [10, 2400]; PlkgInputError naming ``option`` otherwise."""
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 10 <= dpi <= 2400:
        raise PlkgInputError(f"{option} must be an integer in [10, 2400], got {dpi!r}")
    return dpi


def new_figure(ncols: int = 1, nrows: int = 1, width: float = PANEL_WIDTH_IN, height=None):
    """A figure of ``nrows`` x ``ncols`` panels, each ``width`` x ``height`` inches.

    The figure has its own Agg canvas and is not registered with ``pyplot``: making it changes
    no backend and opens no window, and it is freed like any object once unreferenced.

    Returns
    -------
    (Figure, ndarray of Axes [nrows, ncols])
        Call inside :func:`plkg.plotting.house_style` so that the figure takes the house style.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height = PANEL_HEIGHT_IN if height is None else height
    fig = Figure(figsize=(width * ncols, height * nrows))
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def save_figure(fig, path, dpi: int = DEFAULT_DPI, close: bool = True) -> Path:
    """Write ``fig`` to ``path`` in the format its suffix names, atomically, and close ``fig``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path
        ``*.pdf``, ``*.svg`` or ``*.png``.
    dpi : int
        Resolution of a PNG (dots per inch); vector formats ignore it except for embedded
        raster parts.
    close : bool
        Close the figure afterwards (default); False keeps it for another format. A figure of
        :func:`new_figure` holds no window: closing matters only for one made with ``pyplot``.

    Returns
    -------
    Path
        ``path``. With ``close``, the figure is closed even when writing fails.
    """
    path = Path(path)
    fmt = figure_format(path, "figure path")
    dpi = check_dpi(dpi, "dpi")
    buf = io.BytesIO()
    try:
        # the figure's title and legends outside the axes are part of the tight box: never clipped
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata=_metadata(fmt))
    finally:
        if close:
            _close(fig)
    return write_bytes_atomic(path, buf.getvalue())


def _metadata(fmt: str) -> dict:
    """No creation date in vector files: the same figure gives the same bytes."""
    if fmt == "pdf":
        return {"CreationDate": None, "Creator": "plkg"}
    if fmt == "svg":
        return {"Date": None, "Creator": "plkg"}
    return {"Software": "plkg"}


def _close(fig) -> None:
    """Release a figure that ``pyplot`` manages (one of :func:`new_figure` needs nothing)."""
    import sys

    plt = sys.modules.get("matplotlib.pyplot")  # never imported here: pyplot picks a backend
    if plt is not None:
        plt.close(fig)
