"""``plkg train general``: (optionally generate and) train the generalising set allocator.

Writes ``<out-dir>/<name>_sumrate.safetensors`` (target mu) and/or ``<name>_fairness...``
(target t) with JSON sidecars. ``--geometries N`` first draws and labels a general dataset of N
random geometries (:mod:`plkg.data.general_dataset`, ``--workers`` on the execution layer (plkg.parallel)) into
``--dataset`` (default ``datasets/general_train.npz``).
"""

from __future__ import annotations

from pathlib import Path

from plkg.io.json_text import dumps_strict

TARGETS = {"sumrate": "mu", "fairness": "t"}
# Defaults of the general-only options (parser default None: given with kglm/fairness they are
# refused by plkg.commands.train.check_kind_options).
GENERAL_DEFAULTS = {"target": "both", "epochs": 60, "width": 64}


def add_general_arguments(p) -> None:
    """Options used only by ``plkg train general`` (an error with kglm/fairness)."""
    g = p.add_argument_group("general (set allocator) options (an error with kglm/fairness)")
    g.add_argument(
        "--target",
        choices=["sumrate", "fairness", "both"],
        default=None,
        help="general: which network to train (default both)",
    )
    g.add_argument(
        "--geometries",
        type=int,
        default=None,
        help="general: first generate a dataset of this many random geometries",
    )
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        help="general: dataset workers (with --geometries only)",
    )
    g.add_argument("--epochs", type=int, default=None, help="general: epoch budget (default 60)")
    g.add_argument("--width", type=int, default=None, help="general: hidden width (default 64)")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar or epoch lines (same as the global plkg --quiet)",
    )


def general_result_line(out) -> str:
    """The text-mode result of one general training run, one line."""
    metrics = out.meta["metrics"]
    epochs = out.meta["training"]["epochs_run"]
    history = metrics.get("val_loss_history") or []
    best_epoch = (min(range(len(history)), key=history.__getitem__) + 1) if history else None
    at = f" at epoch {best_epoch}" if best_epoch is not None else ""
    return (
        f"wrote {out.checkpoint_path}: {epochs} epochs, best validation loss "
        f"{metrics['best_val_loss']:.4e}{at}"
    )


def run_general(args) -> int:
    from plkg.commands._paths import output_folder, safe_stem
    from plkg.training.train_general import train_general

    for dest, default in GENERAL_DEFAULTS.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)
    if args.workers is not None and args.geometries is None:
        raise ValueError("--workers applies to dataset generation, i.e. with --geometries N only")
    dataset = Path(args.dataset) if args.dataset else Path("datasets") / "general_train.npz"
    out_dir = output_folder(args.out_dir, "--out-dir")
    name = args.name or "general"
    if safe_stem(name, "") != name:
        raise ValueError(f"--name {name!r} must be a plain file name (letters, digits, . _ + -)")
    for flag, value, low in (
        ("--epochs", args.epochs, 1),
        ("--width", args.width, 1),
        ("--seed", args.seed, 0),
        ("--geometries", args.geometries if args.geometries is not None else 1, 1),
    ):
        if value < low:
            raise ValueError(f"{flag} must be an integer >= {low}, got {value}")
    if args.geometries is not None:
        from plkg.data.general_dataset import generate_general_dataset

        generate_general_dataset(dataset, args.geometries, seed=args.seed, workers=args.workers)
    elif not dataset.is_file():
        raise ValueError(f"--dataset {str(dataset)!r} does not exist (or pass --geometries N)")
    targets = list(TARGETS) if args.target == "both" else [args.target]
    summary = {}
    for kind in targets:
        out = train_general(
            dataset,
            TARGETS[kind],
            f"{name}_{kind}",
            out_dir=out_dir,
            hidden=args.width,
            max_epochs=args.epochs,
            seed=args.seed,
            log_dir=None if args.no_log else args.log_dir,
            quiet=args.quiet,
            progress="lines" if args.json else "auto",  # JSON owns stdout
            progress_desc=f"train general {kind}",
        )
        summary[kind] = {"checkpoint": str(out.checkpoint_path), "metrics": out.meta["metrics"]}
        if not args.json:
            print(general_result_line(out))
    if args.json:
        print(dumps_strict(summary, indent=2))
    return 0
