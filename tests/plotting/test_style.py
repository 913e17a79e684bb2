"""The house style: shipped, applied, and figures saved as PDF, SVG and PNG at the given dpi."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from plkg.errors import PlkgInputError
from plkg.plotting import STYLE_FILE, house_style, new_figure, save_figure
from plkg.plotting.curves import plot_curves

pytestmark = pytest.mark.surface


def test_style_file_is_shipped_and_applied():
    assert STYLE_FILE.is_file() and STYLE_FILE.suffix == ".mplstyle"
    with house_style() as mpl:
        assert mpl.rcParams["figure.constrained_layout.use"] is True
        assert mpl.rcParams["savefig.bbox"] == "tight"
        assert mpl.rcParams["legend.frameon"] is False
        fig, axes = new_figure()
        for k in range(3):
            axes[0, 0].plot([0, 1, 2], [k, k, k], label=f"curve {k}")  # three coinciding lines
        lines = axes[0, 0].get_lines()
        assert len({ln.get_marker() for ln in lines}) == 3
        assert len({str(ln.get_linestyle()) for ln in lines}) == 3
        assert len({str(ln.get_color()) for ln in lines}) == 3
        assert fig.get_layout_engine() is not None  # constrained layout taken from the style


def test_style_does_not_leak():
    import matplotlib

    before = matplotlib.rcParams["savefig.bbox"]
    with house_style():
        pass
    assert matplotlib.rcParams["savefig.bbox"] == before


def _png_dpi(data: bytes) -> float:
    """Pixels per inch of a PNG from its pHYs chunk."""
    i = data.index(b"pHYs")
    ppu_x, _, unit = struct.unpack(">IIB", data[i + 4 : i + 13])
    assert unit == 1  # metres
    return ppu_x * 0.0254


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".pdf", b"%PDF"), (".svg", b"<svg"), (".png", b"\x89PNG")]
)
def test_save_figure_formats(tmp_path, suffix, magic):
    with house_style():
        fig, axes = new_figure()
        axes[0, 0].plot(np.arange(5), np.arange(5) ** 2, label="x^2")
        path = save_figure(fig, tmp_path / f"f{suffix}", dpi=90)
    data = path.read_bytes()
    assert magic in data[:400]
    assert [p.name for p in tmp_path.iterdir()] == [f"f{suffix}"]  # no temporary left behind
    if suffix == ".png":
        assert _png_dpi(data) == pytest.approx(90, abs=0.5)


def test_png_size_follows_dpi(tmp_path):
    sizes = {}
    for dpi in (50, 100):
        with house_style():
            fig, axes = new_figure()
            axes[0, 0].plot([0, 1], [0, 1])
            data = save_figure(fig, tmp_path / f"d{dpi}.png", dpi=dpi).read_bytes()
        sizes[dpi] = struct.unpack(">II", data[16:24])  # width, height from IHDR
    assert sizes[100][0] == pytest.approx(2 * sizes[50][0], rel=0.05)


@pytest.mark.parametrize(
    ("name", "dpi"), [("f.jpg", 100), ("f", 100), ("f.png", 0), ("f.png", 1.5)]
)
def test_save_figure_refuses_format_and_dpi(tmp_path, name, dpi):
    with house_style():
        fig, _ = new_figure()
        with pytest.raises(PlkgInputError):
            save_figure(fig, tmp_path / name, dpi=dpi)
    assert list(tmp_path.iterdir()) == []


def test_plot_curves_groups_and_averages():
    table = {
        "method": ["a", "a", "a", "b", "b"],
        "pa_dbm": [0.0, 10.0, 10.0, 0.0, 10.0],
        "kr": [1.0, 2.0, 4.0, 5.0, 6.0],
    }
    with house_style():
        fig, axes = new_figure()
        labels = plot_curves(axes[0, 0], table, "pa_dbm", "kr", ["method"])
        assert labels == ["a", "b"]  # the method name verbatim
        line_a = axes[0, 0].get_lines()[0]
        assert list(line_a.get_xdata()) == [0.0, 10.0]
        assert list(line_a.get_ydata()) == [1.0, 3.0]  # two rows at 10 dBm: their mean
        with pytest.raises(PlkgInputError, match="'nope'.*available: method, pa_dbm, kr"):
            plot_curves(axes[0, 0], table, "pa_dbm", "nope", ["method"])
