"""The one-parameter sweeps of Figs. 8-10 of the near-field paper, at P_a = 5 dBm.

Every point is its own scenario: Fig. 8 varies the number of BS antennas N (sum KR), Fig. 9 the
distance of UE 4 on UE 1's ray, r_b4 = r_b1 + Delta r, and Fig. 10 its angle,
psi_b4 = psi_b1 + Delta psi (I_4 of Eq. (17)). The points run as tasks of the execution layer (:mod:`plkg.parallel`)
(:func:`plkg.reproduce._fairness_schemes.sweep_point` through
:func:`plkg.reproduce._output.map_points`); each sweep gives one CSV and one figure. ``quick``
takes a subset of the full run's points, so every quick value equals the full run's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plkg.reproduce._fairness_lines import _figure_legend, _plot_lines
from plkg.reproduce._fairness_schemes import METHODS, sweep_point
from plkg.reproduce._output import map_points, save_figure, subplots, write_csv


def _sweep(scenarios, pa_dbm: float, desc: str) -> list[dict]:
    """Per scenario (one engine task each, with progress): :func:`sweep_point` at P_a (dBm)."""
    tasks = [{"scenario": sc.to_dict(), "pa_dbm": float(pa_dbm)} for sc in scenarios]
    points = map_points(sweep_point, tasks, desc=desc)
    for p in points:
        p["rates"] = {m: np.asarray(r) for m, r in p["rates"].items()}
    return points


def _sweep_rows(points, xname, xs, metric):
    rows = []
    for x, point in zip(xs, points, strict=True):
        for m, r in point["rates"].items():
            rows.append(
                (
                    float(x),
                    m,
                    float(metric(r)),
                    float(np.sum(r)),
                    float(np.min(r)),
                    point["n_subchannels"],
                    point["cvx_status"] if m == "cvxpakf" else "",
                    "oracle" if m.startswith("fnn") else "",
                    point["fingerprint"],
                )
            )
    header = [
        xname,
        "method",
        "value_bits",
        "sum_kr_bits",
        "min_kr_bits",
        "n_subchannels",
        "cvxpakf_status",
        "fnn_label",
        "fingerprint",
    ]
    return header, rows


def _sweep_figure(out_dir, stem, xname, xs, scenarios, metric, xlabel, ylabel, title, symlog=None):
    """CSV + figure of one Figs. 8-10 sweep (one scenario per x, P_a = 5 dBm); returns the
    figure files and the CSV."""
    points = _sweep(scenarios, pa_dbm=5.0, desc=stem)
    header, rows = _sweep_rows(points, xname, xs, metric)
    csv_path = write_csv(Path(out_dir) / f"{stem}.csv", header, rows)
    fig, axes = subplots(1, 6.4, 4.4)
    ax = axes[0, 0]
    series = {m: [metric(p["rates"][m]) for p in points] for m in points[0]["rates"]}
    _plot_lines(ax, xs, series, METHODS)
    if symlog is not None:  # zero (wfpa gives UE 4 nothing) and 1e-5..1e-2 bits on one axis
        ax.set_yscale("symlog", linthresh=symlog)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _figure_legend(fig, ax)
    figs = save_figure(fig, Path(out_dir) / stem)
    return [*figs, csv_path]


def _ue4_rate(r):
    return r[3]


def _quick_subset(xs, quick_xs, quick: bool):
    """The full grid ``xs``, or in quick mode its points ``quick_xs`` (which must belong to it)."""
    if not quick:
        return tuple(xs)
    assert set(quick_xs) <= set(xs), "a quick point must be a point of the full run"
    return tuple(quick_xs)


FIG8_N = (64, 96, 128, 160, 192, 224, 256)

FIG9_DELTA_R_M = (2.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0, 120.0, 160.0, 200.0)

FIG10_DELTA_PSI_RAD = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.2)


def fig8_points(quick: bool = False):
    """(N values, scenarios) of Fig. 8: ``configs/fig8.yaml`` with N antennas."""
    from plkg.channels.nearfield_scenario import load_scenario

    base = load_scenario("fig8")
    ns = _quick_subset(FIG8_N, (64, 96), quick)
    return ns, [base.replace(n_antennas=n) for n in ns]


def fig9_points(config: str = "fig9", quick: bool = False):
    """(Delta r values, scenarios) of Fig. 9 on ``config``: UE 4 at r_b4 = r_b1 + Delta r on
    UE 1's ray; quick mode takes two of the full run's points, nothing else changes."""
    from plkg.channels.nearfield_scenario import load_scenario

    base = load_scenario(config)
    r1 = base.ue_distance_m[0]
    deltas = _quick_subset(FIG9_DELTA_R_M, (10.0, 60.0), quick)
    scenarios = [
        base.replace(ue_distance_m=tuple(base.ue_distance_m[:3]) + (r1 + d,)) for d in deltas
    ]
    return deltas, scenarios


def fig10_points(quick: bool = False):
    """(Delta psi values, scenarios) of Fig. 10: UE 4 at psi_b4 = psi_b1 + Delta psi."""
    from plkg.channels.nearfield_scenario import load_scenario

    base = load_scenario("fig10")
    psi1 = base.ue_angle_rad[0]
    deltas = _quick_subset(FIG10_DELTA_PSI_RAD, (0.1, 0.5), quick)
    scenarios = [
        base.replace(ue_angle_rad=tuple(base.ue_angle_rad[:3]) + (psi1 + d,)) for d in deltas
    ]
    return deltas, scenarios
