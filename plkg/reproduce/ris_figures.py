"""Figures 4-6 and 8-12 of the RIS paper (Section V), as figure files + CSV.

Every function has the signature ``fn(out_dir: Path, quick: bool = False) -> list[Path]``;
``quick`` computes a subset of the full run's points with the same per-point seeds and draws
(Fig. 4: the first iterations; Fig. 5: N = 80 alone), so a quick value equals the full run's
value at that point. Method names are those of ``plkg ris --method``. All randomness comes from
``numpy.random.default_rng`` seeded per figure and point, so reruns are identical. Settings not
given by the paper (UT power, zeta_0, N of Fig. 12, inner iteration limits) are those of
``docs/assumptions.md``.

The sweeps of Figs. 6, 8, 9, 10 and 12 run one task per point through the execution layer
(:func:`plkg.parallel.runner.map_tasks` with :func:`plkg.sweep.tasks.run_task`): serially in-process by
default, on Dask workers under ``plkg reproduce --workers N`` / ``--scheduler``. Each figure is drawn
from the rows the tasks return; the per-point seeds are the same in both cases.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from plkg.channels.ris_multicell import build_channel_model, cascaded_covariance
from plkg.channels.ris_scenario import (
    FOUR_CELL_POINTS,
    FOUR_CELL_SCHEMES,
    four_cell,
    four_cell_scheme,
    two_cell,
    two_cell_ut_position,
)
from plkg.parallel.torch_threads import torch_threads
from plkg.reproduce._output import house_styled, map_points, points_progress, save_figure, subplots
from plkg.reproduce._output import write_csv as _write_csv
from plkg.solvers.ris_alternating import solve_ris_batched
from plkg.solvers.ris_phase_pga import optimize_phases_pga, random_phases
from plkg.solvers.ris_precoder_kkt import optimize_precoders_kkt, uniform_precoders
from plkg.sweep.tasks import run_task


def _figure(ncols: int = 1, width: float = 6.0):
    fig, axes = subplots(ncols, width)
    return fig, axes[0]


RIS_METHODS = ("proposed", "rand-phase", "no-ris")
RAND_PHASE_DRAWS = 5  # RandPhase: mean WSKR over this many seeded phase draws per point


def _grid_index(full: list, quick_points: list, quick: bool) -> list[tuple[int, float]]:
    """(index in the full grid, value) of the points to compute: all, or in quick mode those of
    ``quick_points`` (each a point of ``full``); the index seeds the point, so a quick point
    gets the same seed as in the full run."""
    if not quick:
        return list(enumerate(full))
    return [(full.index(x), x) for x in quick_points]


def point_task(index: int, scenario, evaluations: list[dict], options=None) -> dict:
    """A sweep task (:mod:`plkg.sweep.tasks`) for one figure point: ``evaluations`` lists
    ``{"pa_dbm": None, "method", "rng": entropy}`` (None: the scenario's own P_A)."""
    return {
        "task_id": f"{scenario.name}-{index}",
        "index": index,
        "seed": 0,
        "system": "ris",
        "params": {},
        "scenario": scenario.to_dict(),
        "evaluations": evaluations,
        "options": dict(options or {}),
    }


def run_points(tasks: list[dict], desc: str = "ris") -> list[list[dict]]:
    """Rows of every task (engine of the enclosing session, with progress); a failed point
    raises."""
    results = map_points(run_task, tasks, desc=desc)
    for rows in results:
        for row in rows:
            if row["status"] == "error":
                raise RuntimeError(f"RIS figure point {row['task_id']} failed: {row['error']}")
    return results


def _methods_sweep(
    scenarios: list,
    indices: list[int],
    seed: int,
    desc: str,
    methods=RIS_METHODS,
) -> dict[str, list[float]]:
    """WSKR (bits) of each method at each scenario (``indices``: their places in the full grid,
    which seed them); RandPhase averaged over :data:`RAND_PHASE_DRAWS` draws."""
    tasks = [
        point_task(
            idx,
            scenario,
            [
                {"pa_dbm": None, "method": method, "rng": [seed, idx, m_idx]}
                for m_idx, method in enumerate(methods)
            ],
            {"rand_phase_draws": RAND_PHASE_DRAWS},
        )
        for idx, scenario in zip(indices, scenarios, strict=True)
    ]
    out: dict[str, list[float]] = {m: [] for m in methods}
    for rows in run_points(tasks, desc):
        for row in rows:
            out[row["method"]].append(row["wskr_bits"])
    return out


def _plot_methods(ax, xs, results: dict[str, list[float]]) -> None:
    for method, ys in results.items():
        ax.plot(xs, ys, label=method)
    ax.set_ylabel("WSKR (bits/channel use)")
    ax.legend()


@house_styled
def fig4(out_dir: Path, quick: bool = False) -> list[Path]:
    """Fig. 4: convergence of Algorithm 1 (left, several M = M_e) and Algorithm 2 (right, several N)."""
    out_dir = Path(out_dir)
    ms = [4, 8] if quick else [4, 6, 8]
    ns = [20, 60] if quick else [20, 60, 100]
    iters = 30 if quick else 100
    rows = []
    fig, (ax1, ax2) = _figure(2)
    with torch_threads(1):
        for m in ms:
            model = build_channel_model(two_cell(n_antennas=m, n_rf_chains=m, n_ris_elements=60))
            v = random_phases(60, np.random.default_rng([4, m]))
            cov = cascaded_covariance(model, v)
            res = optimize_precoders_kkt(
                cov, model.weights, model.bs_power_w, model.ut_power_w, m, tol=1e-12, max_iter=iters
            )
            rows += [["alg1", m, 60, t, h] for t, h in enumerate(res.history)]
            ax1.plot(
                range(len(res.history)), res.history, markevery=5, label=f"M = M_e = {m}, N = 60"
            )
        for n in ns:
            model = build_channel_model(two_cell(n_ris_elements=n))
            p = uniform_precoders(2, 4, 4, model.bs_power_w)
            v0 = random_phases(n, np.random.default_rng([4, 100 + n]))
            res = optimize_phases_pga(model, p, v0, tol=1e-12, max_iter=iters)
            rows += [["alg2", 4, n, t, h] for t, h in enumerate(res.history)]
            ax2.plot(
                range(len(res.history)), res.history, markevery=5, label=f"M = M_e = 4, N = {n}"
            )
    ax1.set_title("Algorithm 1 (KKT precoders), random fixed phases")
    ax2.set_title("Algorithm 2 (PGA phases), fixed uniform precoders")
    for ax in (ax1, ax2):
        ax.set_xlabel("iteration")
        ax.set_ylabel("sum_k w_k R_k^ub (bits/channel use)")
        ax.legend()
    fig.suptitle("RIS Fig. 4: convergence of Algorithms 1 and 2, scenario two-cell")
    csv = _write_csv(
        out_dir / "ris-fig4.csv", ["algorithm", "M", "N", "iteration", "objective_bits"], rows
    )
    return [*save_figure(fig, out_dir / "ris-fig4"), csv]


def _fig5_curves(ax, rows: list, c: int, n: int, settings, n_init: int, bar) -> None:
    """The Fig. 5 curves of N = ``n`` RIS elements (one per inner setting) on ``ax``; appends
    the per-start histories to ``rows``."""
    model = build_channel_model(two_cell(n_ris_elements=n))
    for inner, style in settings:
        runs = solve_ris_batched(
            model,
            "proposed",
            n_starts=n_init,
            rng=np.random.default_rng([5, n, inner]),
            kkt_max_iter=inner,
            pga_max_iter=inner,
            max_iter=300,
        )
        histories = [r.history for r in runs]
        iterations = [r.iterations for r in runs]
        for s, r in enumerate(runs):
            rows += [[n, inner, s, t, h, r.iterations] for t, h in enumerate(r.history)]
        length = max(len(h) for h in histories)
        padded = np.array([h + [h[-1]] * (length - len(h)) for h in histories])
        ax.plot(
            range(length),
            padded.mean(0),
            style,
            color=f"C{c}",
            marker="o" if inner > 1 else "s",
            markevery=max(1, length // 12),
            label=f"N = {n}, {inner} inner it.: mean {np.mean(iterations):.1f} AO iterations",
        )
        bar.update(1, note=f"N = {n}, {inner} inner it.")


@house_styled
def fig5(out_dir: Path, quick: bool = False) -> list[Path]:
    """Fig. 5: AO convergence for N = 80 and 100 (M = M_e = 4, P_A = 30 dBm), mean over random starts.

    Two inner settings: our default (up to 30 iterations of Algorithms 1 and 2 per AO iteration)
    and one iteration of each per AO iteration (closest to the paper's iteration counts).
    """
    out_dir = Path(out_dir)
    n_init = 10
    rows, fig, (ax,) = [], *_figure(1, width=7.0)
    sizes = (80,) if quick else (80, 100)  # quick: N = 80 alone
    settings = ((30, "-"), (1, "--"))
    # each (N, inner) pair runs its AO from n_init starts: seconds each, so a bar over them
    with points_progress(len(sizes) * len(settings), desc="ris-fig5", unit="setting") as bar:
        for c, n in enumerate(sizes):
            _fig5_curves(ax, rows, c, n, settings, n_init, bar)
    ax.set_xlabel("AO iteration")
    ax.set_ylabel("WSKR (bits/channel use)")
    ax.set_title("RIS Fig. 5: AO convergence, scenario two-cell")
    ax.legend()
    csv = _write_csv(
        out_dir / "ris-fig5.csv",
        [
            "N",
            "inner_iterations",
            "start",
            "ao_iteration",
            "objective_bits",
            "iterations_to_converge",
        ],
        rows,
    )
    return [*save_figure(fig, out_dir / "ris-fig5"), csv]


@house_styled
def fig6(out_dir: Path, quick: bool = False) -> list[Path]:
    """Fig. 6: WSKR (Theorem 1) and upper bound (Theorem 2) vs P_A for several M_e; M = 10, N = 20."""
    out_dir = Path(out_dir)
    power_grid = _grid_index([0.0, 10.0, 20.0, 30.0, 40.0], [10.0, 30.0], quick)
    powers = [p for _, p in power_grid]
    mes = [2, 10] if quick else [1, 2, 4, 10]
    rows, fig, (ax,) = [], *_figure(1)
    points = [(me, p_idx, p_a) for me in mes for p_idx, p_a in power_grid]
    tasks = [
        point_task(
            i,
            two_cell(n_antennas=10, n_rf_chains=me, n_ris_elements=20, bs_power_dbm=p_a),
            [{"pa_dbm": None, "method": "proposed", "rng": [6, me, p_idx]}],
        )
        for i, (me, p_idx, p_a) in enumerate(points)
    ]
    results = run_points(tasks, "ris-fig6")
    table = {(me, p_idx): res for (me, p_idx, _), (res,) in zip(points, results, strict=True)}
    for c, me in enumerate(mes):
        wskr, ub = [], []
        for p_idx, p_a in power_grid:
            res = table[(me, p_idx)]
            wskr.append(res["wskr_bits"])
            ub.append(res["ub_bits"])
            rows.append([me, p_a, res["wskr_bits"], res["ub_bits"], res["iterations"]])
        color = f"C{c}"
        ax.plot(powers, wskr, "-o", color=color, label=f"WSKR, M_e = {me}")
        ax.plot(powers, ub, "--x", color=color, label=f"upper bound, M_e = {me}")
    ax.set_xlabel("P_A (dBm)")
    ax.set_ylabel("WSKR (bits/channel use)")
    ax.set_title("RIS Fig. 6: WSKR and upper bound vs P_A, scenario two-cell")
    ax.legend()
    csv = _write_csv(
        out_dir / "ris-fig6.csv", ["M_e", "P_A_dbm", "wskr_bits", "ub_bits", "ao_iterations"], rows
    )
    return [*save_figure(fig, out_dir / "ris-fig6"), csv]


def _methods_figure(out_dir, stem, xname, grid, make, seed, xlabel, title) -> list[Path]:
    """Figs. 8-10: WSKR of every method vs x (``grid``: (full-grid index, x) pairs, ``make(x)``
    the scenario) as figure + CSV."""
    out_dir = Path(out_dir)
    xs = [x for _, x in grid]
    results = _methods_sweep([make(x) for x in xs], [i for i, _ in grid], seed, stem)
    fig, (ax,) = _figure(1)
    _plot_methods(ax, xs, results)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    rows = [[x] + [results[m][i] for m in results] for i, x in enumerate(xs)]
    csv = _write_csv(out_dir / f"{stem}.csv", [xname] + [f"{m}_wskr_bits" for m in results], rows)
    return [*save_figure(fig, out_dir / stem), csv]


@house_styled
def fig8(out_dir: Path, quick: bool = False) -> list[Path]:
    """Fig. 8: WSKR vs the number of RIS elements N (P_A = 30 dBm, M = M_e = 4)."""
    return _methods_figure(
        out_dir,
        "ris-fig8",
        "N",
        _grid_index(list(range(20, 201, 20)), [20, 60], quick),
        lambda n: two_cell(n_ris_elements=n),
        8,
        "number of RIS elements N",
        "RIS Fig. 8: WSKR vs N, scenario two-cell",
    )


@house_styled
def fig9(out_dir: Path, quick: bool = False) -> list[Path]:
    """Fig. 9: WSKR vs RIS position (x_RIS, 0), N = 60, M = M_e = 4, P_A = 30 dBm."""
    return _methods_figure(
        out_dir,
        "ris-fig9",
        "x_ris_m",
        _grid_index([float(x) for x in range(20, 301, 20)], [20.0, 140.0, 280.0], quick),
        lambda x: two_cell(ris_xy_m=((x, 0.0),)),
        9,
        "x_RIS (m)",
        "RIS Fig. 9: WSKR vs RIS location, scenario two-cell",
    )


@house_styled
def fig10(out_dir: Path, quick: bool = False) -> list[Path]:
    """Fig. 10: WSKR vs UT position, UT 1 at x_u and UT 2 at 600 - x_u, N = 60."""
    return _methods_figure(
        out_dir,
        "ris-fig10",
        "x_u_m",
        _grid_index([float(x) for x in range(100, 281, 20)], [100.0, 280.0], quick),
        two_cell_ut_position,
        10,
        "x_u (m)",
        "RIS Fig. 10: WSKR vs UT location, scenario two-cell",
    )


@house_styled
def fig11(out_dir: Path, quick: bool = False) -> list[Path]:
    """Fig. 11: the four-cell layout with the RIS movement paths of Fig. 12."""
    out_dir = Path(out_dir)
    s = four_cell()
    fig, (ax,) = _figure(1, width=6.0)
    rows = []
    for i, (x, y) in enumerate(s.bs_xy_m):
        ax.plot(x, y, "ks", markersize=9)
        ax.annotate(f"BS {i + 1}", (x, y), textcoords="offset points", xytext=(6, 6))
        rows.append([f"BS{i + 1}", x, y])
    cx, cy = np.mean(np.asarray(s.bs_xy_m, dtype=float), axis=0)
    for j, (x, y) in enumerate(s.ut_xy_m):
        ax.plot(x, y, "bo", markersize=6)
        # UTs stand in pairs 40 m apart: label each outwards (left/right, below/above the square)
        right, below = x > cx, y < cy
        ax.annotate(
            f"UT {j + 1}",
            (x, y),
            textcoords="offset points",
            xytext=(4 if right else -4, -6 if below else 6),
            ha="left" if right else "right",
            va="top" if below else "bottom",
            fontsize=8,
        )
        rows.append([f"UT{j + 1}", x, y])
    for name in ("B", "C", "D"):
        x, y = FOUR_CELL_POINTS[name]
        ax.plot(x, y, "r^", markersize=7)
        # inside the square, clear of the UT labels
        offset = (6, 5) if y < cy else (6, -12)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=offset, color="r")
        rows.append([name, x, y])
    styles = {1: "C0", 2: "C1", 3: "C2"}
    for (n_ris, scheme), paths in FOUR_CELL_SCHEMES.items():
        for start, end in paths:
            a, b = np.asarray(FOUR_CELL_POINTS[start]), np.asarray(FOUR_CELL_POINTS[end])
            off = 8.0 * (n_ris - 1.5)
            ax.annotate(
                "",
                xy=b + off,
                xytext=a + off,
                arrowprops={
                    "arrowstyle": "->",
                    "color": styles[scheme],
                    "ls": "-" if n_ris == 1 else "--",
                },
            )
    ax.plot([], [], "-", marker="none", color="C0", label="Scheme-1 (solid: 1 RIS, dashed: 2 RISs)")
    ax.plot([], [], "-", marker="none", color="C1", label="Scheme-2")
    ax.plot([], [], "-", marker="none", color="C2", label="Scheme-3")
    ax.set_xlim(-60, 680)
    ax.set_ylim(-60, 680)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title("RIS Fig. 11: four-cell layout and RIS movement schemes")
    # below the axes: inside, it hid point D and the paths at x = 600 m
    fig.legend(loc="outside lower center")
    csv = _write_csv(out_dir / "ris-fig11.csv", ["node", "x_m", "y_m"], rows)
    return [*save_figure(fig, out_dir / "ris-fig11"), csv]


@house_styled
def fig12(out_dir: Path, quick: bool = False) -> list[Path]:
    """Fig. 12: four-cell WSKR vs RIS position, single RIS and two RISs, schemes 1-3 (N = 60 per RIS)."""
    out_dir = Path(out_dir)
    # positions along each path as the x_RIS of Scheme-1 (path length 600 m)
    full = [40.0, 120.0, 200.0, 240.0, 280.0, 300.0, 320.0, 360.0, 400.0, 480.0, 560.0]
    grid = _grid_index(full, [280.0, 320.0], quick)
    pos = [x for _, x in grid]
    rows, fig, (ax,) = [], *_figure(1, width=7.0)
    points = [(n_ris, scheme, p_idx, x) for n_ris, scheme in FOUR_CELL_SCHEMES for p_idx, x in grid]
    tasks = [
        point_task(
            i,
            four_cell_scheme(n_ris, scheme, x / 600.0),
            [{"pa_dbm": None, "method": "proposed", "rng": [12, n_ris, scheme, p_idx]}],
        )
        for i, (n_ris, scheme, p_idx, x) in enumerate(points)
    ]
    results = run_points(tasks, "ris-fig12")
    table = {p[:3]: res for p, (res,) in zip(points, results, strict=True)}
    for n_ris, scheme in FOUR_CELL_SCHEMES:
        ys = []
        for p_idx, x in grid:
            res = table[(n_ris, scheme, p_idx)]
            ys.append(res["wskr_bits"])
            rows.append([n_ris, scheme, x / 600.0, x, res["wskr_bits"], res["iterations"]])
        style = "-o" if n_ris == 1 else "--s"
        ax.plot(
            pos,
            ys,
            style,
            color=f"C{scheme - 1}",
            label=f"{n_ris} RIS{'s' if n_ris > 1 else ''}, Scheme-{scheme}",
        )
    ax.set_xlabel("RIS position along its path, 600 m x fraction (= x_RIS for Scheme-1)")
    ax.set_ylabel("WSKR (bits/channel use)")
    ax.set_title("RIS Fig. 12: WSKR vs RIS position, scenario four-cell")
    ax.legend()
    csv = _write_csv(
        out_dir / "ris-fig12.csv",
        ["n_ris", "scheme", "fraction", "position_m", "wskr_bits", "ao_iterations"],
        rows,
    )
    return [*save_figure(fig, out_dir / "ris-fig12"), csv]


FIGURES: dict[str, Callable[..., list[Path]]] = {
    "ris-fig4": fig4,
    "ris-fig5": fig5,
    "ris-fig6": fig6,
    "ris-fig8": fig8,
    "ris-fig9": fig9,
    "ris-fig10": fig10,
    "ris-fig11": fig11,
    "ris-fig12": fig12,
}
