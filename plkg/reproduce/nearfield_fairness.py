"""Key-rate fairness figures of the near-field paper: Figs. 6 (fairness curves), 7, 8, 9 and 10.

Schemes in every figure (Section VII-B), named as the CLI names them: ``epa``, ``wfpa``,
``fnnpa`` (sum KR) and ``cvxpakf``, ``wfpakf``, ``fnnpakf`` (the "Appro" mapping: t_hat -> Eqs. (60),
(59)), ``fnnpakf --mapping exact`` (t_hat -> least-power allocation on Eq. (42)) and
``exact-maxmin``. Key rates are C_k of Eq. (42), which equals I_k of Eq. (17) for the designed
precoders of Eq. (39) (:func:`plkg.keyrate.evaluate.evaluate_allocation` checks this identity).

* ``nf-fig6-fair``: sum KR and min KR vs P_a on the Fig. 6 scenario with the committed KGLM-Net
  and fairness-FNN checkpoints; also the FNNPAKF vs CVXPAKF min-KR gap over the dataset's test
  powers and at 15 dBm (``nf-fig6-fair-gap.csv``).
* ``nf-fig7``: x_{k,j} vs P_a for three subchannels, target (CVXPAKF, exact label where CVXPY is
  not optimal) vs FNNPAKF Appro and exact, with the average relative errors.
* ``nf-fig8`` (sum KR vs N), ``nf-fig9`` (I_4 vs r_b4), ``nf-fig10`` (I_4 vs psi_b4): every point
  is a different scenario, so a network trained on Fig. 6 does not apply (fingerprint). The FNN
  curves there are **oracle-label** curves: FNNPA uses mu from water-filling and FNNPAKF uses t
  from the exact max-min solver, followed by the paper's mapping (Eq. (48), resp. Eqs. (59)-(60)
  or the exact mapping). They isolate the mapping error from the (tiny, see Fig. 6) regression
  error; the CSV says so in its ``fnn_label`` column.

``quick`` computes a subset of the full run's points (same scenario, design, seeds and draws), so
every quick value equals the full run's value at that point.

CVXPAKF points where CVXPY does not return ``optimal`` are left empty (NaN) and flagged in the CSV
(``cvxpakf_status``); they are never replaced silently.

The points of Figs. 8-10 are tasks of the execution layer (:mod:`plkg.parallel`) (:func:`sweep_point` through
:func:`plkg.parallel.runner.map_tasks`): serial in-process by default, on Dask workers under
``plkg reproduce --workers N`` / ``--scheduler``; the figures are drawn from the returned rows.

This module draws the figures and writes their CSVs; the schemes' allocations and key rates
are computed in :mod:`plkg.reproduce._fairness_schemes`, the sweeps of Figs. 8-10 in
:mod:`plkg.reproduce._fairness_sweeps` and the curves drawn by
:mod:`plkg.reproduce._fairness_lines`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plkg import defaults, units
from plkg.reproduce._fairness_lines import _figure_legend, _plot_lines
from plkg.reproduce._fairness_schemes import FAIR_METHODS as FAIR_METHODS
from plkg.reproduce._fairness_schemes import (
    FNNPAKF_MAPPINGS,
    METHODS,
    _fairness_fnn,
    _rates,
    scheme_allocations,
)
from plkg.reproduce._fairness_schemes import SUM_METHODS as SUM_METHODS
from plkg.reproduce._fairness_schemes import sweep_point as sweep_point
from plkg.reproduce._fairness_sweeps import FIG8_N as FIG8_N
from plkg.reproduce._fairness_sweeps import FIG9_DELTA_R_M as FIG9_DELTA_R_M
from plkg.reproduce._fairness_sweeps import FIG10_DELTA_PSI_RAD as FIG10_DELTA_PSI_RAD
from plkg.reproduce._fairness_sweeps import (
    _sweep_figure,
    _ue4_rate,
    fig8_points,
    fig9_points,
    fig10_points,
)
from plkg.reproduce._output import house_styled, points_progress, save_figure, subplots, write_csv

DATASET = defaults.dataset_path("fig6_fairness")

# Quick mode: these points of the full P_a grid (linspace over the training range, 17 points of
# 2.5 dB: 0, 5 and 10 dBm), which lie in one CVXPY band.
QUICK_PA_INDEX = [4, 6, 8]


# ----------------------------------------------------------------------------- Fig. 6 (fair)
@house_styled
def make_fig6_fair(out_dir, quick: bool = False) -> list[Path]:
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.data.dataset import load_dataset
    from plkg.inference.allocator import DEFAULT_CHECKPOINT as SUM_CKPT
    from plkg.inference.allocator import Allocator

    out_dir = Path(out_dir)
    scenario = load_scenario("fig6")
    fnn_fair, design = _fairness_fnn(scenario, quick)
    if quick:
        fnn_sum = Allocator.from_checkpoint(SUM_CKPT, scenario=scenario)
    else:
        fnn_sum = Allocator.from_checkpoint(SUM_CKPT, scenario=scenario, design=design)
    lo, hi = fnn_fair.checkpoint.training_range
    lo_s, hi_s = fnn_sum.training_range_dbm
    pa_dbm = np.linspace(max(lo, lo_s), min(hi, hi_s), 17)
    if quick:
        pa_dbm = pa_dbm[QUICK_PA_INDEX]
    pa = units.dbm_to_w(pa_dbm)
    allocs, info = scheme_allocations(design, pa, fnn_sum, fnn_fair)
    rates = {m: _rates(design, x) for m, x in allocs.items()}
    rows = []
    for m, r in rates.items():
        for i, p in enumerate(pa_dbm):
            rows.append(
                (
                    float(p),
                    m,
                    float(np.sum(r[i])),
                    float(np.min(r[i])),
                    info["cvx_status"][i] if m == "cvxpakf" else "",
                    float(info["t_fnn"][i]) if m.startswith("fnnpakf") else float("nan"),
                )
            )
    csv_path = write_csv(
        out_dir / "nf-fig6-fair.csv",
        ["pa_dbm", "method", "sum_kr_bits", "min_kr_bits", "cvxpakf_status", "t_hat_bits"],
        rows,
    )
    # FNNPAKF vs CVXPAKF min-KR gap on the dataset's test powers (and at 15 dBm).
    ds = load_dataset(DATASET, expected_fingerprint=scenario.fingerprint())
    idx = ds.indices("test")
    pa_test = np.r_[ds.extras["pa_w"][idx], units.dbm_to_w(15.0)]
    t_label = np.r_[ds.labels[idx], np.nan]
    gap_rows = []
    gaps = {}
    from plkg.solvers.maxmin_exact import solve_maxmin

    ref = np.asarray(solve_maxmin(design.m_a, design.m_b, design.user, 4, pa_test).t_bits)
    ref = np.where(np.isnan(t_label), ref, t_label)
    for mapping, name in FNNPAKF_MAPPINGS:
        res = fnn_fair.allocation(pa_test, mapping)
        rel = (ref - res.min_c_bits) / ref
        gaps[name] = (float(np.mean(np.abs(rel[:-1]))), float(rel[-1]))
        for p, r in zip(units.w_to_dbm(pa_test), rel, strict=True):
            gap_rows.append((float(p), name, float(r)))
    gap_csv = write_csv(
        out_dir / "nf-fig6-fair-gap.csv",
        ["pa_dbm", "method", "relative_min_kr_gap_vs_cvxpakf"],
        gap_rows + [("test-mean", n, g[0]) for n, g in gaps.items()],
    )
    fig, axes = subplots(2, 5.2, 4.2)
    axes = axes[0]
    _plot_lines(axes[0], pa_dbm, {m: r.sum(-1) for m, r in rates.items()}, METHODS)
    axes[0].set_ylabel("sum KR (bits)")
    axes[0].set_title(f"(a) sum KR of {design.n_users} UEs")
    _plot_lines(axes[1], pa_dbm, {m: r.min(-1) for m, r in rates.items()}, METHODS)
    axes[1].set_ylabel("min KR (bits)")
    axes[1].set_title("(b) minimum KR over the UEs")
    for ax in axes:
        ax.set_xlabel("P_a (dBm)")
    _figure_legend(fig, axes[0])
    fig.suptitle(f"Near-field Fig. 6 (fairness), scenario {scenario.name}")
    figs = save_figure(fig, out_dir / "nf-fig6-fair")
    return [*figs, csv_path, gap_csv]


# ----------------------------------------------------------------------------- Fig. 7
def _target_label(source: list[str]) -> str:
    """Legend name of the Fig. 7 target: ``cvxpakf``, naming ``exact-maxmin`` and the powers'
    count where CVXPY was not optimal and the exact solver's allocation stands in."""
    fallback = sum(s != "cvxpakf" for s in source)
    if fallback == 0:
        return "cvxpakf"
    if fallback == len(source):
        return "exact-maxmin (cvxpakf not optimal)"
    return f"cvxpakf, exact-maxmin at {fallback} of {len(source)} P_a"


