"""Key-bit figures: RIS Fig. 7 (BDR vs P_A), RIS Table I (NIST), near-field BDR / key bits vs P_a.

* ``ris-fig7``: BDR of the 1-bit equiprobable quantiser between BS k and UT k (averaged over the
  cells) vs P_A for No-RIS and the proposed AO with several N, M = M_e = 4 (RIS paper Fig. 7).
* ``ris-table1``: NIST SP 800-22 on 2,048-bit sequences of quantised bits from the RIS key
  pipeline (proposed AO, N = 60, P_A = 30 dBm); pass ratio, uniformity P-value and mean P-value
  per test, with the tests whose recommended input size is not met by 2,048 bits flagged.
* ``nf-keybits``: near-field final key bits per probing round next to the analytic KR of
  Eq. (17) vs P_a, per key scheme (1 bit + Cascade, per-component bits + Cascade, per-component
  bits + LDPC), per UE and summed.

Each function writes its figure (formats of :func:`plkg.reproduce._output.output_options`) + CSV
into ``out_dir`` atomically; the table is written as CSV, Markdown and LaTeX. ``quick`` computes
a subset of the full run's points with the same seeds and settings (``ris-table1``: the first
60 of the same sequences), so a quick value equals the full run's value at that point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plkg.io.atomic import write_text_atomic
from plkg.plotting.tables import latex_text
from plkg.progress import progress_bar
from plkg.reproduce._output import house_styled, save_figure
from plkg.reproduce._output import subplots as _subplots
from plkg.reproduce._output import write_csv as _write_csv

SEED = 2026


# ----------------------------------------------------------------------------------- ris-fig7
def _fig7_point(method, n_el, pa, n_rounds, seed, all_cfg, top_cfg) -> list:
    """One ris-fig7 row: mean and per-cell BDR (all components, strongest canonical pair)."""
    from plkg.channels.ris_scenario import two_cell
    from plkg.keygen.pipeline import quantize_pair
    from plkg.keygen.quantization import bit_disagreement_ratio
    from plkg.keygen.ris_keys import ris_measurements

    scenario = two_cell(n_ris_elements=n_el, bs_power_dbm=pa, n_antennas=4, n_rf_chains=4)
    alice, bob, res = ris_measurements(scenario, n_rounds, np.random.default_rng(seed), method)
    bdr_all, bdr_top = [], []
    for k in range(alice.shape[1]):
        bits_a, bits_b, _ = quantize_pair(alice[:, k], bob[:, k], all_cfg)
        bdr_all.append(bit_disagreement_ratio(bits_a, bits_b))
        bits_a, bits_b, _ = quantize_pair(alice[:, k], bob[:, k], top_cfg)
        bdr_top.append(bit_disagreement_ratio(bits_a, bits_b))
    return [
        method,
        n_el,
        pa,
        float(np.mean(bdr_all)),
        float(np.mean(bdr_top)),
        *map(float, bdr_all),
        *map(float, bdr_top),
        float(res.wskr_bits),
    ]


@house_styled
def ris_fig7(out_dir: Path, quick: bool = False) -> list[Path]:
    """RIS paper Fig. 7: BDR vs P_A (No-RIS, proposed with N = 20, 60, 100), M = M_e = 4.

    Left: BDR of all quantised components (the pipeline default: KLT, 1 bit per real dimension),
    averaged over the two cells. Right: BDR of the most correlated canonical pair of each cell
    (CCA, one complex component), averaged over the cells.
    """
    from plkg.keygen.pipeline import KeyGenConfig

    all_cfg = KeyGenConfig(bits_per_sample=1)
    top_cfg = KeyGenConfig(bits_per_sample=1, decorrelation="cca", max_components=1)
    out_dir = Path(out_dir)
    pa_full = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    schemes_full = [("no-ris", 20), ("proposed", 20), ("proposed", 60), ("proposed", 100)]
    pa_list = [0.0, 30.0, 60.0] if quick else pa_full
    schemes = schemes_full[:2] if quick else schemes_full
    n_rounds = 4000
    rows = []
    with progress_bar(len(schemes) * len(pa_list), desc="ris-fig7", unit="point") as bar:
        for method, n_el in schemes:
            for pa in pa_list:
                # seeded per point (its place in the full grid): quick points equal full ones
                seed = [SEED, schemes_full.index((method, n_el)), pa_full.index(pa)]
                rows.append(_fig7_point(method, n_el, pa, n_rounds, seed, all_cfg, top_cfg))
                bar.update(1)
    csv_path = _write_csv(
        out_dir / "ris-fig7.csv",
        [
            "scheme",
            "n_ris_elements",
            "pa_dbm",
            "bdr_all_components",
            "bdr_top_canonical",
            "bdr_all_cell1",
            "bdr_all_cell2",
            "bdr_top_cell1",
            "bdr_top_cell2",
            "wskr_bits",
        ],
        rows,
    )
    fig, axes = _subplots(ncols=2, width=5.6)
    for col, title in (
        (3, "all components (KLT, pipeline default)"),
        (4, "strongest canonical pair (CCA)"),
    ):
        ax = axes[0, col - 3]
        for method, n_el in schemes:
            sel = [r for r in rows if r[0] == method and r[1] == n_el]
            label = method if method == "no-ris" else f"{method}, N = {n_el}"
            ax.plot([r[2] for r in sel], [r[col] for r in sel], label=label)
        ax.axhline(0.36, color="gray", lw=0.8, ls=":", marker="none", label="paper: no-ris ~0.36")
        ax.set_xlabel("P_A (dBm)")
        ax.set_ylabel("BDR (1-bit equiprobable quantiser)")
        ax.set_title(f"BDR, {title}")
        ax.set_ylim(0, 0.55)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside right center")
    fig.suptitle("RIS Fig. 7: BDR vs P_A, scenario two-cell")
    figs = save_figure(fig, out_dir / "ris-fig7")
    return [*figs, csv_path]


# --------------------------------------------------------------------------------- ris-table1
def ris_table_bits(
    n_sequences: int, rng: np.random.Generator, seq_len: int = 2048, block_rounds: int = 2048
) -> np.ndarray:
    """[n_sequences, seq_len] quantised bits of the RIS key pipeline (proposed AO, N = 60, 30 dBm).

    Alice's (BS) bits of both cells from the pipeline's quantisation stage (Karhunen-Loeve
    decorrelation, 1-bit equiprobable quantiser), per block of ``block_rounds`` probing rounds,
    concatenated round-major, cut into sequences.
    """
    from plkg.channels.ris_probing import simulate_ris_probing
    from plkg.channels.ris_scenario import two_cell
    from plkg.keygen.pipeline import KeyGenConfig, quantize_pair
    from plkg.keygen.ris_keys import solve_configuration

    config = KeyGenConfig(bits_per_sample=1)

    scenario = two_cell(n_ris_elements=60, bs_power_dbm=30.0, n_antennas=4, n_rf_chains=4)
    model, res = solve_configuration(scenario, "proposed", rng)
    need = n_sequences * seq_len
    chunks, have = [], 0
    with progress_bar(need, desc="ris-table1 bits", unit="bit") as bar:
        while have < need:
            probe = simulate_ris_probing(model, res.precoders, res.phases, block_rounds, rng)
            for k in range(probe.alice.shape[1]):
                bits, _, _ = quantize_pair(probe.alice[:, k], probe.bob[:, k], config)
                chunks.append(bits.reshape(-1))
                have += bits.size
            bar.update(min(have, need) - bar.n)
    return np.concatenate(chunks)[:need].reshape(n_sequences, seq_len)


def _nist_batch(sequences: np.ndarray, desc: str):
    """:func:`plkg.keygen.nist.suite.run_batch` on ``sequences`` [S, n] with a progress bar
    over the sequences."""
    from plkg.keygen.nist.suite import run_batch

    with progress_bar(len(sequences), desc=desc, unit="sequence") as bar:
        return run_batch(sequences, progress=bar.update)


@house_styled
def ris_table1(out_dir: Path, quick: bool = False) -> list[Path]:
    """RIS paper Table I: NIST pass ratio and P-values over 2,048-bit sequences (quick: 60),
    as CSV, Markdown and LaTeX."""
    out_dir = Path(out_dir)
    rng = np.random.default_rng(SEED + 1)
    n_seq = 60 if quick else 10_000
    seqs = ris_table_bits(n_seq, rng)
    summaries = _nist_batch(seqs, "ris-table1 NIST")
    # Reference: the same batch of ideal random bits shows which deviations are inherent to
    # 2,048-bit sequences (discrete P-values make the 10-bin uniformity test fail with 10,000
    # sequences for frequency, cusum, rank, ...).
    ideal = rng.integers(0, 2, seqs.shape, dtype=np.int8)
    reference = {(s.test, s.label): s for s in _nist_batch(ideal, "ris-table1 ideal bits")}
    paper = {
        "approximate_entropy": (0.9911, "0.4851"),
        "runs": (0.9985, "0.5088"),
        "rank": (0.9941, "0.4992"),
        "longest_run": (0.9899, "0.6238"),
        "frequency": (1.0, "0.5201"),
        "dft": (0.9853, "0.4295"),
        "block_frequency": (1.0, "0.4401"),
        "cumulative_sums": (0.9981, "0.5057"),
        "serial": (0.9838, "0.5013; 0.4895"),
    }
    header = [
        "test",
        "p_value_label",
        "n_sequences",
        "pass_ratio",
        "proportion_lower_bound",
        "uniformity_p_value",
        "mean_p_value",
        "eligible_at_2048",
        "note",
        "paper_pass_ratio",
        "paper_p_value",
        "ideal_bits_pass_ratio",
        "ideal_bits_uniformity_p_value",
    ]
    rows = []
    for s in summaries:
        pp = paper.get(s.test, (float("nan"), ""))
        ref = reference[(s.test, s.label)]
        rows.append(
            [
                s.test,
                s.label,
                s.n_sequences,
                s.pass_ratio,
                s.proportion_interval[0],
                s.uniformity_p_value,
                s.mean_p_value,
                str(s.eligible),
                s.note,
                pp[0],
                pp[1],
                ref.pass_ratio,
                ref.uniformity_p_value,
            ]
        )
    csv_path = _write_csv(out_dir / "ris-table1.csv", header, rows)
    md = [
        f"# RIS Table I: NIST SP 800-22 on {n_seq} sequences of 2,048 quantised bits",
        "",
        "Bits: BS-side output of the RIS key pipeline's quantisation stage (KLT decorrelation, 1-bit "
        "equiprobable quantiser; proposed AO, N = 60, M = M_e = 4, P_A = 30 dBm, two cells). "
        "alpha = 0.01. Uniformity P: SP 800-22 section 4.2.2 (10 bins, uniform if >= 1e-4); mean P: "
        "what the paper's column appears to be. 'ideal' columns: the same number of PCG64 random "
        "sequences, showing what 2,048-bit sequences give at best.",
        "",
        "| test | P-value | pass ratio | min. acceptable | uniformity P | mean P | paper pass | paper P "
        "| ideal pass | ideal uniformity P | input-size recommendation |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(
            f"| {r[0]} | {r[1]} | {r[3]:.4f} | {r[4]:.4f} | {r[5]:.4g} | {r[6]:.4f} | {r[9]} | {r[10]} | "
            f"{r[11]:.4f} | {r[12]:.4g} | {'met' if r[7] == 'True' else 'NOT met: ' + r[8]} |"
        )
    md_path = write_text_atomic(out_dir / "ris-table1.md", "\n".join(md) + "\n")
    tex_path = write_text_atomic(out_dir / "ris-table1.tex", _table1_latex(rows, n_seq))
    return [csv_path, md_path, tex_path]


def _table1_latex(rows: list, n_seq: int) -> str:
    """ris-table1 as a LaTeX table (the columns of the paper's Table I plus the references)."""
    header = [
        "test",
        "pass ratio",
        "uniformity P",
        "mean P",
        "paper pass",
        "paper P",
        "ideal pass",
        "ideal uniformity P",
        "n recommendation met",
    ]
    body = [
        [
            r[0] if r[1] == r[0] else f"{r[0]} ({r[1]})",
            f"{r[3]:.4f}",
            f"{r[5]:.2g}",
            f"{r[6]:.4f}",
            f"{r[9]}",
            r[10],
            f"{r[11]:.4f}",
            f"{r[12]:.2g}",
            "yes" if r[7] == "True" else "no",
        ]
        for r in rows
    ]
    caption = f"NIST SP 800-22 on {n_seq} sequences of 2,048 quantised bits (alpha = 0.01)"
    return latex_text(header, body, caption)


# --------------------------------------------------------------------------------- nf-keybits
#: Key schemes compared by ``nf-keybits``: name -> KeyGenConfig keyword arguments.
NF_KEYBITS_SCHEMES = {
    "1 bit + Cascade": {"bits_per_sample": 1, "reconciliation": "cascade", "entropy_method": "mcv"},
    "adaptive b + Cascade": {"reconciliation": "cascade"},
    "adaptive b + LDPC (default)": {},
}


@house_styled
def nf_keybits(
    out_dir: Path, quick: bool = False, *, scenario=None, n_rounds: int = 1024
) -> list[Path]:
    """Near-field final key bits per round vs the analytic KR (Eq. (17)) against P_a, per scheme.

    EPA allocation on the Fig. 6 scenario, one block of ``n_rounds`` per UE and P_a (quick: two
    of the powers), probing draws seeded per P_a and the same for every scheme. The CSV has one row per scheme, P_a and UE (final key bits per
    round, analytic KR, their ratio, disclosed bits, residual mismatch, BDR before
    reconciliation); the figure shows the sums over UEs (left) and the per-UE ratios (right).
    ``scenario`` (default: fig6) and ``n_rounds`` let the tests run the same figure on a small
    scenario.
    """
    import warnings

    from plkg import units
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.keygen.nearfield_keys import nearfield_key_generation
    from plkg.keygen.pipeline import KeyGenConfig
    from plkg.precoding.design_cache import design_for_scenario

    out_dir = Path(out_dir)
    scenario = load_scenario("fig6") if scenario is None else scenario
    design = design_for_scenario(scenario)
    pa_full = [-20.0, -5.0, 10.0, 25.0]
    pa_list = [-20.0, 25.0] if quick else pa_full
    rows = []
    runs = [(name, kwargs, pa) for name, kwargs in NF_KEYBITS_SCHEMES.items() for pa in pa_list]
    with progress_bar(None, desc="nf-keybits", unit="block") as bar:
        for scheme, kwargs, pa in runs:
            # the same probing draws for every scheme, seeded by the power's place in the full grid
            rng = np.random.default_rng([SEED + 2, pa_full.index(pa)])

            def tick(label, scheme=scheme, pa=pa):
                bar.update(1, note=f"{scheme}, {pa:g} dBm, {label}")

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = nearfield_key_generation(
                    scenario,
                    float(units.dbm_to_w(pa)),
                    n_rounds,
                    rng,
                    method="epa",
                    design=design,
                    config=KeyGenConfig(**kwargs),
                    progress=tick,
                )
            for u in out["users"]:
                rows.append(
                    [
                        scheme,
                        pa,
                        u["user"] + 1,  # UEs numbered from 1
                        u["final_bits_per_round"],
                        u["analytic_kr_bits"],
                        u["efficiency"],
                        u.get("disclosed_bits", 0),
                        u.get("residual_mismatch_bits", 0),
                        u["bdr_before"],
                        u.get("status", ""),
                    ]
                )
    csv_path = _write_csv(
        out_dir / "nf-keybits.csv",
        [
            "scheme",
            "pa_dbm",
            "ue",
            "final_key_bits_per_round",
            "analytic_kr_bits",
            "ratio",
            "disclosed_bits",
            "residual_mismatch_bits",
            "bdr_before",
            "status",
        ],
        rows,
    )
    fig, axes = _subplots(ncols=2, width=5.5)
    x = np.array(pa_list)
    for i, scheme in enumerate(NF_KEYBITS_SCHEMES):
        sel = [r for r in rows if r[0] == scheme]
        final = np.array([sum(r[3] for r in sel if r[1] == pa) for pa in pa_list])
        axes[0, 0].semilogy(
            x, np.where(final > 0, final, np.nan), "-", marker="o", color=f"C{i}", label=scheme
        )
        for ue in sorted({r[2] for r in sel}):  # one colour per scheme; UE 1 solid, others dashed
            ratio = [next(r[5] for r in sel if r[1] == pa and r[2] == ue) for pa in pa_list]
            axes[0, 1].plot(
                x,
                ratio,
                "-" if ue == 1 else "--",
                marker="o" if ue == 1 else ".",
                color=f"C{i}",
                alpha=1.0 - 0.15 * (ue - 1),
                label=f"{scheme}" if ue == 1 else None,
            )
    kr = np.array([sum(r[4] for r in rows if r[0] == scheme and r[1] == pa) for pa in pa_list])
    axes[0, 0].semilogy(x, kr, "--", marker="x", color="k", label="analytic sum KR, Eq. (17)")
    axes[0, 1].axhline(0.7, color="gray", lw=0.8, ls=":", marker="none", label="70 %")
    axes[0, 0].set_ylabel("final key bits per round, sum over UEs (bits)")
    axes[0, 0].set_title("(a) final key bits and analytic KR")
    axes[0, 1].set_ylabel("final key bits / analytic KR")
    axes[0, 1].set_ylim(0, 1.0)
    axes[0, 1].set_title("(b) efficiency per UE (UE 1 solid)")
    for ax in axes[0]:
        ax.set_xlabel("P_a (dBm)")
    axes[0, 0].legend()
    fig.suptitle(f"Near-field key bits vs P_a, epa, scenario {scenario.name}")
    figs = save_figure(fig, out_dir / "nf-keybits")
    return [*figs, csv_path]


FIGURES = {"ris-fig7": ris_fig7, "ris-table1": ris_table1, "nf-keybits": nf_keybits}
