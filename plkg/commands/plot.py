"""``plkg plot``: figures (PDF, SVG, PNG) and tables (CSV, Markdown, LaTeX) of results.

Two sources:

* ``plkg plot TABLE --out FIG``: a sweep table (a ``plkg sweep --out`` folder or one Parquet
  file) or a reproduce CSV. By default x = ``pa_dbm``, one curve per ``method`` (and per other
  swept parameter that varies), one panel per key-rate column (``sum_kr_bits``,
  ``min_kr_bits``); rows of an errored evaluation are left out, and rows that share a curve and
  an x (several draws) are averaged.
* ``plkg plot --scenario NAME|YAML --methods ... --out FIG``: sum and minimum KR (I_k of
  Eq. (17) of the near-field paper) against P_a of a scenario for chosen allocation methods,
  from the scenario's design (through the design cache) and the inference layer's allocators;
  nothing is trained. Learned methods use the committed checkpoint (trained on ``fig6``) or the
  one given with ``--checkpoint METHOD=PATH``.

A figure is written with the numbers it shows next to it (``fig.pdf`` -> ``fig.data.csv``, a
name no reproduce CSV has, so plotting ``nf-fig6-sum.csv`` to ``nf-fig6-sum.pdf`` leaves the
table alone); ``--table csv|md|latex`` writes the same selection as a table instead, to an
``--out`` ending in ``.csv``, ``.md`` or ``.tex``. No output may be the input table. Every figure
uses the house style (:mod:`plkg.plotting`): each curve keeps one style in every panel and one
legend lists the curves of all panels; the format follows the suffix of ``--out``.

This module holds the options, their checks and the TABLE mode; the table is read and selected
by :mod:`plkg.commands._plot_table`, the scenario mode is :mod:`plkg.commands._plot_scenario`
and the files are written by :mod:`plkg.commands._plot_output`.
"""

from __future__ import annotations

from pathlib import Path

from plkg.commands._plot_output import Y_LABELS as Y_LABELS
from plkg.commands._plot_output import data_path as data_path
from plkg.commands._plot_output import draw as draw
from plkg.commands._plot_output import long_rows, output_paths, write_output
from plkg.commands._plot_scenario import DEFAULT_SCENARIO_METHODS, run_scenario
from plkg.commands._plot_table import DEFAULT_Y as DEFAULT_Y
from plkg.commands._plot_table import NOT_GROUPING as NOT_GROUPING
from plkg.commands._plot_table import (
    _drop_errors,
    _where_pairs,
    check_numeric,
    default_selection,
    read_table,
)
from plkg.errors import PlkgInputError


def register(sub) -> None:
    from plkg.commands._nearfield_args import add_cache_argument, add_force_argument

    p = sub.add_parser(
        "plot",
        help="figures (PDF/SVG/PNG) or tables (CSV/Markdown/LaTeX) of a sweep table, a "
        "reproduce CSV, or a scenario's KR vs P_a",
        description="Plot TABLE (a plkg sweep --out folder, a Parquet file or a reproduce CSV), "
        "or with --scenario the sum and min KR vs P_a of chosen methods on a scenario (no "
        "training). The figure format follows the suffix of --out (.pdf, .svg, .png); the "
        "plotted numbers are written next to it (for fig.pdf: fig.data.csv). Give TABLE first. "
        "UEs are numbered from 1.",
    )
    p.add_argument(
        "table_arg", nargs="?", metavar="TABLE", help="sweep table folder, .parquet or .csv"
    )
    p.add_argument("--out", required=True, help="figure (.pdf, .svg, .png) or table file")
    p.add_argument("--x", default=None, metavar="COL", help="x column (default pa_dbm)")
    p.add_argument(
        "--y",
        nargs="+",
        default=None,
        metavar="COL",
        help="y columns, one panel each (default: those of sum_kr_bits min_kr_bits wskr_bits "
        "with a finite value)",
    )
    p.add_argument(
        "--by",
        nargs="+",
        default=None,
        metavar="COL",
        help="one curve per value of these columns (default: method and the swept parameters "
        "that vary)",
    )
    p.add_argument(
        "--where",
        nargs="+",
        default=None,
        metavar="COL=VALUE",
        help="keep only rows whose COL equals VALUE (all must hold)",
    )
    p.add_argument("--dpi", type=int, default=200, help="resolution of a PNG (default 200)")
    p.add_argument("--title", default=None, help="figure title (default: names the scenario)")
    p.add_argument(
        "--table",
        choices=("csv", "md", "latex"),
        default=None,
        help="write the selection as a table in this format instead of a figure (--out "
        "ending in .csv, .md or .tex respectively)",
    )
    g = p.add_argument_group("a scenario's KR vs P_a (instead of TABLE)")
    g.add_argument(
        "--scenario", default=None, help="config name (fig6, ...) or path of a YAML file"
    )
    g.add_argument(
        "--methods",
        nargs="+",
        default=None,
        metavar="METHOD",
        help=f"allocation methods (default: {' '.join(DEFAULT_SCENARIO_METHODS)})",
    )
    g.add_argument(
        "--pa-dbm",
        nargs=2,
        type=float,
        default=(-5.0, 25.0),
        metavar=("LO", "HI"),
        help="P_a range in dBm (default -5 25)",
    )
    g.add_argument("--points", type=int, default=7, help="number of P_a values (default 7)")
    g.add_argument(
        "--checkpoint",
        nargs="+",
        default=[],
        metavar="METHOD=PATH",
        help="checkpoint of a learned method (default: the committed one, trained on fig6)",
    )
    add_cache_argument(p)
    add_force_argument(p)
    p.set_defaults(func=run)


