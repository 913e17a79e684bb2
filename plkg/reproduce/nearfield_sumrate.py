"""Sum-key-rate figures of the near-field paper: Fig. 4, Fig. 5 and the sum-KR curves of Fig. 6.

* ``nf-fig4``: KGLM-Net training and validation MSE vs epoch for K = 2, 4, 6, 8 UEs
  (``configs/fig4-k{K}.yaml``).
* ``nf-fig5``: mu_hat vs mu on the training (140) and test (30) samples with Pearson r, from the
  committed dataset and checkpoint.
* ``nf-fig6-sum``: sum KR of ``epa`` / ``wfpa`` / ``fnnpa`` vs P_a (Fig. 6 scenario), I_k of
  Eq. (17) with the Eq. (39) precoders; the CSV also lists C_k of Eq. (42), which is equal for
  these precoders (``quick``: every fourth power of the full grid).

``quick`` computes a subset of the full run's points (Fig. 4: K = 2 only) with the same settings.
Each writes the figure (formats of :func:`plkg.reproduce._output.output_options`) + CSV into
``out_dir`` atomically and returns their paths.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from plkg import defaults, units
from plkg.reproduce._output import house_styled, map_points, points_progress, save_figure, subplots
from plkg.reproduce._output import write_csv as _write_csv

DATASET = defaults.dataset_path("fig6_sumrate")
FIG4_K = (2, 4, 6, 8)


# ----------------------------------------------------------------------------- Fig. 4
def fig4_history(task: dict) -> list[dict]:
    """One Fig. 4 curve, a sweep-engine task ``{"k": K}``: the per-epoch train/val MSE of
    KGLM-Net trained on a fresh (P_a, mu) dataset of ``configs/fig4-k{K}.yaml``."""
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.data.sumrate_dataset import generate_sumrate_dataset
    from plkg.precoding.design_cache import design_for_scenario
    from plkg.training.train import train_regressor

    k = int(task["k"])
    with tempfile.TemporaryDirectory() as tmp:
        sc = load_scenario(f"fig4-k{k}")
        design = design_for_scenario(sc)
        path = Path(tmp) / f"k{k}.npz"
        generate_sumrate_dataset(sc, n_samples=200, seed=0, out_path=path, design=design)
        res = train_regressor(
            path,
            f"fig4_k{k}",
            out_dir=tmp,
            label_norm="log_minmax",
            max_epochs=1000,
            log_dir=None,
            export=False,
        )
        return res.history


def fig4_histories(quick: bool = False) -> dict[int, list[dict]]:
    """Per K: the per-epoch train/val MSE of KGLM-Net (one sweep-engine task per K: serial
    in-process by default, on Dask workers under ``plkg reproduce --workers N``); quick: K = 2."""
    ks = FIG4_K[:1] if quick else FIG4_K
    histories = map_points(fig4_history, [{"k": k} for k in ks], desc="nf-fig4", unit="network")
    return dict(zip(ks, histories, strict=True))


@house_styled
def make_fig4(out_dir, quick: bool = False) -> list[Path]:
    out_dir = Path(out_dir)
    hist = fig4_histories(quick)
    rows = [(k, h["epoch"] + 1, h["train_mse"], h["val_mse"]) for k in hist for h in hist[k]]
    csv_path = _write_csv(out_dir / "nf-fig4.csv", ["K", "epoch", "train_mse", "val_mse"], rows)
    fig, axes = subplots(1, 6.4, 4.4)
    ax = axes[0, 0]
    for i, k in enumerate(hist):
        ep = [h["epoch"] + 1 for h in hist[k]]
        color = f"C{i}"  # one colour per K; training solid, validation dashed
        train = [h["train_mse"] for h in hist[k]]
        ax.semilogy(ep, train, "-", marker="none", color=color, label=f"K = {k}, train")
        val = [h["val_mse"] for h in hist[k]]
        ax.semilogy(ep, val, "--", marker="none", color=color, label=f"K = {k}, validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE of normalised log mu (Eq. (51))")
    ax.set_title("Near-field Fig. 4: KGLM-Net MSE vs epoch, scenarios fig4-k*")
    ax.grid(True, which="both")
    ax.legend(ncol=2)
    figs = save_figure(fig, out_dir / "nf-fig4")
    return [*figs, csv_path]


# ----------------------------------------------------------------------------- Fig. 5
@house_styled
def make_fig5(out_dir, quick: bool = False) -> list[Path]:
    from plkg.data.dataset import load_dataset
    from plkg.inference.allocator import DEFAULT_CHECKPOINT
    from plkg.inference.checkpoint import load_checkpoint

    out_dir = Path(out_dir)
    ds = load_dataset(DATASET)
    ck = load_checkpoint(
        DEFAULT_CHECKPOINT,
        expected_fingerprint=ds.meta["scenario_fingerprint"],
        expected_label="mu",
    )
    rows, panels = [], {}
    for split in ("train", "test"):
        x, mu = ds.part(split)
        mu_hat = ck.predict(x)
        r = float(np.corrcoef(mu_hat, mu)[0, 1])
        panels[split] = (mu, mu_hat, r)
        rows += [
            (split, float(a), float(b), float(c)) for a, b, c in zip(x, mu, mu_hat, strict=True)
        ]
    csv_path = _write_csv(out_dir / "nf-fig5.csv", ["split", "pa_dbm", "mu", "mu_hat"], rows)
    fig, axes = subplots(2, 4.6, 4.2)
    for ax, (split, (mu, mu_hat, r)), tag in zip(axes[0], panels.items(), "ab", strict=True):
        lim = [mu.min() / 1.5, mu.max() * 1.5]
        ax.loglog(lim, lim, "k-", lw=1, marker="none", label="mu_hat = mu")
        ax.loglog(mu, mu_hat, "o", ms=4, label=f"{split} ({len(mu)} samples)")
        ax.set_xlabel("target mu (bits/W)")
        ax.set_ylabel("predicted mu_hat (bits/W)")
        ax.set_title(f"({tag}) {split}: Pearson r = {r:.7f}")
        ax.grid(True, which="both")
        ax.legend()
    fig.suptitle("Near-field Fig. 5: KGLM-Net prediction, scenario fig6")
    figs = save_figure(fig, out_dir / "nf-fig5")
    return [*figs, csv_path]


# ----------------------------------------------------------------------------- Fig. 6 (sum)
def fit_budget(x, pa):
    """x [B, N_D] scaled down row-wise where sum x exceeds P_a [B]."""
    return x * np.minimum(1.0, pa / x.sum(-1))[:, None]


def sum_rate_allocations(pa, m_a, m_b, fnn_sum=None) -> dict:
    """x [B, N_D] (W) of EPA, WFPA and FNNPA for budgets ``pa`` [B] (W).

    ``fnn_sum``: a loaded :class:`~plkg.inference.allocator.Allocator`, or None for the oracle
    label (mu from water-filling, Eq. (48), scaled to the budget).
    """
    from plkg.solvers.water_filling import water_filling, x_from_mu

    wf = water_filling(pa, m_a, m_b)
    if fnn_sum is not None:
        fnnpa = fnn_sum.allocation(pa).x_w
    else:
        fnnpa = fit_budget(np.asarray(x_from_mu(np.asarray(wf.mu)[:, None], m_a, m_b)), pa)
    return {
        "epa": np.repeat(pa[:, None] / m_a.size, m_a.size, axis=1),
        "wfpa": np.asarray(wf.x_w),
        "fnnpa": fnnpa,
    }


def fig6_sum_rows(quick: bool = False) -> list[tuple]:
    """(pa_dbm, method, sum KR Eq. (17), sum C Eq. (42)) rows for ``epa`` / ``wfpa`` / ``fnnpa``
    on the Fig. 6 scenario's design (through the design cache); quick: every fourth power of the
    full grid, with the same values there."""
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.data.dataset import load_dataset
    from plkg.inference.allocator import DEFAULT_CHECKPOINT, Allocator
    from plkg.keyrate.evaluate import evaluate_allocation
    from plkg.keyrate.subchannel import subchannel_key_rate_bits
    from plkg.precoding.design_cache import design_for_scenario

    ds = load_dataset(DATASET)
    lo, hi = ds.meta["input_range"]
    pa_dbm = np.linspace(lo, hi, 17)
    if quick:
        pa_dbm = pa_dbm[::4]
    pa = units.dbm_to_w(pa_dbm)
    scenario = load_scenario("fig6")
    design = design_for_scenario(scenario)
    alloc = Allocator.from_checkpoint(DEFAULT_CHECKPOINT, scenario=scenario, design=design)
    m_a, m_b = design.m_a, design.m_b
    allocations = sum_rate_allocations(pa, m_a, m_b, alloc)
    rows = []
    # Eq. (17) takes ~0.1-0.3 s per point at N = 256: a progress bar over the points
    total = len(allocations) * len(pa_dbm)
    with points_progress(total, desc="nf-fig6-sum Eq. (17)") as bar:
        for method, x in allocations.items():
            eq42 = np.sum(subchannel_key_rate_bits(x, m_a, m_b), axis=-1)
            for i, p in enumerate(pa_dbm):
                eq17 = evaluate_allocation(design, x[i]).sum_kr_bits
                bar.update(1, note=method)
                rows.append((float(p), method, float(eq17), float(eq42[i])))
    return rows


@house_styled
def make_fig6_sum(out_dir, quick: bool = False) -> list[Path]:
    out_dir = Path(out_dir)
    rows = fig6_sum_rows(quick)
    csv_path = _write_csv(
        out_dir / "nf-fig6-sum.csv",
        ["pa_dbm", "method", "sum_kr_bits_eq17", "sum_c_bits_eq42"],
        rows,
    )
    fig, axes = subplots(1, 6.4, 4.4)
    ax = axes[0, 0]
    for i, method in enumerate(("epa", "wfpa", "fnnpa")):
        pts = [(r[0], r[2]) for r in rows if r[1] == method]  # I_k of Eq. (17)
        # wfpa and fnnpa coincide: staggered markers keep both visible
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=method, markevery=(i % 2, 2))
    ax.set_xlabel("P_a (dBm)")
    ax.set_ylabel("sum KR (bits)")
    ax.set_title("Near-field Fig. 6: sum KR vs P_a, scenario fig6")
    ax.legend()
    figs = save_figure(fig, out_dir / "nf-fig6-sum")
    return [*figs, csv_path]


FIGURES = {"nf-fig4": make_fig4, "nf-fig5": make_fig5, "nf-fig6-sum": make_fig6_sum}
