"""What ``plkg plot`` writes: a figure with its numbers next to it, or the numbers as a table.

A figure (house style, :mod:`plkg.plotting`; format from the suffix of ``--out``) has one panel
per y column and one curve per group, each curve with one style in every panel and one legend
for all panels; its numbers go to ``fig.data.csv`` next to ``fig.pdf``. ``--table csv|md|latex``
writes the same rows (one per curve and x, draws averaged) as a table instead.
"""

from __future__ import annotations

from pathlib import Path

Y_LABELS = {
    "sum_kr_bits": "sum KR (bits)",
    "min_kr_bits": "min KR (bits)",
    "wskr_bits": "WSKR (bits/channel use)",
    "ub_bits": "WSKR upper bound (bits/channel use)",
    "pa_dbm": "P_a (dBm)",
    "value_bits": "KR (bits)",
    "seconds": "time (s)",
}


def data_path(out) -> Path:
    """The CSV of a figure's numbers: ``fig.pdf`` -> ``fig.data.csv`` (next to the figure)."""
    out = Path(out)
    return out.with_name(f"{out.stem}.data.csv")


def output_paths(args) -> list[Path]:
    """Every file ``plkg plot`` writes for ``args``: the table, or the figure and its CSV."""
    out = Path(args.out)
    return [out] if args.table is not None else [out, data_path(out)]


def long_rows(table: dict, x: str, ys: list, by: list) -> tuple[list, list]:
    """(header, rows) of the plotted numbers: one row per curve and x (draws averaged)."""
    from plkg.plotting.curves import curve_points, group_keys

    header = [*by, x, *ys]
    rows = []
    for key in group_keys(table, by):
        columns = {}
        for y in ys:
            xs, vals = curve_points(table, x, y, by, key)
            columns[y] = dict(zip(xs.tolist(), vals.tolist(), strict=True))
        for xv in sorted({v for col in columns.values() for v in col}):
            rows.append([*key, xv, *(columns[y].get(xv, float("nan")) for y in ys)])
    return header, rows


def draw(header: list, rows: list, x: str, ys: list, by: list, title: str, out: Path, dpi: int):
    """The figure of ``rows`` (one panel per y, one curve per ``by`` group), saved to ``out``."""
    from plkg.plotting import house_style, new_figure, save_figure
    from plkg.plotting.curves import group_keys, group_label, legend_entries, plot_curves

    table = {c: [r[i] for r in rows] for i, c in enumerate(header)}
    with house_style():
        fig, axes = new_figure(len(ys), 1, width=5.2 if len(ys) > 1 else 6.4, height=4.2)
        for ax, y in zip(axes[0], ys, strict=True):
            plot_curves(ax, table, x, y, by)
            ax.set_xlabel(Y_LABELS.get(x, x))
            ax.set_ylabel(Y_LABELS.get(y, y))
            if len(ys) > 1:
                ax.set_title(Y_LABELS.get(y, y).split(" (")[0])
        order = [group_label(by, key) for key in group_keys(table, by)] if by else None
        handles, labels = legend_entries(axes, order)
        if labels and by:
            if len(ys) > 1 or len(labels) > 6:
                fig.legend(handles, labels, loc="outside right center")
            else:
                axes[0, 0].legend(handles, labels)
        fig.suptitle(title)
        return save_figure(fig, out, dpi=dpi)


def write_output(args, header, rows, x, ys, by, title) -> list[Path]:
    """The figure and its CSV, or the table alone (``--table``)."""
    from plkg.plotting.tables import write_table

    out = Path(args.out)
    if args.table is not None:
        return [write_table(out, header, rows, args.table)]
    fig = draw(header, rows, x, ys, by, title, out, args.dpi)
    data = write_table(data_path(out), header, rows, "csv")
    return [fig, data]