# ----------------------------------------------------------------------------- checks
# --table FORMAT -> the suffix its file must have.
TABLE_SUFFIX = {"csv": ".csv", "md": ".md", "latex": ".tex"}


def _check_output(args) -> str | None:
    """Validate ``--out`` (and ``--dpi``) before any work; returns the table format or None."""
    from plkg.commands._paths import output_file
    from plkg.plotting.figure import check_dpi, figure_format

    output_file(args.out, "--out")
    check_dpi(args.dpi)
    if args.table is None:
        figure_format(args.out, "--out")
    else:
        wanted = TABLE_SUFFIX[args.table]
        if Path(args.out).suffix.lower() != wanted:
            raise PlkgInputError(
                f"--out {args.out!r}: --table {args.table} writes a {wanted} file; "
                f"give --out ending in {wanted}"
            )
    return args.table


def _check_not_input(args) -> None:
    """Refuse an output that is the input table itself (it would be overwritten)."""
    source = Path(args.table_arg).resolve()
    for path in output_paths(args):
        if path.resolve() == source:
            option = "--out" if path == Path(args.out) else "--out (the figure's data CSV)"
            raise PlkgInputError(
                f"{option} {str(path)!r} is the input TABLE itself; choose another --out"
            )


# ----------------------------------------------------------------------------- modes
def run(args) -> int:
    _check_output(args)
    if args.scenario is not None:
        if args.table_arg is not None:
            raise PlkgInputError("give either TABLE or --scenario, not both")
        paths = run_scenario(args)
    else:
        if args.table_arg is None:
            raise PlkgInputError("give TABLE (a sweep table or reproduce CSV) or --scenario")
        _check_not_input(args)
        paths = run_table(args)
    for p in paths:
        print(f"wrote {p}")
    return 0


def run_table(args) -> list[Path]:
    from plkg.plotting.curves import check_columns, filter_rows

    table, kind = read_table(args.table_arg)
    where = _where_pairs(args.where or [])
    check_columns(table, list(where), "--where")
    for option, cols in (
        ("--x", [args.x] if args.x else []),
        ("--y", args.y or []),
        ("--by", args.by or []),
    ):
        check_columns(table, cols, option)
    table = _drop_errors(filter_rows(table, where))
    if not table or not next(iter(table.values())):
        raise PlkgInputError(f"no rows left after --where {' '.join(args.where or [])}")
    x, ys, by = default_selection(table, kind, args.x, args.y, args.by)
    check_numeric(table, x, ys)
    header, rows = long_rows(table, x, ys, by)
    title = args.title or _table_title(table, args.table_arg)
    return write_output(args, header, rows, x, ys, by, title)


def _table_title(table: dict, path) -> str:
    names = [n for n in dict.fromkeys(table.get("scenario", [])) if isinstance(n, str) and n]
    if len(names) == 1:
        return f"scenario {names[0]}"
    if names and len(names) <= 3:
        return "scenarios " + ", ".join(names)
    return Path(str(path)).name
