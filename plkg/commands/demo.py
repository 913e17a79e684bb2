"""``plkg demo``: the main job on the default scenario, end to end, in a few minutes on 2 cores.

1. near-field scenario -> subchannel design (Eqs. (16)-(20), (42));
2. both datasets with the classical solvers (water-filling for (P_a, mu), certified CVXPY for
   (P_a, t));
3. KGLM-Net and the fairness FNN trained with Lightning (TensorBoard logs), checkpoints exported;
4. checkpoints reloaded through the inference layer; one table of sum KR / min KR and time per
   allocation for EPA, WFPA, FNNPA, CVXPAKF, WFPAKF, FNNPAKF and exact max-min; a figure;
5. a short RIS two-cell AO run against its baselines;
6. a key-bits run (probing -> quantisation -> reconciliation -> privacy amplification) with NIST.

Everything is written under ``--out`` (default ``demo_out/``). Stage lines and progress go to
stderr (:mod:`plkg.progress`; silent with ``plkg --quiet``), results to stdout; the figure
``keyrates.png`` uses the house style and names the scenario actually used.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from plkg import units
from plkg.commands._nearfield_args import (
    add_force_argument,
    add_scenario_argument,
    check_design_memory,
    scenario_from_args,
)
from plkg.commands._paths import inside, output_folder, safe_stem
from plkg.io.atomic import write_text_atomic
from plkg.io.json_text import dumps_strict, nonfinite_as_null
from plkg.progress import progress_bar, step

DEMO_METHODS = ("epa", "wfpa", "fnnpa", "cvxpakf", "wfpakf", "fnnpakf", "exact-maxmin")
DEMO_POWERS_DBM = (-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0)


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the main job on the default scenario (a few minutes)")
    add_scenario_argument(p)
    p.add_argument("--out", default="demo_out", help="output folder (default demo_out/)")
    p.add_argument("--seed", type=int, default=0, help="seed of datasets, training and key bits")
    p.add_argument("--skip-ris", action="store_true", help="skip the RIS part")
    p.add_argument("--skip-keys", action="store_true", help="skip the key-bits part")
    add_force_argument(p)
    p.set_defaults(func=run)


class _Progress:
    """Numbered stage lines on stderr: ``[demo 3/9 | 12.5 s] training KGLM-Net ...``."""

    def __init__(self, n_steps: int):
        self.n_steps, self.step, self.t0 = n_steps, 0, time.perf_counter()

    def __call__(self, text: str) -> None:
        self.step += 1
        step(f"[demo {self.step}/{self.n_steps} | {time.perf_counter() - self.t0:6.1f} s] {text}")


def _time_allocation(method, design, pa_w, options, repeats: int = 3):
    from plkg.inference.methods import allocate

    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = allocate(method, design, pa_w, **options)
        best = min(best, time.perf_counter() - t0)
    return result, best


def keyrate_table(design, scenario, checkpoints: dict, powers_dbm=DEMO_POWERS_DBM) -> list[dict]:
    """Sum KR and min KR (Eq. (17)) of every method at every power, with the time per allocation."""
    rows = []
    total = len(DEMO_METHODS) * len(powers_dbm)
    with progress_bar(total, desc="demo key rates", unit="allocation") as bar:
        for method in DEMO_METHODS:
            for pa_dbm in powers_dbm:
                rows.append(_keyrate_row(method, design, scenario, checkpoints, pa_dbm))
                bar.update(1, note=method)
    return rows


def _keyrate_row(method, design, scenario, checkpoints: dict, pa_dbm: float) -> dict:
    from plkg.keyrate.evaluate import evaluate_allocation

    options = {"scenario": scenario}
    if method in checkpoints:
        options["checkpoint"] = str(checkpoints[method])
    pa_w = float(units.dbm_to_w(pa_dbm))
    result, seconds = _time_allocation(
        method, design, pa_w, options, repeats=1 if method == "cvxpakf" else 3
    )
    report = evaluate_allocation(design, result.x_w)
    return {
        "method": method,
        "pa_dbm": pa_dbm,
        "sum_kr_bits": report.sum_kr_bits,
        "min_kr_bits": report.min_kr_bits,
        "power_used_w": float(np.sum(result.x_w)),
        "status": result.status,
        "seconds": seconds,
    }


def print_table(rows: list[dict]) -> None:
    powers = sorted({r["pa_dbm"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    cell = {(r["method"], r["pa_dbm"]): r for r in rows}
    header = (
        f"{'method':>13} | " + " | ".join(f"{p:>5.0f} dBm sum/min" for p in powers) + " | ms/alloc"
    )
    print(header)
    print("-" * len(header))
    for m in methods:
        parts = [
            f"{cell[m, p]['sum_kr_bits']:7.1f}/{cell[m, p]['min_kr_bits']:6.1f}" for p in powers
        ]
        ms = 1e3 * np.median([cell[m, p]["seconds"] for p in powers])
        print(f"{m:>13} | " + " | ".join(f"{s:>18}" for s in parts) + f" | {ms:8.2f}")


def write_table_csv(rows: list[dict], path: Path) -> Path:
    keys = list(rows[0])
    lines = [",".join(keys)] + [",".join(str(r[k]) for k in keys) for r in rows]
    return write_text_atomic(path, "\n".join(lines) + "\n")


def plot_table(rows: list[dict], path: Path, scenario_title: str) -> Path:
    """Sum KR and min KR vs P_a of every method (house style; one legend, method names as the
    CLI names them), titled with the scenario actually used."""
    from plkg.plotting import house_style, new_figure, save_figure
    from plkg.plotting.curves import group_keys, legend_entries, plot_curves

    table = {
        key: [r[key] for r in rows] for key in ("method", "pa_dbm", "sum_kr_bits", "min_kr_bits")
    }
    with house_style():
        fig, axes = new_figure(2, 1, width=5.2, height=4.2)
        for ax, column, title in zip(
            axes[0],
            ("sum_kr_bits", "min_kr_bits"),
            ("sum KR (Eq. (17))", "min KR (Eq. (17))"),
            strict=True,
        ):
            plot_curves(ax, table, "pa_dbm", column, ["method"])
            ax.set_xlabel("P_a (dBm)")
            ax.set_ylabel(f"{title.split(' (')[0]} (bits)")
            ax.set_title(title)
        methods = [key[0] for key in group_keys(table, ["method"])]
        fig.legend(*legend_entries(axes, methods), loc="outside right center")
        fig.suptitle(f"plkg demo: {scenario_title}, all allocation methods")
        return save_figure(fig, path, dpi=150)


def ris_demo(seed: int) -> dict:
    """Two-cell AO (default N) against No-RIS and RandPhase."""
    from plkg.channels.ris_scenario import load_ris_scenario
    from plkg.keygen.ris_keys import solve_configuration

    scenario = load_ris_scenario("ris-two-cell")
    out = {}
    methods = ("proposed", "no-ris", "rand-phase")
    with progress_bar(len(methods), desc="demo RIS", unit="method") as bar:
        for method in methods:
            t0 = time.perf_counter()
            _, result = solve_configuration(scenario, method, np.random.default_rng(seed))
            out[method] = {
                "wskr_bits": result.wskr_bits,
                "ub_bits": result.ub_sum_bits,
                "iterations": result.iterations,
                "status": result.status,
                "seconds": time.perf_counter() - t0,
            }
            bar.update(1, note=method)
    return out


def keys_demo(scenario, design, seed: int, pa_dbm: float = 10.0, n_rounds: int = 512) -> dict:
    """Key bits from simulated probing on the near-field scenario (WFPA), NIST on the final keys."""
    from plkg.keygen.nearfield_keys import nearfield_key_generation
    from plkg.keygen.nist.suite import run_tests

    rng = np.random.default_rng(seed)
    with progress_bar(None, desc="demo keys", unit="block") as bar:
        res = nearfield_key_generation(
            scenario,
            float(units.dbm_to_w(pa_dbm)),
            n_rounds,
            rng,
            method="wfpa",
            design=design,
            progress=lambda label: bar.update(1, note=label),
        )
    users, keys = [], []
    for u in res["users"]:
        blocks = u.pop("blocks", [])
        u.pop("user", None)  # 0-based internal index: the 1-based "ue" names the UE
        keys.extend(b.key_a for b in blocks if b.keys_agree and b.final_key_bits > 0)
        users.append(u)
    bits = np.concatenate(keys).astype(np.int8) if keys else np.zeros(0, dtype=np.int8)
    nist = {}
    if bits.size >= 128:
        step(f"[demo] NIST SP 800-22 on {bits.size} final key bits ...")
        for name, r in run_tests(bits).items():
            nist[name] = {
                "p_values": list(r.p_values),
                "passed": bool(r.passed(0.01)),
                "verdict": r.verdict(0.01),
                "eligible": r.eligible,
                "note": r.note,
            }
    return {
        "method": res["method_used"],
        "pa_dbm": pa_dbm,
        "n_rounds": n_rounds,
        "users": users,
        "key_bits_total": int(bits.size),
        "nist": nist,
    }


def run(args) -> int:
    from plkg.channels.nearfield import scenario_ccm
    from plkg.data.fairness_dataset import generate_fairness_dataset
    from plkg.data.sumrate_dataset import generate_sumrate_dataset
    from plkg.precoding.design_cache import design_for_scenario
    from plkg.training.train import train_regressor

    out = output_folder(args.out, "--out")
    scenario = scenario_from_args(args)  # a bad scenario leaves no empty --out folder behind
    check_design_memory(args, scenario, fresh=True)  # the demo computes the design afresh
    out.mkdir(parents=True, exist_ok=True)
    progress = _Progress(9)
    progress(
        f"scenario {scenario.name}: N = {scenario.n_antennas}, K = {scenario.n_users}, CCMs and subchannels ..."
    )
    design = design_for_scenario(scenario, scenario_ccm(scenario))
    print(
        f"        null-space dims N - r_k = {list(design.null_dims)}; subchannels D_k = {list(design.n_subchannels)}, N_D = {design.n_total}"
    )

    progress("dataset (P_a, mu) by exact water-filling, 200 samples ...")
    stem = safe_stem(scenario.name)  # a config's name must not steer files out of --out
    sum_path = inside(out, f"datasets/{stem}_sumrate.npz")
    generate_sumrate_dataset(scenario, seed=args.seed, out_path=sum_path, design=design)
    progress("dataset (P_a, t) by CVXPY max-min, certified by the exact solver, 200 samples ...")
    fair_path = inside(out, f"datasets/{stem}_fairness.npz")
    generate_fairness_dataset(scenario, seed=args.seed, out_path=fair_path, design=design)

    runs = out / "runs"
    progress(f"training KGLM-Net (Levenberg-Marquardt, TensorBoard in {runs}) ...")
    kglm = train_regressor(
        sum_path,
        f"kglm_{stem}",
        out_dir=out / "checkpoints",
        network="kglm",
        label_norm="log_minmax",
        seed=args.seed,
        log_dir=runs,
        progress_bar="auto",  # a bar in a terminal, compact epoch lines otherwise
        progress_desc="demo KGLM-Net",
    )
    m = kglm.meta["metrics"]
    print(
        f"        {m['epochs']} epochs ({m['stop_reason']}), test Pearson r = {m['test_pearson']:.7f}"
    )
    progress("training the fairness FNN (1-20-1, Levenberg-Marquardt) ...")
    fair = train_regressor(
        fair_path,
        f"fairness_{stem}",
        out_dir=out / "checkpoints",
        network="fnn",
        hidden=(20,),
        label_norm="minmax",
        seed=args.seed,
        log_dir=runs,
        progress_bar="auto",
        progress_desc="demo fairness FNN",
    )
    m = fair.meta["metrics"]
    print(
        f"        {m['epochs']} epochs ({m['stop_reason']}), test Pearson r = {m['test_pearson']:.7f}"
    )

    progress("reloading checkpoints through the inference layer; allocating with all 7 methods ...")
    rows = keyrate_table(
        design, scenario, {"fnnpa": kglm.checkpoint_path, "fnnpakf": fair.checkpoint_path}
    )
    print_table(rows)
    write_table_csv(rows, out / "keyrates.csv")
    fig = plot_table(rows, out / "keyrates.png", _scenario_title(args.scenario, scenario))
    progress(f"figure written: {fig}")

    summary = {"scenario": scenario.name, "fingerprint": scenario.fingerprint(), "keyrates": rows}
    if not args.skip_ris:
        progress("RIS two-cell AO vs No-RIS and RandPhase ...")
        summary["ris"] = ris_demo(args.seed)
        for method, r in summary["ris"].items():
            print(
                f"        {method:>10}: WSKR {r['wskr_bits']:7.3f} bits, UB {r['ub_bits']:7.3f}, {r['iterations']} it, {r['seconds']:.1f} s"
            )
    else:
        progress("RIS part skipped")
    if not args.skip_keys:
        progress("key bits: probing -> quantise -> reconcile -> privacy amplification -> NIST ...")
        summary["keys"] = keys_demo(scenario, design, args.seed)
        _print_keys(summary["keys"])
    else:
        progress("key-bits part skipped")
    # strict JSON; a number that is not available (a NIST P-value not computed) is null
    write_text_atomic(out / "summary.json", dumps_strict(nonfinite_as_null(summary), indent=2))
    print(
        f"[demo] done in {time.perf_counter() - progress.t0:.1f} s; everything is under {out}/ "
        f"(tensorboard --logdir {runs})"
    )
    return 0


def _scenario_title(given: str, scenario) -> str:
    """The scenario actually used: its name (and YAML file), N and K."""
    where = f" ({Path(given).name})" if str(given).endswith((".yaml", ".yml")) else ""
    return f"scenario {scenario.name}{where}, N = {scenario.n_antennas}, K = {scenario.n_users}"


def _print_keys(keys: dict) -> None:
    print(
        f"        near-field, {keys['method']} at {keys['pa_dbm']:.0f} dBm, {keys['n_rounds']} probing rounds:"
    )
    for k, u in enumerate(keys["users"]):
        if u.get("status") == "no-key":
            print(f"        UE {k + 1}: no key ({u.get('note', 'nothing worth quantising')})")
            continue
        print(
            f"        UE {k + 1}: BDR {u['bdr_before']:.4f} -> {u['bdr_after']:.4f} after "
            f"reconciliation, keys agree in {100 * u['key_agreement_ratio']:.1f} % of blocks, "
            f"{u['final_bits_per_round']:.1f} final key bits/round vs analytic KR {u['analytic_kr_bits']:.1f} bits/round"
        )
    nist = keys.get("nist", {})
    if nist:
        passed = sum(1 for r in nist.values() if r["verdict"] == "pass")
        print(
            f"        NIST SP 800-22 on {keys['key_bits_total']} final key bits: {passed}/{len(nist)} passed (alpha = 0.01)"
        )
        for name, r in nist.items():
            note = "" if r["eligible"] else f"  [{r['note']}]"
            p_values = ", ".join(f"{p:.4f}" for p in r["p_values"])
            print(f"          {name:>22}: {r['verdict']}  P = {p_values}{note}")
