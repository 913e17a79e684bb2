"""``plkg reproduce NAME|all``: regenerate paper figures as PNG + CSV."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from plkg import __version__
from plkg.commands._names import select_names
from plkg.data.atomic import write_text_atomic
from plkg.reproduce import figure_registry


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="regenerate figures of the papers (PNG + CSV)")
    p.add_argument(
        "names",
        nargs="*",
        default=["all"],
        help="figure names, or 'all' (default); 'list' lists them",
    )
    p.add_argument("--out", default="results", help="output folder (default: results/)")
    p.add_argument("--quick", action="store_true", help="coarser sweeps, for smoke tests")
    p.set_defaults(func=run)


def run(args) -> int:
    registry = figure_registry()
    names = select_names(registry, args.names, "figure")
    if names is None:
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "plkg_version": __version__,
        "python": platform.python_version(),
        "quick": args.quick,
        "figures": {},
    }
    for name in names:
        t0 = time.perf_counter()
        print(f"[reproduce] {name} ...", flush=True)
        paths = registry[name](out, quick=args.quick)
        dt = time.perf_counter() - t0
        manifest["figures"][name] = {"files": [str(p) for p in paths], "seconds": round(dt, 2)}
        print(
            f"[reproduce] {name} done in {dt:.1f} s: {', '.join(Path(p).name for p in paths)}",
            flush=True,
        )
    manifest_path = out / "manifest.json"
    previous = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    merged = {
        **previous,
        **manifest,
        "figures": {**previous.get("figures", {}), **manifest["figures"]},
    }
    write_text_atomic(manifest_path, json.dumps(merged, indent=2))
    return 0
