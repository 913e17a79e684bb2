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
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from plkg.errors import PlkgInputError
from plkg.sweep.tasks import ROW_FIELDS

# Result columns of a sweep table drawn by default (those present with a finite value).
DEFAULT_Y = ("sum_kr_bits", "min_kr_bits", "wskr_bits")
# Columns of a sweep table that are bookkeeping or results, never a curve's grouping: every row
# field but the scenario's name and the method, plus the draw index of random sweeps.
NOT_GROUPING = (set(ROW_FIELDS) - {"scenario", "method"}) | {"draw"}
Y_LABELS = {
    "sum_kr_bits": "sum KR (bits)",
    "min_kr_bits": "min KR (bits)",
    "wskr_bits": "WSKR (bits/channel use)",
    "ub_bits": "WSKR upper bound (bits/channel use)",
    "pa_dbm": "P_a (dBm)",
    "value_bits": "KR (bits)",
    "seconds": "time (s)",
}
DEFAULT_SCENARIO_METHODS = ("epa", "wfpa", "wfpakf", "exact-maxmin")


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


def data_path(out) -> Path:
    """The CSV of a figure's numbers: ``fig.pdf`` -> ``fig.data.csv`` (next to the figure)."""
    out = Path(out)
    return out.with_name(f"{out.stem}.data.csv")


def output_paths(args) -> list[Path]:
    """Every file ``plkg plot`` writes for ``args``: the table, or the figure and its CSV."""
    out = Path(args.out)
    return [out] if args.table is not None else [out, data_path(out)]


def _check_not_input(args) -> None:
    """Refuse an output that is the input table itself (it would be overwritten)."""
    source = Path(args.table_arg).resolve()
    for path in output_paths(args):
        if path.resolve() == source:
            option = "--out" if path == Path(args.out) else "--out (the figure's data CSV)"
            raise PlkgInputError(
                f"{option} {str(path)!r} is the input TABLE itself; choose another --out"
            )


def _where_pairs(values) -> dict:
    out = {}
    for item in values:
        col, sep, value = str(item).partition("=")
        if not sep or not col:
            raise PlkgInputError(f"--where {item!r}: expected COL=VALUE")
        out[col] = value
    return out


def _checkpoints(values, methods) -> dict:
    from plkg.inference.methods import METHOD_OPTIONS, check_method

    out = {}
    for item in values:
        method, sep, path = str(item).partition("=")
        if not sep or not method or not path:
            raise PlkgInputError(f"--checkpoint {item!r}: expected METHOD=PATH")
        check_method(method)
        if "checkpoint" not in METHOD_OPTIONS[method]:
            raise PlkgInputError(f"--checkpoint {item!r}: method {method!r} takes no checkpoint")
        if method not in methods:
            raise PlkgInputError(f"--checkpoint {item!r}: {method!r} is not one of --methods")
        if not Path(path).is_file():
            raise PlkgInputError(f"--checkpoint {item!r}: no such file {path!r}")
        out[method] = path
    return out


# ----------------------------------------------------------------------------- reading
def _number(text: str):
    """A CSV cell as float when it is a number, else the text (empty -> NaN)."""
    if text == "":
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return text


def read_table(path) -> tuple[dict, str]:
    """(columns name -> list of values, what it is) of a sweep folder, a Parquet file or a CSV."""
    path = Path(path)
    if not path.exists():
        raise PlkgInputError(f"TABLE {str(path)!r} does not exist")
    if path.is_dir():
        from plkg.sweep.table import read_results

        return read_results(path).to_pydict(), "sweep"
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pydict(), "sweep"
        except (pa.ArrowException, OSError) as exc:
            raise PlkgInputError(
                f"TABLE {str(path)!r} is not a readable Parquet file: {exc}"
            ) from exc
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        if len(rows) < 2:
            raise PlkgInputError(f"TABLE {str(path)!r} holds no rows")
        header = rows[0]
        table = {
            c: [_number(r[i]) if i < len(r) else float("nan") for r in rows[1:]]
            for i, c in enumerate(header)
        }
        return table, "csv"
    raise PlkgInputError(
        f"TABLE {str(path)!r}: expected a sweep table folder, a .parquet or a .csv file"
    )


def _finite_any(values) -> bool:
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return True
    return False


def _varies(values) -> bool:
    seen = set()
    for v in values:
        if isinstance(v, (list, dict)):
            return False  # vectors and layouts do not label a curve
        seen.add(v)
        if len(seen) > 1:
            return True
    return False


