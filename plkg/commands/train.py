"""``plkg train kglm|fairness``: train KGLM-Net (label mu) or the fairness FNN (label t) and export
``checkpoints/<name>.safetensors`` + ``.json`` (Sections V-B and VI-C of the near-field paper).

Options of one kind (``--label-norm`` ... for kglm/fairness, ``--target`` ... for general), ``--lr``
without an optimizer that reads it and ``--log-dir`` with ``--no-log`` are refused instead of
ignored. Ctrl-C or SIGTERM during training exits 130/143 with one line and exports nothing
(:mod:`plkg.training._fit`).
"""

from __future__ import annotations

from pathlib import Path

from plkg.commands._applies import check_applies, given
from plkg.io.json_text import dumps_strict

KINDS = {
    # kind: (network, expected label, default dataset stem suffix, default checkpoint prefix)
    "kglm": ("kglm", "mu", "sumrate", "kglm"),
    "fairness": ("fnn", "t", "fairness", "fairness"),
}
# Options read by kglm/fairness only, with their defaults (filled in after the check).
FNN_OPTIONS = {
    "--scenario": None,
    "--label-norm": None,
    "--optimizer": "lm",
    "--lr": 1e-2,
    "--hidden": 20,
    "--max-epochs": 1000,
    "--patience": 6,
}
# Options read by general only (see plkg.commands._train_general).
GENERAL_ONLY = ("--target", "--geometries", "--workers", "--epochs", "--width")
LR_OPTIMIZERS = ("adam", "lbfgs")


def register(sub) -> None:
    p = sub.add_parser("train", help="train KGLM-Net or the fairness FNN from a dataset")
    p.add_argument(
        "kind",
        choices=[*KINDS, "general"],
        help="kglm: P_a -> mu; fairness: P_a -> t; general: set network on any design",
    )
    p.add_argument(
        "--dataset",
        default=None,
        help="dataset .npz (default: the committed fig6_<sumrate|fairness> dataset of the package)",
    )
    p.add_argument("--name", default=None, help="checkpoint name (default <kglm|fairness>_fig6)")
    p.add_argument(
        "--out-dir", default="checkpoints", help="checkpoint folder (default ./checkpoints/)"
    )
    g = p.add_argument_group("kglm / fairness options (an error with general)")
    g.add_argument(
        "--scenario", default=None, help="refuse a dataset of another scenario (kglm/fairness)"
    )
    g.add_argument(
        "--label-norm",
        choices=["minmax", "log_minmax"],
        default=None,
        help="label normalisation: Eq. (50) min-max or min-max of log(label) "
        "(default: log_minmax for kglm, minmax for fairness)",
    )
    g.add_argument(
        "--optimizer",
        choices=["lm", "adam", "lbfgs"],
        default=None,
        help="optimiser (default lm, Levenberg-Marquardt)",
    )
    g.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate of --optimizer adam or lbfgs (default 1e-2); an error with lm",
    )
    g.add_argument("--hidden", type=int, default=None, help="hidden neurons (default 20)")
    g.add_argument("--max-epochs", type=int, default=None, help="epoch cap (default 1000)")
    g.add_argument("--patience", type=int, default=None, help="early-stopping patience (default 6)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--log-dir", default=None, help="TensorBoard folder (default runs/); an error with --no-log"
    )
    p.add_argument("--no-log", action="store_true", help="no TensorBoard logging")
    p.add_argument(
        "--json", action="store_true", help="print the checkpoint metrics as (strict) JSON"
    )
    from plkg.commands._train_general import add_general_arguments

    add_general_arguments(p)
    p.set_defaults(func=run)


def fnnpa_vs_wfpa(checkpoint, ds, n_grid: int = 201) -> dict:
    """FNNPA sum KR (Eq. (42)) over WFPA's on the test split and a dense P_a grid (min ratios)."""
    import numpy as np

    from plkg import units
    from plkg.inference.allocator import Allocator
    from plkg.solvers.water_filling import water_filling

    alloc = Allocator.from_checkpoint(checkpoint)
    lo, hi = alloc.training_range_dbm
    out = {}
    for label, pa in (
        ("test", units.dbm_to_w(ds.part("test")[0])),
        ("grid", units.dbm_to_w(np.linspace(lo, hi, n_grid))),
    ):
        fnn = alloc.allocation(pa)
        wf = water_filling(pa, alloc.m_a, alloc.m_b)
        out[f"min_sum_kr_ratio_{label}"] = float(np.min(fnn.sum_c_bits / wf.objective))
        out[f"scaled_fraction_{label}"] = float(np.mean(fnn.scaled))
        out[f"max_budget_use_{label}"] = float(np.max(fnn.x_w.sum(-1) / pa))
    return out


