"""Figures and tables in one house style (used by ``plkg reproduce``, ``plkg demo`` and ``plkg plot``).

* :mod:`plkg.plotting.style`: the style file ``plkg.mplstyle`` and :func:`house_style`, which
  applies it for the duration of a ``with`` block;
* :mod:`plkg.plotting.figure`: :func:`new_figure` (a figure on its own Agg canvas: no
  ``pyplot``, the backend of a notebook or GUI session is left alone) and :func:`save_figure`
  (PDF, SVG or PNG chosen by the file suffix, written atomically);
* :mod:`plkg.plotting.curves`: curves of a long table, one per group of columns;
* :mod:`plkg.plotting.tables`: one table as CSV, Markdown or LaTeX.

This package sits low in the layers: it imports NumPy, matplotlib, :mod:`plkg.io.atomic` and
:mod:`plkg.errors` only.
"""

from __future__ import annotations

from plkg.plotting.figure import FIGURE_FORMATS, new_figure, save_figure
from plkg.plotting.style import STYLE_FILE, house_style

__all__ = ["FIGURE_FORMATS", "STYLE_FILE", "house_style", "new_figure", "save_figure"]