@house_styled
def make_fig7(out_dir, quick: bool = False) -> list[Path]:
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.solvers.maxmin_exact import solve_maxmin

    out_dir = Path(out_dir)
    scenario = load_scenario("fig7")
    fnn, design = _fairness_fnn(scenario, quick)
    lo, hi = fnn.checkpoint.training_range
    pa_dbm = np.linspace(lo, hi, 21)
    if quick:  # 0, 4 and 8 dBm of the full grid (2 dB steps)
        pa_dbm = pa_dbm[[5, 7, 9]]
    pa = units.dbm_to_w(pa_dbm)
    from plkg.solvers import maxmin_cvxpy
    from plkg.solvers.maxmin_exact import SolverError

    exact = np.asarray(solve_maxmin(design.m_a, design.m_b, design.user, 4, pa).x_w)
    target = exact.copy()
    source = []
    # one CVXPY solve per power takes about a second: a bar over the powers
    with points_progress(pa.size, desc="nf-fig7 cvxpakf", unit="power") as bar:
        for i, p in enumerate(pa):
            # cvxpakf's canonical allocation (docs/assumptions.md, "canonical max-min
            # optimum"): CVXPY's own point moves ~1e-7 P_a between UEs from run to run at high P_a
            try:
                target[i] = maxmin_cvxpy.allocate(design, float(p)).x_w
                source.append("cvxpakf")
            except SolverError:
                source.append("exact-maxmin (cvxpy not optimal)")
            bar.update(1)
    target_label = _target_label(source)
    appro = fnn.allocation(pa, "appro").x_w
    exm = fnn.allocation(pa, "exact").x_w
    # Three subchannels: the strongest subchannel of UE 1, UE 2 and UE 4 (1-based flat index).
    starts = np.cumsum((0,) + design.n_subchannels)
    picks = [int(starts[k]) for k in (3, 1, 0)]
    rows = []
    errs = {}
    for j in picks:
        for name, pred in (("Appro", appro), ("exact", exm)):
            rel = np.abs(pred[:, j] - target[:, j]) / np.abs(target[:, j])
            errs[(j, name)] = float(np.mean(rel))
        for i, p in enumerate(pa_dbm):
            rows.append(
                (
                    j + 1,
                    int(design.user[j]) + 1,
                    float(p),
                    float(target[i, j]),
                    float(appro[i, j]),
                    float(exm[i, j]),
                    source[i],
                )
            )
    csv_path = write_csv(
        out_dir / "nf-fig7.csv",
        [
            "subchannel",
            "ue",
            "pa_dbm",
            "x_target_w",
            "x_fnnpakf_appro_w",
            "x_fnnpakf_exact_w",
            "target",
        ],
        rows,
    )
    fig, axes = subplots(1, 6.4, 4.4)
    ax = axes[0, 0]
    for c, j in enumerate(picks):
        # one colour per subchannel; the target is a line, the predictions are markers
        col = f"C{c}"
        ax.semilogy(
            pa_dbm,
            target[:, j],
            "-",
            marker="none",
            color=col,
            label=f"subchannel {j + 1} (UE {design.user[j] + 1}): {target_label}",
        )
        ax.semilogy(
            pa_dbm,
            np.where(appro[:, j] > 0, appro[:, j], np.nan),
            "o",
            color=col,
            label=f"  fnnpakf (mean rel. error {100 * errs[(j, 'Appro')]:.1f} %)",
        )
        ax.semilogy(
            pa_dbm,
            exm[:, j],
            "x",
            color=col,
            label=f"  fnnpakf --mapping exact ({100 * errs[(j, 'exact')]:.2f} %)",
        )
    ax.set_xlabel("P_a (dBm)")
    ax.set_ylabel("x_{k,j} (W)")
    ax.set_title(f"Near-field Fig. 7: power allocation vs P_a, scenario {scenario.name}")
    ax.grid(True, which="both")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center")
    figs = save_figure(fig, out_dir / "nf-fig7")
    return [*figs, csv_path]


