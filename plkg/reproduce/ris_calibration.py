"""Calibration of the RIS paper's open link budget (zeta_0, p_u) and its headline numbers.

The RIS paper states neither the path loss at 1 m, zeta_0, nor the UT pilot power p_u. Two stated
results pin them down: the baselines' WSKR at x_u = 280 m (Fig. 10: "0.49 bits/channel use") and
the saturation of the Fig. 6 curves "at high transmit power" inside its 0-40 dBm axis. For every
zeta_0 on a grid, :func:`calibrate` finds by bisection the p_u at which No-RIS gives 0.49 bits (the
No-RIS WSKR only grows with p_u), then measures the proposed scheme at x_u = 280 m (multi-start
AO, tight tolerance) and the Fig. 6 saturation power; the grid point whose proposed WSKR is
closest to the paper's 6.57 bits, among those that saturate inside 0-40 dBm, is the fit.

``plkg reproduce ris-calibration`` (or ``scripts/calibrate_ris.py``) writes the whole grid to
``ris-calibration.json`` / ``.csv`` / ``.md``. The fit is what ``configs/ris-two-cell-paper.yaml``
and ``configs/ris-fig6-paper.yaml`` use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plkg.channels.ris_multicell import build_channel_model
from plkg.channels.ris_scenario import load_ris_scenario
from plkg.io.json_text import dumps_strict, nonfinite_as_null
from plkg.reproduce._output import write_csv
from plkg.solvers.ris_alternating import solve_ris, solve_ris_multistart

PAPER_NO_RIS_BITS = 0.49  # Fig. 10 text, x_u = 280 m, both baselines
PAPER_PROPOSED_BITS = 6.57  # Fig. 10 text, x_u = 280 m
PAPER_SATURATION_MAX_DBM = 40.0  # Fig. 6 axis: the curves flatten inside 0-40 dBm
# Headline AO settings: the default tolerance 1e-4 stops ~0.2 % below the optimum.
HEADLINE_TOL = 1e-7
HEADLINE_MAX_ITER = 500
HEADLINE_STARTS = 16
RAND_PHASE_DRAWS = 16
# Saturation: the first P_A whose WSKR reaches this share of the high-power limit.
SATURATION_SHARE = 0.95
SATURATION_LIMIT_DBM = 80.0


def headline(
    scenario, *, n_starts: int = HEADLINE_STARTS, seed: int = 0, rand_draws: int = RAND_PHASE_DRAWS
):
    """WSKR (bits, Theorem 1) of the three schemes of Fig. 10 for one scenario.

    ``proposed``: best of ``n_starts`` seeded AO starts (:func:`solve_ris_multistart`) at
    tolerance :data:`HEADLINE_TOL`; ``no-ris``: Algorithm 1 without RIS; ``rand-phase``: mean over
    ``rand_draws`` seeded random phase vectors (and its standard deviation).
    """
    model = build_channel_model(scenario)
    best = solve_ris_multistart(
        model,
        n_starts=n_starts,
        rng=np.random.default_rng([seed, 0]),
        tol=HEADLINE_TOL,
        max_iter=HEADLINE_MAX_ITER,
    )
    single = solve_ris(model, "proposed", rng=np.random.default_rng([seed, 0]))
    no_ris = solve_ris(model, "no-ris", rng=np.random.default_rng([seed, 1]))
    rand = [
        solve_ris(model, "rand-phase", rng=np.random.default_rng([seed, 2, d])).wskr_bits
        for d in range(rand_draws)
    ]
    return {
        "proposed_bits": best.best.wskr_bits,
        "proposed_status": best.status,
        "proposed_iterations": best.iterations,
        "proposed_single_start_tol1e-4_bits": single.wskr_bits,
        "no_ris_bits": no_ris.wskr_bits,
        "rand_phase_bits": float(np.mean(rand)),
        "rand_phase_std_bits": float(np.std(rand)),
    }


def fig6_curve(scenario, pa_dbm, *, seed: int = 0) -> np.ndarray:
    """Proposed-scheme WSKR (bits) of a Fig. 6 scenario at each P_A (dBm), one seeded AO start."""
    out = []
    for p in np.asarray(pa_dbm, dtype=np.float64):
        model = build_channel_model(scenario.replace(bs_power_dbm=float(p)))
        out.append(solve_ris(model, "proposed", rng=np.random.default_rng([seed, 3])).wskr_bits)
    return np.asarray(out)


def saturation_dbm(pa_dbm, wskr_bits, limit_bits: float, share: float = SATURATION_SHARE) -> float:
    """First P_A (dBm, linear interpolation) at which the WSKR reaches ``share`` of ``limit_bits``.

    Returns inf if the curve never reaches it on the grid.
    """
    pa, w = np.asarray(pa_dbm, dtype=np.float64), np.asarray(wskr_bits, dtype=np.float64)
    target = share * limit_bits
    above = np.nonzero(w >= target)[0]
    if above.size == 0:
        return float("inf")
    i = int(above[0])
    if i == 0:
        return float(pa[0])
    return float(pa[i - 1] + (target - w[i - 1]) / (w[i] - w[i - 1]) * (pa[i] - pa[i - 1]))


def fig6_saturation(scenario, pa_dbm=None, seed: int = 0) -> dict:
    """Fig. 6 (proposed, M_e of ``scenario``): WSKR over ``pa_dbm`` and its saturation power."""
    pa = np.arange(0.0, 45.0, 5.0) if pa_dbm is None else np.asarray(pa_dbm, dtype=np.float64)
    curve = fig6_curve(scenario, pa, seed=seed)
    limit = float(fig6_curve(scenario, [SATURATION_LIMIT_DBM], seed=seed)[0])
    return {
        "pa_dbm": pa.tolist(),
        "wskr_bits": curve.tolist(),
        "limit_bits": limit,
        "saturation_dbm": saturation_dbm(pa, curve, limit),
    }


def pilot_power_for_no_ris(
    scenario, target_bits: float = PAPER_NO_RIS_BITS, lo=-20.0, hi=60.0, steps=24
) -> float:
    """p_u (dBm) at which the No-RIS WSKR equals ``target_bits`` (bisection; No-RIS grows with p_u)."""
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        model = build_channel_model(scenario.replace(ut_power_dbm=mid))
        if solve_ris(model, "no-ris", rng=np.random.default_rng(0)).wskr_bits < target_bits:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def calibrate(
    zeta0_db=(-30.0, -28.0, -27.0, -26.0, -25.0, -24.0, -22.0),
    reading: dict | None = None,
    quick: bool = False,
) -> dict:
    """Fit (zeta_0, p_u): No-RIS = 0.49 bits, proposed closest to 6.57, Fig. 6 saturating <= 40 dBm.

    ``reading``: the other RIS modelling options (e.g. ``{"los_angles": "random", "los_seed": 3}``)
    applied to both the Fig. 10 and the Fig. 6 scenario. Returns ``{"rows": [...], "fit": row}``.
    """
    reading = dict(reading or {})
    fig10 = load_ris_scenario("ris-two-cell", **reading)
    fig6 = load_ris_scenario("ris-fig6", **reading)
    starts, draws = (2, 2) if quick else (HEADLINE_STARTS, RAND_PHASE_DRAWS)
    pa = np.array([0.0, 20.0, 40.0]) if quick else None
    rows = []
    for z in zeta0_db:
        p_u = pilot_power_for_no_ris(
            fig10.replace(pathloss_ref_db=float(z)), steps=8 if quick else 24
        )
        budget = {"pathloss_ref_db": float(z), "ut_power_dbm": round(p_u, 3)}
        row = {**budget, **headline(fig10.replace(**budget), n_starts=starts, rand_draws=draws)}
        sat = fig6_saturation(fig6.replace(**budget), pa_dbm=pa)
        row["fig6_saturation_dbm"] = sat["saturation_dbm"]
        row["fig6_wskr_bits"] = sat["wskr_bits"]
        row["fig6_limit_bits"] = sat["limit_bits"]
        rows.append(row)
    ok = [r for r in rows if r["fig6_saturation_dbm"] <= PAPER_SATURATION_MAX_DBM] or rows
    fit = min(ok, key=lambda r: abs(r["proposed_bits"] - PAPER_PROPOSED_BITS))
    return {"reading": reading, "rows": rows, "fit": fit}


def _markdown(result: dict) -> str:
    lines = [
        "# RIS link-budget calibration",
        "",
        f"Reading: `{dumps_strict(result['reading'])}`. Targets: No-RIS = RandPhase = "
        f"{PAPER_NO_RIS_BITS} bits, proposed = {PAPER_PROPOSED_BITS} bits at x_u = 280 m (Fig. 10); "
        f"Fig. 6 saturation ({SATURATION_SHARE:.0%} of the {SATURATION_LIMIT_DBM:g} dBm value) "
        f"at <= {PAPER_SATURATION_MAX_DBM:g} dBm.",
        "",
        "| zeta_0 (dB) | p_u (dBm) | proposed | single start, tol 1e-4 | No-RIS | RandPhase | "
        "Fig. 6 saturation (dBm) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['pathloss_ref_db']:g} | {r['ut_power_dbm']:.2f} | {r['proposed_bits']:.3f} | "
            f"{r['proposed_single_start_tol1e-4_bits']:.3f} | {r['no_ris_bits']:.3f} | "
            f"{r['rand_phase_bits']:.3f} +- {r['rand_phase_std_bits']:.3f} | "
            f"{r['fig6_saturation_dbm']:.1f} |"
        )
    f = result["fit"]
    lines += [
        "",
        f"**Fit:** zeta_0 = {f['pathloss_ref_db']:g} dB, p_u = {f['ut_power_dbm']:.2f} dBm.",
        "",
    ]
    return "\n".join(lines)


def write_calibration(out_dir, result: dict) -> list[Path]:
    """``ris-calibration.json``, ``.csv`` and ``.md`` in ``out_dir`` (atomic writes).

    The JSON is strict: a Fig. 6 saturation power that the grid never reaches (inf in
    ``result``) is ``null`` there.
    """
    from plkg.io.atomic import write_text_atomic

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = dumps_strict(nonfinite_as_null(result), indent=2) + "\n"  # inf saturation -> null
    js = write_text_atomic(out_dir / "ris-calibration.json", text)
    md = write_text_atomic(out_dir / "ris-calibration.md", _markdown(result))
    keys = [k for k in result["rows"][0] if k != "fig6_wskr_bits"]
    csv = write_csv(
        out_dir / "ris-calibration.csv", keys, [[r[k] for k in keys] for r in result["rows"]]
    )
    return [js, csv, md]


PAPER_READING = {"los_angles": "random", "los_seed": 3}


def make_calibration(out_dir, quick: bool = False) -> list[Path]:
    """``plkg reproduce ris-calibration``: the (zeta_0, p_u) fit under the closest paper reading.

    ``quick``: one grid point (zeta_0 = -26 dB) with the full run's settings, so its row equals
    the full run's row for that zeta_0.
    """
    grid = (-30.0, -28.0, -27.0, -26.0, -25.5, -25.0, -24.0, -22.0)
    if quick:
        grid = (-26.0,)
    return write_calibration(out_dir, calibrate(grid, PAPER_READING))


def make_headline(out_dir, quick: bool = False) -> list[Path]:
    """``plkg reproduce ris-fig10-paper``: Fig. 10 at x_u = 280 m, default vs paper reading
    (``quick``: the paper reading alone, same settings)."""
    rows = []
    names = ("ris-two-cell-paper",) if quick else ("ris-two-cell", "ris-two-cell-paper")
    for name in names:
        sc = load_ris_scenario(name)
        h = headline(sc, n_starts=HEADLINE_STARTS, rand_draws=RAND_PHASE_DRAWS)
        rows.append([name] + [h[k] for k in sorted(h)])
    header = ["scenario"] + sorted(h)
    return [write_csv(Path(out_dir) / "ris-fig10-paper.csv", header, rows)]


FIGURES = {"ris-calibration": make_calibration, "ris-fig10-paper": make_headline}