def check_kind_options(args) -> None:
    """Refuse options the chosen kind (or optimiser, or --no-log) does not read; then fill in
    the defaults of those left unset."""
    kinds_fnn = tuple(KINDS)
    for option in FNN_OPTIONS:
        value = getattr(args, option[2:].replace("-", "_"))
        check_applies(option, value, "plkg train", args.kind, kinds_fnn)
    for option in GENERAL_ONLY:
        value = getattr(args, option[2:].replace("-", "_"))
        check_applies(option, value, "plkg train", args.kind, ("general",))
    if args.kind != "general":
        optimizer = args.optimizer or FNN_OPTIONS["--optimizer"]
        check_applies("--lr", args.lr, "--optimizer", optimizer, LR_OPTIMIZERS)
    if args.no_log and given(args.log_dir):
        raise ValueError("--log-dir applies to TensorBoard logging, which --no-log turns off")
    for option, default in FNN_OPTIONS.items():
        dest = option[2:].replace("-", "_")
        if getattr(args, dest) is None:
            setattr(args, dest, default)
    if args.log_dir is None:
        args.log_dir = "runs"


def run(args) -> int:
    from plkg.commands._paths import inside, output_folder, safe_stem
    from plkg.data.dataset import load_dataset
    from plkg.training.train import train_regressor

    check_kind_options(args)
    if args.kind == "general":
        from plkg.commands._train_general import run_general

        return run_general(args)
    network, label, suffix, prefix = KINDS[args.kind]
    if args.dataset:
        dataset = Path(args.dataset)
    else:  # the committed dataset, read as package data (works from any folder)
        from plkg import defaults

        dataset = defaults.dataset_path(f"fig6_{suffix}")
    if dataset.is_dir():
        raise ValueError(f"--dataset {str(dataset)!r} is a folder; give the .npz file")
    out_dir = output_folder(args.out_dir, "--out-dir")
    if args.name is not None and safe_stem(args.name, "") != args.name:
        raise ValueError(
            f"--name {args.name!r} must be a plain file name (letters, digits, . _ + -)"
        )
    name = args.name or f"{prefix}_{safe_stem(dataset.stem.rsplit('_', 1)[0])}"
    inside(out_dir, f"{name}.safetensors")  # refuses a name that would leave --out-dir
    for flag, value, low in (
        ("--hidden", args.hidden, 1),
        ("--max-epochs", args.max_epochs, 1),
        ("--patience", args.patience, 0),
        ("--seed", args.seed, 0),
    ):
        if value < low:
            raise ValueError(f"{flag} must be an integer >= {low}, got {value}")
    if not (args.lr > 0 and args.lr < float("inf")):
        raise ValueError(f"--lr must be a positive finite number, got {args.lr}")
    fingerprint = None
    if args.scenario:
        from plkg.channels.nearfield_scenario import load_scenario

        fingerprint = load_scenario(args.scenario).fingerprint()
    ds = load_dataset(dataset, expected_fingerprint=fingerprint)
    if ds.meta.get("label_name") != label:
        raise ValueError(
            f"{args.kind} trains on label {label!r}, but {dataset} holds {ds.meta.get('label_name')!r}"
        )
    label_norm = args.label_norm or ("log_minmax" if args.kind == "kglm" else "minmax")
    out = train_regressor(
        dataset,
        name,
        out_dir=out_dir,
        network=network,
        hidden=(args.hidden,),
        label_norm=label_norm,
        optimizer=args.optimizer,
        lr=args.lr,
        max_epochs=args.max_epochs,
        patience=args.patience,
        seed=args.seed,
        log_dir=None if args.no_log else args.log_dir,
        expected_fingerprint=fingerprint,
        # JSON owns stdout: epoch lines on stderr then, never Lightning's bar
        progress_bar="none" if args.quiet else ("lines" if args.json else "auto"),
        progress_desc=f"train {args.kind}",
    )
    summary = {
        "checkpoint": str(out.checkpoint_path),
        "meta": str(out.meta_path),
        "label_norm": label_norm,
        "metrics": out.meta["metrics"],
    }
    if args.kind == "kglm":
        summary["fnnpa_vs_wfpa"] = fnnpa_vs_wfpa(out.checkpoint_path, ds)
    if args.json:
        print(dumps_strict(summary, indent=2))
    else:
        m = out.meta["metrics"]
        print(
            f"wrote {out.checkpoint_path}: {m['epochs']} epochs ({m['stop_reason']}), test MSE "
            f"{m['test_mse']:.3e}, test Pearson r {m['test_pearson']:.7f}"
        )
        if "fnnpa_vs_wfpa" in summary:
            print(f"  FNNPA / WFPA sum KR: {metrics_text(summary['fnnpa_vs_wfpa'])}")
    return 0


def metrics_text(metrics: dict) -> str:
    """A metrics dict as one readable line: ``name value, ...`` (numbers to 6 significant
    digits), the text-mode form of what ``--json`` prints as an object."""
    parts = []
    for name, value in metrics.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        parts.append(f"{name.replace('_', ' ')} {shown}")
    return ", ".join(parts)