@house_styled
def make_fig8(out_dir, quick: bool = False) -> list[Path]:
    ns, scenarios = fig8_points(quick)
    return _sweep_figure(
        out_dir,
        "nf-fig8",
        "n_antennas",
        ns,
        scenarios,
        np.sum,
        "number of BS antennas N",
        "sum KR (bits)",
        f"Near-field Fig. 8: sum KR vs N, scenario {scenarios[0].name}",
    )


@house_styled
def make_fig9(out_dir, quick: bool = False) -> list[Path]:
    return fig9_sweep(out_dir, "fig9", "nf-fig9", "Near-field Fig. 9", quick, symlog=1e-6)


def fig9_sweep(out_dir, config, stem, title, quick, symlog=None) -> list[Path]:
    """Fig. 9 on scenario ``config``: I_4 vs r_b4 = r_b1 + Delta r on UE 1's ray."""
    deltas, scenarios = fig9_points(config, quick)
    r1 = scenarios[0].ue_distance_m[0]
    return _sweep_figure(
        out_dir,
        stem,
        "delta_r_m",
        deltas,
        scenarios,
        _ue4_rate,
        f"Delta r (m), r_b4 = r_b1 + Delta r, r_b1 = {r1:g} m",
        "I_4 (bits)",
        f"{title}: KR of UE 4 vs its distance, scenario {config}",
        symlog=symlog,
    )


@house_styled
def make_fig10(out_dir, quick: bool = False) -> list[Path]:
    deltas, scenarios = fig10_points(quick)
    psi1 = scenarios[0].ue_angle_rad[0]
    return _sweep_figure(
        out_dir,
        "nf-fig10",
        "delta_psi_rad",
        deltas,
        scenarios,
        _ue4_rate,
        f"Delta psi (rad), psi_b4 = psi_b1 + Delta psi, psi_b1 = {psi1:g} rad",
        "I_4 (bits)",
        "Near-field Fig. 10: KR of UE 4 vs its angle, scenario fig10",
    )


FIGURES = {
    "nf-fig6-fair": make_fig6_fair,
    "nf-fig7": make_fig7,
    "nf-fig8": make_fig8,
    "nf-fig9": make_fig9,
    "nf-fig10": make_fig10,
}
