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


def _code_commit() -> str | None:
    """The git commit of the source tree, when run from a checkout (pins every seed and setting)."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _dependencies() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "scipy", "torch", "cvxpy", "clarabel", "lightning"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _configs() -> dict:
    """Every scenario in configs/ with its parameters (and fingerprint for near-field ones)."""
    from plkg.channels.nearfield_scenario import CONFIG_DIR, load_scenario, read_config

    out = {}
    for path in sorted(CONFIG_DIR.glob("*.yaml")):
        data, _ = read_config(path)
        entry = {"parameters": data}
        if data.get("system", "nearfield") == "nearfield":
            entry["fingerprint"] = load_scenario(path).fingerprint()
        out[path.stem] = entry
    return out


def _figure_seeds(fn) -> dict:
    """Module-level seed constants of a figure's module (the per-point seeds derive from them)."""
    import sys

    module = sys.modules.get(fn.__module__)
    return (
        {k: v for k, v in vars(module).items() if "SEED" in k.upper() and isinstance(v, int)}
        if module
        else {}
    )


def run(args) -> int:
    registry = figure_registry()
    names = select_names(registry, args.names, "figure")
    if names is None:
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "plkg_version": __version__,
        "code_commit": _code_commit(),
        "python": platform.python_version(),
        "dependencies": _dependencies(),
        "quick": args.quick,
        "configs": _configs(),
        "figures": {},
    }
    for name in names:
        t0 = time.perf_counter()
        print(f"[reproduce] {name} ...", flush=True)
        paths = registry[name](out, quick=args.quick)
        dt = time.perf_counter() - t0
        manifest["figures"][name] = {
            "function": f"{registry[name].__module__}.{registry[name].__name__}",
            "description": ((registry[name].__doc__ or "").strip().splitlines() or [""])[0],
            "seeds": _figure_seeds(registry[name]),
            "quick": args.quick,
            "files": [str(p) for p in paths],
            "seconds": round(dt, 2),
        }
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
