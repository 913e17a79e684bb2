"""Curves of the near-field fairness figures: one style per scheme in every panel, one legend."""

from __future__ import annotations

import numpy as np


def _plot_lines(ax, xs, series: dict, methods):
    """One curve per method in ``methods`` order; a method's style is fixed by its position, so
    it is the same in every panel (a method absent from ``series`` keeps its style slot)."""
    from plkg.plotting.curves import marker_stride

    # coinciding curves: markers on every 2nd (or sparser) point, staggered per curve, so that
    # each curve's markers stay visible
    stride = marker_stride(len(xs), len(methods))
    for i, m in enumerate(methods):
        if m not in series:
            ax.plot([], [])  # advance the style cycle
            continue
        y = np.asarray(series[m], dtype=float)
        ax.plot(xs, y, label=m, markevery=(i % stride, stride))


def _figure_legend(fig, ax) -> None:
    """One legend for the whole figure, outside the panels (on the right)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center")
