"""Key-rate fairness figures of the near-field paper: Figs. 6 (fairness curves), 7, 8, 9 and 10.

Schemes in every figure (Section VII-B), named as the CLI names them: ``epa``, ``wfpa``,
``fnnpa`` (sum KR) and ``cvxpakf``, ``wfpakf``, ``fnnpakf`` (the "Appro" mapping: t_hat -> Eqs. (60),
(59)), ``fnnpakf --mapping exact`` (t_hat -> least-power allocation on Eq. (42)) and
``exact-maxmin``. Key rates are C_k of Eq. (42), which equals I_k of Eq. (17) for the designed
precoders of Eq. (39) (the Foundation's ``evaluate_allocation`` checks this identity).

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

The points of Figs. 8-10 are tasks of the sweep engine (:func:`sweep_point` through
:func:`plkg.sweep.runner.map_tasks`): serial in-process by default, on Dask workers under
``plkg reproduce --workers N`` / ``--scheduler``; the figures are drawn from the returned rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plkg import defaults, units
from plkg.reproduce._output import (
    house_styled,
    map_points,
    points_progress,
    save_figure,
    subplots,
    write_csv,
)
from plkg.reproduce.nearfield_sumrate import fit_budget, sum_rate_allocations

DATASET = defaults.dataset_path("fig6_fairness")
SUM_METHODS = ("epa", "wfpa", "fnnpa")
FNNPAKF_MAPPINGS = (("appro", "fnnpakf"), ("exact", "fnnpakf --mapping exact"))
FAIR_METHODS = ("cvxpakf", "wfpakf", *(name for _, name in FNNPAKF_MAPPINGS), "exact-maxmin")
METHODS = SUM_METHODS + FAIR_METHODS  # curve order: each takes the next style of the cycle
# Quick mode: these points of the full P_a grid (linspace over the training range, 17 points of
# 2.5 dB: 0, 5 and 10 dBm), which lie in one CVXPY band.
QUICK_PA_INDEX = [4, 6, 8]


def _design(scenario):
    from plkg.precoding.block_diagonalization import design_for_scenario

    return design_for_scenario(scenario)


def _stored_design(checkpoint):
    """A minimal design (m_a, m_b, user and counts) from the constants stored in a checkpoint."""
    from types import SimpleNamespace

    m_a, m_b = checkpoint.design["m_a"], checkpoint.design["m_b"]
    user = np.asarray(checkpoint.design["user"], dtype=np.int64)
    k = int(user.max()) + 1
    return SimpleNamespace(
        m_a=m_a,
        m_b=m_b,
        user=user,
        n_users=k,
        n_total=int(user.size),
        n_subchannels=tuple(int(c) for c in np.bincount(user, minlength=k)),
    )


def _fairness_fnn(scenario, quick: bool):
    """The committed fairness FNN bound to ``scenario`` and its design: in ``quick`` mode the
    subchannel constants stored in the checkpoint (no CCM), otherwise the computed design."""
    from plkg.inference.fairness_allocator import DEFAULT_CHECKPOINT, FairnessAllocator

    if quick:
        fnn = FairnessAllocator.from_checkpoint(DEFAULT_CHECKPOINT, scenario=scenario)
        return fnn, _stored_design(fnn.checkpoint)
    design = _design(scenario)
    fnn = FairnessAllocator.from_checkpoint(DEFAULT_CHECKPOINT, scenario=scenario, design=design)
    return fnn, design


def scheme_allocations(design, pa_w, fnn_sum=None, fnn_fair=None) -> tuple[dict, dict]:
    """x [B, N_D] (W) of every scheme for budgets ``pa_w`` [B] on one design.

    ``fnn_sum`` / ``fnn_fair``: loaded allocators (``Allocator`` / ``FairnessAllocator``) or None
    for oracle labels (mu from water-filling, t from the exact max-min solver).

    Returns (allocations, info) where info has ``cvx_status`` [B] (str), ``t_exact`` [B],
    ``t_fnn`` [B] and ``fnn_label`` ("checkpoint" or "oracle").
    """
    from plkg.inference.fairness_allocator import mapping_allocation
    from plkg.solvers import maxmin_cvxpy
    from plkg.solvers.maxmin_exact import ExactMaxMin, SolverError
    from plkg.solvers.maxmin_highpower import solve_highpower
    from plkg.solvers.maxmin_lexicographic import canonical_from_maxmin

    pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
    m_a, m_b, user, k = design.m_a, design.m_b, design.user, design.n_users
    exact_solver = ExactMaxMin(m_a, m_b, user, k)
    exact = exact_solver.solve(pa)
    if exact.status != "optimal":
        raise SolverError("exact max-min did not converge in a figure sweep")
    t_exact = np.asarray(exact.t_bits)
    out = sum_rate_allocations(pa, m_a, m_b, fnn_sum)
    x_cvx = np.full((pa.size, design.n_total), np.nan)
    status = []
    # a curve's CVXPY solves take seconds: progress, but none for a one-point sweep task
    with points_progress(pa.size, desc="cvxpakf", unit="power") as bar:
        for i, p in enumerate(pa):
            try:
                # the method cvxpakf as everywhere else: CVXPY's t checked against the exact t*,
                # the canonical allocation reported (docs/assumptions.md)
                res = maxmin_cvxpy.allocate(design, float(p))
                x_cvx[i] = res.x_w
                status.append(res.status)
            except SolverError as exc:
                status.append("failed: " + str(exc).split(":")[-1].strip()[:60])
            bar.update(1)
    out["cvxpakf"] = x_cvx
    out["wfpakf"] = np.asarray(solve_highpower(m_b, user, k, pa, "corrected").x_w)
    if fnn_fair is not None:
        t_fnn = fnn_fair.predict(pa)
        label = "checkpoint"
    else:
        t_fnn = t_exact
        label = "oracle"
    for mapping, name in FNNPAKF_MAPPINGS:
        x = mapping_allocation(t_fnn, m_a, m_b, user, k, mapping, solver=exact_solver)
        out[name] = fit_budget(x, pa)
    # the canonical optimum, as the method exact-maxmin reports it (docs/assumptions.md): where a
    # UE saturates, the budget it cannot use goes to the others instead of staying unspent
    out["exact-maxmin"] = np.stack(
        [
            canonical_from_maxmin(exact_solver, float(p), exact_solver.solve(float(p))).x_w
            for p in pa
        ]
    )
    info = {
        "cvx_status": status,
        "t_exact": t_exact,
        "t_fnn": np.asarray(t_fnn),
        "fnn_label": label,
    }
    return out, info


def _rates(design, x):
    from plkg.keyrate.subchannel import user_key_rates_bits

    x = np.asarray(x)
    out = np.full(x.shape[:-1] + (design.n_users,), np.nan)
    ok = np.all(np.isfinite(x), axis=-1)
    if np.any(ok):
        out[ok] = user_key_rates_bits(x[ok], design.m_a, design.m_b, design.user, design.n_users)
    return out


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


# ----------------------------------------------------------------------------- Figs. 8-10
def sweep_point(task: dict) -> dict:
    """One point of Figs. 8-10, a sweep-engine task: ``{"scenario": dict, "pa_dbm": float}`` ->
    ``{"fingerprint", "n_subchannels", "cvx_status", "rates": {scheme: [K] bits}}`` (oracle-label
    FNN curves)."""
    from plkg.channels.nearfield_scenario import NearFieldScenario
    from plkg.errors import NoSubchannelError

    sc = NearFieldScenario.from_dict(task["scenario"])
    try:
        design = _design(sc)
    except NoSubchannelError as exc:
        # A UE with no subchannel (D_k = 0) gets no key under every scheme; the other UEs' rates
        # would need a (K-1)-UE design, so they are left undefined at this point.
        rates = [float("nan")] * sc.n_users
        rates[exc.user] = 0.0
        return {
            "fingerprint": sc.fingerprint(),
            "n_subchannels": 0,
            "cvx_status": f"no subchannel for UE {exc.user + 1}",
            "rates": {m: list(rates) for m in METHODS},
        }
    allocs, info = scheme_allocations(design, np.array([units.dbm_to_w(task["pa_dbm"])]))
    return {
        "fingerprint": sc.fingerprint(),
        "n_subchannels": sum(design.n_subchannels),
        "cvx_status": info["cvx_status"][0],
        "rates": {m: _rates(design, x)[0].tolist() for m, x in allocs.items()},
    }


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
