"""``plkg train general``: (optionally generate and) train the generalising set allocator.

Writes ``<out-dir>/<name>_sumrate.safetensors`` (target mu) and/or ``<name>_fairness...``
(target t) with JSON sidecars. ``--geometries N`` first draws and labels a general dataset of N
random geometries (:mod:`plkg.data.general_dataset`, ``--workers`` on the sweep engine) into
``--dataset`` (default ``datasets/general_train.npz``).
"""

from __future__ import annotations

import json
from pathlib import Path

TARGETS = {"sumrate": "mu", "fairness": "t"}


def add_general_arguments(p) -> None:
    """Options used only by ``plkg train general``."""
    g = p.add_argument_group("general (set allocator) options")
    g.add_argument(
        "--target",
        choices=["sumrate", "fairness", "both"],
        default="both",
        help="general: which network to train (default both)",
    )
    g.add_argument(
        "--geometries",
        type=int,
        default=None,
        help="general: first generate a dataset of this many random geometries",
    )
    g.add_argument("--workers", type=int, default=None, help="general: dataset workers")
    g.add_argument("--epochs", type=int, default=60, help="general: epoch budget (default 60)")
    g.add_argument("--width", type=int, default=64, help="general: hidden width (default 64)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def run_general(args) -> int:
    from plkg.commands._paths import output_folder, safe_stem
    from plkg.training.train_general import train_general

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
        )
        summary[kind] = {"checkpoint": str(out.checkpoint_path), "metrics": out.meta["metrics"]}
        if not args.json:
            print(f"wrote {out.checkpoint_path}: best val loss {out.meta['metrics']}")
    if args.json:
        print(json.dumps(summary, indent=2))
    return 0