def default_selection(table: dict, kind: str, x, y, by) -> tuple[str, list, list]:
    """(x, y columns, grouping columns), filling in the defaults described in the module doc."""
    if x is None:
        x = (
            "pa_dbm"
            if "pa_dbm" in table
            else next((c for c in table if _finite_any(table[c])), None)
        )
        if x is None:
            raise PlkgInputError(f"no numeric column to plot; available: {', '.join(table)}")
    if y is None:
        y = [c for c in DEFAULT_Y if c in table and c != x and _finite_any(table[c])]
        if not y:
            y = [c for c in table if c != x and _finite_any(table[c])][:1]
        if not y:
            raise PlkgInputError(
                f"no numeric column to plot against {x!r}; available: {', '.join(table)}"
            )
    if by is None:
        by = [c for c in ("method", "scheme") if c in table]
        if kind == "sweep":
            by += [
                c
                for c in table
                if c not in NOT_GROUPING and c not in by and c != x and _varies(table[c])
            ]
    return x, list(y), list(by)


def check_numeric(table: dict, x: str, ys) -> None:
    """Refuse an x or y column without one finite number (text, or empty after --where): it
    would give an empty figure."""
    for option, column in (("--x", x), *(("--y", y) for y in ys)):
        if not _finite_any(table[column]):
            raise PlkgInputError(
                f"{option} {column!r}: column {column!r} is not numeric (no finite number in "
                "the selected rows)"
            )


def _drop_errors(table: dict) -> dict:
    if "status" not in table:
        return table
    keep = [i for i, s in enumerate(table["status"]) if s != "error"]
    return {c: [v[i] for i in keep] for c, v in table.items()}


# ----------------------------------------------------------------------------- output
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


def run_scenario(args) -> list[Path]:
    from plkg import units
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.commands._nearfield_args import design_from_args, design_is_cached
    from plkg.inference.methods import check_method
    from plkg.progress import progress_bar, step

    for option in ("x", "y", "by"):
        if getattr(args, option) is not None:
            raise PlkgInputError(f"--{option} applies to TABLE, not to --scenario")
    if args.where:
        raise PlkgInputError("--where applies to TABLE, not to --scenario")
    methods = list(dict.fromkeys(args.methods or DEFAULT_SCENARIO_METHODS))
    for m in methods:
        check_method(m)
    checkpoints = _checkpoints(args.checkpoint, methods)
    if args.points < 1 or args.points > 1000:
        raise PlkgInputError(f"--points must be an integer in [1, 1000], got {args.points}")
    lo, hi = args.pa_dbm
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise PlkgInputError(f"--pa-dbm {lo:g} {hi:g}: expected finite LO <= HI")
    scenario = load_scenario(args.scenario)
    if not design_is_cached(args, scenario):
        step(
            f"[plot] design of scenario {scenario.name} (N = {scenario.n_antennas}, "
            f"K = {scenario.n_users}): CCMs and subchannels ..."
        )
    design = design_from_args(args, scenario)
    pa_dbm = np.linspace(lo, hi, args.points) if args.points > 1 else np.array([lo])
    rows = []
    with progress_bar(len(methods) * pa_dbm.size, desc="plot", unit="point") as bar:
        for method in methods:
            options = {"scenario": scenario, "backend": "numpy"}
            if method in checkpoints:
                options["checkpoint"] = checkpoints[method]
            for p in pa_dbm:
                rows.append(_evaluate(method, design, float(units.dbm_to_w(p)), float(p), options))
                bar.update(1, note=method)
    k = design.n_users
    header = [
        "method",
        "pa_dbm",
        "sum_kr_bits",
        "min_kr_bits",
        *[f"kr_ue{i + 1}_bits" for i in range(k)],
        "status",
    ]
    title = args.title or _scenario_title(args.scenario, scenario)
    return write_output(
        args, header, rows, "pa_dbm", ["sum_kr_bits", "min_kr_bits"], ["method"], title
    )


def _evaluate(method, design, pa_w, pa_dbm, options) -> list:
    from plkg.inference.methods import METHOD_OPTIONS, allocate
    from plkg.keyrate.evaluate import evaluate_allocation

    try:
        result = allocate(method, design, pa_w, **options)
    except (PlkgInputError, ValueError) as exc:
        if "checkpoint" in METHOD_OPTIONS[method] and "checkpoint" not in options:
            raise PlkgInputError(
                f"--methods {method}: {str(exc).splitlines()[0]}; give "
                f"--checkpoint {method}=PATH trained on this scenario (plkg train)"
            ) from exc
        raise
    report = evaluate_allocation(design, result.x_w)
    return [
        method,
        pa_dbm,
        report.sum_kr_bits,
        report.min_kr_bits,
        *[float(v) for v in report.kr_bits],
        str(result.status),
    ]


def _scenario_title(given: str, scenario) -> str:
    """The scenario actually used: its name, and the YAML file it came from."""
    where = f" ({Path(given).name})" if given.endswith((".yaml", ".yml")) else ""
    return (
        f"KR vs P_a, scenario {scenario.name}{where}: N = {scenario.n_antennas}, "
        f"K = {scenario.n_users}"
    )
