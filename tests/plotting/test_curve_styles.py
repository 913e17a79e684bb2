"""One style per curve in every panel, one figure legend over all panels, staggered markers,
and figures that leave the user's matplotlib backend alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from plkg.plotting import house_style, new_figure
from plkg.plotting.curves import legend_entries, marker_stride, plot_curves

pytestmark = pytest.mark.surface

NAN = float("nan")
# fnnpakf has no finite value in panel "a" but one in panel "b"
TABLE = {
    "method": ["epa"] * 3 + ["fnnpakf"] * 3 + ["wfpa"] * 3,
    "pa_dbm": [0.0, 5.0, 10.0] * 3,
    "a": [1.0, 2.0, 3.0, NAN, NAN, NAN, 1.5, 2.5, 3.5],
    "b": [1.0, 2.0, 3.0, 1.1, 2.1, 3.1, 1.5, 2.5, 3.5],
}


def _styles(ax) -> dict:
    return {
        ln.get_label(): (ln.get_color(), ln.get_marker(), str(ln.get_linestyle()))
        for ln in ax.get_lines()
    }


def test_a_method_keeps_its_style_when_another_panel_skips_it():
    with house_style():
        fig, axes = new_figure(2)
        assert plot_curves(axes[0, 0], TABLE, "pa_dbm", "a", ["method"]) == ["epa", "wfpa"]
        assert plot_curves(axes[0, 1], TABLE, "pa_dbm", "b", ["method"]) == [
            "epa",
            "fnnpakf",
            "wfpa",
        ]
        a, b = _styles(axes[0, 0]), _styles(axes[0, 1])
    assert a["epa"] == b["epa"] and a["wfpa"] == b["wfpa"]
    assert len(set(b.values())) == 3  # three distinct styles
    handles, labels = legend_entries(axes, order=["epa", "fnnpakf", "wfpa"])
    assert labels == ["epa", "fnnpakf", "wfpa"]  # fnnpakf from panel b, in group order
    assert [h.get_label() for h in handles] == labels


def test_markers_are_staggered_even_with_few_points():
    assert marker_stride(3, 3) == 2 and marker_stride(12, 2) == 2
    assert marker_stride(40, 2) == 4
    assert marker_stride(5, 1) == 1  # a lone curve marks every point
    assert marker_stride(2, 3) == 1  # a one- or two-point curve keeps all its markers
    with house_style():
        fig, axes = new_figure()
        plot_curves(axes[0, 0], TABLE, "pa_dbm", "b", ["method"])
        marks = [ln.get_markevery() for ln in axes[0, 0].get_lines()]
    assert marks == [(0, 2), (1, 2), (0, 2)]


def test_plot_cli_legend_lists_every_panel(tmp_path, monkeypatch):
    """plkg plot: the figure legend holds a method that only a later panel draws."""
    from plkg.commands.plot import draw

    captured = {}

    def keep(fig, path, dpi):
        captured["fig"] = fig
        return path

    monkeypatch.setattr("plkg.plotting.save_figure", keep)  # draw imports it when called
    header = ["method", "pa_dbm", "a", "b"]
    rows = [[TABLE[c][i] for c in header] for i in range(len(TABLE["method"]))]
    draw(header, rows, "pa_dbm", ["a", "b"], ["method"], "t", tmp_path / "f.pdf", 60)
    legend = captured["fig"].legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["epa", "fnnpakf", "wfpa"]


def test_figures_leave_the_backend_alone(tmp_path):
    code = (
        "import matplotlib; matplotlib.use('svg');"
        "from plkg.plotting import house_style, new_figure, save_figure;"
        "import sys\n"
        "with house_style():\n"
        "    fig, axes = new_figure(); axes[0, 0].plot([0, 1], [0, 1])\n"
        f"    save_figure(fig, {str(tmp_path / 'f.png')!r}, dpi=50)\n"
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["svg", "False"]
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
